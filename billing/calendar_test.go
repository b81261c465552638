package billing

import (
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
)

func kstAt(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, calendar.NCPPolicy().Location())
}

// instant payment opens at 14:00 on the 3rd, closes at 22:00 on the
// last day, and is shut on the regular payment days 10–14; months of 28 to
// 31 days.
func TestInstantPayWindow(t *testing.T) {
	p := calendar.NCPPolicy()
	cases := []struct {
		at   time.Time
		open bool
	}{
		{kstAt(2026, 11, 3, 13, 59), false},
		{kstAt(2026, 11, 3, 14, 0), true},
		{kstAt(2026, 11, 9, 23, 59), true},
		{kstAt(2026, 11, 10, 0, 0), false},
		{kstAt(2026, 11, 14, 23, 59), false},
		{kstAt(2026, 11, 15, 0, 0), true},
		{kstAt(2026, 11, 30, 21, 59), true}, // 30-day month
		{kstAt(2026, 11, 30, 22, 0), false},
		{kstAt(2026, 2, 28, 21, 59), true}, // 28-day month
		{kstAt(2026, 2, 28, 22, 0), false},
		{kstAt(2028, 2, 28, 22, 0), true}, // leap year: the 29th is the last day
		{kstAt(2028, 2, 29, 22, 0), false},
		{kstAt(2026, 12, 31, 21, 59), true}, // 31-day month
		{kstAt(2026, 12, 31, 22, 0), false},
		{kstAt(2026, 12, 1, 10, 0), false},                   // before the issue day
		{time.Date(2026, 11, 3, 5, 0, 0, 0, time.UTC), true}, // 14:00 KST
	}
	for _, c := range cases {
		if got := p.InstantPayOpen(c.at); got != c.open {
			t.Errorf("InstantPayOpen(%s) = %v, want %v", c.at, got, c.open)
		}
	}
}

// bank accounts register only from 09:00 to 23:00 KST.
func TestBankRegistrationHours(t *testing.T) {
	p := calendar.NCPPolicy()
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{kstAt(2026, 11, 20, 8, 59), false}, {kstAt(2026, 11, 20, 9, 0), true},
		{kstAt(2026, 11, 20, 22, 59), true}, {kstAt(2026, 11, 20, 23, 0), false},
		{kstAt(2026, 11, 21, 0, 30), false},
		{time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC), false}, // 23:30 KST
	} {
		if got := p.InBankHours(c.at); got != c.ok {
			t.Errorf("InBankHours(%s) = %v, want %v", c.at, got, c.ok)
		}
	}
}

// instants; R-48 presets.
func TestCalendarInstants(t *testing.T) {
	p := calendar.NCPPolicy()
	oct := calendar.Month{Year: 2026, Month: 10}
	if got := p.OutstandingFrom(oct, false); !got.Equal(kstAt(2026, 11, 15, 0, 0)) {
		t.Errorf("outstanding from %s", got)
	}
	if got := p.OutstandingFrom(oct, true); !got.Equal(kstAt(2026, 11, 30, 22, 0)) {
		t.Errorf("direct deposit outstanding from %s", got)
	}
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{kstAt(2026, 11, 30, 23, 59), 0}, {kstAt(2026, 12, 1, 0, 0), 1}, {kstAt(2027, 1, 15, 0, 0), 2},
	} {
		if got := p.MonthsCarried(oct, c.at); got != c.want {
			t.Errorf("MonthsCarried at %s = %d, want %d", c.at, got, c.want)
		}
	}
	// October 2026 ends on a Saturday: Nov 2 (Mon), 3, 4 → the 4th.
	if got := p.TaxInvoiceDate(oct); got.Format("2006-01-02") != "2026-11-04" {
		t.Errorf("tax invoice date = %s", got)
	}
	if !p.InRegularPeriod(kstAt(2026, 11, 10, 0, 0)) || p.InRegularPeriod(kstAt(2026, 11, 15, 0, 0)) {
		t.Error("NCP regular period is the 10th to the 14th")
	}
	saas := calendar.ChannelSaaSPolicy()
	if !saas.InRegularPeriod(kstAt(2026, 11, 5, 9, 0)) || saas.InRegularPeriod(kstAt(2026, 11, 6, 9, 0)) {
		t.Error("the channel SaaS preset charges on the 5th")
	}
	if LateFee(91207, p) != 1368 { // 1.5% of 91,207 = 1368.105 → 1368
		t.Errorf("late fee = %d", LateFee(91207, p))
	}
	if p.CoinBonus(99_999) != 0 || p.CoinBonus(100_000) != 5000 || p.CoinBonus(1_000_001) != 100_000 {
		t.Error("coin bonus tiers")
	}
}
