package calendar

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // the policy's zone must load on machines without zoneinfo

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/shopspring/decimal"
)

// Policy is the billing calendar and its rates. NCP's values are
// the default; ChannelSaaSPolicy is the second preset.
type Policy struct {
	Name     string
	TimeZone string
	Currency string
	// Day of the month the previous month's invoice is issued.
	IssueDay int
	// Automatic payment runs on these days, inclusive.
	RegularPaymentFirstDay, RegularPaymentLastDay int
	// Instant payment opens at InstantPayOpenHour on IssueDay and closes at
	// InstantPayCloseHour on the month's last day.
	InstantPayOpenHour, InstantPayCloseHour int
	// Bank accounts register only outside [NoBankFromHour, NoBankUntilHour).
	NoBankFromHour, NoBankUntilHour int
	VATRate                         decimal.Decimal
	LateFeeRate                     decimal.Decimal // per month carried
	// Minimum outstanding amounts per method, minor units.
	MinTransferAmount, MinCardAmount int64
	// BonusTiers gives bonus coins on charges; DefaultBonusTiers when nil.
	BonusTiers []BonusTier
	// Limits bound the amounts mutations take (limits.go).
	Limits Limits
}

// NCPPolicy is NAVER Cloud Platform's calendar, the default.
func NCPPolicy() Policy {
	return Policy{
		Name: "NCP", TimeZone: "Asia/Seoul", Currency: "KRW",
		IssueDay:               3,
		RegularPaymentFirstDay: 10, RegularPaymentLastDay: 14,
		InstantPayOpenHour: 14, InstantPayCloseHour: 22,
		NoBankFromHour: 23, NoBankUntilHour: 9,
		VATRate:           decimal.RequireFromString("0.1"),
		LateFeeRate:       decimal.RequireFromString("0.015"),
		MinTransferAmount: 3000, MinCardAmount: 1000,
		Limits: DefaultLimits(),
	}
}

// ChannelSaaSPolicy models the channel SaaS: the card is charged
// automatically on the 5th.
func ChannelSaaSPolicy() Policy {
	p := NCPPolicy()
	p.Name = "CHANNEL_SAAS"
	p.IssueDay = 1
	p.RegularPaymentFirstDay, p.RegularPaymentLastDay = 5, 5
	return p
}

// PolicyByName returns a preset.
func PolicyByName(name string) (Policy, error) {
	switch name {
	case "", "NCP":
		return NCPPolicy(), nil
	case "CHANNEL_SAAS":
		return ChannelSaaSPolicy(), nil
	}
	return Policy{}, fmt.Errorf("unknown billing policy %q (NCP, CHANNEL_SAAS)", name)
}

// Location is the policy's time zone.
func (p Policy) Location() *time.Location {
	// Loaded once per zone: time.LoadLocation reads the zone file each time,
	// and views ask for the location many times a request.
	if loc, ok := locations.Load(p.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		loc = time.FixedZone(p.TimeZone, 9*3600)
	}
	locations.Store(p.TimeZone, loc)
	return loc
}

var locations sync.Map // time zone name → *time.Location

// BonusTier gives Percent bonus coins on a charge of at least Min (minor units).
type BonusTier struct {
	Min     int64
	Percent decimal.Decimal
}

// DefaultBonusTiers: 5% from 100,000, 10% from 1,000,000 (decision; R-31
// leaves the rule to the product).
var DefaultBonusTiers = []BonusTier{
	{Min: 1_000_000, Percent: decimal.NewFromInt(10)},
	{Min: 100_000, Percent: decimal.NewFromInt(5)},
}

// CoinBonus is the bonus on a charge of amount, rounded down.
func (p Policy) CoinBonus(amount int64) int64 {
	tiers := p.BonusTiers
	if tiers == nil {
		tiers = DefaultBonusTiers
	}
	for _, t := range tiers {
		if amount >= t.Min {
			return decimal.NewFromInt(amount).Mul(t.Percent).Div(decimal.NewFromInt(100)).Floor().IntPart()
		}
	}
	return 0
}

// Limits are the policy limits on the amounts mutations take (issue 14):
// every amount a caller gives is refused past its limit as BAD_USER_INPUT
// naming the input, before anything is written. They are minor units of
// the policy's currency, configured at start (server/app/config.go) with
// DefaultLimits' values unless set.
//
// Amounts without a limit of their own here are bounded by what they
// move: a credit transfer by the credit's remaining amount, a percentage
// (discounts, discount coupons) by 100. Usage quantities are bounded
// where usage is recorded (usage.go).
type Limits struct {
	// MoneyIn bounds one payment a customer makes to put money in: a coin
	// charge, the purchase of a paid credit, a (sandbox) deposit.
	MoneyIn int64
	// DailyMoneyIn bounds what one organization puts in per calendar day
	// of the policy's time zone: its coin charges, paid credit purchases
	// and deposits of the day together, failed payments aside. It is
	// counted in the database under a lock on the organization, so it
	// holds across replicas and concurrent requests.
	DailyMoneyIn int64
	// Credit bounds a free credit granted (grantCredit) and the credit a
	// coupon grants (createCoupon).
	Credit int64
	// UnitPrice bounds a catalog price: the price of one unit (PER_UNIT)
	// or of a month (FLAT_MONTHLY).
	UnitPrice int64
}

// DefaultLimits are a Korean cloud's (KRW): 10,000,000 a payment and
// 30,000,000 a day of money in per organization, credits of at most
// 100,000,000, unit prices of at most 100,000,000.
func DefaultLimits() Limits {
	return Limits{MoneyIn: 10_000_000, DailyMoneyIn: 30_000_000, Credit: 100_000_000, UnitPrice: 100_000_000}
}

// checkUnitPrice refuses a unit price above the policy's limit.
func (p Policy) CheckUnitPrice(field string, d decimal.Decimal) error {
	digits := kernel.CurrencyDigits[p.Currency]
	if d.Shift(digits).GreaterThan(decimal.NewFromInt(p.Limits.UnitPrice)) {
		return kernel.FieldError(field, "a unit price is at most %s %s (policy limit)", kernel.FormatMinor(p.Limits.UnitPrice, p.Currency), p.Currency)
	}
	return nil
}

// dayOf is the policy's calendar day holding at: [from, to).
func (p Policy) DayOf(at time.Time) (from, to time.Time) {
	t := at.In(p.Location())
	from = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	return from, from.AddDate(0, 0, 1)
}

// FirstMonth is the first month invoiced for a billing group created at
// createdAt: the month close issues a month to the groups created before
// it ended. Nothing billable may be recorded for an earlier month (usage,
// contracts, discounts, credits): no invoice would ever carry it.
func (p Policy) FirstMonth(createdAt time.Time) Month {
	return MonthOf(createdAt, p.Location())
}

// BeforeFirstMonth refuses, on field, a change to month m of a billing
// group created at createdAt when m comes before its first invoiced month.
func (p Policy) BeforeFirstMonth(createdAt time.Time, m Month, field string) error {
	if first := p.FirstMonth(createdAt); m.Before(first) {
		return kernel.FieldError(field, "the billing group was created in %s: %s would never be invoiced (its invoices start with %s)",
			first, m, first)
	}
	return nil
}
