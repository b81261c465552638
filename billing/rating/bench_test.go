package rating

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/shopspring/decimal"
)

// go test -run "^$" -bench . ./billing/rating

func benchMonth(services, regions int) (map[string]ServiceInfo, []PriceRow, []UsageRow) {
	svcs := map[string]ServiceInfo{}
	var prices []PriceRow
	var usage []UsageRow
	for s := 0; s < services; s++ {
		code := fmt.Sprintf("svc-%02d", s)
		svcs[code] = ServiceInfo{Code: code, Name: code, Kind: "STANDARD"}
		prices = append(prices, PriceRow{ServiceCode: code, Metric: "unit", Model: "PER_UNIT", UnitPrice: decimal.RequireFromString("12.345")})
		for r := 0; r < regions; r++ {
			for ch := 0; ch < 3; ch++ {
				usage = append(usage, UsageRow{ServiceCode: code, Region: fmt.Sprintf("r-%d", r), Channel: fmt.Sprint(ch), Metric: "unit", Micros: int64(1_234_567 * (s + r + ch + 1))})
			}
		}
	}
	return svcs, prices, usage
}

// BenchmarkRate rates one billing group's month: 20 lines from 60 usage sums.
func BenchmarkRate(b *testing.B) {
	svcs, prices, usage := benchMonth(10, 2)
	for b.Loop() {
		Rate(calendar.Month{Year: 2026, Month: 10}, "KRW", svcs, prices, usage, nil)
	}
}

// BenchmarkAllocate allocates 10 credits over 20 lines in R-22 order.
func BenchmarkAllocate(b *testing.B) {
	svcs, prices, usage := benchMonth(10, 2)
	lines, err := Rate(calendar.Month{Year: 2026, Month: 10}, "KRW", svcs, prices, usage, nil)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		ls := append([]Line(nil), lines...)
		cs := make([]CreditRow, 10)
		for i := range cs {
			cs[i] = CreditRow{ID: fmt.Sprint(i), Type: []string{"FREE", "PAID"}[i%2], StartsAt: at.AddDate(0, -2, 0),
				EndsAt: at.AddDate(0, i+1, 0), Remaining: 30000}
		}
		AllocateCredits(ls, cs, calendar.Month{Year: 2026, Month: 10}, at, time.UTC)
	}
}

// BenchmarkAllocateByDay allocates 10 credits, half of them free credits
// valid on part of the month, over 20 lines rated from usage by day (every
// day of the month).
func BenchmarkAllocateByDay(b *testing.B) {
	svcs, prices, usage := benchMonth(10, 2)
	var daily []UsageRow
	for _, u := range usage {
		for d := 1; d <= 31; d++ {
			u.Day = d
			daily = append(daily, u)
		}
	}
	m := calendar.Month{Year: 2026, Month: 10}
	lines, err := Rate(m, "KRW", svcs, prices, daily, nil)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	start := m.Start(time.UTC)
	for b.Loop() {
		ls := append([]Line(nil), lines...)
		cs := make([]CreditRow, 10)
		for i := range cs {
			cs[i] = CreditRow{ID: fmt.Sprint(i), Type: []string{"FREE", "PAID"}[i%2], StartsAt: start.AddDate(0, 0, 3*i),
				EndsAt: at.AddDate(0, i+1, 0), Remaining: 30000}
		}
		AllocateCredits(ls, cs, m, at, time.UTC)
	}
}
