package app_test

import (
	"os"
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const paymentsWithCashReceipt = `query($bg: ID!) { billingGroup(id: $bg) { payments(first: 10) { edges { node { id status amount { amount }
  cashReceipt { id type identifier supplyAmount { amount } taxAmount { amount } totalAmount { amount } issuedAt documentUrl } } } } } }`

// an individual who applied gets a cash receipt with each payment —
// supply value and VAT adding up to what was paid — and downloads its
// confirmation in Korean; one who did not apply, or cancelled, gets none.
func TestCashReceiptsForIndividuals(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-10-01T10:00:00+09:00")
		individual := func(email string) (string, string) {
			tok := str(e.ok("", signUpMutation, map[string]any{"in": map[string]any{"email": email, "password": "Secret!234",
				"memberType": "INDIVIDUAL", "residenceCountry": "KR", "birthDate": "1990-01-01"}}), "signUp.accessToken")
			bg := e.mainGroup(tok)
			e.ok(tok, registerMethod, card("tok_visa"))
			return tok, bg
		}
		applied, appliedBG := individual("cash@example.com")
		plain, plainBG := individual("nocash@example.com")
		e.at("2026-11-01T10:00:00+09:00")
		for _, bg := range []string{appliedBG, plainBG} {
			e.ok(e.op, recordUsage, map[string]any{"e": []any{event("cr-"+bg, bg, "vm", "hour", "1000", "2026-10-10T00:00:00+09:00")}})
		}
		apply := `mutation($in: ApplyCashReceiptInput!) { applyCashReceipt(input: $in) { account { cashReceipt { type identifier } } } }`
		e.fails("BAD_USER_INPUT", applied, apply, map[string]any{"in": map[string]any{"type": "INCOME_DEDUCTION", "identifier": "01012345678", "consentNts": false}})
		d := e.ok(applied, apply, map[string]any{"in": map[string]any{"type": "INCOME_DEDUCTION", "identifier": "01012345678", "consentNts": true}})
		if str(d, "applyCashReceipt.account.cashReceipt.identifier") != "•••• 5678" {
			t.Fatalf("applied = %v", d)
		}
		// October's invoices (85,000 + 8,500 VAT) are charged on November 10th.
		e.runJobs("2026-11-03T00:00:00+09:00")
		e.at("2026-11-10T10:00:00+09:00")
		e.runJobs("2026-11-10T10:00:00+09:00")
		d = e.ok(applied, paymentsWithCashReceipt, map[string]any{"bg": appliedBG})
		p := get(d, "billingGroup.payments.edges.0.node")
		if str(p, "status") != "SUCCESSFUL" || str(p, "amount.amount") != "93500" || str(p, "cashReceipt.type") != "INCOME_DEDUCTION" ||
			str(p, "cashReceipt.identifier") != "•••• 5678" || str(p, "cashReceipt.supplyAmount.amount") != "85000" ||
			str(p, "cashReceipt.taxAmount.amount") != "8500" || str(p, "cashReceipt.totalAmount.amount") != "93500" {
			t.Fatalf("payment = %v", p)
		}
		pdf := pdfText(t, download(t, str(p, "cashReceipt.documentUrl"), "application/pdf"))
		mustContain(t, "cash receipt", pdf, "현금영수증 발급 확인서", "소득공제용", "**** 5678", "85,000원", "8,500원", "93,500원", str(p, "cashReceipt.id"))
		// Without an application, the payment has no cash receipt.
		d = e.ok(plain, paymentsWithCashReceipt, map[string]any{"bg": plainBG})
		if str(d, "billingGroup.payments.edges.0.node.status") != "SUCCESSFUL" || get(d, "billingGroup.payments.edges.0.node.cashReceipt") != nil {
			t.Fatalf("not applied: %v", d)
		}
		// Another organization cannot download it: the link is the payer's.
		foreign, _ := e.signUp("cash-foreign@example.com")
		r := e.gql(foreign, paymentsWithCashReceipt, map[string]any{"bg": appliedBG})
		if r.code() != "NOT_FOUND" {
			t.Fatalf("foreign caller: %+v", r)
		}
	})
}

// the refund of a paid credit an individual bought with a cash
// receipt cancels that receipt for the amount refunded — a CANCELLATION
// naming the approval, shown on the refund payment and in its own PDF
// (현금영수증 취소 확인서); a refund of a purchase that had no receipt has none.
func TestRefundCancelsTheCashReceipt(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		tok := str(e.ok("", signUpMutation, map[string]any{"in": map[string]any{"email": "cancel@example.com", "password": "Secret!234",
			"memberType": "INDIVIDUAL", "residenceCountry": "KR", "birthDate": "1990-01-01"}}), "signUp.accessToken")
		bg := e.mainGroup(tok)
		pm := str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		e.ok(tok, `mutation($in: ApplyCashReceiptInput!) { applyCashReceipt(input: $in) { account { id } } }`,
			map[string]any{"in": map[string]any{"type": "INCOME_DEDUCTION", "identifier": "01012345678", "consentNts": true}})
		s := e.ok(e.op, sellPaidCredit, sale(bg, pm, "110000", "sale-1"))
		credit := str(s, "sellPaidCredit.credit.id")
		e.ok(e.op, refundPaidCredit, refund(credit, "refund-1"))

		receipts := map[string]map[string]any{} // by payment kind
		d := e.ok(tok, `query($bg: ID!) { billingGroup(id: $bg) { payments(first: 10) { edges { node { kind status
			cashReceipt { id kind originalId totalAmount { amount } supplyAmount { amount } taxAmount { amount } documentUrl } } } } } }`, map[string]any{"bg": bg})
		for _, edge := range get(d, "billingGroup.payments.edges").([]any) {
			if c, ok := get(edge, "node.cashReceipt").(map[string]any); ok {
				receipts[str(edge, "node.kind")] = c
			}
		}
		approval, cancel := receipts["CREDIT_PURCHASE"], receipts["CREDIT_REFUND"]
		if approval == nil || cancel == nil || str(approval, "kind") != "APPROVAL" || approval["originalId"] != nil ||
			str(cancel, "kind") != "CANCELLATION" || str(cancel, "originalId") != str(approval, "id") ||
			str(cancel, "totalAmount.amount") != "110000" || str(cancel, "supplyAmount.amount") != "100000" || str(cancel, "taxAmount.amount") != "10000" {
			t.Fatalf("cash receipts = %v", receipts)
		}
		raw := download(t, str(cancel, "documentUrl"), "application/pdf")
		if dir := os.Getenv("TMP_PDF_DIR"); dir != "" {
			os.WriteFile(dir+"/cancel-"+db.Dialect+".pdf", raw, 0o644)
		}
		pdf := pdfText(t, raw)
		mustContain(t, "cancellation", pdf, "현금영수증 취소 확인서", "취소 거래", str(approval, "id"), "110,000원")
	})
}
