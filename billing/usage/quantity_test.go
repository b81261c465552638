package usage

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/shopspring/decimal"
)

// Wherever the fast reading of a quantity answers, the decimal path
// accepts the same string with the same micro-units (R-13 quantities).
func TestQuantityMicrosMatchesDecimal(t *testing.T) {
	cases := []string{"0", "1", "1.5", "0.000001", "1000000000000", "1000000000000.000001", "999999999999.999999",
		"007", "1.", ".5", "1.0000000", "1.1234567", "-1", "+1", "1e3", " 1", "1_0", "", "9999999999999", "00000000000001",
		"1.500000", "12.34.5", "0x10", "１", "1,5"}
	rng := rand.New(rand.NewPCG(7, 9))
	for i := 0; i < 20000; i++ {
		whole := fmt.Sprint(rng.Int64N(1 << uint(rng.IntN(44))))
		if rng.IntN(3) == 0 {
			cases = append(cases, whole)
			continue
		}
		frac := fmt.Sprint(rng.Int64N(10_000_000))
		cases = append(cases, whole+"."+frac[:rng.IntN(len(frac))+1])
	}
	fast := 0
	for _, s := range cases {
		m, ok := quantityMicros(s)
		if !ok {
			continue
		}
		fast++
		q, err := kernel.ParseDecimal(s)
		if err != nil || q.IsNegative() || q.GreaterThan(kernel.MaxQuantity) || q.Exponent() < -6 {
			t.Fatalf("%q: read as %d micro-units, but the decimal path refuses it (%v)", s, m, err)
		}
		if want := q.Shift(6).IntPart(); want != m {
			t.Fatalf("%q: %d micro-units, the decimal path says %d", s, m, want)
		}
	}
	if fast < 10000 {
		t.Fatalf("the fast reading answered only %d of %d", fast, len(cases))
	}
}

// An event's amount ceiling (bounds.go) computed in 128-bit integers equals
// the exact decimal product rounded up, for any quantity and price, and
// is refused exactly past MaxMonthUsageAmount.
func TestAmountCeilingMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	prices := []string{"0", "0.000001", "0.5", "85", "1.234567", "999999.999999", "1000000000000000", "123456789012345.678901"}
	for i := 0; i < 20000; i++ {
		p := decimal.RequireFromString(prices[rng.IntN(len(prices))])
		if rng.IntN(4) == 0 {
			p = decimal.New(rng.Int64N(1<<uint(rng.IntN(62)+1)), -int32(rng.IntN(7)))
		}
		digits := int32(rng.IntN(3))
		micros := rng.Int64N(kernel.MaxEventMicros + 1)
		if rng.IntN(2) == 0 {
			micros = rng.Int64N(1 << uint(rng.IntN(40)+1))
		}
		got, ok := kernel.NewCeilingPrice(p, digits, decimal.Zero).Amount(micros, false)
		want := decimal.New(micros, -6).Mul(p).Shift(digits).Ceil()
		if wantOK := !want.GreaterThan(decimal.NewFromInt(kernel.MaxMonthUsageAmount)); ok != wantOK || (ok && got != want.IntPart()) {
			t.Fatalf("%d micro-units at %s (%d digits): %d %v, want %s", micros, p, digits, got, ok, want)
		}
	}
}
