package billing

import (
	"context"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
)

// The calendar's credit steps: each credit is its own
// subject, done by billing/credits in its own guarded transaction, so
// concurrent runs do it once and one that fails does not keep the others.

// expireCredits expires every AVAILABLE credit whose period has ended,
// writing an EXPIRY entry for what was left of it.
func (r *jobRun) expireCredits(ctx context.Context) error {
	cs, err := r.e.Client.Credit.Query().Where(credit.StatusEQ(credit.StatusAVAILABLE), credit.EndsAtLTE(r.at)).
		Order(ent.Asc(credit.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		fail := JobFailure{Step: StepExpiry, OrgID: c.OrgID, BillingGroupID: c.BillingGroupID, SubjectID: c.ID}
		if err := r.isolate(ctx, fail, func() error {
			expired, err := r.e.Credits().Expire(ctx, c.ID, r.at)
			if expired {
				r.res.Expired++
			}
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// noticeExpiringCredits tells the master of each credit that ends within
// credits.ExpiryNoticeWindow with something left, once per credit.
func (r *jobRun) noticeExpiringCredits(ctx context.Context) error {
	cs, err := r.e.Credits().Expiring(ctx, r.at)
	if err != nil {
		return err
	}
	for _, c := range cs {
		fail := JobFailure{Step: StepExpiryNotice, OrgID: c.OrgID, BillingGroupID: c.BillingGroupID, SubjectID: c.ID}
		if err := r.isolate(ctx, fail, func() error { return r.e.Credits().NoticeExpiring(ctx, c, r.at) }); err != nil {
			return err
		}
	}
	return nil
}
