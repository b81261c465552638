package billing

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for every parser of client input. `go test` runs their seed
// corpus; `go test -fuzz=FuzzX ./billing` explores further. Each must refuse
// bad input with a BAD_USER_INPUT error, never panic.

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "1.5", "1e9", "99999999999999999999999999", "0.000001", "NaN", "Inf", "", " 1", "\xff", "12,000", "١٢"} {
		f.Add(s, "KRW")
		f.Add(s, "USD")
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		v, err := ParseAmount(s, cur, "amount")
		if err != nil {
			if be, ok := AsError(err); !ok || be.Code != CodeBadUserInput {
				t.Fatalf("ParseAmount(%q) error %v is not BAD_USER_INPUT", s, err)
			}
			return
		}
		if v <= 0 || v > 1e17 {
			t.Fatalf("ParseAmount(%q) = %d", s, v)
		}
		if back, err := ParseAmount(FormatMinor(v, cur), cur, "amount"); err != nil || back != v {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, v, FormatMinor(v, cur), back, err)
		}
	})
}

func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-10", "2026-13", "0000-01", "9999-12", "2026-1", "2026-010", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMonth(s)
		if err != nil {
			return
		}
		if m.String() != s || m.Days() < 28 || m.Days() > 31 {
			t.Fatalf("ParseMonth(%q) = %v", s, m)
		}
	})
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0.5", "-0.5", "1e3", "1E3", "+1", ".5", "5.", "1_0", strings.Repeat("9", 41)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err == nil && len(s) > 40 {
			t.Fatalf("accepted %d characters", len(s))
		}
		_ = d
	})
}

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

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "A@B.CO", "no-at", "a@b", "\"quoted\"@x.io", "a@b.co\n", strings.Repeat("a", 300) + "@x.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := NormalizeEmail("email", s)
		if err != nil {
			if be, ok := AsError(err); !ok || be.Code != CodeBadUserInput {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(v) > 254 || strings.ContainsAny(v, " \n\r") {
			t.Fatalf("accepted %q", v)
		}
	})
}

// FuzzRating: any usage rates to non-negative lines in order, deterministically.
func FuzzRating(f *testing.F) {
	f.Add(int64(1_500_000), int64(10_000_000), 15, 3)
	f.Add(int64(0), int64(1), 1, 31)
	f.Fuzz(func(t *testing.T, a, b int64, startDay, endDay int) {
		if a < 0 || b < 0 || a > 1e18 || b > 1e18 {
			return
		}
		usage := []UsageRow{
			{ServiceCode: "api", Region: "kr-central", Metric: "call", Micros: a},
			{ServiceCode: "server", Region: "kr-south", Metric: "hour", Micros: b},
		}
		sd := time.Date(2026, 10, 1+abs(startDay)%31, 0, 0, 0, 0, time.UTC)
		ed := sd.AddDate(0, 0, abs(endDay)%40)
		lines := Rate(Month{2026, 10}, "KRW", testServices, testPrices, usage,
			[]ContractRow{{ServiceCode: "lb", Region: "kr-central", StartsOn: sd, EndsOn: &ed}})
		for i, l := range lines {
			if l.Used < 0 {
				t.Fatalf("negative line %+v", l)
			}
			if i > 0 && (lines[i-1].Region > l.Region || (lines[i-1].Region == l.Region && lines[i-1].ServiceCode >= l.ServiceCode)) {
				t.Fatalf("lines out of order: %+v", lines)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
