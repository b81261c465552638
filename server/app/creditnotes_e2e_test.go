package app_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const (
	issueCreditNote = `mutation($in: IssueCreditNoteInput!) { issueCreditNote(input: $in) { creditNote { id number reason
		amount { amount } taxAmount { amount } totalAmount { amount } dueAmount { amount } refundAmount { amount }
		coinAmount { amount } creditAmount { amount } lines { region serviceCode amount { amount } }
		refunds { kind status amount { amount } } invoice { id } documentUrl } } }`
	creditNotesQuery = `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { id status amountDue { amount }
		paymentAmount { amount } creditNoteAmount { amount } creditNotes { number totalAmount { amount } } } } }`
)

// creditNoteFixture: two organizations with October's invoice of 1,000 VM
// hours (85,000 + 8,500 VAT = 93,500), one paid by card on November 3rd,
// the other unpaid.
func creditNoteFixture(e *env) (paid, paidBG, unpaid, unpaidBG string) {
	e.t.Helper()
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	paid, paidBG = e.octoberInvoice("cn-paid@example.com")
	unpaid, unpaidBG = e.octoberInvoice("cn-unpaid@example.com")
	pm := str(e.ok(paid, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	e.at("2026-11-03T00:00:00+09:00")
	e.runJobs("2026-11-03T00:00:00+09:00")
	e.at("2026-11-03T15:00:00+09:00")
	paid, unpaid = e.login("cn-paid@example.com"), e.login("cn-unpaid@example.com")
	if p := e.ok(paid, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": paidBG, "paymentMethodId": pm, "idempotencyKey": "pay"}}); str(p, "payInstantly.payment.status") != "SUCCESSFUL" {
		e.t.Fatalf("payment = %v", p)
	}
	return paid, paidBG, unpaid, unpaidBG
}

// R-73 on both databases: a credit note of 1,000 on a paid invoice carries
// 100 VAT and refunds 1,100 to the card through the gateway; it is listed
// on the invoice, in its PDF and in the month's XLSX. The notes of an
// invoice never credit more than it charged, and the one crediting the
// rest of it takes the rest of its VAT, so the refunds add up to what was
// paid. On an unpaid invoice a note of named lines takes off the amount
// due. Operators only; idempotent by key; a missing invoice is NOT_FOUND.
func TestCreditNotes(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		paid, paidBG, unpaid, unpaidBG := creditNoteFixture(e)
		inv := str(e.ok(paid, creditNotesQuery, map[string]any{"bg": paidBG}), "billingGroup.invoice.id")
		in := map[string]any{"invoiceId": inv, "amount": "1000", "reason": "SLA credit for the outage of Oct 12", "idempotencyKey": "cn-1"}
		e.fails("FORBIDDEN", paid, issueCreditNote, map[string]any{"in": in})
		e.fails("NOT_FOUND", e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": "inv_missing", "amount": "1", "reason": "x", "idempotencyKey": "cn-x"}})
		for _, bad := range []map[string]any{
			{"invoiceId": inv, "amount": "0", "reason": "x", "idempotencyKey": "cn-0"},
			{"invoiceId": inv, "amount": "-5", "reason": "x", "idempotencyKey": "cn-n"},
			{"invoiceId": inv, "amount": "85001", "reason": "x", "idempotencyKey": "cn-big"},
			{"invoiceId": inv, "amount": "0.5", "reason": "x", "idempotencyKey": "cn-frac"},
			{"invoiceId": inv, "amount": "99999999999999999999999", "reason": "x", "idempotencyKey": "cn-huge"},
			{"invoiceId": inv, "reason": "x", "idempotencyKey": "cn-none"},
		} {
			wantField(t, e.gql(e.op, issueCreditNote, map[string]any{"in": bad}), "amount")
		}
		wantField(t, e.gql(e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": inv, "amount": "1", "reason": "", "idempotencyKey": "cn-r"}}), "reason")

		cn := e.ok(e.op, issueCreditNote, map[string]any{"in": in})
		n := "issueCreditNote.creditNote."
		if str(cn, n+"amount.amount") != "1000" || str(cn, n+"taxAmount.amount") != "100" || str(cn, n+"totalAmount.amount") != "1100" ||
			str(cn, n+"refundAmount.amount") != "1100" || str(cn, n+"dueAmount.amount") != "0" || str(cn, n+"invoice.id") != inv ||
			str(cn, n+"refunds.0.kind") != "INVOICE_REFUND" || str(cn, n+"refunds.0.status") != "SUCCESSFUL" ||
			str(cn, n+"refunds.0.amount.amount") != "1100" {
			t.Fatalf("issueCreditNote = %v", cn)
		}
		if again := e.ok(e.op, issueCreditNote, map[string]any{"in": in}); fmt.Sprint(again) != fmt.Sprint(cn) {
			t.Fatalf("the same key again = %v, want %v", again, cn)
		}
		got := e.ok(paid, creditNotesQuery, map[string]any{"bg": paidBG})
		if str(got, "billingGroup.invoice.creditNoteAmount.amount") != "1100" || str(got, "billingGroup.invoice.amountDue.amount") != "0" ||
			str(got, "billingGroup.invoice.creditNotes.0.number") != str(cn, n+"number") || str(got, "billingGroup.invoice.status") != "PAID" {
			t.Fatalf("the invoice after the note = %v", got)
		}
		pdf := pdfText(t, download(t, str(cn, n+"documentUrl"), "application/pdf"))
		mustContain(t, "the credit note's PDF", pdf, "크레딧 노트", str(cn, n+"number"), inv, "1,000원", "100원", "1,100원", "SLA credit for the outage of Oct 12")
		x := e.ok(paid, `mutation($in: DocumentInput!) { exportUsageDetails(input: $in) { url } }`,
			map[string]any{"in": map[string]any{"billingGroupId": paidBG, "month": "2026-10"}})
		f, err := excelize.OpenReader(bytes.NewReader(download(t, str(x, "exportUsageDetails.url"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "the month's XLSX", sheetText(t, f, f.GetSheetList()[0]), str(cn, n+"number"), "-1,100")

		// The rest: 84,000 left to credit, with the last 8,400 of the VAT;
		// then nothing is.
		e.fails("BAD_USER_INPUT", e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": inv, "amount": "84001", "reason": "all", "idempotencyKey": "cn-over"}})
		rest := e.ok(e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": inv, "amount": "84000", "reason": "all", "idempotencyKey": "cn-rest"}})
		if str(rest, n+"taxAmount.amount") != "8400" || str(rest, n+"refundAmount.amount") != "92400" {
			t.Fatalf("the rest = %v", rest)
		}
		e.fails("BAD_USER_INPUT", e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": inv, "amount": "1", "reason": "more", "idempotencyKey": "cn-more"}})
		var refunded int64
		db.SQL.QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM payments WHERE kind = 'INVOICE_REFUND' AND status = 'SUCCESSFUL'`).Scan(&refunded)
		if refunded != 93500 {
			t.Fatalf("refunded %d in all, want the 93,500 paid", refunded)
		}

		// An unpaid invoice: a note of one named line takes 11,000 off
		// what is due; a line the invoice lacks is refused.
		uinv := str(e.ok(unpaid, creditNotesQuery, map[string]any{"bg": unpaidBG}), "billingGroup.invoice.id")
		wantField(t, e.gql(e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": uinv, "reason": "x", "idempotencyKey": "cn-l0",
			"lines": []any{map[string]any{"region": "kr-1", "serviceCode": "nope", "amount": "1"}}}}), "lines.0")
		wantField(t, e.gql(e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": uinv, "reason": "x", "idempotencyKey": "cn-l1",
			"lines": []any{map[string]any{"region": "kr-1", "serviceCode": "vm", "amount": "85001"}}}}), "lines.0.amount")
		ln := e.ok(e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": uinv, "reason": "wrong rate", "idempotencyKey": "cn-line",
			"lines": []any{map[string]any{"region": "kr-1", "serviceCode": "vm", "amount": "10000"}}}})
		if str(ln, n+"dueAmount.amount") != "11000" || str(ln, n+"refundAmount.amount") != "0" || str(ln, n+"lines.0.amount.amount") != "10000" ||
			len(get(ln, n+"refunds").([]any)) != 0 {
			t.Fatalf("the line note = %v", ln)
		}
		if u := e.ok(unpaid, creditNotesQuery, map[string]any{"bg": unpaidBG}); str(u, "billingGroup.invoice.amountDue.amount") != "82500" ||
			str(u, "billingGroup.invoice.paymentAmount.amount") != "93500" {
			t.Fatalf("the unpaid invoice after its note = %v", u)
		}
		// A voided invoice would give its credits back twice: an invoice
		// with notes is not voided.
		e.fails("CONFLICT", e.op, voidInvoice, map[string]any{"in": map[string]any{"invoiceId": uinv, "reason": "x", "idempotencyKey": "v"}})
	})
}

// on PostgreSQL: twelve notes of 20,000 race on an invoice that
// charged 85,000: four are issued, the others refused, and what was
// refunded is what the notes say — never more than was paid.
func TestCreditNoteRace(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	paid, paidBG, _, _ := creditNoteFixture(e)
	inv := str(e.ok(paid, creditNotesQuery, map[string]any{"bg": paidBG}), "billingGroup.invoice.id")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.gql(e.op, issueCreditNote, map[string]any{"in": map[string]any{"invoiceId": inv, "amount": "20000", "reason": "race",
				"idempotencyKey": fmt.Sprintf("race-%d", i)}})
			code := "OK"
			if len(r.Errors) > 0 {
				code, _ = r.Errors[0].Extensions["code"].(string)
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["OK"] != 4 || codes["BAD_USER_INPUT"] != 8 {
		t.Fatalf("answers %v, want 4 notes and 8 refusals", codes)
	}
	var notes, refunds, paidAmt int64
	db.SQL.QueryRow(`SELECT COALESCE(SUM(taxed_amount + tax_amount), 0) FROM credit_notes WHERE invoice_id = $1`, inv).Scan(&notes)
	db.SQL.QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM payments WHERE kind = 'INVOICE_REFUND'`).Scan(&refunds)
	db.SQL.QueryRow(`SELECT paid_amount FROM invoices WHERE id = $1`, inv).Scan(&paidAmt)
	if notes != 88000 || refunds != notes || refunds > paidAmt {
		t.Fatalf("notes %d, refunds %d, paid %d: want 4 × 22,000 refunded", notes, refunds, paidAmt)
	}
}
