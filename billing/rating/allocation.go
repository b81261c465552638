package rating

import (
	"sort"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/shopspring/decimal"
)

// CreditRow is what allocation needs of an AVAILABLE credit.
type CreditRow struct {
	ID               string
	Type             string // FREE | PAID
	StartsAt, EndsAt time.Time
	CreatedAt        time.Time
	ServiceCodes     []string
	Remaining        int64
}

// CreditUse is what one credit paid of one line.
type CreditUse struct {
	CreditID string
	Line     int
	Amount   int64
}

// SortCredits puts credits in KakaoCloud's usage order: free before
// paid; free by earliest end, restricted-to-services before unrestricted at
// the same end; paid by earliest expiry; then creation time, then id.
func SortCredits(cs []CreditRow) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Type != b.Type {
			return a.Type == "FREE"
		}
		if !a.EndsAt.Equal(b.EndsAt) {
			return a.EndsAt.Before(b.EndsAt)
		}
		if a.Type == "FREE" {
			ar, br := len(a.ServiceCodes) > 0, len(b.ServiceCodes) > 0
			if ar != br {
				return ar
			}
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
}

// DayRange is days From..To of a month, inclusive.
type DayRange struct{ From, To int }

// CreditDays tells which days of month m a credit may pay. A free
// credit pays the days (in loc) it is valid at any instant of — its usage
// period is [StartsAt, EndsAt) — so a credit valid from 14:00 on the 16th
// pays the whole 16th, and one ending at 00:00 on the 11th pays up to the
// 10th. A paid credit pays the whole month when the invoice is issued
// while it is valid. ok is false when the credit pays nothing of m.
func CreditDays(c CreditRow, m calendar.Month, issuedAt time.Time, loc *time.Location) (r DayRange, ok bool) {
	whole := DayRange{1, m.Days()}
	if c.Type == "PAID" {
		return whole, !issuedAt.Before(c.StartsAt) && issuedAt.Before(c.EndsAt)
	}
	start, end := m.Start(loc), m.End(loc)
	if !c.StartsAt.Before(end) || !c.EndsAt.After(start) {
		return DayRange{}, false
	}
	if c.StartsAt.After(start) {
		whole.From = c.StartsAt.In(loc).Day()
	}
	if c.EndsAt.Before(end) {
		whole.To = c.EndsAt.Add(-time.Nanosecond).In(loc).Day()
	}
	return whole, true
}

// NeedsDays tells whether allocating credits over month m needs to know on
// which days its lines were incurred: whether some free credit with
// something left pays only part of the month. Otherwise lines rated from
// usage summed over the month (UsageRow.Day 0) allocate exactly the same.
func NeedsDays(credits []CreditRow, m calendar.Month, issuedAt time.Time, loc *time.Location) bool {
	for _, c := range credits {
		if r, ok := CreditDays(c, m, issuedAt, loc); ok && c.Remaining > 0 && r != (DayRange{1, m.Days()}) {
			return true
		}
	}
	return false
}

// AllocateCredits pays the lines of month m's invoice, after discounts,
// with credits (R-22..R-24, R-27). It adds to lines[i].Credit, takes from
// the credits' Remaining, and returns each use. Its contract:
//
//   - Credits pay one after another in SortCredits order, each the lines
//     in the order given (the invoice's: region, then service code).
//   - A credit pays only lines of its ServiceCodes (every line when none);
//     a free credit never pays MARKETPLACE or OS_IMAGE lines.
//   - A credit pays only the part of a line incurred on the days it may pay
//     (CreditDays): a paid credit valid at issuedAt, and a free credit
//     valid all month, may pay all of it. Of a line, credits share its
//     determined amount before credits, D = Used − Discount, spread over
//     its Parts in proportion to their exact amounts (a discount takes the
//     same share of every day). A credit pays min(its remainder, ⌊what is
//     left of D on its days⌋), and what it pays is taken from its days
//     earliest first (parts of days not told first), so that credits after
//     it keep the later days.
//   - Hence, for every line: the credits pay at most D; and for any set S
//     of credits, what S pays is at most ⌊D × W(S) ÷ W⌋, where W is the
//     line's exact amount and W(S) its part incurred on the days of S's
//     credits. Parts of days not told (From 0) count only for credits that
//     may pay the whole month.
//   - Amounts are whole minor units; the only rounding is that floor, so
//     the line's total keeps the one half-up rounding of Rate.
func AllocateCredits(lines []Line, credits []CreditRow, m calendar.Month, issuedAt time.Time, loc *time.Location) []CreditUse {
	SortCredits(credits)
	var ledger *dayLedger // only when some credit pays part of the month
	if NeedsDays(credits, m, issuedAt, loc) {
		ledger = newDayLedger(lines, credits, m, issuedAt, loc)
	}
	whole := DayRange{1, m.Days()}
	var uses []CreditUse
	for ci := range credits {
		c := &credits[ci]
		days, ok := CreditDays(*c, m, issuedAt, loc)
		if !ok {
			continue
		}
		for li := range lines {
			if c.Remaining == 0 {
				break
			}
			l := &lines[li]
			if !appliesTo(c.ServiceCodes, l.ServiceCode) {
				continue
			}
			if c.Type == "FREE" && (l.Kind == "MARKETPLACE" || l.Kind == "OS_IMAGE") {
				continue
			}
			due := l.Determined()
			if due <= 0 {
				continue
			}
			eligible := due
			if ledger != nil && days != whole {
				eligible = ledger.eligible(li, days)
			}
			amt := min(eligible, c.Remaining)
			if amt <= 0 {
				continue
			}
			if ledger != nil {
				ledger.take(li, days, amt)
			}
			l.Credit += amt
			c.Remaining -= amt
			uses = append(uses, CreditUse{CreditID: c.ID, Line: li, Amount: amt})
		}
	}
	return uses
}

// dayLedger keeps, per line, what is left to pay on each run of days that
// the credits' periods cut the month into, exactly: left[s] is the part of
// the line's remaining determined amount incurred on segment s, times the
// line's exact weight W (so it stays an exact decimal). Segment 0 holds
// the parts of days not told.
type dayLedger struct {
	segs  []DayRange // segs[0] is {0, 0}
	lines []Line
	w     []decimal.Decimal   // per line: its exact weight (amount × N)
	left  [][]decimal.Decimal // per line, per segment; nil until first needed
}

func newDayLedger(lines []Line, credits []CreditRow, m calendar.Month, issuedAt time.Time, loc *time.Location) *dayLedger {
	n := m.Days()
	cut := make([]bool, n+2) // cut[d]: a segment starts on day d
	cut[1], cut[n+1] = true, true
	for _, c := range credits {
		if r, ok := CreditDays(c, m, issuedAt, loc); ok {
			cut[r.From], cut[r.To+1] = true, true
		}
	}
	segs := []DayRange{{0, 0}}
	for d := 1; d <= n; {
		e := d + 1
		for !cut[e] {
			e++
		}
		segs = append(segs, DayRange{d, e - 1})
		d = e
	}
	return &dayLedger{segs: segs, lines: lines, w: make([]decimal.Decimal, len(lines)), left: make([][]decimal.Decimal, len(lines))}
}

// line spreads line li's remaining determined amount over the segments.
func (g *dayLedger) line(li int) []decimal.Decimal {
	if g.left[li] != nil {
		return g.left[li]
	}
	left := make([]decimal.Decimal, len(g.segs))
	var w decimal.Decimal
	for _, p := range g.lines[li].Parts {
		for s, r := range g.segs {
			var days int
			switch {
			case p.From == 0 || r.From == 0:
				if p.From == 0 && r.From == 0 {
					days = 1
				}
			default:
				days = min(p.To, r.To) - max(p.From, r.From) + 1
			}
			if days > 0 {
				pw := p.PerDay
				if days > 1 {
					pw = pw.Mul(decimal.NewFromInt(int64(days)))
				}
				left[s] = left[s].Add(pw)
			}
		}
	}
	due := decimal.NewFromInt(g.lines[li].Determined())
	for s := range left {
		w = w.Add(left[s])
		left[s] = left[s].Mul(due)
	}
	g.w[li], g.left[li] = w, left
	return left
}

// inside tells whether segment r lies within days (days not told only
// within the whole month).
func (g *dayLedger) inside(r, days DayRange) bool {
	if r.From == 0 {
		return days.From == 1 && days.To == g.segs[len(g.segs)-1].To
	}
	return days.From <= r.From && r.To <= days.To
}

// eligible is what is left of line li on days, rounded down.
func (g *dayLedger) eligible(li int, days DayRange) int64 {
	left := g.line(li)
	if g.w[li].Sign() <= 0 {
		return 0
	}
	var sum decimal.Decimal
	for s, r := range g.segs {
		if g.inside(r, days) {
			sum = sum.Add(left[s])
		}
	}
	q, _ := sum.QuoRem(g.w[li], 0)
	return q.IntPart()
}

// take records amt paid of line li on days, earliest segment first.
func (g *dayLedger) take(li int, days DayRange, amt int64) {
	left := g.line(li)
	need := decimal.NewFromInt(amt).Mul(g.w[li])
	for s, r := range g.segs {
		if need.Sign() <= 0 {
			return
		}
		if !g.inside(r, days) || left[s].Sign() <= 0 {
			continue
		}
		t := decimal.Min(left[s], need)
		left[s] = left[s].Sub(t)
		need = need.Sub(t)
	}
}
