package payments

import (
	"testing"

	"github.com/shopspring/decimal"
)

// Supply value and VAT always add up to the amount, the supply half up.
func TestSplitVAT(t *testing.T) {
	rate := decimal.RequireFromString("0.1")
	for amount, want := range map[int64][2]int64{93500: {85000, 8500}, 1: {1, 0}, 11: {10, 1}, 16: {15, 1}, 17: {15, 2}, 0: {0, 0},
		1_000_000_000_000: {909090909091, 90909090909}} {
		s, tax := SplitVAT(amount, rate)
		if s != want[0] || tax != want[1] || s+tax != amount {
			t.Errorf("SplitVAT(%d) = %d + %d, want %d + %d", amount, s, tax, want[0], want[1])
		}
	}
}
