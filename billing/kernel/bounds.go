package kernel

import (
	"math"
	"math/bits"

	"github.com/shopspring/decimal"
)

// The bounds that keep every sum of usage and money inside int64, on both
// databases (issue 13): PostgreSQL refuses a bigint overflow with an error
// and SQLite turns an integer sum that overflows into a float, so sums are
// bounded where usage is accepted rather than checked where they are read.
//
//   - An event's quantity is at most 10^11 units (maxEventMicros).
//   - A daily rollup (a billing group, day, service, region, channel and
//     metric) adds up to at most 10^11 units (MaxDailyMicros): recordUsage
//     refuses an event that would take its rollup past that, in the
//     statement that adds it. A month has at most 31 days, so a month's sum
//     of a rollup key — the largest sum rating and the usage views form, in
//     SQL — stays under 3.1 × 10^18 < 2^63 − 1 ≈ 9.22 × 10^18.
//   - A billing group's usage of a month rates to at most
//     MaxMonthUsageAmount: each event carries an amount ceiling (quantity ×
//     unit price rounded up, plus a channel product's base fees, which a
//     channel pays once a month but is counted here with every event), and
//     UsageMonth adds them up as the events are recorded; usage past the
//     bound is refused. Rating's exact sum of a month never exceeds it.
//   - Every line and the total of an invoice are at most MaxInvoiceAmount:
//     rating refuses beyond it (ErrAmountTooLarge). Usage alone stays ten
//     times under it; only operators' contracts and catalog prices could
//     reach it. 10^17 leaves int64 room for VAT, late fees and the sums of
//     several invoices that payments form.
const (
	MaxEventMicros int64 = 100_000_000_000 * 1_000_000 // 10^11 units
	// MaxDailyMicros bounds a daily rollup, in micro-units (10^11 units).
	MaxDailyMicros int64 = 100_000_000_000 * 1_000_000
	// MaxMonthUsageAmount bounds a billing group's rated usage of a month,
	// in minor units of its currency (10^16: ten quadrillion won).
	MaxMonthUsageAmount int64 = 10_000_000_000_000_000
	// MaxInvoiceAmount bounds every amount of an invoice, in minor units.
	MaxInvoiceAmount int64 = 100_000_000_000_000_000
)

// maxQuantity bounds one event's quantity (in units).
var MaxQuantity = decimal.New(1, 11)

// ErrAmountTooLarge is rating's answer when a line or an invoice would
// exceed MaxInvoiceAmount: never a wrapped number.
var ErrAmountTooLarge = &Error{Code: CodeConflict,
	Message: "the month's amounts exceed what an invoice can hold (10^17 minor units); correct the contracts or prices"}

// ceilingPrice is a per-unit price ready for an event's amount ceiling:
// perMicro is the price in 10^-12 minor units per micro-unit when that is a
// whole number that fits (almost always), else price serves.
type CeilingPrice struct {
	perMicro uint64
	exact    bool
	price    decimal.Decimal
	digits   int32
	fees     int64 // a channel product's base fees in minor units, rounded up
}

func NewCeilingPrice(unit decimal.Decimal, digits int32, channelFees decimal.Decimal) CeilingPrice {
	c := CeilingPrice{price: unit, digits: digits}
	k := unit.Shift(6 + digits)
	if k.IsInteger() && !k.IsNegative() && k.LessThan(decimal.NewFromUint64(math.MaxUint64)) {
		c.perMicro, c.exact = k.BigInt().Uint64(), true
	}
	fees := channelFees.Shift(digits).Ceil()
	if fees.GreaterThan(decimal.NewFromInt(MaxMonthUsageAmount)) {
		c.fees = MaxMonthUsageAmount + 1
	} else {
		c.fees = fees.IntPart()
	}
	return c
}

// amount is the ceiling, in minor units, of what micros of the metric (and,
// for a channel, its base fees) can add to an invoice; ok is false past
// MaxMonthUsageAmount.
func (c CeilingPrice) Amount(micros int64, channel bool) (int64, bool) {
	var v int64
	if c.exact {
		// micros × perMicro / 10^12, rounded up, in 128 bits.
		const scale = 1_000_000_000_000
		hi, lo := bits.Mul64(uint64(micros), c.perMicro)
		if hi >= scale {
			return 0, false // the quotient would not fit 64 bits
		}
		q, r := bits.Div64(hi, lo, scale)
		if r > 0 {
			q++
		}
		if q > uint64(MaxMonthUsageAmount) {
			return 0, false
		}
		v = int64(q)
	} else {
		d := decimal.New(micros, -6).Mul(c.price).Shift(c.digits).Ceil()
		if d.GreaterThan(decimal.NewFromInt(MaxMonthUsageAmount)) {
			return 0, false
		}
		v = d.IntPart()
	}
	if channel {
		v += c.fees // both at most MaxMonthUsageAmount + 1: no overflow
	}
	return v, v <= MaxMonthUsageAmount
}

// checkedMinor is a whole amount of minor units as int64, refusing
// anything past MaxInvoiceAmount either way.
func CheckedMinor(m decimal.Decimal) (int64, error) {
	if m.GreaterThan(decimal.NewFromInt(MaxInvoiceAmount)) || m.LessThan(decimal.NewFromInt(-MaxInvoiceAmount)) {
		return 0, ErrAmountTooLarge
	}
	return m.IntPart(), nil
}

// CheckAmount refuses amount (minor units of currency) above limit,
// naming field; what says what the amount is ("a coin charge").
func CheckAmount(field, what string, amount, limit int64, currency string) error {
	if amount > limit {
		return FieldError(field, "%s is at most %s %s (policy limit)", what, FormatMinor(limit, currency), currency)
	}
	return nil
}

// Uniq is in without repeats, in the order of first appearance.
func Uniq(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
