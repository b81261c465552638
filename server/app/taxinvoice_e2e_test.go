package app_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent/outboxevent"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// pdftotext extracts a PDF's text with poppler's pdftotext, as a reader's
// tool sees it (layout kept, so a row's numbers stay on its line).
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	in := filepath.Join(t.TempDir(), "doc.pdf")
	os.WriteFile(in, pdf, 0o644)
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// wonAfter reads the amount printed after label on the same line
// ("합계금액 … 93,500원").
func wonAfter(t *testing.T, text, label string) int64 {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(label) + `[^\n]*?([0-9][0-9,]*)\s*원`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no amount after %q in:\n%s", label, text)
	}
	v, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	return v
}

// a business's tax invoice downloads as a PDF copy whose amounts are
// the record's (supply + tax = total, R-39), saying it is not the NTS
// e-tax invoice, and as JSON and CSV that reconcile with the invoice.
func TestTaxInvoiceDocuments(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, bg := e.octoberInvoice("taxdoc@example.com")
		e.ok(tok, `mutation { updateBillingProfile(input: {legalName: "클라우드 주식회사", businessRegistrationNumber: "220-81-62517", representativeName: "김대표", address: "서울특별시 중구 세종대로 110"}) { account { id } } }`, nil)
		e.runJobs("2026-11-04T00:01:00+09:00")
		q := `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { id determinedAmount { amount } taxAmount { amount } }
			taxInvoices { id documentNumber supplyAmount { amount } taxAmount { amount } totalAmount { amount } documentUrl exportUrl(format: JSON) csv: exportUrl(format: CSV) } } }`
		d := e.ok(tok, q, map[string]any{"bg": bg})
		supply, _ := strconv.ParseInt(str(d, "billingGroup.invoice.determinedAmount.amount"), 10, 64)
		tax, _ := strconv.ParseInt(str(d, "billingGroup.invoice.taxAmount.amount"), 10, 64)
		if supply != 85000 || tax != 8500 || str(d, "billingGroup.taxInvoices.0.totalAmount.amount") != "93500" {
			t.Fatalf("tax invoice = %v", d)
		}

		text := pdftotext(t, download(t, str(d, "billingGroup.taxInvoices.0.documentUrl"), "application/pdf"))
		if got := wonAfter(t, text, "합계금액"); got != supply+tax {
			t.Errorf("PDF total %d, want %d", got, supply+tax)
		}
		if got := wonAfter(t, text, "공급가액"); got != supply {
			t.Errorf("PDF supply value %d, want %d", got, supply)
		}
		mustContain(t, "tax invoice", text, "세금계산서", "220-81-62517", "클라우드 주식회사", "김대표", "공급받는자",
			str(d, "billingGroup.taxInvoices.0.documentNumber"), "2026-11-04", "85,000", "8,500", "청구",
			"사본", "승인번호", "별도로")

		var js struct {
			DocumentNumber, InvoiceID, WrittenOn, Purpose string
			SupplyAmount, TaxAmount, TotalAmount          int64
			Recipient                                     struct{ RegistrationNumber, Name string }
			Supplier                                      struct{ RegistrationNumber string }
			Items                                         []struct{ SupplyAmount, TaxAmount int64 }
			NTSApprovalNumber                             *string
		}
		if err := json.Unmarshal(download(t, str(d, "billingGroup.taxInvoices.0.exportUrl"), "application/json"), &js); err != nil {
			t.Fatal(err)
		}
		var items, itemTax int64
		for _, it := range js.Items {
			items, itemTax = items+it.SupplyAmount, itemTax+it.TaxAmount
		}
		if js.SupplyAmount != supply || js.TaxAmount != tax || js.TotalAmount != supply+tax || items != supply || itemTax != tax ||
			js.InvoiceID != str(d, "billingGroup.invoice.id") || js.Recipient.RegistrationNumber != "220-81-62517" ||
			js.Recipient.Name != "클라우드 주식회사" || js.WrittenOn != "2026-11-04" || js.Purpose != "CLAIM" || js.NTSApprovalNumber != nil ||
			js.Supplier.RegistrationNumber == "" {
			t.Errorf("JSON export does not reconcile with the invoice: %+v", js)
		}
		rows, err := csv.NewReader(strings.NewReader(string(download(t, str(d, "billingGroup.taxInvoices.0.csv"), "text/csv; charset=utf-8")))).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][7] != "85000" || rows[1][8] != "8500" || rows[1][9] != "93500" {
			t.Errorf("CSV export = %v, %v", rows, err)
		}

		// Another organization's link forged onto this group's document: not found.
		other, _ := e.signUp("taxdoc-other@example.com")
		if n := len(get(e.ok(other, `query($bg: ID!) { billingGroup(id: $bg) { taxInvoices { id } } }`, map[string]any{"bg": e.mainGroup(other)}),
			"billingGroup.taxInvoices").([]any)); n != 0 {
			t.Errorf("the other organization sees %d tax invoices", n)
		}
		if code := e.gql(other, q, map[string]any{"bg": bg}).code(); code != "NOT_FOUND" {
			t.Errorf("a foreign organization reading the tax invoices: %q, want NOT_FOUND", code)
		}
	})
}

// R-73 with R-46 on both databases: a credit note on a business customer's
// invoice with a tax invoice is an amended tax invoice (수정세금계산서): its
// JSON and CSV exports carry the tax invoice's parties with minus amounts,
// the NTS reason code 2 (공급가액 변동), the original's number and the
// note's day. The master is told of the note by email in Korean, and its
// webhook goes too; a note without a tax invoice has no such export.
func TestAmendedTaxInvoice(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, bg := e.octoberInvoice("amend@example.com")
		ctok := e.personal("amend-consumer@example.com")
		cbg := e.mainGroup(ctok)
		e.app.DB.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = '` + cbg + `'`)
		e.ok(e.op, recordUsage, map[string]any{"e": []any{event("ev-"+cbg, cbg, "vm", "hour", "1000", "2026-10-10T00:00:00+09:00")}})
		e.ok(tok, `mutation { updateBillingProfile(input: {legalName: "클라우드 주식회사", businessRegistrationNumber: "220-81-62517", representativeName: "김대표", address: "서울특별시 중구 세종대로 110"}) { account { id } } }`, nil)
		e.runJobs("2026-11-04T00:01:00+09:00")
		d := e.ok(tok, `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { id } taxInvoices { id documentNumber } } }`, map[string]any{"bg": bg})
		inv, ti := str(d, "billingGroup.invoice.id"), str(d, "billingGroup.taxInvoices.0.id")

		e.at("2026-11-20T15:00:00+09:00")
		q := `mutation($in: IssueCreditNoteInput!) { issueCreditNote(input: $in) { creditNote { id number
			amendsTaxInvoice { id } json: amendedTaxInvoiceExportUrl(format: JSON) csv: amendedTaxInvoiceExportUrl(format: CSV) } } }`
		cn := e.ok(e.op, q, map[string]any{"in": map[string]any{"invoiceId": inv, "amount": "1000", "reason": "장애 보상", "idempotencyKey": "amend-1"}})
		n := "issueCreditNote.creditNote."
		if str(cn, n+"amendsTaxInvoice.id") != ti {
			t.Fatalf("the note amends %v, want %s", cn, ti)
		}
		var js struct {
			DocumentNumber, TaxInvoiceID, InvoiceID, WrittenOn, Purpose string
			SupplyAmount, TaxAmount, TotalAmount                        int64
			Recipient                                                   struct{ RegistrationNumber, Name string }
			Items                                                       []struct{ SupplyAmount, TaxAmount int64 }
			Amendment                                                   *struct {
				ReasonCode, ReasonName, Reason, CreditNoteID, CreditNoteNumber  string
				OriginalTaxInvoiceID, OriginalDocumentNumber, OriginalWrittenOn string
			}
		}
		if err := json.Unmarshal(download(t, str(cn, n+"json"), "application/json"), &js); err != nil {
			t.Fatal(err)
		}
		a := js.Amendment
		if js.SupplyAmount != -1000 || js.TaxAmount != -100 || js.TotalAmount != -1100 || len(js.Items) != 1 ||
			js.Items[0].SupplyAmount != -1000 || js.Items[0].TaxAmount != -100 || js.WrittenOn != "2026-11-20" ||
			js.InvoiceID != inv || js.TaxInvoiceID != ti || js.Recipient.RegistrationNumber != "220-81-62517" ||
			js.DocumentNumber == str(d, "billingGroup.taxInvoices.0.documentNumber") || a == nil || a.ReasonCode != "2" ||
			a.ReasonName != "공급가액 변동" || a.Reason != "장애 보상" || a.CreditNoteID != str(cn, n+"id") ||
			a.CreditNoteNumber != str(cn, n+"number") || a.OriginalTaxInvoiceID != ti ||
			a.OriginalDocumentNumber != str(d, "billingGroup.taxInvoices.0.documentNumber") || a.OriginalWrittenOn != "2026-11-04" {
			t.Fatalf("the amended tax invoice = %+v (amendment %+v)", js, a)
		}
		rows, err := csv.NewReader(strings.NewReader(string(download(t, str(cn, n+"csv"), "text/csv; charset=utf-8")))).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][7] != "-1000" || rows[1][8] != "-100" || rows[1][9] != "-1100" ||
			rows[0][len(rows[0])-8] != "amendmentReasonCode" || rows[1][len(rows[1])-8] != "2" || rows[1][len(rows[1])-2] != a.OriginalDocumentNumber {
			t.Fatalf("the amended CSV = %v, %v", rows, err)
		}

		var channels []string
		for _, ev := range db.Client.OutboxEvent.Query().Where(outboxevent.Topic(topics.CreditNoteIssued)).AllX(t.Context()) {
			channels = append(channels, ev.Channel)
			if ev.Channel != topics.ChannelEmail {
				continue
			}
			m, err := notify.Render(ev.Topic, ev.Language, ev.Payload)
			if err != nil || ev.Recipient != "amend@example.com" || ev.Language != "KO" {
				t.Fatalf("the note's email: %+v, %v", ev, err)
			}
			mustContain(t, "the note's email", m.Text, "크레딧 노트", str(cn, n+"number"), "1,000원", "100원", "1,100원", "장애 보상", "수정세금계산서")
		}
		sort.Strings(channels)
		if strings.Join(channels, ",") != "EMAIL,WEBHOOK" {
			t.Fatalf("the note was told by %v, want email and webhook", channels)
		}

		// An individual's invoice has no tax invoice: its note amends none.
		cinv := str(e.ok(ctok, `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { id } } }`, map[string]any{"bg": cbg}), "billingGroup.invoice.id")
		plain := e.ok(e.op, q, map[string]any{"in": map[string]any{"invoiceId": cinv, "amount": "1000", "reason": "x", "idempotencyKey": "amend-2"}})
		if get(plain, n+"amendsTaxInvoice") != nil || get(plain, n+"json") != nil {
			t.Fatalf("an individual's note = %v", plain)
		}
	})
}
