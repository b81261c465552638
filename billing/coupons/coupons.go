package coupons

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/coupon"
	"github.com/cloudbill/cloudbill/ent/couponguess"
	"github.com/cloudbill/cloudbill/ent/couponredemption"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/service"
	"github.com/shopspring/decimal"
)

// Coupon error codes (docs/api.md, "Conventions").
const (
	CodeCouponNotFound        = "COUPON_NOT_FOUND"
	CodeCouponExpired         = "COUPON_EXPIRED"
	CodeCouponNotYetValid     = "COUPON_NOT_YET_VALID"
	CodeCouponExhausted       = "COUPON_EXHAUSTED"
	CodeCouponAlreadyRedeemed = "COUPON_ALREADY_REDEEMED"
)

var couponCodeRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{3,39}$`)

// NormalizeCouponCode upper-cases a typed code and drops spaces around it.
func NormalizeCouponCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// CouponSpec describes a new coupon.
type CouponSpec struct {
	Code, Name            string
	Amount                int64  // CREDIT coupons
	Percentage            string // DISCOUNT coupons
	ValidFrom, ValidUntil time.Time
	MaxRedemptions        int
	CreditValidDays       int
	ServiceCodes          []string
	Currency              string
}

// CreateCoupon issues a credit code (operators).
func (svc *Service) CreateCoupon(ctx context.Context, s CouponSpec) (*ent.Coupon, error) {
	code := NormalizeCouponCode(s.Code)
	if !couponCodeRe.MatchString(code) {
		return nil, kernel.FieldError("code", "a code is 4 to 40 letters, digits and dashes")
	}
	if strings.TrimSpace(s.Name) == "" || len(s.Name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if !s.ValidUntil.After(s.ValidFrom) {
		return nil, kernel.FieldError("validUntil", "validUntil must be after validFrom")
	}
	if s.MaxRedemptions < 1 || s.MaxRedemptions > 10_000_000 {
		return nil, kernel.FieldError("maxRedemptions", "maxRedemptions must be 1 to 10000000")
	}
	kind := coupon.KindCREDIT
	if s.Percentage != "" {
		kind = coupon.KindDISCOUNT
		p, err := kernel.ParseDecimal(s.Percentage)
		if err != nil || !p.IsPositive() || p.GreaterThan(decimal.NewFromInt(100)) || p.Exponent() < -4 {
			return nil, kernel.FieldError("discountPercentage", "a percentage is more than 0 and at most 100")
		}
		if s.Amount != 0 {
			return nil, kernel.FieldError("amount", "give an amount (credit) or a discount percentage, not both")
		}
	} else {
		if s.Amount <= 0 {
			return nil, kernel.FieldError("amount", "a credit coupon needs an amount greater than zero")
		}
		if err := kernel.CheckAmount("amount", "a coupon's credit", s.Amount, svc.Policy.Limits.Credit, s.Currency); err != nil {
			return nil, err
		}
		if s.CreditValidDays < 1 || s.CreditValidDays > 3650 {
			return nil, kernel.FieldError("creditValidDays", "creditValidDays must be 1 to 3650")
		}
	}
	if len(s.ServiceCodes) > 0 {
		n, err := svc.Client.Service.Query().Where(service.CodeIn(s.ServiceCodes...)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n != len(kernel.Uniq(s.ServiceCodes)) {
			return nil, kernel.FieldError("serviceCodes", "unknown service code")
		}
	}
	c, err := svc.Client.Coupon.Create().SetCode(code).SetName(s.Name).SetKind(kind).SetCurrency(s.Currency).
		SetAmount(s.Amount).SetPercentage(s.Percentage).SetValidFrom(s.ValidFrom).SetValidUntil(s.ValidUntil).
		SetMaxRedemptions(s.MaxRedemptions).SetCreditValidDays(s.CreditValidDays).
		SetServiceCodes(kernel.Uniq(s.ServiceCodes)).Save(ctx)
	if kernel.IsUniqueViolation(err) {
		return nil, &kernel.Error{Code: kernel.CodeConflict, Field: "code", Message: "a coupon with this code exists"}
	}
	return c, err
}

// Redemption is what redeeming a coupon granted.
type Redemption struct {
	CreditID   string `json:"creditId,omitempty"`
	DiscountID string `json:"discountId,omitempty"`
}

// RedeemCoupon registers a code for a billing group in tx: a free
// credit or a discount of the current month. Unknown, not yet valid,
// expired, exhausted and already redeemed codes each have their own error.
// The redemption counter only moves under its limit, so a single-use code
// is won by exactly one of any number of concurrent callers.
func (svc *Service) RedeemCoupon(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, typed string) (Redemption, error) {
	code := NormalizeCouponCode(typed)
	now := svc.Clock.Now()
	cp, err := tx.Coupon.Query().Where(coupon.Code(code)).Only(ctx)
	if ent.IsNotFound(err) || (err == nil && !couponCodeRe.MatchString(code)) {
		return Redemption{}, &kernel.Error{Code: CodeCouponNotFound, Field: "code", Message: "no coupon has this code"}
	}
	if err != nil {
		return Redemption{}, err
	}
	switch {
	case now.Before(cp.ValidFrom):
		return Redemption{}, &kernel.Error{Code: CodeCouponNotYetValid, Field: "code", Message: "this coupon is valid from " + cp.ValidFrom.Format(time.RFC3339)}
	case !now.Before(cp.ValidUntil):
		return Redemption{}, &kernel.Error{Code: CodeCouponExpired, Field: "code", Message: "this coupon has expired"}
	}
	done, err := tx.CouponRedemption.Query().Where(couponredemption.CouponID(cp.ID), couponredemption.BillingGroupID(bg.ID)).Exist(ctx)
	if err != nil {
		return Redemption{}, err
	}
	if done {
		return Redemption{}, &kernel.Error{Code: CodeCouponAlreadyRedeemed, Field: "code", Message: "this billing group has already redeemed this coupon"}
	}
	n, err := tx.Coupon.Update().Where(coupon.ID(cp.ID), coupon.RedemptionsLT(cp.MaxRedemptions)).AddRedemptions(1).Save(ctx)
	if err != nil {
		return Redemption{}, err
	}
	if n == 0 {
		return Redemption{}, &kernel.Error{Code: CodeCouponExhausted, Field: "code", Message: "this coupon has been redeemed as often as it may be"}
	}
	var r Redemption
	red := tx.CouponRedemption.Create().SetOrgID(bg.OrgID).SetCouponID(cp.ID).SetBillingGroupID(bg.ID)
	if cp.Kind == coupon.KindCREDIT {
		c, err := svc.Credits.OpenCredit(ctx, tx, bg, credits.CreditSpec{Name: cp.Name, Type: "FREE", Amount: cp.Amount, StartsAt: now,
			EndsAt: now.AddDate(0, 0, cp.CreditValidDays), ServiceCodes: cp.ServiceCodes, Source: "COUPON", PeriodField: "code"},
			creditentry.KindACCUMULATION, "", now)
		if err != nil {
			return Redemption{}, err
		}
		r.CreditID = c.ID
		red.SetCreditID(c.ID)
	} else {
		// A discount of the current month, which must still be open: the
		// jobs may have been run ahead of the clock (outside production).
		m := calendar.MonthOf(now, svc.Policy.Location())
		if err := openMonth(ctx, tx, svc.Policy, svc.Postgres, bg, m, "code"); err != nil {
			return Redemption{}, err
		}
		d, err := tx.Discount.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).
			SetMonth(m.String()).SetName(cp.Name).SetPercentage(cp.Percentage).
			SetServiceCodes(cp.ServiceCodes).SetConditions("coupon " + cp.Code).Save(ctx)
		if err != nil {
			return Redemption{}, err
		}
		r.DiscountID = d.ID
		red.SetDiscountID(d.ID)
		if err := kernel.TouchRating(ctx, tx.Client(), bg.OrgID); err != nil {
			return Redemption{}, err
		}
		defer svc.Terms.Invalidate(bg.ID)
	}
	err = red.Exec(ctx)
	if kernel.IsUniqueViolation(err) {
		return Redemption{}, &kernel.Error{Code: CodeCouponAlreadyRedeemed, Field: "code", Message: "this billing group has already redeemed this coupon"}
	}
	return r, err
}

// CreateDiscount opens a discount of a month for a billing group.
func (svc *Service) CreateDiscount(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, name, percentage string, services []string, conditions string) (*ent.Discount, error) {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	p, err := kernel.ParseDecimal(percentage)
	if err != nil || !p.IsPositive() || p.GreaterThan(decimal.NewFromInt(100)) || p.Exponent() < -4 {
		return nil, kernel.FieldError("percentage", "a percentage is more than 0 and at most 100")
	}
	if len(conditions) > 1000 {
		return nil, kernel.FieldError("conditions", "conditions are at most 1000 characters")
	}
	if len(services) > 0 {
		n, err := svc.Client.Service.Query().Where(service.CodeIn(services...)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n != len(kernel.Uniq(services)) {
			return nil, kernel.FieldError("serviceCodes", "unknown service code")
		}
	}
	defer svc.Terms.Invalidate(bg.ID)
	var d *ent.Discount
	err = kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		// A discount of a month no invoice will carry (invoiced already,
		// or before the group's first invoice) would never apply; it is
		// refused rather than kept in silence.
		if err := openMonth(ctx, tx, svc.Policy, svc.Postgres, bg, m, "month"); err != nil {
			return err
		}
		if d, err = tx.Discount.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetMonth(m.String()).
			SetName(name).SetPercentage(p.String()).SetServiceCodes(kernel.Uniq(services)).SetConditions(conditions).Save(ctx); err != nil {
			return err
		}
		return kernel.TouchRating(ctx, tx.Client(), bg.OrgID)
	})
	return d, err
}

// Guesses limits wrong coupon codes per caller, so codes cannot be found by
// brute force: at most Max wrong codes within Window. Each attempt is
// reserved before the code is tried (counted as wrong until Forgive), one
// caller at a time, in the database — so neither concurrent requests nor
// several replicas get more tries than that.
type Guesses struct {
	Client   *ent.Client
	Postgres bool
	Max      int
	Window   time.Duration
}

// NewGuesses allows max wrong codes per window and caller.
func NewGuesses(client *ent.Client, postgres bool, max int, window time.Duration) *Guesses {
	return &Guesses{Client: client, Postgres: postgres, Max: max, Window: window}
}

// Reserve takes one of caller's attempts at now; ok is false when Max wrong
// codes already fall within the window. The attempt counts as wrong until
// Forgive(id). A window full of attempts still in flight — a console
// registering valid codes for many billing groups at once — empties as
// they are forgiven: Reserve waits up to guessWait of real time for a slot
// before it refuses, so concurrent right codes are not refused for one
// another, while a caller whose wrong codes fill the window waits that
// long for each refusal.
func (g *Guesses) Reserve(ctx context.Context, orgID, caller string, now time.Time) (id string, ok bool, err error) {
	deadline := time.Now().Add(guessWait)
	for {
		id, ok, err = g.reserve(ctx, orgID, caller, now)
		if ok || err != nil || time.Now().After(deadline) {
			return id, ok, err
		}
		select {
		case <-ctx.Done():
			return "", false, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// guessWait is how long Reserve waits for a slot in a full window.
const guessWait = time.Second

func (g *Guesses) reserve(ctx context.Context, orgID, caller string, now time.Time) (id string, ok bool, err error) {
	err = kernel.WithTx(ctx, g.Client, func(tx *ent.Tx) error {
		id, ok = "", false
		if g.Postgres { // one reservation of this caller at a time (SQLite: the write lock)
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "coupon-guess:"+caller); err != nil {
				return err
			}
		}
		since := now.Add(-g.Window)
		if _, err := tx.CouponGuess.Delete().Where(couponguess.Caller(caller), couponguess.AtLTE(since)).Exec(ctx); err != nil {
			return err
		}
		n, err := tx.CouponGuess.Query().Where(couponguess.Caller(caller), couponguess.AtGT(since)).Count(ctx)
		if err != nil || n >= g.Max {
			return err
		}
		cg, err := tx.CouponGuess.Create().SetOrgID(orgID).SetCaller(caller).SetAt(now).Save(ctx)
		if err != nil {
			return err
		}
		id, ok = cg.ID, true
		return nil
	})
	return id, ok, err
}

// Forgive takes back a reserved attempt whose code was not wrong.
func (g *Guesses) Forgive(ctx context.Context, id string) error {
	return g.Client.CouponGuess.DeleteOneID(id).Exec(ctx)
}

// openMonth refuses, on field, a change to bg's month m that no invoice
// would carry: before the group's first month, or already invoiced (it
// waits for an issuing in progress).
func openMonth(ctx context.Context, tx *ent.Tx, p calendar.Policy, postgres bool, bg *ent.BillingGroup, m calendar.Month, field string) error {
	if err := p.BeforeFirstMonth(bg.CreatedAt, m, field); err != nil {
		return err
	}
	return kernel.OpenMonth(ctx, tx, postgres, bg.ID, m.String(), field)
}
