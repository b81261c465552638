package rating

import (
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func dayp(s string) *time.Time { t := day(s); return &t }

var testServices = map[string]ServiceInfo{
	"server":   {Code: "server", Name: "Server", Kind: "STANDARD"},
	"lb":       {Code: "lb", Name: "Load Balancer", Kind: "STANDARD"},
	"api":      {Code: "api", Name: "API Gateway", Kind: "STANDARD"},
	"market":   {Code: "market", Name: "Marketplace app", Kind: "MARKETPLACE"},
	"winimg":   {Code: "winimg", Name: "Windows image", Kind: "OS_IMAGE"},
	"chat":     {Code: "chat", Name: "Chat channel", Kind: "CHANNEL"},
	"unpriced": {Code: "unpriced", Name: "Unpriced", Kind: "STANDARD"},
}

var testPrices = []PriceRow{
	{ServiceCode: "server", Metric: "hour", Model: "PER_UNIT", UnitPrice: d("85")},
	{ServiceCode: "server", Region: "kr-south", Metric: "hour", Model: "PER_UNIT", UnitPrice: d("80")},
	{ServiceCode: "lb", Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: d("18000")},
	{ServiceCode: "api", Metric: "call", Model: "PER_UNIT", UnitPrice: d("0.5")},
	{ServiceCode: "market", Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: d("30000")},
	{ServiceCode: "winimg", Metric: "hour", Model: "PER_UNIT", UnitPrice: d("25")},
	{ServiceCode: "chat", Metric: "base", Model: "FLAT_MONTHLY", UnitPrice: d("50000")},
	{ServiceCode: "chat", Metric: "disk-gb", Model: "PER_UNIT", UnitPrice: d("100")},
	{ServiceCode: "chat", Metric: "api-call", Model: "PER_UNIT", UnitPrice: d("0.2")},
}

// a flat monthly fee used for part of a month is fee × days ÷ days in
// month, in months of 28, 29, 30 and 31 days; R-39: rounded half-up once.
func TestRateProratesFlatFeesDaily(t *testing.T) {
	cases := []struct {
		name     string
		month    calendar.Month
		starts   string
		ends     *time.Time
		wantUsed int64
	}{
		{"whole 31-day month", calendar.Month{Year: 2026, Month: 10}, "2026-01-01", nil, 18000},
		{"10 of 31 days: 5806.45 → 5806", calendar.Month{Year: 2026, Month: 10}, "2026-10-22", nil, 5806},
		{"15 of 30 days", calendar.Month{Year: 2026, Month: 11}, "2026-11-16", nil, 9000},
		{"1 of 28 days: 642.857 → 643", calendar.Month{Year: 2026, Month: 2}, "2026-02-28", nil, 643},
		{"leap year, 1 of 29 days: 620.69 → 621", calendar.Month{Year: 2028, Month: 2}, "2027-12-01", dayp("2028-02-01"), 621},
		{"ended on the 10th of 30 days", calendar.Month{Year: 2026, Month: 9}, "2026-01-01", dayp("2026-09-10"), 6000},
		{"starts and ends the same day of 31", calendar.Month{Year: 2026, Month: 12}, "2026-12-05", dayp("2026-12-05"), 581},
		{"ended before the month", calendar.Month{Year: 2026, Month: 12}, "2026-01-01", dayp("2026-11-30"), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, err := Rate(c.month, "KRW", testServices, testPrices, nil,
				[]ContractRow{{ServiceCode: "lb", Region: "kr-central", StartsOn: day(c.starts), EndsOn: c.ends}})
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			for _, l := range lines {
				got += l.Used
			}
			if got != c.wantUsed {
				t.Fatalf("used = %d, want %d (lines %+v)", got, c.wantUsed, lines)
			}
		})
	}
}

// per-unit usage with fractional prices, summed exactly per
// region × service and rounded half-up once per line; regional prices win.
func TestRatePerUnitExactAndRoundedPerLine(t *testing.T) {
	usage := []UsageRow{
		{ServiceCode: "api", Region: "kr-central", Metric: "call", Micros: 3_000_000},    // 3 calls × 0.5 = 1.5
		{ServiceCode: "api", Region: "kr-central", Metric: "call", Micros: 2_000_000},    // + 1.0 = 2.5 → 3
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Micros: 1_500_000}, // 127.5 → 128
		{ServiceCode: "server", Region: "kr-south", Metric: "hour", Micros: 10_000_000},  // 800 (regional price)
		{ServiceCode: "api", Region: "kr-south", Metric: "call", Micros: 1_000_000},      // 0.5 → 1
	}
	lines, err := Rate(calendar.Month{Year: 2026, Month: 10}, "KRW", testServices, testPrices, usage, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		region, service string
		used            int64
	}{
		{"kr-central", "api", 3}, {"kr-central", "server", 128}, {"kr-south", "api", 1}, {"kr-south", "server", 800},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d: %+v", len(lines), len(want), lines)
	}
	for i, w := range want {
		if lines[i].Region != w.region || lines[i].ServiceCode != w.service || lines[i].Used != w.used {
			t.Errorf("line %d = %s/%s %d, want %s/%s %d", i, lines[i].Region, lines[i].ServiceCode, lines[i].Used, w.region, w.service, w.used)
		}
	}
}

// a channel product bills each channel's base fee plus its disk
// and API usage.
func TestRateChannels(t *testing.T) {
	usage := []UsageRow{
		{ServiceCode: "chat", Region: "kr-central", Channel: "ch-a", Metric: "api-call", Micros: 1001_000_000}, // 200.2
		{ServiceCode: "chat", Region: "kr-central", Channel: "ch-a", Metric: "disk-gb", Micros: 2_500_000},     // 250
		{ServiceCode: "chat", Region: "kr-central", Channel: "ch-b", Metric: "api-call", Micros: 10_000_000},   // 2
	}
	// Contracts of channel products do not add a second base fee.
	lines, err := Rate(calendar.Month{Year: 2026, Month: 10}, "KRW", testServices, testPrices, usage,
		[]ContractRow{{ServiceCode: "chat", Region: "kr-central", StartsOn: day("2026-01-01")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Used != 100000+200+250+2 {
		t.Fatalf("lines = %+v, want one line of 100452 (two base fees + 450.2 rounded)", lines)
	}
}

// VAT is 10% of the determined amount rounded down.
func TestTaxRoundsDown(t *testing.T) {
	for _, c := range []struct{ det, want int64 }{{0, 0}, {9, 0}, {19, 1}, {123457, 12345}, {100000, 10000}} {
		if got := Tax(c.det, d("0.1")); got != c.want {
			t.Errorf("Tax(%d) = %d, want %d", c.det, got, c.want)
		}
	}
}

// a discount takes its percentage off each line of its services,
// rounded half-up, never more than the line.
func TestApplyDiscounts(t *testing.T) {
	lines := []Line{{ServiceCode: "api", Used: 1005}, {ServiceCode: "server", Used: 2000}}
	uses := ApplyDiscounts(lines, []DiscountRow{
		{ID: "d1", Percentage: d("10"), ServiceCodes: []string{"api"}}, // 100.5 → 101
		{ID: "d2", Percentage: d("95")},                                // all: api 954.75→955 capped at 904; server 1900
	}, 0)
	if lines[0].Discount != 1005 || lines[1].Discount != 1900 {
		t.Fatalf("discounts = %d, %d; want 1005, 1900", lines[0].Discount, lines[1].Discount)
	}
	if len(uses) != 3 || uses[0].Amount != 101 || uses[1].Amount != 904 {
		t.Fatalf("uses = %+v", uses)
	}
}

// a line's parts say which days incurred it, exactly: usage on
// its day (× 31), a flat fee on each day it was held (18,000/31 a day, kept
// as 18,000), usage of days not told apart.
func TestRatePartsByDay(t *testing.T) {
	usage := []UsageRow{
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Day: 5, Micros: 1_000_000},  // 85
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Day: 5, Micros: 500_000},    // + 42.5
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Day: 0, Micros: 2_000_000},  // 170, day not told
		{ServiceCode: "server", Region: "kr-central", Metric: "hour", Day: 40, Micros: 1_000_000}, // no such day: not told
	}
	lines, err := Rate(calendar.Month{Year: 2026, Month: 10}, "KRW", testServices, testPrices, usage,
		[]ContractRow{{ServiceCode: "lb", Region: "kr-central", StartsOn: day("2026-10-22")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("lines = %+v", lines)
	}
	lb, server := lines[0], lines[1]
	if lb.Used != 5806 || len(lb.Parts) != 1 || lb.Parts[0].From != 22 || lb.Parts[0].To != 31 || !lb.Parts[0].PerDay.Equal(d("18000")) {
		t.Errorf("lb = %+v, want 5806 from the 22nd to the 31st at 18000/31 a day", lb)
	}
	if server.Used != 383 { // 127.5 + 170 + 85 = 382.5 → 383
		t.Errorf("server used %d, want 383", server.Used)
	}
	byDay := map[[2]int]string{}
	for _, p := range server.Parts {
		byDay[[2]int{p.From, p.To}] = p.PerDay.String()
	}
	if len(byDay) != 2 || byDay[[2]int{5, 5}] != "3952.5" || byDay[[2]int{0, 0}] != "7905" {
		t.Errorf("server parts = %v, want the 5th 127.5 × 31 and days not told 255 × 31", byDay)
	}
}
