package app_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/cloudbill/cloudbill/server/testenv"
)

const updateProfile = `mutation($in: UpdateBillingProfileInput!) { updateBillingProfile(input: $in) {
  account { language billingProfile { legalName businessRegistrationNumber representativeName address } } } }`

// An account's language defaults from its residence country and is its
// own to change; documents follow the payer's language unless a link asks
// for another. The billing profile names the recipient of documents: a
// business registration number must pass the national check digit and
// belongs to businesses only.
func TestBillingProfileAndLanguage(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	d := e.ok("", signUpMutation, map[string]any{"in": map[string]any{"email": "us@example.com", "password": "Secret!234",
		"memberType": "BUSINESS", "residenceCountry": "US", "organizationName": "Acme Inc."}})
	us := str(d, "signUp.accessToken")
	bg := e.mainGroup(us)
	e.app.DB.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = '` + bg + `'`)
	e.ok(e.op, recordUsage, map[string]any{"e": []any{event("ev-us", bg, "vm", "hour", "1000", "2026-10-10T00:00:00+09:00")}})
	e.runJobs("2026-11-03T00:00:00+09:00")
	e.at("2026-11-04T10:00:00+09:00")

	if got := str(e.ok(us, `{ viewer { account { language } } }`, nil), "viewer.account.language"); got != "EN" {
		t.Fatalf("an international account's language is %q, want EN", got)
	}
	invoiceURL := func() string {
		return str(e.ok(us, `query($id: ID!) { billingGroup(id: $id) { invoice(month: "2026-10") { documentUrl } } }`,
			map[string]any{"id": bg}), "billingGroup.invoice.documentUrl")
	}
	text := pdfText(t, download(t, invoiceURL(), "application/pdf"))
	mustContain(t, "the international payer's invoice", text, "Invoice", "Acme Inc.", "Cloudbill Co., Ltd.", "KRW 93,500", "no payment method on file")

	// Refusals name the field and change nothing.
	for _, c := range []struct{ field, value string }{
		{"businessRegistrationNumber", "123-45-67890"}, // check digit wrong
		{"businessRegistrationNumber", "12345"},
		{"legalName", strings.Repeat("x", 201)},
	} {
		r := e.fails("BAD_USER_INPUT", us, updateProfile, map[string]any{"in": map[string]any{c.field: c.value}})
		if r.Errors[0].Extensions["field"] != c.field {
			t.Errorf("%s %q refused on field %v", c.field, c.value, r.Errors[0].Extensions["field"])
		}
	}
	d = e.ok(us, updateProfile, map[string]any{"in": map[string]any{"language": "KO", "legalName": "에이크미 유한회사",
		"businessRegistrationNumber": "000-00-00000", "representativeName": "Jane Doe"}})
	if str(d, "updateBillingProfile.account.language") != "KO" ||
		str(d, "updateBillingProfile.account.billingProfile.businessRegistrationNumber") != "0000000000" {
		t.Fatalf("profile after update: %v", d)
	}
	text = pdfText(t, download(t, invoiceURL(), "application/pdf"))
	mustContain(t, "the invoice after the payer chose Korean", text, "청구서", "에이크미 유한회사", "000-00-00000", "Jane Doe", "93,500원")

	ind := str(e.ok("", signUpMutation, map[string]any{"in": map[string]any{"email": "kim@example.com", "password": "Secret!234",
		"memberType": "INDIVIDUAL", "residenceCountry": "KR", "birthDate": "1990-01-01"}}), "signUp.accessToken")
	if got := str(e.ok(ind, `{ viewer { account { language } } }`, nil), "viewer.account.language"); got != "KO" {
		t.Fatalf("a domestic account's language is %q, want KO", got)
	}
	e.fails("BAD_USER_INPUT", ind, updateProfile, map[string]any{"in": map[string]any{"businessRegistrationNumber": "0000000000"}})
}

const demoInvoices = `{ viewer { billingGroups { id name invoices(first: 12) { edges { node { id month usageAmount { amount }
  discountAmount { amount } creditAmount { amount } determinedAmount { amount } taxAmount { amount }
  coinAmount { amount } lateFeeAmount { amount } paymentAmount { amount } } } } } } }`

// The detailed-fees workbook reconciles, for every month the demo invoiced
// and every billing group: its header block names the organization, the
// group, the month and the currency; every amount is a number cell with a
// thousands format; the summary's signed entries add up to its totals row,
// the payment amount; the lines by service add up column by column to the
// invoice's used, discount, credit and determined amounts; the detailed
// fees (the channel's base fee among them) with their per-line rounding add
// up to the used amount, each rounding under one won. On the code before,
// every number was text (a spreadsheet sums it to 0), there was no header
// and no totals row, and October's detail sheet lacked the channel base fee.
func TestUsageDetailsReconcile(t *testing.T) {
	e, master := demoEnv(t, time.Date(2026, 11, 20, 10, 0, 0, 0, kst))
	months := 0
	for _, g := range get(e.ok(master, demoInvoices, nil), "viewer.billingGroups").([]any) {
		group := g.(map[string]any)
		for _, n := range get(group, "invoices.edges").([]any) {
			inv := n.(map[string]any)["node"].(map[string]any)
			months++
			d := e.ok(master, `mutation($in: DocumentInput!) { exportUsageDetails(input: $in) { url } }`,
				map[string]any{"in": map[string]any{"billingGroupId": group["id"], "month": inv["month"]}})
			body := download(t, str(d, "exportUsageDetails.url"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
			reconcileWorkbook(t, body, str(group, "name"), inv)
		}
	}
	if months < 4 {
		t.Fatalf("the demo invoiced %d group-months; want at least 4 to reconcile", months)
	}
}

func reconcileWorkbook(t *testing.T, body []byte, group string, inv map[string]any) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	amount := func(path string) decimal.Decimal { return decimal.RequireFromString(str(inv, path+".amount")) }
	sheets := f.GetSheetList()
	if len(sheets) != 3 {
		t.Fatalf("sheets %v, want summary, by service and detailed fees", sheets)
	}
	month := str(inv, "month")
	for _, s := range sheets {
		header := sheetText(t, f, s)
		mustContain(t, "sheet "+s+" of "+month, header, "클라우드 주식회사", group, month, "KRW", str(inv, "id"))
	}
	where := month + " " + group
	// The summary: signed entries whose sum is the totals row, the payment amount.
	entries, totals := table(t, f, sheets[0], "구분", "결제 금액 (합계)", 4)
	checkSums(t, where+" summary", entries, totals, []decimal.Decimal{amount("paymentAmount")})
	// By service: R-39's columns.
	lines, totals := table(t, f, sheets[1], "리전", "합계", 3, 4, 5, 6)
	checkSums(t, where+" by service", lines, totals, []decimal.Decimal{amount("usageAmount"), amount("discountAmount"),
		amount("creditAmount"), amount("determinedAmount")})
	// Detailed fees: exact amounts and roundings add up to the used amount.
	fees, totals := table(t, f, sheets[2], "리전", "합계 (이용 금액)", 8)
	checkSums(t, where+" detailed fees", fees, totals, []decimal.Decimal{amount("usageAmount")})
	for i, r := range fees {
		if r.label == "원 단위 반올림" && r.values[0].Abs().GreaterThan(decimal.RequireFromString("0.5")) {
			t.Errorf("%s detailed fees row %d rounds by %s", where, i, r.values[0])
		}
	}
	if month == "2026-10" && group == "Main" && !strings.Contains(sheetText(t, f, sheets[2]), "기본료") {
		t.Errorf("October's detailed fees have no channel base fee")
	}
}

// row is a table row: its metric or entry label (column D of detailed fees,
// A elsewhere) and its number cells.
type row struct {
	label  string
	values []decimal.Decimal
}

// table reads the rows of the table whose header row starts with head, up
// to its totals row (first cell total), from the number cells of cols; a
// cell that is not a number with a thousands format fails the test.
func table(t *testing.T, f *excelize.File, sheet, head, total string, cols ...int) (rows []row, totals []decimal.Decimal) {
	t.Helper()
	all, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	start := -1
	for i, r := range all {
		if len(r) > 0 && r[0] == head {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatalf("sheet %s has no table headed %q", sheet, head)
	}
	for i := start; i < len(all); i++ {
		values := make([]decimal.Decimal, len(cols))
		for k, c := range cols {
			values[k] = numberCell(t, f, sheet, c, i+1)
		}
		if all[i][0] == total {
			return rows, values
		}
		label := all[i][0]
		if len(all[i]) > 3 && len(cols) == 1 && cols[0] == 8 {
			label = all[i][3]
		}
		rows = append(rows, row{label, values})
	}
	t.Fatalf("sheet %s has no totals row %q", sheet, total)
	return nil, nil
}

// numberCell is a cell's value, which must be a number (not text) shown
// with thousands separators.
func numberCell(t *testing.T, f *excelize.File, sheet string, col, r int) decimal.Decimal {
	t.Helper()
	cell, _ := excelize.CoordinatesToCellName(col, r)
	typ, _ := f.GetCellType(sheet, cell)
	raw, _ := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	v, err := decimal.NewFromString(raw)
	if (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) || err != nil {
		t.Fatalf("%s!%s is %q of type %v, not a number", sheet, cell, raw, typ)
	}
	id, _ := f.GetCellStyle(sheet, cell)
	style, _ := f.GetStyle(id)
	if style == nil || style.CustomNumFmt == nil || !strings.HasPrefix(*style.CustomNumFmt, "#,##0") {
		t.Fatalf("%s!%s has no thousands number format", sheet, cell)
	}
	return v
}

func checkSums(t *testing.T, what string, rows []row, totals, want []decimal.Decimal) {
	t.Helper()
	if len(rows) == 0 && !want[0].IsZero() {
		t.Errorf("%s: no rows", what)
	}
	for k := range totals {
		sum := decimal.Zero
		for _, r := range rows {
			sum = sum.Add(r.values[k])
		}
		if !sum.Equal(totals[k]) || !totals[k].Equal(want[k]) {
			t.Errorf("%s column %d: rows sum to %s, totals row %s, invoice %s", what, k, sum, totals[k], want[k])
		}
	}
}

// sheetText is every cell's text of a sheet, for looking things up.
func sheetText(t *testing.T, f *excelize.File, sheet string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t") + "\n")
	}
	return b.String()
}
