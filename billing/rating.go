package billing

import (
	"sort"
	"time"

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

// UsageRow is a summed quantity (micro-units) of one metric.
type UsageRow struct {
	ServiceCode, Region, Channel, Metric string
	Micros                               int64
}

// ContractRow is a contract's service, region and days (inclusive dates).
type ContractRow struct {
	ServiceCode, Region string
	StartsOn            time.Time
	EndsOn              *time.Time
}

// Line is one rated region × service line, in minor units.
type Line struct {
	Region, ServiceCode, ServiceName, Kind string
	Used                                   int64
	Discount, Credit                       int64
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

var micro = decimal.New(1, -6)

// DaysUsed counts the days of month m inside a contract [starts, ends]
// (inclusive calendar dates); ends nil means still running.
func DaysUsed(m Month, starts time.Time, ends *time.Time) int {
	first := time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(m.Year, m.Month, m.Days(), 0, 0, 0, 0, time.UTC)
	s := time.Date(starts.Year(), starts.Month(), starts.Day(), 0, 0, 0, 0, time.UTC)
	if s.Before(first) {
		s = first
	}
	e := last
	if ends != nil {
		ee := time.Date(ends.Year(), ends.Month(), ends.Day(), 0, 0, 0, 0, time.UTC)
		if ee.Before(e) {
			e = ee
		}
	}
	if e.Before(s) {
		return 0
	}
	return int(e.Sub(s).Hours()/24) + 1
}

// Rate prices a month: per-unit usage × unit price, and flat monthly fees of
// contracts prorated daily when used for part of the month (R-12:
// fee × days used ÷ days in month). Amounts add up exactly per region ×
// service and each line is rounded half-up to the currency's minor unit
// once. Lines come sorted by region, then service code.
func Rate(m Month, currency string, services map[string]ServiceInfo, prices []PriceRow, usage []UsageRow, contracts []ContractRow) []Line {
	idx := NewPrices(prices)
	type key struct{ region, service string }
	exact := map[key]decimal.Decimal{}
	add := func(region, service string, v decimal.Decimal) {
		k := key{region, service}
		exact[k] = exact[k].Add(v)
	}
	for _, u := range usage {
		p, ok := idx.Find(u.ServiceCode, u.Region, u.Metric)
		if !ok || p.Model != "PER_UNIT" {
			continue // ingestion accepts only priced per-unit metrics
		}
		add(u.Region, u.ServiceCode, decimal.New(u.Micros, 0).Mul(micro).Mul(p.UnitPrice))
	}
	// A channel product's flat fee is the plan's base fee of each channel
	// that used it this month, not a contract's.
	channels := map[[3]string]bool{}
	for _, u := range usage {
		if services[u.ServiceCode].Kind == "CHANNEL" && u.Channel != "" {
			channels[[3]string{u.Region, u.ServiceCode, u.Channel}] = true
		}
	}
	for k := range channels {
		for _, p := range flatPrices(prices, idx, k[1], k[0]) {
			add(k[0], k[1], p.UnitPrice)
		}
	}
	days := decimal.NewFromInt(int64(m.Days()))
	for _, c := range contracts {
		if services[c.ServiceCode].Kind == "CHANNEL" {
			continue
		}
		used := DaysUsed(m, c.StartsOn, c.EndsOn)
		if used == 0 {
			continue
		}
		for _, p := range flatPrices(prices, idx, c.ServiceCode, c.Region) {
			fee := p.UnitPrice
			if used < m.Days() {
				fee = fee.Mul(decimal.NewFromInt(int64(used))).Div(days)
			}
			add(c.Region, c.ServiceCode, fee)
		}
	}
	digits := minorDigits[currency]
	lines := make([]Line, 0, len(exact))
	for k, v := range exact {
		s := services[k.service]
		lines = append(lines, Line{Region: k.region, ServiceCode: k.service, ServiceName: s.Name, Kind: s.Kind,
			Used: RoundHalfUp(v, digits)})
	}
	SortLines(lines)
	return lines
}

// flatPrices returns the FLAT_MONTHLY prices that apply to service in region,
// one per metric (the region's own over the all-regions one).
func flatPrices(all []PriceRow, idx Prices, service, region string) []PriceRow {
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
