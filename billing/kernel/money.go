package kernel

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Money amounts are int64 minor units plus a currency. These helpers convert
// between minor units and the exact decimal strings of the API.

// minorDigits is the number of minor-unit digits per ISO 4217 currency.
var CurrencyDigits = map[string]int32{"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2}

// MinorDigits returns the currency's minor-unit digits, or false when unknown.
func MinorDigits(currency string) (int32, bool) {
	d, ok := CurrencyDigits[currency]
	return d, ok
}

// FormatMinor renders minor units as a decimal string in major units
// (1234 KRW → "1234", 1234 USD → "12.34").
func FormatMinor(amount int64, currency string) string {
	// Integer arithmetic: a dashboard formats some hundred amounts, and a
	// decimal's big.Int formatting showed in its profile.
	d := CurrencyDigits[currency]
	if d == 0 {
		return strconv.FormatInt(amount, 10)
	}
	u := uint64(amount)
	sign := ""
	if amount < 0 {
		u, sign = ^u+1, "-" // two's complement: right for math.MinInt64 too
	}
	p := uint64(1)
	for i := int32(0); i < d; i++ {
		p *= 10
	}
	frac := strconv.FormatUint(u%p, 10)
	return sign + strconv.FormatUint(u/p, 10) + "." + strings.Repeat("0", int(d)-len(frac)) + frac
}

// maxAmount bounds accepted amounts well inside int64 so sums cannot overflow.
var maxAmount = decimal.New(1, 15)

// ParseAmount reads a positive decimal string of major units into minor units
// of the currency. It refuses floats' exponents, more precision than the
// currency has, zero, negatives and absurd sizes.
func ParseAmount(s, currency, field string) (int64, error) {
	d, err := ParseDecimal(s)
	if err != nil {
		return 0, FieldError(field, "%s", err.Error())
	}
	digits, ok := CurrencyDigits[currency]
	if !ok {
		return 0, FieldError(field, "unsupported currency %q", currency)
	}
	if !d.IsPositive() {
		return 0, FieldError(field, "amount must be greater than zero")
	}
	if d.GreaterThan(maxAmount) {
		return 0, FieldError(field, "amount is too large")
	}
	minor := d.Shift(digits)
	if !minor.Equal(minor.Truncate(0)) {
		return 0, FieldError(field, "%s has at most %d decimal places", currency, digits)
	}
	return minor.IntPart(), nil
}

// ParseDecimal reads a plain decimal string ("12", "-0.5"); no exponents,
// no spaces, at most 40 characters.
func ParseDecimal(s string) (decimal.Decimal, error) {
	if s == "" || len(s) > 40 || strings.ContainsAny(s, "eE+ \t\n_") {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal number", Clip(s))
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal number", Clip(s))
	}
	return d, nil
}

func Clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
