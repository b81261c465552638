package kernel

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
)

// FormatMinor agrees with exact decimal formatting for every currency,
// signs and extremes included.
func TestFormatMinorMatchesDecimal(t *testing.T) {
	for cur, d := range CurrencyDigits {
		for _, v := range []int64{0, 1, -1, 5, -5, 99, 100, -100, 1234, -1234, 1000000007, math.MaxInt64, math.MinInt64} {
			want := decimal.New(v, -d).StringFixed(d)
			if got := FormatMinor(v, cur); got != want {
				t.Errorf("FormatMinor(%d, %s) = %q, want %q", v, cur, got, want)
			}
		}
	}
}
