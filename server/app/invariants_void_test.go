package app_test

// Void and reissue in TestMoneyInvariants: an operator voids one of
// a group's invoices — the model predicts whether it may be, gives its free
// credits back and opens the month — and reissues a voided month, which
// the model rates from what the month holds now.

import (
	"fmt"
	"sort"
	"time"
)

const voidProbe = `query($bg: ID!, $m: Month!) { billingGroup(id: $bg) { invoice(month: $m) { id payments { status } } taxInvoices { month } } }`

// execVoid voids the Ref-th live invoice of a group.
func (r *invRun) execVoid(o invOp) *invFailure {
	g := r.group(o)
	months := sortedMonths(g)
	if len(months) == 0 {
		return r.skip(o, "no invoice to void")
	}
	m := months[o.Ref%len(months)]
	inv := g.invoices[m]
	if inv.adopt {
		return r.skip(o, "the invoice's coins are the engine's split, not the model's")
	}
	// What the model does not keep: the tax invoices the calendar issued to
	// the business customer, and payments still in flight.
	id, pr, f := r.probeInvoice(g, m)
	if f != nil {
		return f
	}
	taxed, paying := pr.taxed, pr.pending || pr.successful
	voidable := (inv.status == "ISSUED" || inv.status == "OUTSTANDING" || (inv.status == "PAID" && inv.det+inv.tax == 0)) &&
		inv.paid == 0 && inv.coins == 0 && inv.late == 0 && inv.notes == 0 && !taxed && !paying
	for c, amt := range inv.uses {
		if amt > 0 && c.status != "AVAILABLE" && c.status != "USED_UP" {
			voidable = false // a credit closed since cannot take its use back
		}
	}
	want := allow("CONFLICT")
	if voidable {
		want = allow("")
	}
	in := map[string]any{"invoiceId": id, "reason": fmt.Sprintf("op %d", o.N), "idempotencyKey": fmt.Sprintf("void-%d", o.N)}
	res, f := r.send(fmt.Sprintf("voidInvoice %s %s (%s, due %d)", g.name(), m, inv.status, inv.due()), r.d.op,
		`mutation($in: VoidInvoiceInput!) { voidInvoice(input: $in) { invoice { id status } } }`, map[string]any{"in": in}, want)
	if f != nil || res.code() != "" {
		return f
	}
	credits := make([]*mCredit, 0, len(inv.uses))
	for c := range inv.uses {
		credits = append(credits, c)
	}
	sort.Slice(credits, func(i, j int) bool { return credits[i].id < credits[j].id })
	for _, c := range credits {
		amt := inv.uses[c]
		if amt == 0 {
			continue
		}
		c.remaining += amt
		c.used -= amt
		c.status, c.closedAt = "AVAILABLE", time.Time{}
		c.entries = append(c.entries, mEntry{kind: "RESTORE", amount: amt, invoice: m})
	}
	inv.id, inv.status = id, "VOID"
	g.voided = append(g.voided, inv)
	delete(g.invoices, m)
	g.awaiting[m] = true
	return nil
}

// invoiceProbe is what the model does not keep of a live invoice.
type invoiceProbe struct {
	taxed               bool // a tax invoice was issued for its month
	pending, successful bool // it has payments in flight, or that went through
}

// probeInvoice reads g's live invoice of m: its id and what the model does
// not keep of it.
func (r *invRun) probeInvoice(g *mGroup, m mMonth) (string, invoiceProbe, *invFailure) {
	var pr invoiceProbe
	res := r.d.do(r.d.op, voidProbe, map[string]any{"bg": g.id, "m": m.String()})
	if len(res.Errors) > 0 {
		return "", pr, r.fail("api", "reading %s's invoice of %s: %s", g.name(), m, answerText(res))
	}
	for _, ti := range get(res.Data, "billingGroup.taxInvoices").([]any) {
		pr.taxed = pr.taxed || str(ti, "month") == m.String()
	}
	for _, p := range get(res.Data, "billingGroup.invoice.payments").([]any) {
		pr.pending = pr.pending || str(p, "status") == "PENDING"
		pr.successful = pr.successful || str(p, "status") == "SUCCESSFUL"
	}
	return str(res.Data, "billingGroup.invoice.id"), pr, nil
}

// execReissue issues the Ref-th voided month of any group again (voids are
// few: picking the operation's own group would seldom find one).
func (r *invRun) execReissue(o invOp) *invFailure {
	type pending struct {
		g *mGroup
		m mMonth
	}
	var all []pending
	for _, og := range r.m.orgs {
		for _, g := range og.groups {
			for m := range g.awaiting {
				all = append(all, pending{g, m})
			}
		}
	}
	if len(all) == 0 {
		return r.skip(o, "no voided month to reissue")
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].g != all[j].g {
			return all[i].g.name() < all[j].g.name()
		}
		return all[i].m < all[j].m
	})
	g, m := all[o.Ref%len(all)].g, all[o.Ref%len(all)].m
	r.touched = map[*mOrg]bool{g.org: true}
	in := map[string]any{"billingGroupId": g.id, "month": m.String(), "idempotencyKey": fmt.Sprintf("reissue-%d", o.N)}
	res, f := r.send(fmt.Sprintf("reissueInvoice %s %s", g.name(), m), r.d.op,
		`mutation($in: ReissueInvoiceInput!) { reissueInvoice(input: $in) { invoice { id } } }`, map[string]any{"in": in}, allow(""))
	if f != nil {
		return f
	}
	delete(g.awaiting, m)
	inv := r.m.issue(g, m)
	inv.issuedAt = r.m.now
	for !r.m.now.Before(inv.payMonth.at(10, 0, 0)) { // written once that month's payment days had begun
		inv.payMonth++
	}
	inv.id = str(res.Data, "reissueInvoice.invoice.id")
	r.m.payWithCoinsAtIssue(g.org, []*mInvoice{inv})
	return nil
}
