package rating

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/shopspring/decimal"
)

// Fuzz targets of rating and credit allocation: `go test -fuzz=FuzzRating ./billing/rating`.

// FuzzRating: any usage rates to non-negative lines in order,
// deterministically; each line's Used is its exact amount — computed here
// apart, in rationals, from the usage by day and the contract's days —
// rounded half-up once, and its parts add up to that amount;
// past MaxInvoiceAmount (a line or the total) it is ErrAmountTooLarge,
// never a wrapped amount.
func FuzzRating(f *testing.F) {
	f.Add(int64(1_500_000), int64(10_000_000), 5, 15, 3)
	f.Add(int64(0), int64(1), 0, 1, 31)
	f.Add(int64(999_999), int64(1), 31, 31, 0)
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), 1, 1, 31)
	f.Add(int64(1_250_000_000_000_000_000), int64(0), 1, 1, 31) // 6.25e17 won
	f.Fuzz(func(t *testing.T, a, b int64, dayA, startDay, endDay int) {
		if a < 0 || b < 0 {
			return
		}
		m := calendar.Month{Year: 2026, Month: 10}
		usage := []UsageRow{
			{ServiceCode: "api", Region: "kr-central", Metric: "call", Day: abs(dayA) % 32, Micros: a}, // 0: day not told
			{ServiceCode: "api", Region: "kr-central", Metric: "call", Day: 1 + abs(dayA+7)%31, Micros: b},
			{ServiceCode: "server", Region: "kr-south", Metric: "hour", Micros: b},
		}
		sd := time.Date(2026, 10, 1+abs(startDay)%31, 0, 0, 0, 0, time.UTC)
		ed := sd.AddDate(0, 0, abs(endDay)%40)
		lines, err := Rate(m, "KRW", testServices, testPrices, usage,
			[]ContractRow{{ServiceCode: "lb", Region: "kr-central", StartsOn: sd, EndsOn: &ed}})
		// The exact amounts, apart: api 0.5 a call, server 80 an hour in
		// kr-south, lb 18,000 × days held ÷ 31.
		want := map[string]*big.Rat{
			"api":    new(big.Rat).Mul(new(big.Rat).Add(big.NewRat(a, 1_000_000), big.NewRat(b, 1_000_000)), big.NewRat(1, 2)),
			"server": new(big.Rat).Mul(big.NewRat(b, 1_000_000), big.NewRat(80, 1)),
		}
		held := 0
		for d := sd; !d.After(ed) && d.Month() == 10; d = d.AddDate(0, 0, 1) {
			held++
		}
		if held > 0 {
			want["lb"] = big.NewRat(18000*int64(held), 31)
		}
		total := new(big.Rat)
		for _, w := range want {
			total.Add(total, new(big.Rat).SetInt(roundHalfUpInt(w)))
		}
		if total.Cmp(new(big.Rat).SetInt64(kernel.MaxInvoiceAmount)) > 0 {
			if !errors.Is(err, kernel.ErrAmountTooLarge) {
				t.Fatalf("%d and %d micro-units total %s won: %v, want ErrAmountTooLarge", a, b, total.FloatString(0), err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != len(want) {
			t.Fatalf("lines %+v, want %d", lines, len(want))
		}
		for i, l := range lines {
			if l.Used < 0 {
				t.Fatalf("negative line %+v", l)
			}
			if i > 0 && (lines[i-1].Region > l.Region || (lines[i-1].Region == l.Region && lines[i-1].ServiceCode >= l.ServiceCode)) {
				t.Fatalf("lines out of order: %+v", lines)
			}
			w := want[l.ServiceCode]
			if got := roundHalfUpRat(w); got != l.Used {
				t.Fatalf("%s used %d, want %s rounded half-up = %d", l.ServiceCode, l.Used, w.FloatString(6), got)
			}
			sum := new(big.Rat)
			for _, p := range l.Parts {
				sum.Add(sum, p.Weight().Rat())
			}
			if sum.Quo(sum, big.NewRat(31, 1)).Cmp(w) != 0 {
				t.Fatalf("%s parts add up to %s, want %s", l.ServiceCode, sum.FloatString(6), w.FloatString(6))
			}
		}
	})
}

// FuzzAllocate: for any lines (incurred on any days, discounted) and any
// free and paid credits, AllocateCredits keeps its contract, checked here
// apart from its bookkeeping, in rationals:
//   - a credit never pays more than it holds, nor a line more than it
//     determined before credits, nor a line it may not pay;
//   - for every line and every set S of credits, what S paid is at most
//     ⌊D × W(days of S) ÷ W⌋ (D: the line after discounts; W its exact
//     amount; W(days) the part incurred on those days);
//   - a credit left with something pays every line it may pay in full
//     when it may pay the whole month (nothing is left unpaid for no reason).
func FuzzAllocate(f *testing.F) {
	f.Add(int64(1), uint8(4))
	f.Add(int64(42), uint8(2))
	f.Add(int64(-7), uint8(7))
	f.Fuzz(func(t *testing.T, seed int64, shape uint8) {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(shape)))
		m := calendar.Month{Year: 2026, Month: time.Month(2 + int(shape)%11)} // months of 28, 30 and 31 days
		n := m.Days()
		kinds := []string{"STANDARD", "STANDARD", "MARKETPLACE", "OS_IMAGE"}
		lines := make([]Line, 1+rng.IntN(4))
		for i := range lines {
			l := &lines[i]
			l.ServiceCode, l.Kind = fmt.Sprintf("s%d", i), kinds[rng.IntN(len(kinds))]
			var w decimal.Decimal
			for p := rng.IntN(4); p >= 0; p-- {
				from := rng.IntN(n + 1) // 0: days not told
				to := from
				if from > 0 {
					to = from + rng.IntN(n-from+1)
				}
				part := Part{From: from, To: to, PerDay: decimal.New(rng.Int64N(5_000_000), -int32(rng.IntN(3)))}
				l.Parts = append(l.Parts, part)
				w = w.Add(part.Weight())
			}
			l.Used = w.DivRound(decimal.NewFromInt(int64(n)), 0).IntPart()
			l.Discount = l.Used * int64(rng.IntN(3)) / 10
		}
		start := m.Start(kst)
		var credits []CreditRow
		for c := rng.IntN(5); c >= 0; c-- {
			from := start.Add(time.Duration(rng.Int64N(int64(50 * 24 * time.Hour)))).Add(-10 * 24 * time.Hour)
			cr := CreditRow{ID: fmt.Sprintf("c%d", c), Type: []string{"FREE", "FREE", "PAID"}[rng.IntN(3)], StartsAt: from,
				EndsAt: from.Add(time.Hour + time.Duration(rng.Int64N(int64(40*24*time.Hour)))), Remaining: rng.Int64N(200_000)}
			if rng.IntN(3) == 0 {
				cr.ServiceCodes = []string{fmt.Sprintf("s%d", rng.IntN(len(lines)))}
			}
			credits = append(credits, cr)
		}
		issued := m.Next().Start(kst).AddDate(0, 0, 2)
		before := map[string]CreditRow{}
		for _, c := range credits {
			before[c.ID] = c
		}
		uses := AllocateCredits(lines, credits, m, issued, kst)

		paid := map[string]map[int]int64{} // credit → line → amount
		spent := map[string]int64{}
		for _, u := range uses {
			c, l := before[u.CreditID], lines[u.Line]
			if u.Amount <= 0 || !appliesTo(c.ServiceCodes, l.ServiceCode) || (c.Type == "FREE" && (l.Kind == "MARKETPLACE" || l.Kind == "OS_IMAGE")) {
				t.Fatalf("use %+v of credit %+v on line %+v", u, c, l)
			}
			if paid[u.CreditID] == nil {
				paid[u.CreditID] = map[int]int64{}
			}
			paid[u.CreditID][u.Line] += u.Amount
			spent[u.CreditID] += u.Amount
		}
		for _, c := range credits {
			if c.Remaining < 0 || spent[c.ID] != before[c.ID].Remaining-c.Remaining {
				t.Fatalf("credit %s: held %d, spent %d, left %d", c.ID, before[c.ID].Remaining, spent[c.ID], c.Remaining)
			}
		}
		for li, l := range lines {
			d := l.Used - l.Discount
			var credited int64
			for _, c := range credits {
				credited += paid[c.ID][li]
			}
			if credited != l.Credit || l.Credit < 0 || l.Credit > d {
				t.Fatalf("line %+v: credits %d of %d determined before credits", l, credited, d)
			}
			total := partsOn(l.Parts, nil, n)
			for set := 1; set < 1<<len(credits); set++ {
				var sum int64
				days := map[int]bool{}
				wholeMonth := false
				for ci, c := range credits {
					if set&(1<<ci) == 0 {
						continue
					}
					sum += paid[c.ID][li]
					r, ok := CreditDays(c, m, issued, kst)
					if !ok {
						continue
					}
					wholeMonth = wholeMonth || (r.From == 1 && r.To == n)
					for day := r.From; day <= r.To; day++ {
						days[day] = true
					}
				}
				if wholeMonth {
					days = nil // every part, days not told too
				}
				bound := int64(0)
				if total.Sign() > 0 {
					share := new(big.Rat).Mul(big.NewRat(d, 1), partsOn(l.Parts, days, n))
					share.Quo(share, total)
					bound = new(big.Int).Quo(share.Num(), share.Denom()).Int64()
				}
				if sum > bound {
					t.Fatalf("line %d (%+v): credits %b paid %d, more than %d of its days", li, l, set, sum, bound)
				}
			}
		}
		for _, c := range credits {
			r, ok := CreditDays(c, m, issued, kst)
			if !ok || c.Remaining == 0 || r != (DayRange{1, n}) {
				continue
			}
			for li, l := range lines {
				if appliesTo(c.ServiceCodes, l.ServiceCode) && !(c.Type == "FREE" && (l.Kind == "MARKETPLACE" || l.Kind == "OS_IMAGE")) && l.Determined() != 0 {
					t.Fatalf("credit %+v kept %d while line %d (%+v) was left %d", c, c.Remaining, li, l, l.Determined())
				}
			}
		}
	})
}

func roundHalfUpRat(r *big.Rat) int64 { return roundHalfUpInt(r).Int64() }

func roundHalfUpInt(r *big.Rat) *big.Int {
	q := new(big.Rat).Add(r, big.NewRat(1, 2))
	return new(big.Int).Quo(q.Num(), q.Denom())
}

// partsOn is the exact weight of parts incurred on days (every part, days
// not told included, when days is nil).
func partsOn(parts []Part, days map[int]bool, n int) *big.Rat {
	sum := new(big.Rat)
	for _, p := range parts {
		per := p.PerDay.Rat()
		if p.From == 0 {
			if days == nil {
				sum.Add(sum, per)
			}
			continue
		}
		for day := p.From; day <= p.To && day <= n; day++ {
			if days == nil || days[day] {
				sum.Add(sum, per)
			}
		}
	}
	return sum
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
