package coupons

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A normalised code the pattern accepts is 4 to 40 valid characters,
// whatever was typed.
func FuzzCouponCode(f *testing.F) {
	for _, s := range []string{"HELLO-2026", " hello-2026 ", "a", "ÀÉÎ-1234", strings.Repeat("A", 41), "A\x00B-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeCouponCode(s)
		if couponCodeRe.MatchString(n) && (len(n) < 4 || len(n) > 40 || !utf8.ValidString(n)) {
			t.Fatalf("code %q accepted", n)
		}
	})
}
