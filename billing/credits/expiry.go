package credits

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// Expire expires one credit at instant at if its rules say it has
// dated when it expired by them — the end of its period, or for a
// free credit the issue of its last month's invoice — whichever run
// notices it. It reports whether this call expired it: concurrent runs
// expire it once (the credit's row is locked, its status guarded).
func (svc *Service) Expire(ctx context.Context, id string, at time.Time) (expired bool, err error) {
	err = kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		c, err := svc.lockCredit(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Status != credit.StatusAVAILABLE {
			return nil // another run got there first
		}
		when := c.EndsAt
		// A free credit pays what its days incurred, and its last
		// day is invoiced on the next issue day: it expires once the
		// invoice of the month of that day is issued.
		if c.Type == credit.TypeFREE {
			last := LastCreditMonth(c.EndsAt, svc.Policy.Location())
			when = svc.Policy.IssuedAt(last)
			if at.Before(when) {
				return nil
			}
			// Not before that invoice exists: one whose issue failed (and
			// is retried) or that was voided (R-72, reissued later) would
			// otherwise be issued without the credit that pays it.
			issued, err := tx.Invoice.Query().Where(invoice.BillingGroupID(c.BillingGroupID), invoice.Month(last.String()), kernel.Live()).Exist(ctx)
			if err != nil || !issued {
				return err
			}
		}
		if _, err = svc.closeCredit(ctx, tx, c, credit.StatusEXPIRED, creditentry.KindEXPIRY, when); err != nil {
			return err
		}
		expired = true
		return nil
	})
	return expired, err
}

// ExpiryNoticeWindow is how long before its end a credit with something
// left is told as ending.
const ExpiryNoticeWindow = 7 * 24 * time.Hour

// Expiring lists the credits with something left that end within
// ExpiryNoticeWindow of at and were not told yet.
func (svc *Service) Expiring(ctx context.Context, at time.Time) ([]*ent.Credit, error) {
	return svc.Client.Credit.Query().Where(credit.StatusEQ(credit.StatusAVAILABLE), credit.RemainingGT(0),
		credit.ExpiryNoticedAtIsNil(), credit.EndsAtGT(at), credit.EndsAtLTE(at.Add(ExpiryNoticeWindow))).
		Order(ent.Asc(credit.FieldID)).All(ctx)
}

// NoticeExpiring tells the master of credit c that it ends soon, once: the
// guarded update of expiry_noticed_at and the notice share a transaction,
// so concurrent runs tell it once.
func (svc *Service) NoticeExpiring(ctx context.Context, c *ent.Credit, at time.Time) error {
	return kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		n, err := tx.Credit.Update().Where(credit.ID(c.ID), credit.ExpiryNoticedAtIsNil()).SetExpiryNoticedAt(at).Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		// The last day the credit pays for, in the policy's zone (ends_at
		// is exclusive).
		last := svc.Policy.Date(c.EndsAt.Add(-time.Nanosecond))
		return topics.NotifyOn(ctx, tx, c.OrgID, topics.CreditExpiring, map[string]any{"creditId": c.ID,
			"creditName": c.Name, "billingGroupId": c.BillingGroupID, "type": c.Type,
			"remaining": kernel.FormatMinor(c.Remaining, c.Currency), "currency": c.Currency, "lastDay": last},
			topics.ChannelEmail, topics.ChannelSMS, topics.ChannelWebhook)
	})
}
