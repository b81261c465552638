package app_test

// Credit notes in TestMoneyInvariants (R-73, docs/rules.md): an operator
// credits a supply value of one of a group's live invoices. The model
// predicts whether it may (never more than the invoice charged, free
// credits closed since cannot take their part back), how it splits — the
// taxed part first with its VAT rounded down (the last of the taxed supply
// takes the last of the tax), the part free credits paid after it — and
// where its money goes, last in first out: off the amount still due, then
// refunded to the payment that paid the invoice (a refund the method
// refuses becomes a PAID credit of the group, valid 5 years), then to the
// coins. The model does not follow which coin charges paid an invoice, so
// a note whose money would reach them is skipped.

import (
	"fmt"
	"sort"
	"time"
)

const creditNoteMutation = `mutation($in: IssueCreditNoteInput!) { issueCreditNote(input: $in) { creditNote {
	id amount { amount } taxAmount { amount } totalAmount { amount } dueAmount { amount } refundAmount { amount }
	coinAmount { amount } creditAmount { amount } refunds { status amount { amount } } } } }`

// execCreditNote issues a credit note on the Ref-th live invoice of a group.
func (r *invRun) execCreditNote(o invOp) *invFailure {
	g := r.group(o)
	months := sortedMonths(g)
	if len(months) == 0 {
		return r.skip(o, "no invoice to credit")
	}
	if o.Ref%4 != 0 { // mostly an invoice with something left to credit
		var open []mMonth
		for _, m := range months {
			if inv := g.invoices[m]; inv.usage-inv.discount-inv.notedSupply > 0 {
				open = append(open, m)
			}
		}
		if len(open) > 0 {
			months = open
		}
	}
	m := months[o.Ref%len(months)]
	inv := g.invoices[m]
	if inv.adopt {
		return r.skip(o, "the invoice's coins are the engine's split, not the model's")
	}
	id, pr, f := r.probeInvoice(g, m)
	if f != nil {
		return f
	}
	if pr.pending {
		return r.skip(o, "a payment of the invoice is in flight")
	}

	// The amount: anything from −1 to a quarter past what is left to
	// credit; every third note credits exactly what is left.
	chargeable := inv.usage - inv.discount - inv.notedSupply
	amount := o.A%(chargeable+chargeable/4+2) - 1
	if o.B%3 == 0 {
		amount = chargeable
	}
	what := fmt.Sprintf("issueCreditNote %s %s of %d (%s, charged %d, credited %d, det %d, tax %d, coins %d, paid %d, due %d)",
		g.name(), m, amount, inv.status, inv.usage-inv.discount, inv.notedSupply, inv.det, inv.tax, inv.coins, inv.paid, inv.due())
	in := map[string]any{"invoiceId": id, "amount": fmt.Sprint(amount), "reason": fmt.Sprintf("op %d", o.N),
		"idempotencyKey": fmt.Sprintf("cn-%d", o.N)}
	vars := map[string]any{"in": in}
	if amount <= 0 || amount > chargeable {
		_, f := r.send(what, r.d.op, creditNoteMutation, vars, allow("BAD_USER_INPUT"))
		return f
	}

	// The split.
	taxed := min(amount, inv.det-inv.notedTaxed)
	fromCredits := amount - taxed
	tax := floorDiv(taxed, 1, 10)
	if inv.notedTaxed+taxed == inv.det {
		tax = inv.tax - inv.notedTax
	}
	tax = max(min(tax, inv.tax-inv.notedTax), 0)
	unpaid := inv.det + inv.tax - inv.coins - inv.paid - inv.credited
	due := max(min(taxed+tax, unpaid), 0)
	left := taxed + tax - due
	refund := min(left, inv.paid-inv.refunded)
	if left-refund > 0 {
		return r.skip(o, "its money would go back to coins, whose charges the model does not follow per invoice")
	}
	// The free credits' part goes back to the credits that paid it, the
	// newest credit first; one closed since cannot take it.
	credits := make([]*mCredit, 0, len(inv.uses))
	for c, amt := range inv.uses {
		if amt > 0 {
			credits = append(credits, c)
		}
	}
	sort.Slice(credits, func(i, j int) bool { return credits[i].id > credits[j].id })
	restores := map[*mCredit]int64{}
	for rest := fromCredits; rest > 0; {
		var c *mCredit
		for _, x := range credits {
			if restores[x] == 0 && (x.status == "AVAILABLE" || x.status == "USED_UP") {
				c = x
				break
			}
		}
		if c == nil {
			_, f := r.send(what+" (its credits closed since)", r.d.op, creditNoteMutation, vars, allow("CONFLICT"))
			return f
		}
		restores[c] = min(rest, inv.uses[c])
		rest -= restores[c]
	}
	res, f := r.send(what, r.d.op, creditNoteMutation, vars, allow(""))
	if f != nil {
		return f
	}
	r.touched = map[*mOrg]bool{g.org: true}
	n := "issueCreditNote.creditNote."
	for _, x := range []struct {
		field string
		want  int64
	}{{"amount", amount}, {"taxAmount", tax}, {"totalAmount", amount + tax}, {"dueAmount", due}, {"refundAmount", refund},
		{"coinAmount", 0}, {"creditAmount", fromCredits}} {
		if got := str(res.Data, n+x.field+".amount"); got != fmt.Sprint(x.want) {
			return r.fail("credit-notes", "%s: %s %s; the model has %d (R-39, R-73)", what, x.field, got, x.want)
		}
	}
	// Apply it to the model.
	inv.notes++
	inv.notedSupply += amount
	inv.notedTaxed += taxed
	inv.notedTax += tax
	inv.credited += due
	inv.refunded += refund
	if inv.due() == 0 && inv.status != "PAID" {
		inv.status = "PAID"
	}
	ids := make([]*mCredit, 0, len(restores))
	for c := range restores {
		ids = append(ids, c)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].id < ids[j].id })
	for _, c := range ids {
		back := restores[c]
		c.remaining += back
		c.used -= back
		c.status, c.closedAt = "AVAILABLE", time.Time{}
		c.restoredAt = r.m.now
		c.entries = append(c.entries, mEntry{kind: "RESTORE", amount: back, invoice: m})
		inv.uses[c] -= back
		inv.restored += back // the invoice still shows what credits paid at issue
	}
	refunds := get(res.Data, n+"refunds").([]any)
	switch {
	case refund == 0 && len(refunds) != 0:
		return r.fail("credit-notes", "%s refunded %d payments; the model none", what, len(refunds))
	case refund > 0 && (len(refunds) != 1 || str(refunds[0], "amount.amount") != fmt.Sprint(refund)):
		return r.fail("credit-notes", "%s: refunds %v; the model refunds %d to the payment that paid the invoice", what, refunds, refund)
	case refund > 0 && inv.paidWith == nil:
		return r.fail("credit-notes", "%s: the model knows no method that paid the invoice", what)
	case refund > 0 && inv.paidWith.refunds && str(refunds[0], "status") != "SUCCESSFUL":
		return r.fail("credit-notes", "%s: the refund is %s; the method refunds", what, str(refunds[0], "status"))
	case refund > 0 && !inv.paidWith.refunds:
		if str(refunds[0], "status") == "SUCCESSFUL" {
			return r.fail("credit-notes", "%s: the refund succeeded; the method refuses refunds", what)
		}
		// The refused refund is kept as a PAID credit of the group.
		cid, f := r.newCreditOf(g)
		if f != nil {
			return f
		}
		r.m.openCredit(g, cid, "", "PAID", refund, r.m.now, r.m.now.AddDate(5, 0, 0), nil, "ACCUMULATION")
	}
	return nil
}

// newCreditOf finds the credit of g the model does not know yet.
func (r *invRun) newCreditOf(g *mGroup) (string, *invFailure) {
	obs, err := r.observeGroup(g.org.master.token, g.id)
	if err != nil {
		return "", r.fail("api", "reading %s: %v", g.name(), err)
	}
	known := map[string]bool{}
	for _, c := range g.credits {
		known[c.id] = true
	}
	var fresh []string
	for _, c := range obs.Credits {
		if !known[c.ID] && c.Type == "PAID" {
			fresh = append(fresh, c.ID)
		}
	}
	if len(fresh) != 1 {
		return "", r.fail("credit-notes", "%s shows %d new PAID credits after a refused refund; the model expects 1 (R-73)", g.name(), len(fresh))
	}
	return fresh[0], nil
}
