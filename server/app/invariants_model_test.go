package app_test

// The reference model of TestMoneyInvariants: what cloudbill must show after
// any sequence of operations, worked out from docs/rules.md (and issue 13's
// defect texts) alone. It shares no code with the engine (billing/): money is
// math/big rationals and int64 minor units, months are counted in KST by
// hand, and rating, discounts, credit allocation, coins and the calendar are
// written again here from the rules.

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
)

// ---------------------------------------------------------------------------
// The catalog every run starts from.

type mService struct {
	code, kind, metric string
	unit               map[string]*big.Rat // price of one unit by region; "" = every other region
	flat               *big.Rat            // flat monthly fee, nil when none
}

var invRegions = []string{"kr-1", "kr-2"}

var invCatalog = []mService{
	{code: "vm", kind: "STANDARD", metric: "hour", unit: map[string]*big.Rat{"": rat("85"), "kr-2": rat("90")}},
	{code: "calls", kind: "STANDARD", metric: "call", unit: map[string]*big.Rat{"": rat("0.5")}},
	{code: "disk", kind: "STANDARD", metric: "gb", unit: map[string]*big.Rat{"": rat("12.345")}},
	{code: "market", kind: "MARKETPLACE", metric: "unit", unit: map[string]*big.Rat{"": rat("1000")}},
	{code: "os", kind: "OS_IMAGE", metric: "hour", unit: map[string]*big.Rat{"": rat("7.5")}},
	{code: "db", kind: "STANDARD", metric: "io", unit: map[string]*big.Rat{"": rat("0.05")}, flat: rat("9900")},
	{code: "lb", kind: "STANDARD", flat: rat("18000")},
}

// usageServices are the services with a per-unit metric; contractServices
// those with a flat fee (and vm, which a contract may hold without a fee).
var (
	usageServices    = []string{"vm", "calls", "disk", "market", "os", "db"}
	contractServices = []string{"lb", "db", "vm"}
)

func invService(code string) *mService {
	for i := range invCatalog {
		if invCatalog[i].code == code {
			return &invCatalog[i]
		}
	}
	panic("no service " + code)
}

func (s *mService) unitPrice(region string) *big.Rat {
	if p, ok := s.unit[region]; ok {
		return p
	}
	return s.unit[""]
}

// catalogMutation creates invCatalog through the API.
func catalogMutation() string {
	var b strings.Builder
	b.WriteString("mutation {\n")
	for i, r := range invRegions {
		fmt.Fprintf(&b, "r%d: createRegion(input: {code: %q, name: %q}) { region { code } }\n", i, r, r)
	}
	for i, s := range invCatalog {
		var prices []string
		regions := make([]string, 0, len(s.unit))
		for r := range s.unit {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		for _, r := range regions {
			region := ""
			if r != "" {
				region = fmt.Sprintf(", region: %q", r)
			}
			prices = append(prices, fmt.Sprintf("{metric: %q, model: PER_UNIT, unitPrice: %q%s}", s.metric, s.unit[r].FloatString(6), region))
		}
		if s.flat != nil {
			prices = append(prices, fmt.Sprintf("{metric: \"month\", model: FLAT_MONTHLY, unitPrice: %q}", s.flat.FloatString(0)))
		}
		fmt.Fprintf(&b, "s%d: createService(input: {code: %q, name: %q, kind: %s, prices: [%s]}) { service { code } }\n",
			i, s.code, strings.ToUpper(s.code), s.kind, strings.Join(prices, ", "))
	}
	b.WriteString("}")
	return b.String()
}

// ---------------------------------------------------------------------------
// Exact money.

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// halfUp rounds a non-negative amount to whole won, half up.
func halfUp(r *big.Rat) int64 {
	n := new(big.Int).Mul(r.Num(), big.NewInt(2))
	n.Add(n, r.Denom())
	n.Quo(n, new(big.Int).Mul(r.Denom(), big.NewInt(2)))
	return n.Int64()
}

// floorDiv is ⌊a × num / den⌋ for a ≥ 0: VAT and late fees round down.
func floorDiv(a, num, den int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(num))
	return n.Quo(n, big.NewInt(den)).Int64()
}

func microsRat(micros int64) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(micros), big.NewInt(1_000_000))
}

// ---------------------------------------------------------------------------
// The calendar in KST (R-38, R-41..R-44, NCP's values).

type mMonth int // year×12 + month−1

func monthOfT(t time.Time) mMonth {
	l := t.In(kst)
	return mMonth(l.Year()*12 + int(l.Month()) - 1)
}

func (m mMonth) year() int       { return int(m) / 12 }
func (m mMonth) mon() time.Month { return time.Month(int(m)%12 + 1) }
func (m mMonth) String() string  { return fmt.Sprintf("%04d-%02d", m.year(), int(m.mon())) }
func (m mMonth) at(day, h, min int) time.Time {
	return time.Date(m.year(), m.mon(), day, h, min, 0, 0, kst)
}
func (m mMonth) start() time.Time { return m.at(1, 0, 0) }
func (m mMonth) days() int        { return time.Date(m.year(), m.mon()+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// issuedAt is when month m's invoice is issued: 00:00 on the 3rd of the next
// month.
func (m mMonth) issuedAt() time.Time { return (m + 1).at(3, 0, 0) }

// outstandingFrom: unpaid when the regular payment days (10th–14th) of the
// next month end.
func (m mMonth) outstandingFrom() time.Time { return (m + 1).at(15, 0, 0) }

// dueMonth is the latest month whose invoice is due by t.
func dueMonth(t time.Time) mMonth {
	m := monthOfT(t) - 1
	if t.In(kst).Day() < 3 {
		m--
	}
	return m
}

func regularDay(t time.Time) bool { d := t.In(kst).Day(); return d >= 10 && d <= 14 }

// instantPayOpen: 14:00 on the 3rd to 22:00 on the last day, outside the
// regular payment days.
func instantPayOpen(t time.Time) bool {
	l := t.In(kst)
	if regularDay(t) {
		return false
	}
	after := l.Day() > 3 || (l.Day() == 3 && l.Hour() >= 14)
	before := l.Day() < monthOfT(t).days() || l.Hour() < 22
	return after && before
}

// date is a calendar day of a contract, kept as midnight UTC.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// daysUsed counts the days of month m inside [starts, ends] (inclusive
// calendar days; ends nil = open).
func daysUsed(m mMonth, starts time.Time, ends *time.Time) int {
	first, last := date(m.year(), m.mon(), 1), date(m.year(), m.mon(), m.days())
	s, e := starts, last
	if s.Before(first) {
		s = first
	}
	if ends != nil && ends.Before(e) {
		e = *ends
	}
	if e.Before(s) {
		return 0
	}
	return int(e.Sub(s)/(24*time.Hour)) + 1
}

// ---------------------------------------------------------------------------
// The model's world.

type mWorld struct {
	start, now, lastJobs time.Time // lastJobs: zero until the jobs first run
	orgs                 []*mOrg
	coupons              []*mCoupon
	keys                 map[string]*mKey // caller + "\x00" + idempotency key
	open                 func(defect int) bool
	// look: a step left a split that is the engine's choice (adopt flags):
	// the harness must run the engine up to that step and compare before
	// the model goes on.
	look bool
}

type mOrg struct {
	idx            int
	master, member *mAccount // member: nil for orgs without one
	groups         []*mGroup
	events         map[string]*mEvent // accepted events by eventKey (R-13: an id is unique per organization and month)
	welcome        bool
}

type mAccount struct {
	idx          int // in its organization: 0 = the master
	id, email    string
	token        string
	org          *mOrg
	methods      []*mMethod
	charges      []*mCharge
	wrongCoupons []time.Time // wrong coupon codes tried (R-30: at most 10 a minute)
}

type mMethod struct {
	id, token string
	good      bool // charges succeed
	refunds   bool // refunds succeed
	isDefault bool
}

type mCharge struct {
	id                     string
	owner                  *mAccount
	at                     time.Time
	charged, bonus         int64
	chargedLeft, bonusLeft int64
	shared                 map[*mAccount]bool
	// adopt: how the last operation split its spending among charges is
	// the engine's choice; the check takes the engine's figures.
	adopt bool
}

type mGroup struct {
	org       *mOrg
	idx       int
	id        string
	created   time.Time
	main      bool
	events    []*mEvent
	contracts []*mContract
	discounts []*mDiscount
	credits   []*mCredit
	invoices  map[mMonth]*mInvoice // the live one of each month
	voided    []*mInvoice
	awaiting  map[mMonth]bool      // voided months not reissued yet
}

type mEvent struct {
	id        string
	group     *mGroup
	svc       string
	region    string
	quantity  string
	micros    int64
	at        time.Time
	atText    string
	refusable bool // a huge quantity: refusing the batch is a valid answer (issue 13 defect 3)
}

// key is what makes an event id unique: its organization (the map it is
// kept in) and the month of its instant in KST (R-13, docs/rules.md); the
// same id in another month is another event.
func (e *mEvent) key() string { return e.id + "\x00" + monthOfT(e.at).String() }

// sameContent: an event id sent again is a duplicate only with the same
// content; otherwise it conflicts (issue 13 defect 7).
func (e *mEvent) sameContent(o *mEvent) bool {
	return e.group == o.group && e.svc == o.svc && e.region == o.region && e.micros == o.micros && e.at.Equal(o.at)
}

type mContract struct {
	id          string
	svc, region string
	starts      time.Time
	ends        *time.Time
}

type mDiscount struct {
	id       string
	month    mMonth
	pct      *big.Rat
	services []string
	created  time.Time
}

type mCredit struct {
	id, name, typ                string
	group                        *mGroup
	starts, ends, created        time.Time
	services                     []string
	accumulated, used, remaining int64
	status                       string
	closedAt                     time.Time
	entries                      []mEntry
	boughtWith                   *mMethod // a paid credit's purchase
	// restoredAt: when a credit note last gave it back some of an
	// invoice's use; it may be past its end until the jobs run.
	restoredAt time.Time
}

type mEntry struct {
	kind    string
	amount  int64
	invoice mMonth // for USE
}

type mCoupon struct {
	code                  string
	credit                bool
	amount                int64
	pct                   *big.Rat
	validFrom, validUntil time.Time
	max, redeemed         int
	validDays             int
	services              []string
	by                    map[*mGroup]bool
}

// mKey is what an idempotency key did the first time.
type mKey struct {
	op, input string
	code      string // the answer's error code ("" success, PAYMENT_DECLINED…)
}

type mLine struct {
	region, svc, kind      string
	exact                  *big.Rat
	days                   map[int]*big.Rat // what each day (KST) of the month incurred, exactly
	used, discount, credit int64
	// left: per day, what credits may still pay of it, × exact (so it
	// stays exact); nil until a credit first pays the line.
	left map[int]*big.Rat
}

func (l *mLine) determined() int64 { return l.used - l.discount - l.credit }

type mInvoice struct {
	group                        *mGroup
	month                        mMonth
	id                           string
	lines                        []*mLine
	usage, discount, credit, det int64
	tax, coins, late, paid       int64
	lateMonths                   int
	status                       string
	issuedAt                     time.Time // the calendar's, or a reissue's
	// payMonth: the month whose regular payment days it is first paid on
	// — the next one, or for an invoice written once those days had begun
	// (a reissue) the first still to come; its outstanding date and late
	// fees count from there.
	payMonth                      mMonth
	uses                          map[*mCredit]int64
	attempted                     map[string]bool // regular days with an automatic attempt
	failedAttempts, automaticPaid int
	// adopt: an ambiguous split of the last operation (coins over several
	// invoices issued at once): the check verifies totals and then takes
	// the engine's coins, paid amount, late fee and status.
	adopt bool
	// paidWith: the method whose payment paid it (one payment pays an
	// invoice in full); credit notes refund it.
	paidWith *mMethod
	// The credit notes issued on it: the supply they credited, of
	// it the taxed part and its VAT, what they took off the amount due,
	// what they refunded.
	notedSupply, notedTaxed, notedTax, credited, refunded int64
	notes                                                 int
	restored                                              int64 // of credits' uses, given back by notes
}

func (inv *mInvoice) payment() int64 { return inv.det + inv.tax + inv.late - inv.coins }
func (inv *mInvoice) due() int64 {
	if d := inv.payment() - inv.paid - inv.credited; d > 0 {
		return d
	}
	return 0
}

// unpaidBase is what a late fee is taken of: the unpaid amount including
// VAT, never earlier late fees.
func (inv *mInvoice) unpaidBase() int64 {
	return inv.det + inv.tax - inv.coins - inv.paid - inv.credited
}

func (g *mGroup) name() string { return fmt.Sprintf("org%d/g%d", g.org.idx, g.idx) }

func (g *mGroup) firstMonth() mMonth { return monthOfT(g.created) }

// creditPeriodUsable: a credit may open for g only if some invoice of g can
// still use it — the month of its last day is neither before g's
// first invoice nor invoiced already (finding 103, documented in README
// "Design decisions").
func (g *mGroup) creditPeriodUsable(ends time.Time) bool {
	last := monthOfT(ends.Add(-time.Nanosecond))
	return last >= g.firstMonth() && g.invoices[last] == nil
}

// invoicedFrom reports whether month m or a later one is invoiced for g.
func (g *mGroup) invoicedFrom(m mMonth) bool {
	for im := range g.invoices {
		if im >= m {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Rating.

// rate prices group g's month m: per region × service, usage × unit price
// plus each contract's flat fee × days used ÷ days in the month, added up
// exactly and rounded half-up once per line; lines by region, then service.
func (g *mGroup) rate(m mMonth) []*mLine {
	type key struct{ region, svc string }
	exact := map[key]*big.Rat{}
	byDay := map[key]map[int]*big.Rat{}
	add := func(k key, day int, v *big.Rat) {
		if exact[k] == nil {
			exact[k], byDay[k] = new(big.Rat), map[int]*big.Rat{}
		}
		if byDay[k][day] == nil {
			byDay[k][day] = new(big.Rat)
		}
		exact[k].Add(exact[k], v)
		byDay[k][day].Add(byDay[k][day], v)
	}
	for _, e := range g.events { // usage belongs to the day it occurred
		if monthOfT(e.at) == m {
			add(key{e.region, e.svc}, e.at.In(kst).Day(), new(big.Rat).Mul(microsRat(e.micros), invService(e.svc).unitPrice(e.region)))
		}
	}
	for _, c := range g.contracts { // a flat fee is incurred evenly over the days held
		s := invService(c.svc)
		if s.flat == nil {
			continue
		}
		perDay := new(big.Rat).Quo(s.flat, big.NewRat(int64(m.days()), 1))
		for d := 1; d <= m.days(); d++ {
			if day := date(m.year(), m.mon(), d); !day.Before(c.starts) && (c.ends == nil || !day.After(*c.ends)) {
				add(key{c.region, c.svc}, d, perDay)
			}
		}
	}
	lines := make([]*mLine, 0, len(exact))
	for k, v := range exact {
		lines = append(lines, &mLine{region: k.region, svc: k.svc, kind: invService(k.svc).kind, exact: v, days: byDay[k], used: halfUp(v)})
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].region != lines[j].region {
			return lines[i].region < lines[j].region
		}
		return lines[i].svc < lines[j].svc
	})
	return lines
}

// hasCharges: something of month m must be invoiced (usage or a contract day).
func (g *mGroup) hasCharges(m mMonth) bool {
	for _, e := range g.events {
		if monthOfT(e.at) == m {
			return true
		}
	}
	for _, c := range g.contracts {
		if invService(c.svc).flat != nil && daysUsed(m, c.starts, c.ends) > 0 {
			return true
		}
	}
	return false
}

// earliestCharge is the first month with charges, or firstMonth.
func (g *mGroup) earliestCharge() mMonth {
	m := g.firstMonth()
	for _, e := range g.events {
		if em := monthOfT(e.at); em < m {
			m = em
		}
	}
	for _, c := range g.contracts {
		if cm := mMonth(c.starts.Year()*12 + int(c.starts.Month()) - 1); cm < m && invService(c.svc).flat != nil {
			m = cm
		}
	}
	return m
}

func appliesTo(services []string, svc string) bool {
	if len(services) == 0 {
		return true
	}
	for _, s := range services {
		if s == svc {
			return true
		}
	}
	return false
}

// discount takes each discount of the month off its lines, in the order
// they were created: its percentage of the line's used amount, rounded
// half-up, never more than what is left of the line (R-29; two discounts
// add up, a choice the rules leave open).
func (g *mGroup) discount(m mMonth, lines []*mLine) {
	ds := make([]*mDiscount, 0)
	for _, d := range g.discounts {
		if d.month == m {
			ds = append(ds, d)
		}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].created.Equal(ds[j].created) {
			return ds[i].created.Before(ds[j].created)
		}
		return ds[i].id < ds[j].id
	})
	for _, d := range ds {
		for _, l := range lines {
			if !appliesTo(d.services, l.svc) {
				continue
			}
			amt := halfUp(new(big.Rat).Mul(big.NewRat(l.used, 100), d.pct))
			amt = min(amt, l.used-l.discount)
			l.discount += amt
		}
	}
}

// creditOrder is R-22's order of use: free before paid; free credits by
// earliest end, restricted before unrestricted at the same end; paid by
// earliest end; then the older credit, then the smaller id.
func creditOrder(cs []*mCredit) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.typ != b.typ {
			return a.typ == "FREE"
		}
		if !a.ends.Equal(b.ends) {
			return a.ends.Before(b.ends)
		}
		if a.typ == "FREE" && (len(a.services) > 0) != (len(b.services) > 0) {
			return len(a.services) > 0
		}
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.id < b.id
	})
}

// creditDays are the days (KST) of month m that credit c may pay: a paid
// credit every day of an invoice issued while it is valid; a free credit
// the days it is valid at any instant of. ok is false when it pays
// nothing of m.
func creditDays(c *mCredit, m mMonth) (from, to int, ok bool) {
	if c.status != "AVAILABLE" || c.remaining <= 0 {
		return 0, 0, false
	}
	if c.typ == "PAID" {
		at := m.issuedAt()
		return 1, m.days(), !at.Before(c.starts) && at.Before(c.ends)
	}
	if !c.starts.Before((m + 1).start()) || !c.ends.After(m.start()) {
		return 0, 0, false
	}
	from, to = 1, m.days()
	if c.starts.After(m.start()) {
		from = c.starts.In(kst).Day()
	}
	if c.ends.Before((m + 1).start()) {
		to = c.ends.Add(-time.Nanosecond).In(kst).Day()
	}
	return from, to, true
}

// payable is what a credit of days from..to may pay of line l: the line's
// amount after discounts × (what those days incurred ÷ what the line
// incurred), less what credits before it took of those days, rounded down
// — kept per day × the line's exact amount.
func (l *mLine) payable(from, to int) int64 {
	if l.exact.Sign() == 0 {
		return 0
	}
	if l.left == nil {
		l.left = map[int]*big.Rat{}
		d := big.NewRat(l.used-l.discount, 1)
		for day, v := range l.days {
			l.left[day] = new(big.Rat).Mul(v, d)
		}
	}
	sum := new(big.Rat)
	for day := from; day <= to; day++ {
		if v := l.left[day]; v != nil {
			sum.Add(sum, v)
		}
	}
	q := new(big.Int).Quo(new(big.Int).Mul(sum.Num(), l.exact.Denom()), new(big.Int).Mul(sum.Denom(), l.exact.Num()))
	return q.Int64()
}

// take records amt paid of line l on days from..to, earliest day first.
func (l *mLine) take(from, to int, amt int64) {
	need := new(big.Rat).Mul(big.NewRat(amt, 1), l.exact)
	for day := from; day <= to && need.Sign() > 0; day++ {
		v := l.left[day]
		if v == nil || v.Sign() <= 0 {
			continue
		}
		t := new(big.Rat).Set(v)
		if need.Cmp(t) < 0 {
			t.Set(need)
		}
		v.Sub(v, t)
		need.Sub(need, t)
	}
}

// allocate pays the lines with the group's credits in R-22's order, each
// credit paying the lines in invoice order what it may of its days; free
// credits never pay marketplace products or OS images.
func (w *mWorld) allocate(g *mGroup, m mMonth, lines []*mLine) map[*mCredit]int64 {
	var cs []*mCredit
	for _, c := range g.credits {
		if _, _, ok := creditDays(c, m); ok {
			cs = append(cs, c)
		}
	}
	creditOrder(cs)
	uses := map[*mCredit]int64{}
	for _, c := range cs {
		from, to, _ := creditDays(c, m)
		for _, l := range lines {
			if c.remaining == 0 {
				break
			}
			if !appliesTo(c.services, l.svc) || (c.typ == "FREE" && (l.kind == "MARKETPLACE" || l.kind == "OS_IMAGE")) {
				continue
			}
			if l.determined() <= 0 {
				continue
			}
			amt := min(l.payable(from, to), c.remaining)
			if amt <= 0 {
				continue
			}
			l.take(from, to, amt)
			l.credit += amt
			c.remaining -= amt
			c.used += amt
			uses[c] += amt
		}
		if uses[c] > 0 {
			c.entries = append(c.entries, mEntry{kind: "USE", amount: -uses[c], invoice: m})
			if c.remaining == 0 {
				c.status, c.closedAt = "USED_UP", m.issuedAt()
			}
		}
	}
	return uses
}

// ---------------------------------------------------------------------------
// Coins.

func (a *mAccount) coins() int64 {
	var n int64
	for _, c := range a.charges {
		n += c.chargedLeft + c.bonusLeft
	}
	return n
}

// pools is what may pay for payer, in order: its own charges, then for a
// member the charges its master shared with it.
func (w *mWorld) pools(payer *mAccount) [][]*mCharge {
	out := [][]*mCharge{payer.charges}
	if payer != payer.org.master {
		var shared []*mCharge
		for _, c := range payer.org.master.charges {
			if c.shared[payer] {
				shared = append(shared, c)
			}
		}
		out = append(out, shared)
	}
	return out
}

// payWithCoins lets coins pay invoices before anything else does:
// each pool in turn over the invoices, oldest first. It returns what the
// coins paid of each.
func payWithCoins(pools [][]*mCharge, invs []*mInvoice) []int64 {
	paid := make([]int64, len(invs))
	for _, pool := range pools {
		for i, inv := range invs {
			n := spend(pool, inv.due())
			inv.coins += n
			paid[i] += n
			if inv.due() == 0 {
				inv.status = "PAID"
			}
		}
	}
	return paid
}

// coinPlan is what payWithCoins would pay, without paying it.
func coinPlan(pools [][]*mCharge, invs []*mInvoice) []int64 {
	var cp [][]*mCharge
	for _, pool := range pools {
		var c []*mCharge
		for _, ch := range pool {
			x := *ch
			c = append(c, &x)
		}
		cp = append(cp, c)
	}
	var inv []*mInvoice
	for _, i := range invs {
		x := *i
		inv = append(inv, &x)
	}
	return payWithCoins(cp, inv)
}

func poolTotal(cs []*mCharge) int64 {
	var n int64
	for _, c := range cs {
		n += c.chargedLeft + c.bonusLeft
	}
	return n
}

// spend takes up to max from the charges: bonus coins before charged coins,
// the oldest charge first. It returns what it took.
func spend(cs []*mCharge, max int64) int64 {
	left := max
	for _, c := range cs {
		t := min(c.bonusLeft, left)
		c.bonusLeft -= t
		left -= t
	}
	for _, c := range cs {
		t := min(c.chargedLeft, left)
		c.chargedLeft -= t
		left -= t
	}
	return max - left
}

// coinBonus: 5% from 100,000, 10% from 1,000,000, rounded down (R-31's
// tiers as the README documents them).
func coinBonus(amount int64) int64 {
	switch {
	case amount >= 1_000_000:
		return amount / 10
	case amount >= 100_000:
		return amount * 5 / 100
	}
	return 0
}

// ---------------------------------------------------------------------------
// The billing calendar: what runBillingJobs at t must have done.

// steps are the instants in (from, to) at which the calendar does
// something — the 1st (late fees), the 3rd (invoices), each regular payment
// day and the 15th (outstanding) — and then to itself. Running the jobs at
// to must do, in order, everything due at each of them (issue 13 defect 5).
func steps(from, to time.Time) []time.Time {
	var out []time.Time
	for m := monthOfT(from); m <= monthOfT(to); m++ {
		for _, t := range []time.Time{m.at(1, 0, 0), m.at(3, 0, 0), m.at(10, 0, 0), m.at(11, 0, 0), m.at(12, 0, 0),
			m.at(13, 0, 0), m.at(14, 0, 0), m.at(15, 0, 0)} {
			if t.After(from) && t.Before(to) {
				out = append(out, t)
			}
		}
	}
	return append(out, to)
}

// step is everything due at instant s, in the engine's order: invoices,
// automatic payment, outstanding, late fees, credit expiry.
func (w *mWorld) step(s time.Time) {
	var issued []*mInvoice
	for _, o := range w.orgs {
		var orgIssued []*mInvoice
		for _, g := range o.groups {
			for m := g.earliestCharge(); m <= dueMonth(s); m++ {
				if g.invoices[m] != nil || g.awaiting[m] || (m < g.firstMonth() && !g.hasCharges(m)) {
					continue
				}
				orgIssued = append(orgIssued, w.issue(g, m))
			}
		}
		w.payWithCoinsAtIssue(o, orgIssued)
		issued = append(issued, orgIssued...)
	}
	// Coins bought since an invoice was issued pay it before a method is
	// charged, it turns outstanding or a late fee accrues: every
	// master's coins over its organization's unpaid invoices, by billing
	// group id, oldest first.
	for _, o := range w.orgs {
		if o.master.coins() == 0 {
			continue
		}
		groups := append([]*mGroup(nil), o.groups...)
		sort.Slice(groups, func(i, j int) bool { return groups[i].id < groups[j].id })
		var unpaid []*mInvoice
		for _, g := range groups {
			for _, m := range sortedMonths(g) {
				if inv := g.invoices[m]; (inv.status == "ISSUED" || inv.status == "OUTSTANDING") && inv.due() > 0 {
					unpaid = append(unpaid, inv)
				}
			}
		}
		payWithCoins([][]*mCharge{o.master.charges}, unpaid)
	}
	if regularDay(s) {
		w.autoPay(s)
	}
	for _, o := range w.orgs {
		for _, g := range o.groups {
			for _, inv := range g.invoices {
				if inv.status == "ISSUED" && inv.due() > 0 && !s.Before((inv.payMonth - 1).outstandingFrom()) {
					inv.status = "OUTSTANDING"
				}
				if inv.status == "OUTSTANDING" {
					carried := int(monthOfT(s) - inv.payMonth)
					for inv.lateMonths < carried {
						base := inv.unpaidBase()
						if base <= 0 {
							break
						}
						inv.late += floorDiv(base, 15, 1000) // 1.5%, rounded down
						inv.lateMonths++
					}
				}
			}
		}
	}
	w.expire(s)
}

// issue writes the model's invoice of g's month m.
func (w *mWorld) issue(g *mGroup, m mMonth) *mInvoice {
	lines := g.rate(m)
	g.discount(m, lines)
	inv := &mInvoice{group: g, month: m, lines: lines, attempted: map[string]bool{}, issuedAt: m.issuedAt(), payMonth: m + 1}
	inv.uses = w.allocate(g, m, lines)
	for _, l := range lines {
		inv.usage += l.used
		inv.discount += l.discount
		inv.credit += l.credit
		inv.det += l.determined()
	}
	inv.tax = floorDiv(inv.det, 1, 10) // VAT 10%, rounded down
	inv.status = "ISSUED"
	if inv.det+inv.tax == 0 {
		inv.status = "PAID"
	}
	g.invoices[m] = inv
	return inv
}

// payWithCoinsAtIssue: the master's coins pay the organization's new
// invoices. Which of several invoices they pay first is the
// engine's order: when the coins do not cover all of them, the check takes
// the engine's split (the total is the model's).
func (w *mWorld) payWithCoinsAtIssue(o *mOrg, invs []*mInvoice) {
	cs := o.master.charges
	var need int64
	n := 0
	for _, inv := range invs {
		if inv.status == "ISSUED" {
			need += inv.det + inv.tax
			n++
		}
	}
	have := poolTotal(cs)
	if have == 0 || need == 0 {
		return
	}
	if have < need && n > 1 {
		w.look = true
		for _, inv := range invs {
			if inv.status == "ISSUED" {
				inv.adopt = true
			}
		}
	}
	for _, inv := range invs {
		if inv.status != "ISSUED" {
			continue
		}
		inv.coins += spend(cs, inv.det+inv.tax)
		if inv.due() == 0 {
			inv.status = "PAID"
		}
	}
}

// autoPay charges the master's automatic method for every issued, unpaid
// invoice on a regular payment day, once a day each; coins pay
// first (R-31, issue 13 defect 6).
func (w *mWorld) autoPay(s time.Time) {
	day := s.In(kst).Format("2006-01-02")
	for _, o := range w.orgs {
		var method *mMethod
		for _, pm := range o.master.methods {
			if pm.isDefault {
				method = pm
			}
		}
		if method == nil {
			continue
		}
		var due []*mInvoice
		for _, g := range o.groups {
			for _, m := range sortedMonths(g) {
				inv := g.invoices[m]
				if inv.status == "ISSUED" && inv.due() > 0 && !inv.issuedAt.After(s) && !inv.attempted[day] {
					due = append(due, inv)
				}
			}
		}
		for _, inv := range due {
			// Coins first; the step before spent the master's already.
			if payWithCoins([][]*mCharge{o.master.charges}, []*mInvoice{inv}); inv.due() == 0 {
				continue
			}
			inv.attempted[day] = true
			if method.good {
				inv.paid += inv.due()
				inv.paidWith = method
				inv.status = "PAID"
				inv.automaticPaid++
			} else {
				inv.failedAttempts++
			}
		}
	}
}

func sortedMonths(g *mGroup) []mMonth {
	ms := make([]mMonth, 0, len(g.invoices))
	for m := range g.invoices {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	return ms
}

// expire closes credits whose time is over: a paid credit at its end, a free
// one once the invoice of the month of its last day is issued (it pays that
// invoice first, R-22).
func (w *mWorld) expire(s time.Time) {
	for _, o := range w.orgs {
		for _, g := range o.groups {
			for _, c := range g.credits {
				if c.status != "AVAILABLE" {
					continue
				}
				last := monthOfT(c.ends.Add(-time.Nanosecond))
				// A free credit waits for the invoice of its last month: a
				// voided month is issued again with it.
				if (c.typ == "PAID" && !c.ends.After(s)) || (c.typ == "FREE" && !s.Before(last.issuedAt()) && g.invoices[last] != nil) {
					w.closeCredit(c, "EXPIRED", "EXPIRY", s)
				}
			}
		}
	}
}

func (w *mWorld) closeCredit(c *mCredit, status, kind string, at time.Time) {
	if c.remaining > 0 {
		c.entries = append(c.entries, mEntry{kind: kind, amount: -c.remaining})
	}
	c.remaining, c.status, c.closedAt = 0, status, at
}

// openCredit adds a credit with its accumulation entry.
func (w *mWorld) openCredit(g *mGroup, id, name, typ string, amount int64, starts, ends time.Time, services []string, kind string) *mCredit {
	c := &mCredit{id: id, name: name, typ: typ, group: g, starts: starts, ends: ends, created: w.now, services: dedup(services),
		accumulated: amount, remaining: amount, status: "AVAILABLE", entries: []mEntry{{kind: kind, amount: amount}}}
	g.credits = append(g.credits, c)
	return c
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
