package app_test

// After every operation TestMoneyInvariants reads what the API shows of each
// organization — as its master would: invoices with their lines and
// payments, credits with their history, coin charges — and compares it with
// the model, property by property.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

type oMoney struct{ Amount string }

func (m oMoney) v() int64 {
	n, err := strconv.ParseInt(m.Amount, 10, 64)
	if err != nil {
		return -1 << 62 // not whole won: every comparison fails
	}
	return n
}

type oLine struct {
	Region, ServiceCode                                        string
	UsedAmount, DiscountAmount, CreditAmount, DeterminedAmount oMoney
}

type oInvoice struct {
	ID, Month, Status                                                                  string
	UsageAmount, DiscountAmount, CreditAmount, DeterminedAmount, TaxAmount, CoinAmount oMoney
	LateFeeAmount, PaymentAmount, AmountDue, PaidAmount, CreditNoteAmount              oMoney
	Lines                                                                              []oLine
	CreditNotes                                                                        []oCreditNote
	Payments                                                                           []oPayment
}

type oCreditNote struct {
	Amount, TaxAmount, DueAmount, RefundAmount, CoinAmount, CreditAmount oMoney
}

type oPayment struct {
	ID, Kind, Status string
	Amount           oMoney
	Invoices         []struct{ ID string }
}

type oEntry struct {
	Kind    string
	Amount  oMoney
	Invoice *struct{ ID, Month string }
}

type oCredit struct {
	ID, Type, Status                               string
	CreatedAt, StartsAt, EndsAt                    time.Time
	ServiceCodes                                   []string
	AccumulatedAmount, UsedAmount, RemainingAmount oMoney
	History                                        struct {
		TotalCount int
		Edges      []struct{ Node oEntry }
	}
}

type oCharge struct {
	ID                                                           string
	CreatedAt                                                    time.Time
	ChargedAmount, BonusAmount, ChargedRemaining, BonusRemaining oMoney
	SharedWith                                                   []struct{ ID string }
}

type oWallet struct {
	Balance, Bonus, Charged oMoney
	Charges                 []oCharge // every charge, whatever its period
	ByYear                  map[int][]string
	Groups                  int // billing groups the account sees
}

type oGroup struct {
	ID       string
	Listed   int // credits in the default list
	Invoices []oInvoice
	Credits  []oCredit
	Payments []oPayment
}

// call runs a query that must succeed and decodes its data into out.
func (r *invRun) call(token, query string, vars map[string]any, out any) error {
	res := r.d.do(token, query, vars)
	if len(res.Errors) > 0 {
		return fmt.Errorf("%s", answerText(res))
	}
	raw, _ := json.Marshal(res.Data)
	return json.Unmarshal(raw, out)
}

const (
	invoiceFields = `id month status usageAmount { amount } discountAmount { amount } creditAmount { amount } determinedAmount { amount }
		taxAmount { amount } coinAmount { amount } lateFeeAmount { amount } paymentAmount { amount } amountDue { amount } paidAmount { amount } creditNoteAmount { amount }
		creditNotes { amount { amount } taxAmount { amount } dueAmount { amount } refundAmount { amount } coinAmount { amount } creditAmount { amount } }
		lines { region serviceCode usedAmount { amount } discountAmount { amount } creditAmount { amount } determinedAmount { amount } }`
	invCreditFields = `id type status createdAt startsAt endsAt serviceCodes accumulatedAmount { amount } usedAmount { amount } remainingAmount { amount }
		history(first: 15) { totalCount edges { node { kind amount { amount } invoice { id month } } } }`
	// groupQuery reads a group's first pages in one request (the query
	// cost limit allows about this much); the rest page by page.
	groupQuery = `query($bg: ID!) { billingGroup(id: $bg) {
		invoices(first: 15) { pageInfo { hasNextPage endCursor } edges { node { ` + invoiceFields + ` } } }
		payments(first: 30) { ` + paymentFields + ` }
		credits(first: 15, includeClosed: true) { pageInfo { hasNextPage endCursor } edges { node { ` + invCreditFields + ` } } }
		listed: credits(first: 1) { totalCount } } }`
	paymentFields    = `pageInfo { hasNextPage endCursor } edges { node { id kind status amount { amount } invoices { id } } }`
	paymentPageQuery = `query($bg: ID!, $after: Cursor) { billingGroup(id: $bg) { payments(first: 50, after: $after) { ` + paymentFields + ` } } }`
	invoicePageQuery = `query($bg: ID!, $after: Cursor) { billingGroup(id: $bg) {
		invoices(first: 30, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ` + invoiceFields + ` } } } } }`
	creditPageQuery = `query($bg: ID!, $after: Cursor) { billingGroup(id: $bg) {
		credits(first: 25, includeClosed: true, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ` + invCreditFields + ` } } } } }`
	historyQuery = `query($id: ID!) { node(id: $id) { ... on Credit { history(first: 100) { totalCount edges { node { kind amount { amount } invoice { id month } } } } } } }`
)

type page struct {
	PageInfo struct {
		HasNextPage bool
		EndCursor   string
	}
}

type invoicePage struct {
	page
	Edges []struct{ Node oInvoice }
}

type paymentPage struct {
	page
	Edges []struct{ Node oPayment }
}

type creditPage struct {
	page
	Edges []struct{ Node oCredit }
}

// observeGroup reads one billing group as its organization's master.
func (r *invRun) observeGroup(token, id string) (*oGroup, error) {
	var d struct {
		BillingGroup struct {
			Invoices invoicePage
			Credits  creditPage
			Listed   struct{ TotalCount int }
			Payments paymentPage
		}
	}
	if err := r.call(token, groupQuery, map[string]any{"bg": id}, &d); err != nil {
		return nil, err
	}
	g := &oGroup{ID: id, Listed: d.BillingGroup.Listed.TotalCount}
	for inv := d.BillingGroup.Invoices; ; {
		for _, e := range inv.Edges {
			g.Invoices = append(g.Invoices, e.Node)
		}
		if !inv.PageInfo.HasNextPage {
			break
		}
		var next struct {
			BillingGroup struct{ Invoices invoicePage }
		}
		if err := r.call(token, invoicePageQuery, map[string]any{"bg": id, "after": inv.PageInfo.EndCursor}, &next); err != nil {
			return nil, err
		}
		inv = next.BillingGroup.Invoices
	}
	for cp := d.BillingGroup.Credits; ; {
		for _, e := range cp.Edges {
			c := e.Node
			if c.History.TotalCount > len(c.History.Edges) {
				var h struct{ Node oCredit }
				if err := r.call(token, historyQuery, map[string]any{"id": c.ID}, &h); err != nil {
					return nil, err
				}
				c.History = h.Node.History
				if c.History.TotalCount > len(c.History.Edges) {
					return nil, fmt.Errorf("credit %s has more than 100 history entries", c.ID)
				}
			}
			g.Credits = append(g.Credits, c)
		}
		if !cp.PageInfo.HasNextPage {
			break
		}
		var next struct{ BillingGroup struct{ Credits creditPage } }
		if err := r.call(token, creditPageQuery, map[string]any{"bg": id, "after": cp.PageInfo.EndCursor}, &next); err != nil {
			return nil, err
		}
		cp = next.BillingGroup.Credits
	}
	for pp := d.BillingGroup.Payments; ; {
		for _, e := range pp.Edges {
			g.Payments = append(g.Payments, e.Node)
		}
		if !pp.PageInfo.HasNextPage {
			break
		}
		var next struct {
			BillingGroup struct{ Payments paymentPage }
		}
		if err := r.call(token, paymentPageQuery, map[string]any{"bg": id, "after": pp.PageInfo.EndCursor}, &next); err != nil {
			return nil, err
		}
		pp = next.BillingGroup.Payments
	}
	for _, p := range g.Payments {
		for _, pi := range p.Invoices {
			for i := range g.Invoices {
				if g.Invoices[i].ID == pi.ID {
					g.Invoices[i].Payments = append(g.Invoices[i].Payments, p)
				}
			}
		}
	}
	return g, nil
}

// observeWallet reads an account's coins, its charges of every year from
// the run's start to now (each year listed apart), and the billing groups
// it sees.
func (r *invRun) observeWallet(token string) (*oWallet, error) {
	from, to := r.m.start.In(kst).Year()-1, r.m.now.In(kst).Year() // a year not begun is refused (defect 9)
	var aliases []string
	for y := from; y <= to; y++ {
		aliases = append(aliases, fmt.Sprintf(`y%d: charges(period: "%d") { id createdAt chargedAmount { amount } bonusAmount { amount }
			chargedRemaining { amount } bonusRemaining { amount } sharedWith { id } }`, y, y))
	}
	var d struct {
		Viewer struct {
			BillingGroups []struct{ ID string }
			Account       struct {
				Coins map[string]json.RawMessage
			}
		}
	}
	if err := r.call(token, `{ viewer { billingGroups { id } account { coins { balance { amount } bonus { amount } charged { amount } `+
		strings.Join(aliases, " ")+` } } } }`, nil, &d); err != nil {
		return nil, err
	}
	w := &oWallet{ByYear: map[int][]string{}, Groups: len(d.Viewer.BillingGroups)}
	c := d.Viewer.Account.Coins
	for name, dst := range map[string]*oMoney{"balance": &w.Balance, "bonus": &w.Bonus, "charged": &w.Charged} {
		if err := json.Unmarshal(c[name], dst); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for y := from; y <= to; y++ {
		var cs []oCharge
		if err := json.Unmarshal(c[fmt.Sprintf("y%d", y)], &cs); err != nil {
			return nil, err
		}
		for _, ch := range cs {
			w.ByYear[y] = append(w.ByYear[y], ch.ID)
			if !seen[ch.ID] {
				seen[ch.ID] = true
				w.Charges = append(w.Charges, ch)
			}
		}
	}
	return w, nil
}

// check compares the API's view of the organizations with the model: all
// of them, or those in only.
func (r *invRun) check(only map[*mOrg]bool) *invFailure {
	for _, og := range r.m.orgs {
		if only != nil && !only[og] {
			continue
		}
		if f := r.checkOrg(og); f != nil {
			return f
		}
	}
	return nil
}

func (r *invRun) checkOrg(og *mOrg) *invFailure {
	var coins int64 // what invoices say coins paid
	for _, g := range og.groups {
		obs, err := r.observeGroup(og.master.token, g.id)
		if err != nil {
			return r.fail("api", "reading %s: %v", g.name(), err)
		}
		if f := r.checkInvoices(g, obs); f != nil {
			return f
		}
		if f := r.checkCredits(g, obs); f != nil {
			return f
		}
		for _, inv := range g.invoices {
			coins += inv.coins
		}
	}
	var spent int64 // what the charges say was spent
	for _, a := range []*mAccount{og.master, og.member} {
		if a == nil {
			continue
		}
		w, err := r.observeWallet(a.token)
		if err != nil {
			return r.fail("api", "reading %s's coins: %v", a.email, err)
		}
		if a == og.master && w.Groups != len(og.groups) {
			return r.fail("api", "org%d shows %d billing groups; the model has %d", og.idx, w.Groups, len(og.groups))
		}
		n, f := r.checkWallet(a, w)
		if f != nil {
			return f
		}
		spent += n
	}
	if coins != spent {
		return r.fail("coins", "org%d's invoices were paid %d in coins, its coin charges spent %d (R-31)", og.idx, coins, spent)
	}
	return nil
}

// checkInvoices: exactly one invoice per month that the model issued, each
// with the model's lines and amounts and R-39's arithmetic; payments that
// add up.
func (r *invRun) checkInvoices(g *mGroup, obs *oGroup) *invFailure {
	byMonth := map[string]*oInvoice{}
	voided := map[string]string{} // id → month
	for i := range obs.Invoices {
		inv := &obs.Invoices[i]
		if inv.Status == "VOID" { // kept in the history, owing nothing
			voided[inv.ID] = inv.Month
			if inv.AmountDue.v() != 0 {
				return r.fail("void", "%s's void invoice %s of %s shows %s due", g.name(), inv.ID, inv.Month, inv.AmountDue.Amount)
			}
			continue
		}
		if byMonth[inv.Month] != nil {
			return r.fail("one-invoice", "%s has two invoices of %s (R-51)", g.name(), inv.Month)
		}
		byMonth[inv.Month] = inv
		if f := r.checkArithmetic(g, inv); f != nil {
			return f
		}
	}
	for _, m := range sortedMonths(g) {
		want := g.invoices[m]
		got := byMonth[m.String()]
		if got == nil {
			return r.fail("one-invoice", "%s has no invoice of %s; the model issued it (R-38, R-51)", g.name(), m)
		}
		delete(byMonth, m.String())
		want.id = got.ID
		if f := r.compareInvoice(g, want, got); f != nil {
			return f
		}
	}
	for m := range byMonth {
		return r.fail("one-invoice", "%s has an invoice of %s that the model did not issue", g.name(), m)
	}
	for _, inv := range g.voided {
		if voided[inv.id] != inv.month.String() {
			return r.fail("void", "%s does not show its invoice %s of %s as void; the model voided it (R-72)", g.name(), inv.id, inv.month)
		}
		delete(voided, inv.id)
	}
	for id, m := range voided {
		return r.fail("void", "%s shows invoice %s of %s as void; the model did not void it", g.name(), id, m)
	}
	// Payments add up to what the invoices say was paid.
	var paid, byPayments int64
	for _, inv := range obs.Invoices {
		paid += inv.PaidAmount.v()
	}
	for _, p := range obs.Payments {
		if p.Status == "SUCCESSFUL" && len(p.Invoices) > 0 {
			byPayments += p.Amount.v()
		}
	}
	if paid != byPayments {
		return r.fail("invoice-formulas", "%s's invoices were paid %d, its successful payments add up to %d", g.name(), paid, byPayments)
	}
	return nil
}

// checkArithmetic: R-39 over an invoice as shown, whatever the model says.
func (r *invRun) checkArithmetic(g *mGroup, inv *oInvoice) *invFailure {
	bad := func(format string, args ...any) *invFailure {
		return r.fail("invoice-formulas", "%s's invoice of %s: %s", g.name(), inv.Month, fmt.Sprintf(format, args...))
	}
	var used, disc, cred, det int64
	for i, l := range inv.Lines {
		if i > 0 && (inv.Lines[i-1].Region > l.Region || (inv.Lines[i-1].Region == l.Region && inv.Lines[i-1].ServiceCode >= l.ServiceCode)) {
			return bad("lines out of order (R-39: region, then service)")
		}
		if l.DeterminedAmount.v() != l.UsedAmount.v()-l.DiscountAmount.v()-l.CreditAmount.v() {
			return bad("line %s/%s: determined %s ≠ used %s − discount %s − credit %s (R-23)", l.Region, l.ServiceCode,
				l.DeterminedAmount.Amount, l.UsedAmount.Amount, l.DiscountAmount.Amount, l.CreditAmount.Amount)
		}
		for _, v := range []oMoney{l.UsedAmount, l.DiscountAmount, l.CreditAmount, l.DeterminedAmount} {
			if v.v() < 0 {
				return bad("line %s/%s has a negative amount", l.Region, l.ServiceCode)
			}
		}
		used, disc, cred, det = used+l.UsedAmount.v(), disc+l.DiscountAmount.v(), cred+l.CreditAmount.v(), det+l.DeterminedAmount.v()
	}
	notes := sumNotes(inv.CreditNotes)
	switch {
	case used != inv.UsageAmount.v() || disc != inv.DiscountAmount.v() || cred != inv.CreditAmount.v() || det != inv.DeterminedAmount.v():
		return bad("lines add up to %d/%d/%d/%d, totals say %s/%s/%s/%s", used, disc, cred, det,
			inv.UsageAmount.Amount, inv.DiscountAmount.Amount, inv.CreditAmount.Amount, inv.DeterminedAmount.Amount)
	case inv.TaxAmount.v() != floorDiv(det, 1, 10):
		return bad("tax %s ≠ ⌊10%% of %d⌋", inv.TaxAmount.Amount, det)
	case inv.PaymentAmount.v() != det+inv.TaxAmount.v()+inv.LateFeeAmount.v()-inv.CoinAmount.v():
		return bad("payment amount %s ≠ determined + tax + late fees − coins", inv.PaymentAmount.Amount)
	case inv.CoinAmount.v() < 0 || inv.CoinAmount.v() > det+inv.TaxAmount.v()+inv.LateFeeAmount.v():
		return bad("coins %s outside 0..%d", inv.CoinAmount.Amount, det+inv.TaxAmount.v()+inv.LateFeeAmount.v())
	case inv.PaidAmount.v() < 0 || inv.PaidAmount.v() > inv.PaymentAmount.v():
		return bad("paid %s outside 0..%s", inv.PaidAmount.Amount, inv.PaymentAmount.Amount)
	case inv.AmountDue.v() != inv.PaymentAmount.v()-inv.PaidAmount.v()-notes.due:
		return bad("amount due %s ≠ payment amount − paid − what credit notes took off it, %d (R-73)", inv.AmountDue.Amount, notes.due)
	case notes.amount > used-disc || notes.tax > inv.TaxAmount.v() || notes.money() != inv.CreditNoteAmount.v():
		return bad("credit notes of %d supply, %d VAT (%d in all; the invoice says %s): at most %d and %s (R-73)",
			notes.amount, notes.tax, notes.money(), inv.CreditNoteAmount.Amount, used-disc, inv.TaxAmount.Amount)
	case notes.bad != "":
		return bad("a credit note %s (R-73)", notes.bad)
	case (inv.Status == "PAID") != (inv.AmountDue.v() == 0):
		return bad("status %s with %s due", inv.Status, inv.AmountDue.Amount)
	case inv.LateFeeAmount.v() > 0 && inv.Status == "ISSUED":
		return bad("a late fee on an invoice that is not outstanding (R-44)")
	}
	return nil
}

func (r *invRun) compareInvoice(g *mGroup, want *mInvoice, got *oInvoice) *invFailure {
	prop := "usage-billed-once"
	if len(got.Lines) != len(want.lines) {
		return r.fail(prop, "%s's invoice of %s has %d lines; the model has %d: %s", g.name(), want.month, len(got.Lines), len(want.lines), r.linesDiff(want, got))
	}
	for i, l := range want.lines {
		o := got.Lines[i]
		if o.Region != l.region || o.ServiceCode != l.svc || o.UsedAmount.v() != l.used {
			return r.fail(prop, "%s's invoice of %s: %s", g.name(), want.month, r.linesDiff(want, got))
		}
		if o.DiscountAmount.v() != l.discount {
			return r.fail("invoice-formulas", "%s's invoice of %s, line %s/%s: discount %s; the model takes %d (R-29)", g.name(), want.month, l.region, l.svc, o.DiscountAmount.Amount, l.discount)
		}
		if o.CreditAmount.v() != l.credit {
			return r.fail("credits", "%s's invoice of %s, line %s/%s: credits %s; the model applies %d (R-22..R-24)", g.name(), want.month, l.region, l.svc, o.CreditAmount.Amount, l.credit)
		}
	}
	if want.adopt {
		// The engine chose how coins spread over invoices issued together:
		// its figures are taken (R-39's arithmetic was checked above, the
		// coin total is checked per organization).
		want.coins, want.paid, want.late, want.status = got.CoinAmount.v(), got.PaidAmount.v(), got.LateFeeAmount.v(), got.Status
		want.adopt = false
	}
	notes := sumNotes(got.CreditNotes)
	switch {
	case got.CoinAmount.v() != want.coins:
		return r.fail("coins", "%s's invoice of %s: coins paid %s; the model has %d (R-31)", g.name(), want.month, got.CoinAmount.Amount, want.coins)
	case got.LateFeeAmount.v() != want.late:
		return r.fail("late-fee", "%s's invoice of %s: late fee %s; the model charges %d over %d months (R-43, R-44)", g.name(), want.month, got.LateFeeAmount.Amount, want.late, want.lateMonths)
	case got.PaidAmount.v() != want.paid:
		return r.fail("payments", "%s's invoice of %s: paid %s; the model has %d (R-41, R-42)", g.name(), want.month, got.PaidAmount.Amount, want.paid)
	case got.CreditNoteAmount.v() != want.notedTaxed+want.notedTax || notes.due != want.credited ||
		notes.amount != want.notedSupply || notes.refund != want.refunded:
		return r.fail("credit-notes", "%s's invoice of %s: credit notes %+v; the model has supply %d, VAT %d, %d off the amount due, %d refunded (R-73)",
			g.name(), want.month, notes, want.notedSupply, want.notedTax, want.credited, want.refunded)
	case got.Status != want.status:
		return r.fail("payments", "%s's invoice of %s is %s; the model has it %s (R-41..R-43)", g.name(), want.month, got.Status, want.status)
	}
	failed, auto := 0, 0
	for _, p := range got.Payments {
		if p.Kind == "AUTOMATIC" {
			switch p.Status {
			case "FAILED":
				failed++
			case "SUCCESSFUL":
				auto++
			}
		}
	}
	if failed != want.failedAttempts || auto != want.automaticPaid {
		return r.fail("payments", "%s's invoice of %s has %d failed and %d successful automatic payments; the model %d and %d (R-41: once a day on the 10th–14th)",
			g.name(), want.month, failed, auto, want.failedAttempts, want.automaticPaid)
	}
	return nil
}

func (r *invRun) linesDiff(want *mInvoice, got *oInvoice) string {
	var a, b []string
	for _, l := range want.lines {
		a = append(a, fmt.Sprintf("%s/%s %d (exactly %s)", l.region, l.svc, l.used, l.exact.FloatString(6)))
	}
	for _, l := range got.Lines {
		b = append(b, fmt.Sprintf("%s/%s %s", l.Region, l.ServiceCode, l.UsedAmount.Amount))
	}
	return fmt.Sprintf("shown [%s], the model's [%s]", strings.Join(b, ", "), strings.Join(a, ", "))
}

// checkCredits: the model's credits with their amounts and status; each
// credit's amounts the sum of its history; uses that add up to
// the invoices' credit amounts.
func (r *invRun) checkCredits(g *mGroup, obs *oGroup) *invFailure {
	if len(obs.Credits) != len(g.credits) {
		return r.fail("credits", "%s shows %d credits; the model has %d", g.name(), len(obs.Credits), len(g.credits))
	}
	byID := map[string]*oCredit{}
	for i := range obs.Credits {
		byID[obs.Credits[i].ID] = &obs.Credits[i]
	}
	useByInvoice := map[string]int64{} // what credits paid each invoice, net of what a void gave back
	for _, c := range g.credits {
		o := byID[c.id]
		if o == nil {
			return r.fail("credits", "%s does not show credit %s", g.name(), c.id)
		}
		var sum, acc, used int64
		var kinds []string
		for _, e := range o.History.Edges {
			a := e.Node.Amount.v()
			sum += a
			switch e.Node.Kind {
			case "ACCUMULATION", "TRANSFER_ACCUMULATION":
				acc += a
			case "USE", "RESTORE":
				used -= a
				if e.Node.Invoice == nil {
					return r.fail("credit-history", "credit %s: a %s names no invoice (R-21, R-72)", c.id, e.Node.Kind)
				}
				useByInvoice[e.Node.Invoice.ID] -= a
			}
			kinds = append(kinds, fmt.Sprintf("%s %d", e.Node.Kind, a))
		}
		if f := r.checkLifecycle(g, o); f != nil {
			return f
		}
		switch {
		case o.RemainingAmount.v() < 0:
			return r.fail("credit-history", "credit %s has a negative remainder %s (R-52)", c.id, o.RemainingAmount.Amount)
		case sum != o.RemainingAmount.v() || acc != o.AccumulatedAmount.v() || used != o.UsedAmount.v():
			return r.fail("credit-history", "credit %s: accumulated %s, used %s, remaining %s, but its history [%s] (R-20, R-21)", c.id,
				o.AccumulatedAmount.Amount, o.UsedAmount.Amount, o.RemainingAmount.Amount, strings.Join(kinds, ", "))
		}
		var want []string
		for _, e := range c.entries {
			want = append(want, fmt.Sprintf("%s %d", e.kind, e.amount))
		}
		sort.Strings(kinds)
		sort.Strings(want)
		if o.Type != c.typ || o.Status != c.status || o.RemainingAmount.v() != c.remaining || strings.Join(kinds, ",") != strings.Join(want, ",") {
			return r.fail("credits", "%s's credit %s is %s %s with %s left and history [%s]; the model has %s %s with %d left and [%s] (R-20..R-28)",
				g.name(), c.id, o.Type, o.Status, o.RemainingAmount.Amount, strings.Join(kinds, ", "), c.typ, c.status, c.remaining, strings.Join(want, ", "))
		}
	}
	// a credit with nothing left in a final status leaves the default
	// list 3 months after it closed.
	cutoff, listed := r.m.now.Truncate(time.Minute).AddDate(0, -3, 0), 0
	for _, c := range g.credits {
		if c.status == "AVAILABLE" || c.remaining > 0 || c.closedAt.After(cutoff) {
			listed++
		}
	}
	if obs.Listed != listed {
		return r.fail("credits", "%s lists %d credits by default; the model %d (R-28: closed credits leave the list 3 months after closing)", g.name(), obs.Listed, listed)
	}
	live := map[string]string{} // month → the live invoice's id, as shown
	for _, inv := range obs.Invoices {
		if inv.Status != "VOID" {
			live[inv.Month] = inv.ID
		}
	}
	for _, inv := range g.invoices {
		if got := useByInvoice[live[inv.month.String()]]; got != inv.credit-inv.restored {
			return r.fail("credit-history", "%s's invoice of %s applies %d in credits (%d given back by credit notes), the credits' uses for it add up to %d (R-21, R-73)",
				g.name(), inv.month, inv.credit, inv.restored, got)
		}
	}
	for _, inv := range g.voided {
		if got := useByInvoice[inv.id]; got != 0 {
			return r.fail("credit-history", "%s's void invoice %s of %s keeps %d of credits' uses; a void gives them back (R-72)",
				g.name(), inv.id, inv.month, got)
		}
	}
	return nil
}

// checkLifecycle: once the jobs ran past a credit's end, it is not
// AVAILABLE any more — a paid credit expires at the end of its period, a
// free one once the invoice of the month of its last day is issued (R-20,
// R-22; finding 103: a credit no invoice would use stayed AVAILABLE). Read
// from the API's answer alone, whatever the model holds.
func (r *invRun) checkLifecycle(g *mGroup, o *oCredit) *invFailure {
	if o.Status != "AVAILABLE" || r.m.lastJobs.IsZero() {
		return nil
	}
	for _, c := range g.credits {
		if c.id == o.ID && !c.restoredAt.IsZero() && !c.restoredAt.Before(r.m.lastJobs) {
			return nil // a credit note gave it back since the jobs ran
		}
	}
	over := o.EndsAt
	if o.Type == "FREE" {
		last := monthOfT(o.EndsAt.Add(-time.Nanosecond))
		if inv := g.invoices[last]; g.awaiting[last] || (inv != nil && !inv.issuedAt.Before(r.m.lastJobs)) {
			// Its month was voided: it waits for the reissue, and then for
			// the jobs' next run past it — a run at the reissue's own instant
			// has run through it already and does nothing new.
			return nil
		}
		over = last.issuedAt()
	}
	if !r.m.lastJobs.Before(over) {
		return r.fail("credit-lifecycle", "credit %s (%s, %s..%s) is still AVAILABLE after the jobs ran at %s, past %s (R-20, R-22)",
			o.ID, o.Type, o.StartsAt.Format(time.RFC3339), o.EndsAt.Format(time.RFC3339), r.m.lastJobs.Format(time.RFC3339), over.Format(time.RFC3339))
	}
	return nil
}

// checkWallet compares an account's coin charges with the model and returns
// what they spent.
func (r *invRun) checkWallet(a *mAccount, w *oWallet) (int64, *invFailure) {
	if len(w.Charges) != len(a.charges) {
		return 0, r.fail("coins", "%s has %d coin charges; the model %d", a.email, len(w.Charges), len(a.charges))
	}
	byID := map[string]*oCharge{}
	for i := range w.Charges {
		byID[w.Charges[i].ID] = &w.Charges[i]
	}
	var spent, charged, bonus int64
	for _, c := range a.charges {
		o := byID[c.id]
		if o == nil {
			return 0, r.fail("coins", "%s does not show coin charge %s", a.email, c.id)
		}
		if o.ChargedRemaining.v() < 0 || o.BonusRemaining.v() < 0 || o.ChargedRemaining.v() > o.ChargedAmount.v() || o.BonusRemaining.v() > o.BonusAmount.v() {
			return 0, r.fail("coins", "coin charge %s: %s charged + %s bonus, %s + %s left (R-52)", c.id, o.ChargedAmount.Amount, o.BonusAmount.Amount,
				o.ChargedRemaining.Amount, o.BonusRemaining.Amount)
		}
		if c.adopt {
			// The engine chose which of own and shared coins went first;
			// the total was checked by the invoices' coin amounts.
			c.chargedLeft, c.bonusLeft, c.adopt = o.ChargedRemaining.v(), o.BonusRemaining.v(), false
		}
		if o.ChargedAmount.v() != c.charged || o.BonusAmount.v() != c.bonus || o.ChargedRemaining.v() != c.chargedLeft || o.BonusRemaining.v() != c.bonusLeft {
			return 0, r.fail("coins", "coin charge %s of %s: %s + %s bonus with %s + %s left; the model %d + %d with %d + %d left (R-31)", c.id, a.email,
				o.ChargedAmount.Amount, o.BonusAmount.Amount, o.ChargedRemaining.Amount, o.BonusRemaining.Amount, c.charged, c.bonus, c.chargedLeft, c.bonusLeft)
		}
		if y := c.at.In(kst).Year(); true {
			found := false
			for _, id := range w.ByYear[y] {
				found = found || id == c.id
			}
			if !found {
				return 0, r.fail("coins", "coin charge %s of %s (KST) is not listed under %d", c.id, c.at.In(kst).Format(time.RFC3339), y)
			}
		}
		spent += c.charged + c.bonus - c.chargedLeft - c.bonusLeft
		charged += c.chargedLeft
		bonus += c.bonusLeft
	}
	if w.Charged.v() != charged || w.Bonus.v() != bonus || w.Balance.v() != charged+bonus {
		return 0, r.fail("coins", "%s's wallet shows %s charged + %s bonus = %s; its charges leave %d + %d (R-31)", a.email,
			w.Charged.Amount, w.Bonus.Amount, w.Balance.Amount, charged, bonus)
	}
	return spent, nil
}

// notesSum adds up an invoice's credit notes as shown.
type notesSum struct {
	amount, tax, due, refund, coins, credit int64
	bad                                     string
}

func (n notesSum) money() int64 { return n.amount - n.credit + n.tax }

func sumNotes(ns []oCreditNote) notesSum {
	var s notesSum
	for _, n := range ns {
		s.amount += n.Amount.v()
		s.tax += n.TaxAmount.v()
		s.due += n.DueAmount.v()
		s.refund += n.RefundAmount.v()
		s.coins += n.CoinAmount.v()
		s.credit += n.CreditAmount.v()
		taxed := n.Amount.v() - n.CreditAmount.v()
		switch {
		case n.Amount.v() <= 0 || n.TaxAmount.v() < 0 || n.DueAmount.v() < 0 || n.RefundAmount.v() < 0 || n.CoinAmount.v() < 0 || n.CreditAmount.v() < 0 || taxed < 0:
			s.bad = fmt.Sprintf("has a negative part: %+v", n)
		case taxed+n.TaxAmount.v() != n.DueAmount.v()+n.RefundAmount.v()+n.CoinAmount.v():
			s.bad = fmt.Sprintf("of taxed supply %d and VAT %s goes back as %s + %s + %s", taxed, n.TaxAmount.Amount, n.DueAmount.Amount, n.RefundAmount.Amount, n.CoinAmount.Amount)
		}
	}
	return s
}
