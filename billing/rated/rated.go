package rated

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/discount"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
	"github.com/shopspring/decimal"
)

// UsageReport is the usage of a billing group over a period.
type UsageReport struct {
	Month                     calendar.Month
	From, To                  time.Time // calendar days, inclusive; To < From when empty
	Currency                  string
	Lines                     []rating.Line
	Used, Discount, Estimated int64
}

// untilTomorrow notes that a view of the month so far (days 1..yesterday)
// is right until the next midnight of now's location.
func untilTomorrow(ctx context.Context, now time.Time) {
	readmodel.ValidUntil(ctx, time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location()))
}

// Usage reports month m for bg, optionally for one region: a past
// month whole, the month in progress up to yesterday; a month that
// has not begun is refused (field month), never estimated.
func (s *Service) Usage(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, region string) (*UsageReport, error) {
	lastDay, err := s.knownThrough(ctx, m)
	if err != nil {
		return nil, err
	}
	return s.UsageThrough(ctx, bg, m, lastDay, region)
}

// knownThrough is the last day of month m whose usage is known now: the
// month's last day once it is over, yesterday while it runs (R-15; noted as
// the validity of what is read). A month that has not begun has no usage
// to show, and projecting its contracts would be an estimate dressed as
// usage: it is refused.
func (s *Service) knownThrough(ctx context.Context, m calendar.Month) (int, error) {
	if err := s.RequireBegun(m, "month"); err != nil {
		return 0, err
	}
	now := s.Clock.Now().In(s.Policy.Location())
	if m == (calendar.Month{Year: now.Year(), Month: now.Month()}) {
		untilTomorrow(ctx, now)
		return now.Day() - 1, nil
	}
	return m.Days(), nil
}

// RequireBegun refuses month m (as input field) when it has not begun in
// the policy's zone.
func (s *Service) RequireBegun(m calendar.Month, field string) error {
	now := s.Clock.Now()
	if start := m.Start(s.Policy.Location()); now.Before(start) {
		return kernel.FieldError(field, "%s has not begun (it begins %s): there is nothing to show for it yet", m, start.Format(time.RFC3339))
	}
	return nil
}

// RequireEnded refuses month m (as input field) until it has ended: a
// usage confirmation or the detailed fees of a month are documents of a
// closed month.
func (s *Service) RequireEnded(m calendar.Month, field string) error {
	now := s.Clock.Now()
	if end := m.End(s.Policy.Location()); now.Before(end) {
		return kernel.FieldError(field, "%s has not ended (it ends %s): its usage documents are issued once it has", m, end.Format(time.RFC3339))
	}
	return nil
}

// CurrentUsage reports the current month from the 1st to the day before
// today.
func (s *Service) CurrentUsage(ctx context.Context, bg *ent.BillingGroup) (*UsageReport, error) {
	now := s.Clock.Now().In(s.Policy.Location())
	untilTomorrow(ctx, now)
	return s.UsageThrough(ctx, bg, calendar.Month{Year: now.Year(), Month: now.Month()}, now.Day()-1, "")
}

func (s *Service) UsageThrough(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, lastDay int, region string) (*UsageReport, error) {
	rep := &UsageReport{Month: m, Currency: bg.Currency,
		From: time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC),
		To:   time.Date(m.Year, m.Month, lastDay, 0, 0, 0, 0, time.UTC)}
	if lastDay < 1 {
		rep.Lines = []rating.Line{}
		return rep, nil
	}
	lines, err := s.viewRate(ctx, bg, m, lastDay)
	if err != nil {
		return nil, err
	}
	_, discounts, err := s.viewTerms(ctx, bg)
	if err != nil {
		return nil, err
	}
	if err := applyDiscountRows(lines, discounts, m, bg.Currency); err != nil {
		return nil, err
	}
	rep.Lines = lines[:0]
	for _, l := range lines {
		if region != "" && l.Region != region {
			continue
		}
		rep.Lines = append(rep.Lines, l)
		rep.Used += l.Used
		rep.Discount += l.Discount
	}
	rep.Estimated = rep.Used - rep.Discount
	return rep, nil
}

// Rate reads the usage rollups of days 1..lastDay of month m, the contracts
// and the catalog, and rates them. lastDay < m.Days() rates a month so far:
// flat fees then count the days up to lastDay only.
func (s *Service) Rate(ctx context.Context, client *ent.Client, bg *ent.BillingGroup, m calendar.Month, lastDay int, byDay bool) ([]rating.Line, error) {
	usage, err := UsageSums(ctx, client, bg.ID, m, lastDay, byDay)
	if err != nil {
		return nil, err
	}
	through := time.Date(m.Year, m.Month, lastDay, 0, 0, 0, 0, time.UTC)
	contracts, err := client.Contract.Query().Where(contract.BillingGroupID(bg.ID), contract.StartsOnLTE(through)).All(ctx)
	if err != nil {
		return nil, err
	}
	return s.RateRows(ctx, client, bg, m, lastDay, usage, contracts)
}

// viewRate is Rate for views: usage from the request's window, contracts
// from the replica's short cache.
//
// The rated lines are cached under the organization's revision (contracts)
// and usage revision (the rollups), per catalog: a warm dashboard neither
// reads nor rates usage. The caller gets its own copy to adjust.
func (s *Service) viewRate(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, lastDay int) ([]rating.Line, error) {
	cat, err := s.Catalog.Get(ctx, s.Client)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("rate:%s:%s:%d:%s:c%d", bg.ID, m, lastDay, readmodel.UsageRevision(ctx), cat.Version())
	lines, err := readmodel.CachedView(ctx, bg.OrgID, key, func() ([]rating.Line, error) {
		usage, err := s.viewUsage(ctx, bg.ID, m, lastDay)
		if err != nil {
			return nil, err
		}
		contracts, _, err := s.viewTerms(ctx, bg)
		if err != nil {
			return nil, err
		}
		return s.RateRows(ctx, s.Client, bg, m, lastDay, usage, contracts)
	})
	return append([]rating.Line(nil), lines...), err
}

func (s *Service) RateRows(ctx context.Context, client *ent.Client, bg *ent.BillingGroup, m calendar.Month, lastDay int, usage []rating.UsageRow, contracts []*ent.Contract) ([]rating.Line, error) {
	through := time.Date(m.Year, m.Month, lastDay, 0, 0, 0, 0, time.UTC)
	crows := make([]rating.ContractRow, 0, len(contracts))
	for _, c := range contracts {
		if c.StartsOn.After(through) {
			continue
		}
		end := c.EndsOn
		if lastDay < m.Days() && (end == nil || end.After(through)) {
			end = &through
		}
		crows = append(crows, rating.ContractRow{ServiceCode: c.ServiceCode, Region: c.RegionCode, StartsOn: c.StartsOn, EndsOn: end})
	}
	cat, err := s.Catalog.Get(ctx, client)
	if err != nil {
		return nil, err
	}
	return rating.Rate(m, bg.Currency, cat.Services, cat.Prices, usage, crows)
}

// UsageSums adds up a billing group's daily rollups by metric, and by day
// when byDay is set (else the rows' Day is 0).
func UsageSums(ctx context.Context, client *ent.Client, bgID string, m calendar.Month, lastDay int, byDay bool) ([]rating.UsageRow, error) {
	var sums []struct {
		Day     string `json:"day"`
		Service string `json:"service_code"`
		Region  string `json:"region_code"`
		Channel string `json:"channel"`
		Metric  string `json:"metric"`
		Micros  int64  `json:"micros"`
	}
	by := []string{usagedaily.FieldServiceCode, usagedaily.FieldRegionCode, usagedaily.FieldChannel, usagedaily.FieldMetric}
	if byDay {
		by = append(by, usagedaily.FieldDay)
	}
	err := client.UsageDaily.Query().
		Where(usagedaily.BillingGroupID(bgID), usagedaily.DayGTE(fmt.Sprintf("%s-01", m)),
			usagedaily.DayLTE(fmt.Sprintf("%s-%02d", m, lastDay))).
		GroupBy(by[0], by[1:]...).
		Aggregate(func(s *sql.Selector) string { return sql.As(sql.Sum(usagedaily.FieldQuantityMicros), "micros") }).
		Scan(ctx, &sums)
	if err != nil {
		return nil, err
	}
	out := make([]rating.UsageRow, len(sums))
	for i, u := range sums {
		out[i] = rating.UsageRow{ServiceCode: u.Service, Region: u.Region, Channel: u.Channel, Metric: u.Metric, Micros: u.Micros}
		if byDay {
			if out[i].Day, err = dayOfMonth(u.Day); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// dayOfMonth reads the day of a rollup's "YYYY-MM-DD".
func dayOfMonth(day string) (int, error) {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return 0, fmt.Errorf("usage rollup day %q: %w", day, err)
	}
	return t.Day(), nil
}

// Discount applies the month's discounts of bg to lines.
func (s *Service) Discount(ctx context.Context, client *ent.Client, bg *ent.BillingGroup, m calendar.Month, lines []rating.Line) ([]rating.DiscountUse, error) {
	discounts, err := client.Discount.Query().Where(discount.BillingGroupID(bg.ID), discount.Month(m.String())).
		Order(ent.Asc(discount.FieldCreatedAt), ent.Asc(discount.FieldID)).All(ctx)
	if err != nil || len(discounts) == 0 {
		return nil, err
	}
	rows := make([]rating.DiscountRow, 0, len(discounts))
	for _, d := range discounts {
		pct, err := decimal.NewFromString(d.Percentage)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rating.DiscountRow{ID: d.ID, Percentage: pct, ServiceCodes: d.ServiceCodes})
	}
	return rating.ApplyDiscounts(lines, rows, kernel.CurrencyDigits[bg.Currency]), nil
}

// applyDiscountRows applies month m's discounts from a list of a group's.
func applyDiscountRows(lines []rating.Line, ds []*ent.Discount, m calendar.Month, currency string) error {
	var rows []rating.DiscountRow
	for _, d := range ds {
		if d.Month != m.String() {
			continue
		}
		pct, err := decimal.NewFromString(d.Percentage)
		if err != nil {
			return err
		}
		rows = append(rows, rating.DiscountRow{ID: d.ID, Percentage: pct, ServiceCodes: d.ServiceCodes})
	}
	rating.ApplyDiscounts(lines, rows, kernel.CurrencyDigits[currency])
	return nil
}

// CatalogVersion names the catalog a view is rated with (catalog.Cache).
func (s *Service) CatalogVersion(ctx context.Context) (string, error) {
	return s.Catalog.Version(ctx, s.Client)
}

// ChannelUsage is one channel's month.
type ChannelUsage struct {
	Channel                         string
	Services                        []ChannelServiceUsage
	BaseFee, DiskFee, APIFee, Total int64
	Currency                        string
}

// ChannelServiceUsage is a channel's usage of one service.
type ChannelServiceUsage struct {
	ServiceCode, ServiceName string
	APICalls                 decimal.Decimal
	// DiskBytes is the disk usage in bytes; DiskUsage is the same in
	// DiskUnit, the unit its metrics are priced in ("GB"), for display.
	DiskBytes, DiskUsage decimal.Decimal
	DiskUnit             string
	Amount               int64
}

// diskUnits are the units a disk metric may be priced in, by the suffix of
// its name ("disk-gb"), in bytes. Storage is billed in binary units, as
// cloud consoles show them: 1 GB = 1024³ bytes.
var diskUnits = []struct {
	suffix, name string
	bytes        int64
}{{"-tb", "TB", 1 << 40}, {"-gb", "GB", 1 << 30}, {"-mb", "MB", 1 << 20}, {"-kb", "KB", 1 << 10}}

// DiskUnit is the unit a disk metric counts in and its size in bytes; a
// metric without a unit suffix counts bytes.
func DiskUnit(metric string) (string, decimal.Decimal) {
	for _, u := range diskUnits {
		if strings.HasSuffix(metric, u.suffix) {
			return u.name, decimal.NewFromInt(u.bytes)
		}
	}
	return "B", decimal.NewFromInt(1)
}

// ChannelUsage reports month m per channel of bg's channel products: per
// service the API calls and disk usage, and per channel its base fee, disk
// usage fee and API usage fee. Metrics named "disk…" are disk usage,
// the other per-unit metrics API usage.
// Like Usage, the month in progress shows up to yesterday and a month that
// has not begun is refused.
func (s *Service) ChannelUsage(ctx context.Context, bg *ent.BillingGroup, m calendar.Month) ([]ChannelUsage, error) {
	lastDay, err := s.knownThrough(ctx, m)
	if err != nil {
		return nil, err
	}
	if lastDay < 1 {
		return []ChannelUsage{}, nil
	}
	usage, err := s.viewUsage(ctx, bg.ID, m, lastDay)
	if err != nil {
		return nil, err
	}
	cat, err := s.Catalog.Get(ctx, s.Client)
	if err != nil {
		return nil, err
	}
	idx := rating.NewPrices(cat.Prices)
	byChannel := map[string]*channelAcc{}
	for _, u := range usage {
		if u.Channel == "" || cat.Services[u.ServiceCode].Kind != "CHANNEL" {
			continue
		}
		a := byChannel[u.Channel]
		if a == nil {
			a = &channelAcc{services: map[string]*ChannelServiceUsage{}, exact: map[string]decimal.Decimal{}, seenBase: map[string]bool{},
				shown: map[string]decimal.Decimal{}}
			byChannel[u.Channel] = a
		}
		a.add(u, cat, idx)
	}
	out := make([]ChannelUsage, 0, len(byChannel))
	for ch, a := range byChannel {
		out = append(out, a.total(ch, bg.Currency))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel < out[j].Channel })
	return out, nil
}

// channelAcc adds up one channel's usage, exactly, until total rounds it.
type channelAcc struct {
	base, disk, api decimal.Decimal
	services        map[string]*ChannelServiceUsage
	exact           map[string]decimal.Decimal
	seenBase        map[string]bool
	shown           map[string]decimal.Decimal // per service: bytes in its disk display unit
}

// add counts one usage row: the flat base fees of its service and region
// once, its per-unit fee as disk or API calls.
func (a *channelAcc) add(u rating.UsageRow, cat *catalog.Catalog, idx rating.Prices) {
	s := a.services[u.ServiceCode]
	if s == nil {
		s = &ChannelServiceUsage{ServiceCode: u.ServiceCode, ServiceName: cat.Services[u.ServiceCode].Name}
		a.services[u.ServiceCode] = s
	}
	key := u.Region + "/" + u.ServiceCode
	if !a.seenBase[key] {
		a.seenBase[key] = true
		for _, p := range rating.FlatPrices(cat.Prices, idx, u.ServiceCode, u.Region) {
			a.base = a.base.Add(p.UnitPrice)
			a.exact[u.ServiceCode] = a.exact[u.ServiceCode].Add(p.UnitPrice)
		}
	}
	p, ok := idx.Find(u.ServiceCode, u.Region, u.Metric)
	if !ok || p.Model != "PER_UNIT" {
		return
	}
	qty := decimal.New(u.Micros, -6)
	fee := qty.Mul(p.UnitPrice)
	a.exact[u.ServiceCode] = a.exact[u.ServiceCode].Add(fee)
	if strings.HasPrefix(u.Metric, "disk") {
		unit, size := DiskUnit(u.Metric)
		s.DiskBytes = s.DiskBytes.Add(qty.Mul(size))
		if shown, ok := a.shown[u.ServiceCode]; !ok || size.GreaterThan(shown) {
			s.DiskUnit, a.shown[u.ServiceCode] = unit, size // several units: shown in the largest
		}
		a.disk = a.disk.Add(fee)
	} else {
		s.APICalls = s.APICalls.Add(qty)
		a.api = a.api.Add(fee)
	}
}

// total is the channel's fees, each rounded once, and its services.
func (a *channelAcc) total(ch, currency string) ChannelUsage {
	digits := kernel.CurrencyDigits[currency]
	cu := ChannelUsage{Channel: ch, Currency: currency,
		BaseFee: rating.RoundHalfUp(a.base, digits), DiskFee: rating.RoundHalfUp(a.disk, digits), APIFee: rating.RoundHalfUp(a.api, digits)}
	cu.Total = cu.BaseFee + cu.DiskFee + cu.APIFee
	for code, s := range a.services {
		s.Amount = rating.RoundHalfUp(a.exact[code], digits)
		if size, ok := a.shown[code]; ok {
			// Exact for one unit: quantities have 6 decimals at most.
			s.DiskUsage = s.DiskBytes.DivRound(size, 6)
		}
		cu.Services = append(cu.Services, *s)
	}
	sort.Slice(cu.Services, func(i, j int) bool { return cu.Services[i].ServiceCode < cu.Services[j].ServiceCode })
	return cu
}

// ServiceUsageStatus counts the contracts a billing group holds per service
// and region today.
type ServiceUsageStatus struct {
	ServiceCode, ServiceName, Region string
	Contracts                        int
}

// ServiceUsage lists bg's contracts in force today, by service and region.
func (s *Service) ServiceUsage(ctx context.Context, bg *ent.BillingGroup, region string) ([]ServiceUsageStatus, error) {
	now := s.Clock.Now().In(s.Policy.Location())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	q := s.Client.Contract.Query().Where(contract.BillingGroupID(bg.ID), contract.StartsOnLTE(today),
		contract.Or(contract.EndsOnIsNil(), contract.EndsOnGTE(today)))
	if region != "" {
		q = q.Where(contract.RegionCode(region))
	}
	cs, err := q.All(ctx)
	if err != nil {
		return nil, err
	}
	cat, err := s.Catalog.Get(ctx, s.Client)
	if err != nil {
		return nil, err
	}
	counts := map[[2]string]int{}
	for _, c := range cs {
		counts[[2]string{c.ServiceCode, c.RegionCode}]++
	}
	out := make([]ServiceUsageStatus, 0, len(counts))
	for k, n := range counts {
		out = append(out, ServiceUsageStatus{ServiceCode: k[0], ServiceName: cat.Services[k[0]].Name, Region: k[1], Contracts: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Region != out[j].Region {
			return out[i].Region < out[j].Region
		}
		return out[i].ServiceCode < out[j].ServiceCode
	})
	return out, nil
}

// TrendMonth is one month of the billing trend.
type TrendMonth struct {
	Month               calendar.Month
	Usage, Billed, Paid int64
	Invoiced            bool
}

// BillingTrend reports the last n months up to the current one, oldest
// first: usage per month (from the invoice once issued, else rated so far)
// and what was billed and paid.
func (s *Service) BillingTrend(ctx context.Context, bg *ent.BillingGroup, n int) ([]TrendMonth, error) {
	now := s.Clock.Now().In(s.Policy.Location())
	untilTomorrow(ctx, now)
	cur := calendar.Month{Year: now.Year(), Month: now.Month()}
	first := cur
	for i := 1; i < n; i++ {
		first = first.Prev()
	}
	invs, err := readmodel.CachedView(ctx, bg.OrgID, "trend:"+bg.ID+":"+first.String()+":"+cur.String(), func() ([]*ent.Invoice, error) {
		if invs, ok := trendInvoicesOf(bg, first, cur); ok {
			return invs, nil
		}
		return s.Client.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.MonthGTE(first.String()),
			invoice.MonthLTE(cur.String()), kernel.Live()).All(ctx)
	})
	if err != nil {
		return nil, err
	}
	byMonth := map[string]*ent.Invoice{}
	for _, inv := range invs {
		byMonth[inv.Month] = inv
	}
	out := make([]TrendMonth, 0, n)
	for m := first; !cur.Before(m); m = m.Next() {
		t := TrendMonth{Month: m}
		if inv := byMonth[m.String()]; inv != nil {
			t.Invoiced = true
			t.Usage = inv.UsageAmount
			t.Billed = kernel.PaymentAmount(inv) - inv.CreditNoteAmount // net of credit notes
			t.Paid = inv.PaidAmount
		} else if !bg.CreatedAt.After(m.End(s.Policy.Location())) {
			last := m.Days()
			if m == cur {
				last = now.Day() - 1
			}
			if last >= 1 {
				lines, err := s.viewRate(ctx, bg, m, last)
				if err != nil {
					return nil, err
				}
				for _, l := range lines {
					t.Usage += l.Used
				}
			}
		}
		out = append(out, t)
	}
	return out, nil
}
