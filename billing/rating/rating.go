package rating

import (
	"sort"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/shopspring/decimal"
)

// Rating turns a month's usage and contracts into priced invoice lines
// . It is pure: the caller reads the rows.

// ServiceInfo is what rating needs of a catalog service.
type ServiceInfo struct {
	Code, Name, Kind string // Kind: STANDARD, MARKETPLACE, OS_IMAGE, CHANNEL
}

// PriceRow is one price; Region "" applies to every region without its own.
type PriceRow struct {
	ServiceCode, Region, Metric, Model string // Model: PER_UNIT | FLAT_MONTHLY
	UnitPrice                          decimal.Decimal
}

// UsageRow is a summed quantity (micro-units) of one metric on day Day of
// the month (1..31), or on days not told (Day 0: the quantity sums several
// days, as the views read it).
type UsageRow struct {
	ServiceCode, Region, Channel, Metric string
	Day                                  int
	Micros                               int64
}

// ContractRow is a contract's service, region and days (inclusive dates).
type ContractRow struct {
	ServiceCode, Region string
	StartsOn            time.Time
	EndsOn              *time.Time
}

// Part is what a line incurred on each day From..To of its month
// (inclusive), exactly. PerDay is one day's amount times the month's number
// of days N, so that every part is an exact decimal: a flat monthly fee F
// spread over the days it is held costs F/N a day and is kept as F;
// usage worth a on one day is kept as a × N. From = To = 0 is usage summed
// over days that were not told (UsageRow.Day 0), counted once.
type Part struct {
	From, To int
	PerDay   decimal.Decimal
}

// Weight is the part's whole exact amount times N.
func (p Part) Weight() decimal.Decimal {
	if p.To <= p.From {
		return p.PerDay
	}
	return p.PerDay.Mul(decimal.NewFromInt(int64(p.To - p.From + 1)))
}

// Line is one rated region × service line, in minor units.
type Line struct {
	Region, ServiceCode, ServiceName, Kind string
	Used                                   int64
	Discount, Credit                       int64
	// Parts say on which days Used was incurred, exactly: Used is the sum
	// of their weights ÷ N, rounded half-up once. Credits with a
	// usage period pay from them (AllocateCredits).
	Parts []Part
}

// Determined is what is left of the line after discounts and credits.
func (l Line) Determined() int64 { return l.Used - l.Discount - l.Credit }

// Prices finds the price of a metric in a region: the region's own price,
// else the all-regions price.
type Prices map[[3]string]PriceRow

// NewPrices indexes price rows.
func NewPrices(rows []PriceRow) Prices {
	p := Prices{}
	for _, r := range rows {
		p[[3]string{r.ServiceCode, r.Region, r.Metric}] = r
	}
	return p
}

// Find returns the price for service and metric in region.
func (p Prices) Find(service, region, metric string) (PriceRow, bool) {
	if r, ok := p[[3]string{service, region, metric}]; ok {
		return r, true
	}
	r, ok := p[[3]string{service, "", metric}]
	return r, ok
}

// DaysUsed counts the days of month m inside a contract [starts, ends]
// (inclusive calendar dates); ends nil means still running.
func DaysUsed(m calendar.Month, starts time.Time, ends *time.Time) int {
	from, to := ContractDays(m, starts, ends)
	return max(0, to-from+1)
}

// ContractDays is the first and last day of month m inside a contract
// [starts, ends] (inclusive calendar dates; ends nil: still running); to <
// from when none is.
func ContractDays(m calendar.Month, starts time.Time, ends *time.Time) (from, to int) {
	first := time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC)
	s := time.Date(starts.Year(), starts.Month(), starts.Day(), 0, 0, 0, 0, time.UTC)
	from, to = 1, m.Days()
	if !s.Before(first) {
		if calendar.MonthOf(s, time.UTC) != m {
			return 1, 0 // starts after m
		}
		from = s.Day()
	}
	if ends != nil {
		e := time.Date(ends.Year(), ends.Month(), ends.Day(), 0, 0, 0, 0, time.UTC)
		if e.Before(first) {
			return 1, 0 // ended before m
		}
		if calendar.MonthOf(e, time.UTC) == m {
			to = e.Day()
		}
	}
	return from, to
}

// Rate prices a month: per-unit usage × unit price, and flat monthly fees of
// contracts spread over the days they are held (R-12: fee × days used ÷
// days in month). Amounts add up exactly per region × service and each line
// is rounded half-up to the currency's minor unit once; its Parts
// keep where it was incurred. Lines come sorted by region, then service
// code. Amounts are checked: a line or the lines' total past
// MaxInvoiceAmount is ErrAmountTooLarge, never a wrapped number; within it,
// every sum of the lines' amounts fits int64.
func Rate(m calendar.Month, currency string, services map[string]ServiceInfo, prices []PriceRow, usage []UsageRow, contracts []ContractRow) ([]Line, error) {
	idx := NewPrices(prices)
	n := m.Days()
	days := decimal.NewFromInt(int64(n))
	type key struct{ region, service string }
	parts := map[key][]Part{}
	add := func(region, service string, from, to int, perDay decimal.Decimal) {
		k := key{region, service}
		ps := parts[k]
		for i := range ps {
			if ps[i].From == from && ps[i].To == to {
				ps[i].PerDay = ps[i].PerDay.Add(perDay)
				return
			}
		}
		parts[k] = append(ps, Part{From: from, To: to, PerDay: perDay})
	}
	for _, u := range usage {
		p, ok := idx.Find(u.ServiceCode, u.Region, u.Metric)
		if !ok || p.Model != "PER_UNIT" {
			continue // ingestion accepts only priced per-unit metrics
		}
		day := u.Day
		if day < 1 || day > n {
			day = 0
		}
		add(u.Region, u.ServiceCode, day, day, decimal.New(u.Micros, -6).Mul(p.UnitPrice).Mul(days))
	}
	// A channel product's flat fee is the plan's base fee of each channel
	// that used it this month, not a contract's: a monthly fee
	// spread over the whole month.
	channels := map[[3]string]bool{}
	for _, u := range usage {
		if services[u.ServiceCode].Kind == "CHANNEL" && u.Channel != "" {
			channels[[3]string{u.Region, u.ServiceCode, u.Channel}] = true
		}
	}
	for k := range channels {
		for _, p := range FlatPrices(prices, idx, k[1], k[0]) {
			add(k[0], k[1], 1, n, p.UnitPrice)
		}
	}
	for _, c := range contracts {
		if services[c.ServiceCode].Kind == "CHANNEL" {
			continue
		}
		from, to := ContractDays(m, c.StartsOn, c.EndsOn)
		if to < from {
			continue
		}
		for _, p := range FlatPrices(prices, idx, c.ServiceCode, c.Region) {
			add(c.Region, c.ServiceCode, from, to, p.UnitPrice)
		}
	}
	digits := kernel.CurrencyDigits[currency]
	lines := make([]Line, 0, len(parts))
	var total int64
	for k, ps := range parts {
		var w decimal.Decimal
		for _, p := range ps {
			w = w.Add(p.Weight())
		}
		if digits != 0 {
			w = w.Shift(digits)
		}
		used, err := kernel.CheckedMinor(w.DivRound(days, 0))
		if err != nil {
			return nil, err
		}
		if total += used; total > kernel.MaxInvoiceAmount { // both were at most MaxInvoiceAmount
			return nil, kernel.ErrAmountTooLarge
		}
		s := services[k.service]
		lines = append(lines, Line{Region: k.region, ServiceCode: k.service, ServiceName: s.Name, Kind: s.Kind,
			Used: used, Parts: ps})
	}
	SortLines(lines)
	return lines, nil
}

// flatPrices returns the FLAT_MONTHLY prices that apply to service in region,
// one per metric (the region's own over the all-regions one).
func FlatPrices(all []PriceRow, idx Prices, service, region string) []PriceRow {
	seen := map[string]bool{}
	var out []PriceRow
	for _, p := range all {
		if p.ServiceCode != service || p.Model != "FLAT_MONTHLY" || seen[p.Metric] {
			continue
		}
		if r, ok := idx.Find(service, region, p.Metric); ok && r.Model == "FLAT_MONTHLY" {
			seen[p.Metric] = true
			out = append(out, r)
		}
	}
	return out
}

// RoundHalfUp rounds a non-negative major-unit amount to minor units,
// half-up.
func RoundHalfUp(v decimal.Decimal, digits int32) int64 {
	return v.Shift(digits).Round(0).IntPart()
}

// SortLines orders lines by region, then service code.
func SortLines(lines []Line) {
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].Region != lines[j].Region {
			return lines[i].Region < lines[j].Region
		}
		return lines[i].ServiceCode < lines[j].ServiceCode
	})
}

// DiscountRow is a discount of the month.
type DiscountRow struct {
	ID           string
	Percentage   decimal.Decimal
	ServiceCodes []string
}

// DiscountUse is what one discount took off one line.
type DiscountUse struct {
	DiscountID string
	Line       int
	Amount     int64
}

// ApplyDiscounts takes each discount's percentage off the lines of its
// services, rounded half-up per line, never below zero (R-29: per service
// line, before credits).
func ApplyDiscounts(lines []Line, discounts []DiscountRow, digits int32) []DiscountUse {
	var uses []DiscountUse
	for _, d := range discounts {
		for i := range lines {
			if !appliesTo(d.ServiceCodes, lines[i].ServiceCode) {
				continue
			}
			left := lines[i].Used - lines[i].Discount
			amt := RoundHalfUp(decimal.New(lines[i].Used, -digits).Mul(d.Percentage).Div(decimal.NewFromInt(100)), digits)
			if amt > left {
				amt = left
			}
			if amt > 0 {
				lines[i].Discount += amt
				uses = append(uses, DiscountUse{DiscountID: d.ID, Line: i, Amount: amt})
			}
		}
	}
	return uses
}

func appliesTo(codes []string, service string) bool {
	if len(codes) == 0 {
		return true
	}
	for _, c := range codes {
		if c == service {
			return true
		}
	}
	return false
}

// Tax is VAT on the determined amount, rounded down.
func Tax(determined int64, rate decimal.Decimal) int64 {
	return decimal.NewFromInt(determined).Mul(rate).Floor().IntPart()
}
