package app_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent/outboxevent"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const (
	voidInvoice    = `mutation($in: VoidInvoiceInput!) { voidInvoice(input: $in) { invoice { id status voidReason voidedAt usageAmount { amount } creditAmount { amount } amountDue { amount } } } }`
	reissueInvoice = `mutation($in: ReissueInvoiceInput!) { reissueInvoice(input: $in) { invoice { id status month usageAmount { amount } creditAmount { amount } determinedAmount { amount } taxAmount { amount } } } }`
	novInvoice     = `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-11") { id status usageAmount { amount } }
		invoices(first: 20) { edges { node { id status month } } } } }`
)

// fixtureInvoice writes an issued, unpaid invoice of month m for billing
// group bg, as the month close would (for the tests that need an invoice id
// of an organization without running its month).
func fixtureInvoice(t *testing.T, db *store.DB, bg, m string) string {
	t.Helper()
	ctx := context.Background()
	g := db.Client.BillingGroup.GetX(ctx, bg)
	return db.Client.Invoice.Create().SetOrgID(g.OrgID).SetBillingGroupID(bg).SetMonth(m).SetStatus("ISSUED").SetCurrency("KRW").
		SetUsageAmount(1000).SetDiscountAmount(0).SetCreditAmount(0).SetDeterminedAmount(1000).SetTaxAmount(100).
		SetIssuedAt(time.Date(2026, 11, 3, 0, 0, 0, 0, kst)).SaveX(ctx).ID
}

// personal signs up an INDIVIDUAL member (no tax invoices, R-46).
func (e *env) personal(email string) string {
	e.t.Helper()
	d := e.ok("", signUpMutation, map[string]any{"in": map[string]any{
		"email": email, "password": "Secret!234", "memberType": "INDIVIDUAL", "residenceCountry": "KR", "birthDate": "1990-04-01"}})
	return str(d, "signUp.accessToken")
}

// R-72 on both databases: an operator voids November's unpaid invoice; it
// stays listed as VOID, the free credit it used is whole again (a RESTORE
// entry naming it), the month takes late usage again, and the reissue
// rates the corrected month under a new id — once per key, and one
// non-void invoice per month whatever is called. Voiding is refused when
// the invoice cannot be withdrawn (void already, a tax invoice issued) and
// to anyone but an operator, and a foreign or missing invoice is NOT_FOUND.
func TestVoidAndReissue(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db) // 2026-11-20 10:00 KST
		e.ok(e.op, catalogSetup, nil)
		master := e.personal("void@example.com")
		bg := e.mainGroup(master)
		feed := e.partner(master)
		credit := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "Promo", "type": "FREE",
			"amount": "300", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2026-12-01T00:00:00+09:00"}}), "grantCredit.credit.id")
		e.ok(feed, recordUsage, map[string]any{"e": []any{event("u1", bg, "vm", "hour", "10", "2026-11-10T09:00:00+09:00")}})
		biz, _ := e.signUp("void-biz@example.com")
		bbg := e.mainGroup(biz)
		e.ok(e.partner(biz), recordUsage, map[string]any{"e": []any{event("b1", bbg, "vm", "hour", "2", "2026-11-10T09:00:00+09:00")}})
		e.setUTC("2026-12-02T15:00:00Z") // December 3, 00:00 KST: November is issued
		e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-03T00:00:00+09:00"}) { issued } }`, nil)
		first := e.ok(master, novInvoice, map[string]any{"bg": bg})
		oldID := str(first, "billingGroup.invoice.id")
		if oldID == "" || str(first, "billingGroup.invoice.usageAmount.amount") != "850" {
			t.Fatalf("November's invoice = %v; want 10 h × 85", first)
		}
		// Late usage is refused while the invoice stands (invoiced, not in
		// the future).
		late := map[string]any{"e": []any{event("u2", bg, "vm", "hour", "5", "2026-11-28T09:00:00+09:00")}}
		if got := eventErrors(e.fails("BAD_USER_INPUT", feed, recordUsage, late)); got["u2"] != "events.occurredAt" {
			t.Fatalf("late usage: %v", got)
		}

		in := map[string]any{"invoiceId": oldID, "reason": "usage of Nov 28 was missing", "idempotencyKey": "void-1"}
		e.fails("FORBIDDEN", master, voidInvoice, map[string]any{"in": in})
		e.fails("NOT_FOUND", e.op, voidInvoice, map[string]any{"in": map[string]any{"invoiceId": "inv_missing", "reason": "x", "idempotencyKey": "void-x"}})
		wantField(t, e.gql(e.op, voidInvoice, map[string]any{"in": map[string]any{"invoiceId": oldID, "reason": "", "idempotencyKey": "void-0"}}), "reason")
		v := e.ok(e.op, voidInvoice, map[string]any{"in": in})
		if str(v, "voidInvoice.invoice.status") != "VOID" || str(v, "voidInvoice.invoice.voidReason") != "usage of Nov 28 was missing" ||
			str(v, "voidInvoice.invoice.voidedAt") == "" || str(v, "voidInvoice.invoice.creditAmount.amount") != "300" ||
			str(v, "voidInvoice.invoice.amountDue.amount") != "0" {
			t.Fatalf("voidInvoice = %v", v)
		}
		if again := e.ok(e.op, voidInvoice, map[string]any{"in": in}); fmt.Sprint(again) != fmt.Sprint(v) {
			t.Fatalf("the same key again = %v, want the first answer %v", again, v)
		}
		// The master is told once, in Korean, what was withdrawn and why.
		var told []string
		for _, ev := range db.Client.OutboxEvent.Query().Where(outboxevent.Topic(topics.InvoiceVoided)).AllX(t.Context()) {
			told = append(told, ev.Channel)
			if ev.Channel == topics.ChannelEmail {
				m, err := notify.Render(ev.Topic, ev.Language, ev.Payload)
				if err != nil || ev.Recipient != "void@example.com" {
					t.Fatalf("the void's email: %+v, %v", ev, err)
				}
				mustContain(t, "the void's email", m.Subject+m.Text, "취소", oldID, "usage of Nov 28 was missing", "605원") // (850 − 300) + 10% VAT
			}
		}
		if sort.Strings(told); strings.Join(told, ",") != "EMAIL,WEBHOOK" {
			t.Fatalf("the void was told by %v, want one email and one webhook", told)
		}
		in2 := map[string]any{"invoiceId": oldID, "reason": "again", "idempotencyKey": "void-2"}
		e.fails("CONFLICT", e.op, voidInvoice, map[string]any{"in": in2})

		// The credit is whole again, its history naming the voided invoice.
		c := e.ok(master, `query($id: ID!) { node(id: $id) { ... on Credit { remainingAmount { amount } status
			history(first: 20) { edges { node { kind amount { amount } invoice { id status } } } } } } }`, map[string]any{"id": credit})
		if str(c, "node.remainingAmount.amount") != "300" || str(c, "node.status") != "AVAILABLE" {
			t.Fatalf("credit after the void = %v", c)
		}
		var restored bool
		for _, edge := range get(c, "node.history.edges").([]any) {
			if str(edge, "node.kind") == "RESTORE" && str(edge, "node.amount.amount") == "300" && str(edge, "node.invoice.id") == oldID {
				restored = true
			}
		}
		if !restored {
			t.Fatalf("no RESTORE entry of 300 naming %s: %v", oldID, c)
		}
		// The credit's period (November) is over and November's issue day
		// passed, but November has no invoice to pay now: the jobs leave
		// it AVAILABLE for the reissue instead of expiring it.
		e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-03T00:05:00+09:00"}) { issued } }`, nil)
		if c := e.ok(master, `query($id: ID!) { node(id: $id) { ... on Credit { status remainingAmount { amount } } } }`, map[string]any{"id": credit}); str(c, "node.status") != "AVAILABLE" {
			t.Fatalf("the restored credit after the jobs = %v, want AVAILABLE until November is issued again", c)
		}
		// The month is open: no live invoice, the late usage accepted.
		if got := e.ok(master, novInvoice, map[string]any{"bg": bg}); get(got, "billingGroup.invoice") != nil {
			t.Fatalf("November after the void = %v, want no invoice", got)
		}
		e.ok(feed, recordUsage, late)

		// Reissued: 15 h × 85 = 1,275, the credit's 300 again, VAT on 975.
		rin := map[string]any{"billingGroupId": bg, "month": "2026-11", "idempotencyKey": "re-1"}
		e.fails("FORBIDDEN", master, reissueInvoice, map[string]any{"in": rin})
		r := e.ok(e.op, reissueInvoice, map[string]any{"in": rin})
		newID := str(r, "reissueInvoice.invoice.id")
		if newID == "" || newID == oldID || str(r, "reissueInvoice.invoice.status") != "ISSUED" ||
			str(r, "reissueInvoice.invoice.usageAmount.amount") != "1275" || str(r, "reissueInvoice.invoice.creditAmount.amount") != "300" ||
			str(r, "reissueInvoice.invoice.determinedAmount.amount") != "975" || str(r, "reissueInvoice.invoice.taxAmount.amount") != "97" {
			t.Fatalf("reissueInvoice = %v", r)
		}
		for _, key := range []string{"re-1", "re-2"} { // the same key, or another: the month's one invoice
			rin["idempotencyKey"] = key
			if got := e.ok(e.op, reissueInvoice, map[string]any{"in": rin}); str(got, "reissueInvoice.invoice.id") != newID {
				t.Fatalf("reissue with %s = %v, want %s", key, got, newID)
			}
		}
		list := e.ok(master, novInvoice, map[string]any{"bg": bg})
		if str(list, "billingGroup.invoice.id") != newID {
			t.Fatalf("November's invoice = %v, want %s", list, newID)
		}
		statuses := map[string]string{}
		for _, edge := range get(list, "billingGroup.invoices.edges").([]any) {
			statuses[str(edge, "node.id")] = str(edge, "node.status")
		}
		if len(statuses) != 2 || statuses[oldID] != "VOID" || statuses[newID] != "ISSUED" {
			t.Fatalf("invoices = %v; want the voided one and the new one", statuses)
		}
		e.fails("BAD_USER_INPUT", feed, recordUsage, map[string]any{"e": []any{event("u3", bg, "vm", "hour", "1", "2026-11-29T09:00:00+09:00")}})
		// A month never voided is not reissued.
		wantField(t, e.gql(e.op, reissueInvoice, map[string]any{"in": map[string]any{"billingGroupId": bg, "month": "2026-10", "idempotencyKey": "re-oct"}}), "month")

		// A business customer's invoice with its tax invoice issued stands.
		if n := len(get(e.ok(biz, `query($bg: ID!) { billingGroup(id: $bg) { taxInvoices { month } } }`, map[string]any{"bg": bbg}),
			"billingGroup.taxInvoices").([]any)); n != 1 {
			t.Fatalf("the business customer has %d tax invoices, want November's", n)
		}
		bid := str(e.ok(biz, novInvoice, map[string]any{"bg": bbg}), "billingGroup.invoice.id")
		if bid == "" {
			t.Fatal("the business customer has no November invoice")
		}
		e.fails("CONFLICT", e.op, voidInvoice, map[string]any{"in": map[string]any{"invoiceId": bid, "reason": "x", "idempotencyKey": "void-biz"}})
	})
}

// on PostgreSQL: 10 operators reissue one voided month at once
// with their own keys; the month ends with exactly one invoice that is not
// void, and every call answers it.
func TestReissueRace(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	e.ok(e.op, catalogSetup, nil)
	master := e.personal("reissue-race@example.com")
	bg := e.mainGroup(master)
	e.ok(e.partner(master), recordUsage, map[string]any{"e": []any{event("u1", bg, "vm", "hour", "10", "2026-11-10T09:00:00+09:00")}})
	e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-03T00:00:00+09:00"}) { issued } }`, nil)
	oldID := str(e.ok(master, novInvoice, map[string]any{"bg": bg}), "billingGroup.invoice.id")
	e.ok(e.op, voidInvoice, map[string]any{"in": map[string]any{"invoiceId": oldID, "reason": "race", "idempotencyKey": "v"}})

	var wg sync.WaitGroup
	ids := make([]string, 10)
	errs := make([]string, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.gql(e.op, reissueInvoice, map[string]any{"in": map[string]any{"billingGroupId": bg, "month": "2026-11", "idempotencyKey": fmt.Sprintf("race-%d", i)}})
			if len(r.Errors) > 0 {
				errs[i] = r.code()
				return
			}
			ids[i] = str(r.Data, "reissueInvoice.invoice.id")
		}()
	}
	wg.Wait()
	var live, all int
	if err := db.SQL.QueryRow(`SELECT count(*) FILTER (WHERE status <> 'VOID'), count(*) FROM invoices WHERE billing_group_id = $1 AND month = '2026-11'`, bg).Scan(&live, &all); err != nil {
		t.Fatal(err)
	}
	if live != 1 || all != 2 {
		t.Fatalf("November has %d invoices, %d not void; want 2 and 1", all, live)
	}
	for i := range ids {
		if errs[i] != "" || ids[i] == "" || ids[i] != ids[0] || ids[i] == oldID {
			t.Fatalf("reissue answers %v (errors %v); want every call the one new invoice", ids, errs)
		}
	}
}
