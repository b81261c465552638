package rated

import (
	"context"
	"fmt"
	"sort"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/shopspring/decimal"
)

// FeeDetail is one priced metric of a month (the detailed fees of R-47).
type FeeDetail struct {
	Region, ServiceCode, ServiceName, Channel, Metric, Model string
	Quantity, UnitPrice, Amount                              decimal.Decimal
}

// DetailedFees lists month m's fees per region, service, channel and metric
// before rounding, in invoice order.
func (s *Service) DetailedFees(ctx context.Context, bg *ent.BillingGroup, m calendar.Month) ([]FeeDetail, error) {
	usage, err := UsageSums(ctx, s.Client, bg.ID, m, m.Days(), false)
	if err != nil {
		return nil, err
	}
	cat, err := s.Catalog.Get(ctx, s.Client)
	if err != nil {
		return nil, err
	}
	idx := rating.NewPrices(cat.Prices)
	var out []FeeDetail
	for _, u := range usage {
		p, ok := idx.Find(u.ServiceCode, u.Region, u.Metric)
		if !ok {
			continue
		}
		q := decimal.New(u.Micros, -6)
		out = append(out, FeeDetail{Region: u.Region, ServiceCode: u.ServiceCode, ServiceName: cat.Services[u.ServiceCode].Name,
			Channel: u.Channel, Metric: u.Metric, Model: "PER_UNIT", Quantity: q, UnitPrice: p.UnitPrice, Amount: q.Mul(p.UnitPrice)})
	}
	out = append(out, channelBaseFees(m, cat, idx, usage)...)
	contracts, err := s.Client.Contract.Query().Where(contract.BillingGroupID(bg.ID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range contracts {
		if cat.Services[c.ServiceCode].Kind == "CHANNEL" {
			continue
		}
		days := rating.DaysUsed(m, c.StartsOn, c.EndsOn)
		if days == 0 {
			continue
		}
		for _, p := range rating.FlatPrices(cat.Prices, idx, c.ServiceCode, c.RegionCode) {
			q := decimal.NewFromInt(int64(days)).Div(decimal.NewFromInt(int64(m.Days())))
			amt := p.UnitPrice
			if days < m.Days() {
				amt = p.UnitPrice.Mul(decimal.NewFromInt(int64(days))).Div(decimal.NewFromInt(int64(m.Days())))
			}
			out = append(out, FeeDetail{Region: c.RegionCode, ServiceCode: c.ServiceCode, ServiceName: cat.Services[c.ServiceCode].Name,
				Metric: fmt.Sprintf("%s (%d/%d days)", p.Metric, days, m.Days()), Model: "FLAT_MONTHLY",
				Quantity: q.Round(6), UnitPrice: p.UnitPrice, Amount: amt})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.ServiceCode != b.ServiceCode {
			return a.ServiceCode < b.ServiceCode
		}
		if a.Channel != b.Channel {
			return a.Channel < b.Channel
		}
		return a.Metric < b.Metric
	})
	return out, nil
}

// channelBaseFees are the plan's base fees of each channel that used a
// channel product in month m, as Rate charges them: the whole
// monthly fee, whatever day the channel began.
func channelBaseFees(m calendar.Month, cat *catalog.Catalog, idx rating.Prices, usage []rating.UsageRow) []FeeDetail {
	seen := map[[3]string]bool{}
	var out []FeeDetail
	for _, u := range usage {
		k := [3]string{u.Region, u.ServiceCode, u.Channel}
		if cat.Services[u.ServiceCode].Kind != "CHANNEL" || u.Channel == "" || seen[k] {
			continue
		}
		seen[k] = true
		for _, p := range rating.FlatPrices(cat.Prices, idx, u.ServiceCode, u.Region) {
			out = append(out, FeeDetail{Region: u.Region, ServiceCode: u.ServiceCode, ServiceName: cat.Services[u.ServiceCode].Name,
				Channel: u.Channel, Metric: fmt.Sprintf("%s (%d/%d days)", p.Metric, m.Days(), m.Days()), Model: "FLAT_MONTHLY",
				Quantity: decimal.NewFromInt(1), UnitPrice: p.UnitPrice, Amount: p.UnitPrice})
		}
	}
	return out
}
