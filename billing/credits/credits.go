package credits

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/service"
)

// CreditSpec describes a credit to open.
type CreditSpec struct {
	ID               string // set when the id was promised before (a purchase names its credit)
	Name             string
	Type             string // FREE | PAID
	Amount           int64  // minor units
	StartsAt, EndsAt time.Time
	ServiceCodes     []string
	Source           string // GRANT, SALE, WELCOME, COUPON, TRANSFER
	// PeriodField names the input a refused period is blamed on
	// (creditPeriodUsable; "endsAt" when empty).
	PeriodField string
}

// OpenCredit creates a credit and its ACCUMULATION entry in tx. Every
// credit opens here, whatever its source (grant, sale, welcome credit,
// coupon, transfer), so none can open with a period no invoice will ever
// use (creditPeriodUsable).
func (svc *Service) OpenCredit(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, s CreditSpec, kind creditentry.Kind, counterpart string, at time.Time) (*ent.Credit, error) {
	if strings.TrimSpace(s.Name) == "" || len(s.Name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if s.Amount <= 0 {
		return nil, kernel.FieldError("amount", "amount must be greater than zero")
	}
	if !s.EndsAt.After(s.StartsAt) {
		return nil, kernel.FieldError("endsAt", "endsAt must be after startsAt")
	}
	if err := svc.creditPeriodUsable(ctx, tx, bg, s); err != nil {
		return nil, err
	}
	if len(s.ServiceCodes) > 0 {
		n, err := tx.Service.Query().Where(service.CodeIn(s.ServiceCodes...)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n != len(kernel.Uniq(s.ServiceCodes)) {
			return nil, kernel.FieldError("serviceCodes", "unknown service code")
		}
	}
	create := tx.Credit.Create()
	if s.ID != "" {
		create.SetID(s.ID)
	}
	c, err := create.SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetName(s.Name).
		SetType(credit.Type(s.Type)).SetStatus(credit.StatusAVAILABLE).SetStartsAt(s.StartsAt).SetEndsAt(s.EndsAt).SetCreatedAt(at).
		SetCurrency(bg.Currency).SetAccumulated(s.Amount).SetRemaining(s.Amount).
		SetServiceCodes(kernel.Uniq(s.ServiceCodes)).SetSource(s.Source).Save(ctx)
	if err != nil {
		return nil, err
	}
	entry := tx.CreditEntry.Create().SetOrgID(bg.OrgID).SetCreditID(c.ID).SetKind(kind).SetAmount(s.Amount).SetOccurredAt(at).
		SetCurrency(bg.Currency)
	if counterpart != "" {
		entry.SetCounterpartBillingGroupID(counterpart)
	}
	return c, entry.Exec(ctx)
}

// creditPeriodUsable refuses, in tx, a credit whose usage period no
// invoice of bg will ever use, so that no credit sits AVAILABLE outside
// the lifecycle (issue 13, finding 103): credits pay invoices, and
// a credit pays only what was incurred on the days of its period,
// so a period whose last day falls in a month already invoiced for the
// group — or in a month before its first invoice — could never pay
// anything and would only wait to expire. A period that ended in a month
// not invoiced yet still pays that month's usage of its days. Like late
// usage, it waits for an issuing of that month in progress (the shared
// side of its lock), then looks for the invoice.
func (svc *Service) creditPeriodUsable(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, s CreditSpec) error {
	field := s.PeriodField
	if field == "" {
		field = "endsAt"
	}
	last := LastCreditMonth(s.EndsAt, svc.Policy.Location())
	if first := svc.Policy.FirstMonth(bg.CreatedAt); last.Before(first) {
		return kernel.FieldError(field, "the credit's period ends in %s, before the billing group's first invoiced month (%s): it could never pay anything",
			last, first)
	}
	if err := kernel.WaitForIssuing(ctx, tx, svc.Postgres, []string{kernel.IssueLockKey(bg.ID, last.String())}); err != nil {
		return err
	}
	invoiced, err := tx.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(last.String()), kernel.Live()).Exist(ctx)
	if err != nil {
		return err
	}
	if invoiced {
		return kernel.FieldError(field, "the credit's period ends in %s, which is already invoiced for this billing group: it could never pay anything",
			last)
	}
	return nil
}

// GrantCredit opens a free credit for a billing group (operators, R-25).
// Paid credits are sold, never granted: money in is a payment.
func (svc *Service) GrantCredit(ctx context.Context, bg *ent.BillingGroup, s CreditSpec) (*ent.Credit, error) {
	if s.Type != "FREE" {
		return nil, kernel.FieldError("type", "only free credits are granted; a paid credit is sold (sellPaidCredit)")
	}
	if err := kernel.CheckAmount("amount", "a credit", s.Amount, svc.Policy.Limits.Credit, bg.Currency); err != nil {
		return nil, err
	}
	var c *ent.Credit
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		var err error
		c, err = svc.OpenCredit(ctx, tx, bg, s, creditentry.KindACCUMULATION, "", svc.Clock.Now())
		return err
	})
	return c, err
}

// PaidCreditYears is how long a paid credit is valid.
const PaidCreditYears = 5

// lockCredit reads a credit for change: FOR UPDATE on PostgreSQL.
func (svc *Service) lockCredit(ctx context.Context, tx *ent.Tx, id string) (*ent.Credit, error) {
	q := tx.Credit.Query().Where(credit.ID(id))
	if svc.Postgres {
		q = q.ForUpdate()
	}
	c, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("credit")
	}
	return c, err
}

// closeCredit empties an AVAILABLE credit into a terminal status with a
// history entry of the given kind (recovery, refund, expiry).
func (svc *Service) closeCredit(ctx context.Context, tx *ent.Tx, c *ent.Credit, status credit.Status, kind creditentry.Kind, at time.Time) (*ent.Credit, error) {
	if c.Status != credit.StatusAVAILABLE {
		return nil, kernel.Errorf(kernel.CodeConflict, "the credit is %s, not AVAILABLE", c.Status)
	}
	if c.Remaining > 0 {
		if err := tx.CreditEntry.Create().SetOrgID(c.OrgID).SetCreditID(c.ID).SetKind(kind).SetCurrency(c.Currency).
			SetAmount(-c.Remaining).SetOccurredAt(at).Exec(ctx); err != nil {
			return nil, err
		}
	}
	return tx.Credit.UpdateOne(c).SetStatus(status).SetRemaining(0).SetClosedAt(at).Save(ctx)
}

// RecoverCreditTx takes back what is left of a free credit (R-25: abuse)
// in tx; RecoverCreditOnce is the use case.
func (svc *Service) RecoverCreditTx(ctx context.Context, tx *ent.Tx, id string) (*ent.Credit, error) {
	c, err := svc.lockCredit(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if c.Type != credit.TypeFREE {
		return nil, kernel.Errorf(kernel.CodeConflict, "only free credits are recovered; refund a paid credit instead")
	}
	return svc.closeCredit(ctx, tx, c, credit.StatusRECOVERED, creditentry.KindRECOVERY, svc.Clock.Now())
}

// TransferResult names the two credits of a transfer.
type TransferResult struct {
	FromID string `json:"fromId"`
	ToID   string `json:"toId"`
}

// TransferCredit moves part or all of a free credit's remainder to another
// billing group of the same organization: a TRANSFER_DEDUCTION on
// the source and a new credit with a TRANSFER_ACCUMULATION on the target,
// each naming the other group. Paid credits never move.
func (svc *Service) TransferCredit(ctx context.Context, tx *ent.Tx, creditID, toBG string, amount int64, orgCheck func(*ent.Credit) error) (TransferResult, error) {
	now := svc.Clock.Now()
	c, err := svc.lockCredit(ctx, tx, creditID)
	if err != nil {
		return TransferResult{}, err
	}
	if err := orgCheck(c); err != nil {
		return TransferResult{}, err
	}
	if c.Type != credit.TypeFREE {
		return TransferResult{}, kernel.Errorf(kernel.CodeCreditNotTransferable, "paid credits cannot be transferred (R-26)")
	}
	if c.Status != credit.StatusAVAILABLE || !now.Before(c.EndsAt) {
		return TransferResult{}, kernel.Errorf(kernel.CodeConflict, "only an available credit can be transferred")
	}
	to, err := tx.BillingGroup.Query().Where(billinggroup.ID(toBG), billinggroup.OrgID(c.OrgID)).Only(ctx)
	if ent.IsNotFound(err) {
		return TransferResult{}, &kernel.Error{Code: kernel.CodeNotFound, Field: "toBillingGroupId", Message: "billing group not found"}
	}
	if err != nil {
		return TransferResult{}, err
	}
	if to.ID == c.BillingGroupID {
		return TransferResult{}, kernel.FieldError("toBillingGroupId", "a credit cannot be transferred to its own billing group")
	}
	if amount > c.Remaining {
		return TransferResult{}, &kernel.Error{Code: kernel.CodeInsufficientBalance, Field: "amount", Message: "the credit does not have that much left"}
	}
	if err := tx.CreditEntry.Create().SetOrgID(c.OrgID).SetCreditID(c.ID).SetKind(creditentry.KindTRANSFER_DEDUCTION).SetCurrency(c.Currency).
		SetAmount(-amount).SetCounterpartBillingGroupID(to.ID).SetOccurredAt(now).Exec(ctx); err != nil {
		return TransferResult{}, err
	}
	if err := TakeFromCredit(ctx, tx, c.ID, amount, true, now); err != nil {
		return TransferResult{}, err
	}
	nc, err := svc.OpenCredit(ctx, tx, to, CreditSpec{Name: c.Name, Type: "FREE", Amount: amount, StartsAt: c.StartsAt,
		EndsAt: c.EndsAt, ServiceCodes: c.ServiceCodes, Source: "TRANSFER", PeriodField: "toBillingGroupId"}, creditentry.KindTRANSFER_ACCUMULATION, c.BillingGroupID, now)
	if err != nil {
		return TransferResult{}, err
	}
	return TransferResult{FromID: c.ID, ToID: nc.ID}, nil
}

// Welcome credit: 100,000 KRW valid 3 months, once per organization.
const (
	WelcomeCreditAmount = 100000
	WelcomeCreditMonths = 3
)

// ApplyWelcomeCredit grants the welcome credit to the organization's main
// billing group, once; without marketing consent it is refused.
func (svc *Service) ApplyWelcomeCredit(ctx context.Context, orgID, serviceField, signupPath string, consent bool) (*ent.Credit, error) {
	if !consent {
		return nil, kernel.FieldError("marketingConsent", "the welcome credit requires consent to marketing")
	}
	if strings.TrimSpace(serviceField) == "" || len(serviceField) > 100 {
		return nil, kernel.FieldError("serviceField", "serviceField must be 1 to 100 characters")
	}
	if strings.TrimSpace(signupPath) == "" || len(signupPath) > 100 {
		return nil, kernel.FieldError("signupPath", "signupPath must be 1 to 100 characters")
	}
	now := svc.Clock.Now()
	var c *ent.Credit
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		n, err := tx.Organization.Update().Where(organization.ID(orgID), organization.WelcomeCreditAtIsNil()).
			SetWelcomeCreditAt(now).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return kernel.Errorf(kernel.CodeConflict, "the welcome credit was already applied for this organization")
		}
		main, err := tx.BillingGroup.Query().Where(billinggroup.OrgID(orgID), billinggroup.IsMain(true)).Only(ctx)
		if err != nil {
			return err
		}
		c, err = svc.OpenCredit(ctx, tx, main, CreditSpec{Name: "Welcome credit", Type: "FREE", Amount: WelcomeCreditAmount,
			StartsAt: now, EndsAt: now.AddDate(0, WelcomeCreditMonths, 0), Source: "WELCOME"},
			creditentry.KindACCUMULATION, "", now)
		return err
	})
	return c, err
}

// LastCreditMonth is the month of a free credit's last day: the day (in
// loc) of the last instant of its usage period, which ends at endsAt,
// exclusive.
func LastCreditMonth(endsAt time.Time, loc *time.Location) calendar.Month {
	return calendar.MonthOf(endsAt.Add(-time.Nanosecond), loc)
}

// ClosedVisibleMonths is how long an emptied terminal credit stays in default
// lists.
const ClosedVisibleMonths = 3

// CreditSummary is what a billing group can spend now, by type.
type CreditSummary struct{ Free, Paid int64 }

// A dashboard's billing group is read with the rows its credit summary
// adds up (WithSummaryRows), in the group's own statement: one statement
// fewer for every dashboard no cache helps (issue 17). They are exactly
// the rows Summary would read — the available credits with something left
// — so which of them count is still decided at the instant of reading.
// A group read otherwise has them read apart, as before.
const summaryRows = "cloudbill_credit_summary"

// avail is a row a credit summary adds up.
type avail struct {
	Type      string    `json:"type"`
	Remaining int64     `json:"remaining"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
}

// WithSummaryRows makes q read, with each billing group, the rows of its
// credit summary as one JSON array of [type, remaining, starts_at,
// ends_at] (each database's own JSON functions).
func WithSummaryRows(q *ent.BillingGroupQuery) *ent.BillingGroupQuery {
	q.Modify(func(s *sql.Selector) { // adds to q
		agg, arr := kernel.JSONFuncs(s.Dialect())
		s.AppendSelect(sql.As(fmt.Sprintf("(SELECT %s(%s(%s, %s, %s, %s)) FROM %s WHERE %s.%s = %s AND %s = '%s' AND %s > 0)",
			agg, arr, credit.FieldType, credit.FieldRemaining, credit.FieldStartsAt, credit.FieldEndsAt,
			credit.Table, credit.Table, credit.FieldBillingGroupID, s.C(billinggroup.FieldID),
			credit.FieldStatus, credit.StatusAVAILABLE, credit.FieldRemaining), summaryRows))
	})
	return q
}

// summaryRowsOf returns the rows bg was read with (ok false: read without).
func summaryRowsOf(bg *ent.BillingGroup) ([]avail, bool) {
	text, ok := kernel.SelectedText(bg, summaryRows)
	if !ok || text == nil {
		return nil, ok // read without them, or no such credit
	}
	var raw [][4]json.RawMessage
	if err := json.Unmarshal(text, &raw); err != nil {
		return nil, false
	}
	rows := make([]avail, len(raw))
	for i, r := range raw {
		var starts, ends string
		if json.Unmarshal(r[0], &rows[i].Type) != nil || json.Unmarshal(r[1], &rows[i].Remaining) != nil ||
			json.Unmarshal(r[2], &starts) != nil || json.Unmarshal(r[3], &ends) != nil {
			return nil, false
		}
		var ok1, ok2 bool
		rows[i].StartsAt, ok1 = parseStoredTime(starts)
		rows[i].EndsAt, ok2 = parseStoredTime(ends)
		if !ok1 || !ok2 {
			return nil, false
		}
	}
	return rows, true
}

// parseStoredTime reads an instant as a database renders it in JSON:
// PostgreSQL's ISO 8601, or the text SQLite stores.
func parseStoredTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Summary adds up the remainders of available credits valid now.
func (svc *Service) Summary(ctx context.Context, bg *ent.BillingGroup) (CreditSummary, error) {
	// The available credits (cached while the organization is unchanged);
	// which of them count depends on the instant, so it is decided here.
	rows, err := readmodel.CachedView(ctx, bg.OrgID, "creditsummary:"+bg.ID, func() ([]avail, error) {
		if rows, ok := summaryRowsOf(bg); ok {
			return rows, nil
		}
		var rows []avail
		err := svc.Client.Credit.Query().Where(credit.BillingGroupID(bg.ID), credit.StatusEQ(credit.StatusAVAILABLE), credit.RemainingGT(0)).
			Select(credit.FieldType, credit.FieldRemaining, credit.FieldStartsAt, credit.FieldEndsAt).Scan(ctx, &rows)
		return rows, err
	})
	now := svc.Clock.Now()
	var s CreditSummary
	for _, r := range rows {
		switch {
		case r.StartsAt.After(now):
			readmodel.ValidUntil(ctx, r.StartsAt) // counts from then on
			continue
		case !r.EndsAt.After(now):
			continue
		}
		readmodel.ValidUntil(ctx, r.EndsAt) // counts until then
		if r.Type == "FREE" {
			s.Free += r.Remaining
		} else {
			s.Paid += r.Remaining
		}
	}
	return s, err
}
