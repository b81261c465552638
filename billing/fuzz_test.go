package billing

import (
	"strings"
	"testing"

	"github.com/cloudbill/cloudbill/billing/accounts"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
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
		v, err := kernel.ParseAmount(s, cur, "amount")
		if err != nil {
			if be, ok := kernel.AsError(err); !ok || be.Code != kernel.CodeBadUserInput {
				t.Fatalf("ParseAmount(%q) error %v is not BAD_USER_INPUT", s, err)
			}
			return
		}
		if v <= 0 || v > 1e17 {
			t.Fatalf("ParseAmount(%q) = %d", s, v)
		}
		if back, err := kernel.ParseAmount(kernel.FormatMinor(v, cur), cur, "amount"); err != nil || back != v {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, v, kernel.FormatMinor(v, cur), back, err)
		}
	})
}

func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-10", "2026-13", "0000-01", "9999-12", "2026-1", "2026-010", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := calendar.ParseMonth(s)
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
		d, err := kernel.ParseDecimal(s)
		if err == nil && len(s) > 40 {
			t.Fatalf("accepted %d characters", len(s))
		}
		_ = d
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "A@B.CO", "no-at", "a@b", "\"quoted\"@x.io", "a@b.co\n", strings.Repeat("a", 300) + "@x.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := accounts.NormalizeEmail("email", s)
		if err != nil {
			if be, ok := kernel.AsError(err); !ok || be.Code != kernel.CodeBadUserInput {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(v) > 254 || strings.ContainsAny(v, " \n\r") {
			t.Fatalf("accepted %q", v)
		}
	})
}
