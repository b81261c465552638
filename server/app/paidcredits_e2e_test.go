package app_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const (
	sellPaidCredit = `mutation($in: SellPaidCreditInput!) { sellPaidCredit(input: $in) { credit { id type status startsAt endsAt remainingAmount { amount } }
		payment { id kind status amount { amount } method receiptUrl billingGroup { id } } } }`
	refundPaidCredit = `mutation($in: CreditIdInput!) { refundPaidCredit(input: $in) { credit { ` + creditFields + ` }
		payment { id kind status failureReason amount { amount } method receiptUrl } } }`
	groupPayments = `query($bg: ID!) { billingGroup(id: $bg) { payments(first: 20) { totalCount edges { node { id kind status amount { amount } } } } } }`
)

func sale(bg, pm, amount, key string) map[string]any {
	return map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "Prepaid", "amount": amount, "paymentMethodId": pm, "idempotencyKey": key}}
}

func refund(credit, key string) map[string]any {
	return map[string]any{"in": map[string]any{"creditId": credit, "idempotencyKey": key}}
}

// fetchPDF downloads a signed document link and checks it is a PDF.
func fetchPDF(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || len(body) < 5 || string(body[:5]) != "%PDF-" {
		t.Fatalf("receipt %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// a paid credit is bought. Its sale is a
// CREDIT_PURCHASE payment charged to the master's method, with a receipt,
// once per idempotency key; the credit opens only when the money is in. A
// refund pays what is left back to the method that bought it (a partly used
// credit keeps what it paid); a refund the gateway refuses gives the
// remainder back. Before, sellPaidCredit opened a credit with no payment
// and no receipt, and refundPaidCredit moved nothing.
func TestPaidCreditsAreBoughtAndRefunded(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		master, bg := e.octoberInvoice("paid-credits@example.com") // October: 85,000 + VAT
		pm := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")

		// A sale: the payment and its receipt, and the credit it bought.
		s := e.ok(e.op, sellPaidCredit, sale(bg, pm, "100000", "sale-1"))
		c, pay := get(s, "sellPaidCredit.credit"), get(s, "sellPaidCredit.payment")
		if str(c, "type") != "PAID" || str(c, "status") != "AVAILABLE" || str(c, "remainingAmount.amount") != "100000" ||
			str(c, "endsAt")[:10] != "2031-11-01" {
			t.Fatalf("credit = %v", c)
		}
		if str(pay, "kind") != "CREDIT_PURCHASE" || str(pay, "status") != "SUCCESSFUL" || str(pay, "amount.amount") != "100000" ||
			str(pay, "method") != "VISA •••• 4242" || str(pay, "billingGroup.id") != bg {
			t.Fatalf("purchase = %v", pay)
		}
		fetchPDF(t, str(pay, "receiptUrl"))
		credit := str(c, "id")

		// the same key answers the same sale; another input with it is refused.
		again := e.ok(e.op, sellPaidCredit, sale(bg, pm, "100000", "sale-1"))
		if str(again, "sellPaidCredit.credit.id") != credit || str(again, "sellPaidCredit.payment.id") != str(pay, "id") {
			t.Fatalf("replay = %v", again)
		}
		e.fails("IDEMPOTENCY_KEY_REUSED", e.op, sellPaidCredit, sale(bg, pm, "5000", "sale-1"))
		ps := e.ok(master, groupPayments, map[string]any{"bg": bg})
		if get(ps, "billingGroup.payments.totalCount") != 1.0 {
			t.Fatalf("payments after a replayed sale = %v", ps)
		}

		// Refused: a declined card (the failed attempt is recorded, no credit
		// opens), a method that is not the master's, a virtual account, a grant
		// of a paid credit (money in without a payment).
		declinedPM := str(e.ok(master, registerMethod, card("tok_visa_declined")), "registerPaymentMethod.paymentMethod.id")
		e.fails("PAYMENT_DECLINED", e.op, sellPaidCredit, sale(bg, declinedPM, "1000", "sale-2"))
		other, _ := e.signUp("other-org@example.com")
		otherPM := str(e.ok(other, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		if r := e.fails("NOT_FOUND", e.op, sellPaidCredit, sale(bg, otherPM, "1000", "sale-3")); r.Errors[0].Extensions["field"] != "paymentMethodId" {
			t.Fatalf("foreign method: %+v", r.Errors)
		}
		va := str(e.ok(master, `mutation { changePaymentMethod(input: {type: DIRECT_DEPOSIT}) { paymentMethod { id } } }`, nil), "changePaymentMethod.paymentMethod.id")
		e.fails("PAYMENT_METHOD_NOT_ALLOWED", e.op, sellPaidCredit, sale(bg, va, "1000", "sale-4"))
		if r := e.fails("BAD_USER_INPUT", e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "Free money", "type": "PAID",
			"amount": "1000", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2031-11-01T00:00:00+09:00"}}); r.Errors[0].Extensions["field"] != "type" {
			t.Fatalf("paid grant: %+v", r.Errors)
		}
		ps = e.ok(master, groupPayments, map[string]any{"bg": bg})
		if get(ps, "billingGroup.payments.totalCount") != 2.0 || str(ps, "billingGroup.payments.edges.0.node.status") != "FAILED" {
			t.Fatalf("payments = %v, want the purchase and the declined attempt", ps)
		}
		count := func() float64 {
			d := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { credits(first: 20, includeClosed: true) { totalCount } } }`, map[string]any{"bg": bg})
			return get(d, "billingGroup.credits.totalCount").(float64)
		}
		if n := count(); n != 1 {
			t.Fatalf("%v credits, want only the one bought", n)
		}

		// A gateway that does not answer: PAYMENT_PENDING, no credit yet; once
		// reconciled the credit opens, and the same key answers it.
		slowPM := str(e.ok(master, registerMethod, card("tok_visa_timeout")), "registerPaymentMethod.paymentMethod.id")
		e.fails("PAYMENT_PENDING", e.op, sellPaidCredit, sale(bg, slowPM, "7000", "sale-5"))
		if n := count(); n != 1 {
			t.Fatalf("%v credits while the purchase is pending", n)
		}
		e.runJobs("2026-11-01T10:02:00+09:00")
		slow := e.ok(e.op, sellPaidCredit, sale(bg, slowPM, "7000", "sale-5"))
		if str(slow, "sellPaidCredit.payment.status") != "SUCCESSFUL" || str(slow, "sellPaidCredit.credit.remainingAmount.amount") != "7000" {
			t.Fatalf("reconciled sale = %v", slow)
		}
		e.ok(e.op, refundPaidCredit, refund(str(slow, "sellPaidCredit.credit.id"), "refund-slow"))

		// October's invoice (85,000 before VAT) is paid by the 100,000 credit
		// at its issue; 15,000 is left to refund.
		e.runJobs("2026-11-03T00:00:00+09:00")
		e.at("2026-11-20T10:00:00+09:00")
		e.fails("BAD_USER_INPUT", e.op, `mutation($id: ID!) { refundPaidCredit(input: {creditId: $id}) { credit { id } } }`, map[string]any{"id": credit})
		r := e.ok(e.op, refundPaidCredit, refund(credit, "refund-1"))
		rc, rp := get(r, "refundPaidCredit.credit"), get(r, "refundPaidCredit.payment")
		if str(rc, "status") != "REFUNDED" || str(rc, "usedAmount.amount") != "85000" || str(rc, "remainingAmount.amount") != "0" ||
			str(rc, "history.edges.0.node.kind") != "REFUND" || str(rc, "history.edges.0.node.amount.amount") != "-15000" {
			t.Fatalf("refunded credit = %v", rc)
		}
		historySum(t, rc)
		if str(rp, "kind") != "CREDIT_REFUND" || str(rp, "status") != "SUCCESSFUL" || str(rp, "amount.amount") != "15000" || str(rp, "method") != "VISA •••• 4242" {
			t.Fatalf("refund payment = %v", rp)
		}
		fetchPDF(t, str(rp, "receiptUrl"))
		if again := e.ok(e.op, refundPaidCredit, refund(credit, "refund-1")); str(again, "refundPaidCredit.payment.id") != str(rp, "id") {
			t.Fatalf("replayed refund = %v", again)
		}
		e.fails("CONFLICT", e.op, refundPaidCredit, refund(credit, "refund-2"))

		// A refund the gateway refuses gives the remainder back to the credit.
		stubborn := str(e.ok(master, registerMethod, card("tok_visa_refund_refused")), "registerPaymentMethod.paymentMethod.id")
		bought := str(e.ok(e.op, sellPaidCredit, sale(bg, stubborn, "20000", "sale-6")), "sellPaidCredit.credit.id")
		res := e.gql(e.op, refundPaidCredit, refund(bought, "refund-3"))
		if res.code() != "PAYMENT_DECLINED" {
			t.Fatalf("refused refund answered %+v", res.Errors)
		}
		kept := get(res.Data, "refundPaidCredit.credit")
		if str(kept, "status") != "AVAILABLE" || str(kept, "remainingAmount.amount") != "20000" ||
			str(res.Data, "refundPaidCredit.payment.status") != "FAILED" {
			t.Fatalf("after a refused refund: %v", res.Data)
		}
		historySum(t, kept)
	})
}

// R-50..R-53 on PostgreSQL: concurrent sales and refunds. Twenty sales with
// one key sell one credit; ten with their own keys sell ten. Refunds of one
// credit, ten with one key and ten with their own keys: one refund, once.
func TestPaidCreditSalesAndRefundsRace(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	master, _ := e.signUp("paid-race@example.com")
	bg := e.mainGroup(master)
	pm := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")

	race := func(n int, do func(i int) result) []result {
		out := make([]result, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); out[i] = do(i) }(i)
		}
		wg.Wait()
		return out
	}
	sales := race(30, func(i int) result {
		key := "one-key"
		if i >= 20 {
			key = fmt.Sprint("own-", i)
		}
		return e.gql(e.op, sellPaidCredit, sale(bg, pm, "10000", key))
	})
	// A repeat of the key while the first call is still charging answers
	// PAYMENT_PENDING (ask again); every answer of the key names one sale.
	shared := map[string]bool{}
	for i, r := range sales {
		switch {
		case r.code() == "PAYMENT_PENDING" && i < 20:
		case len(r.Errors) > 0:
			t.Fatalf("sale %d: %+v", i, r.Errors)
		case i < 20:
			shared[str(r.Data, "sellPaidCredit.credit.id")+" "+str(r.Data, "sellPaidCredit.payment.id")] = true
		}
	}
	final := e.ok(e.op, sellPaidCredit, sale(bg, pm, "10000", "one-key"))
	target := str(final, "sellPaidCredit.credit.id")
	shared[target+" "+str(final, "sellPaidCredit.payment.id")] = true
	var purchases, credits, accumulated int64
	db.SQL.QueryRow(`SELECT count(*) FROM payments WHERE kind = 'CREDIT_PURCHASE' AND status = 'SUCCESSFUL'`).Scan(&purchases)
	db.SQL.QueryRow(`SELECT count(*), coalesce(sum(accumulated), 0) FROM credits WHERE type = 'PAID'`).Scan(&credits, &accumulated)
	if len(shared) != 1 || purchases != 11 || credits != 11 || accumulated != 110000 {
		t.Fatalf("answers for one key %v; %d purchases, %d credits of %d in all; want 1, 11, 11, 110000", shared, purchases, credits, accumulated)
	}

	refunds := race(20, func(i int) result {
		key := "refund-one"
		if i >= 10 {
			key = fmt.Sprint("refund-own-", i)
		}
		return e.gql(e.op, refundPaidCredit, refund(target, key))
	})
	paymentsAnswered := map[string]bool{}
	for i, r := range refunds {
		switch r.code() {
		case "":
			paymentsAnswered[str(r.Data, "refundPaidCredit.payment.id")] = true
		case "CONFLICT": // another key refunded it first
		default:
			t.Fatalf("refund %d: %+v", i, r.Errors)
		}
	}
	var refundPayments, refunded, entries, remaining int64
	db.SQL.QueryRow(`SELECT count(*), coalesce(sum(amount), 0) FROM payments WHERE kind = 'CREDIT_REFUND' AND credit_id = $1`, target).Scan(&refundPayments, &refunded)
	db.SQL.QueryRow(`SELECT coalesce(sum(amount), 0) FROM credit_entries WHERE credit_id = $1`, target).Scan(&entries)
	db.SQL.QueryRow(`SELECT remaining FROM credits WHERE id = $1`, target).Scan(&remaining)
	if refundPayments != 1 || refunded != 10000 || len(paymentsAnswered) != 1 || entries != 0 || remaining != 0 {
		t.Fatalf("%d refund payments of %d, %d distinct answered, entries sum %d, remaining %d; want 1 of 10000, 1, 0, 0",
			refundPayments, refunded, len(paymentsAnswered), entries, remaining)
	}
}
