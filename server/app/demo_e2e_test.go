package app_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/documents/doctest"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// demoEnv is a server seeded with the demo organization at now, and the
// demo master's token from the login mutation, as a new user gets them.
func demoEnv(t *testing.T, now time.Time) (*env, string) {
	t.Helper()
	e := newEnvAt(t, testenv.SQLite(t), calendar.NewFixedClock(now))
	if err := app.SeedDemo(t.Context(), e.app.Engine(), now); err != nil {
		t.Fatal(err)
	}
	d := e.ok("", `mutation($in: LoginInput!) { login(input: $in) { accessToken } }`,
		map[string]any{"in": map[string]any{"email": app.DemoMasterEmail, "password": app.DemoPassword}})
	return e, str(d, "login.accessToken")
}

// download fetches a signed document link and checks its type.
func download(t *testing.T, url, ctype string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype {
		t.Fatalf("GET %s: %s %s: %.200s", url, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if dir := os.Getenv("CLOUDBILL_DOCS_OUT"); dir != "" { // for looking at them
		name := strings.TrimSuffix(resp.Header.Get("Content-Disposition")[len(`attachment; filename="`):], `"`)
		os.WriteFile(filepath.Join(dir, name), body, 0o644)
	}
	return body
}

// pdfText is what a reader of the PDF sees, one shown string a line.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	text, err := doctest.PDFText(pdf)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func mustContain(t *testing.T, doc, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not show %q; it shows:\n%s", doc, w, text)
		}
	}
}

func mustNotContain(t *testing.T, doc, text string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(text, b) {
			t.Errorf("%s shows %q:\n%s", doc, b, text)
		}
	}
}

const demoDocuments = `query($month: Month!) { viewer { billingGroups { id name isMain
  invoice(month: $month) { id usageAmount { amount } discountAmount { amount } creditAmount { amount }
    determinedAmount { amount } taxAmount { amount } paymentAmount { amount } documentUrl
    payments { receiptId status method receiptUrl } } } } }`

// The demo master of a fresh server downloads a usage confirmation, an
// invoice and a receipt of last month in Korean (a domestic account):
// Korean text the font prints, amounts with separators and the won, the
// supplier and the recipient, R-39's breakdown, the card's bullets, and
// people's words for enums.
func TestDemoDocuments(t *testing.T) {
	e, master := demoEnv(t, time.Date(2026, 11, 20, 10, 0, 0, 0, kst))
	d := e.ok(master, demoDocuments, map[string]any{"month": "2026-10"})
	var main map[string]any
	for _, g := range get(d, "viewer.billingGroups").([]any) {
		if g.(map[string]any)["isMain"] == true {
			main = g.(map[string]any)
		}
	}
	inv := main["invoice"].(map[string]any)
	won := func(path string) string {
		var n int64
		for _, c := range str(inv, path) {
			n = n*10 + int64(c-'0')
		}
		s := kernel.FormatMinor(n, "KRW")
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	minus := func(v string) string { // a deduction, as the totals show it
		if v == "0" {
			return v
		}
		return "-" + v
	}
	conf := e.ok(master, `mutation($in: DocumentInput!) { issueUsageConfirmation(input: $in) { url } }`,
		map[string]any{"in": map[string]any{"billingGroupId": main["id"], "month": "2026-10"}})
	text := pdfText(t, download(t, str(conf, "issueUsageConfirmation.url"), "application/pdf"))
	mustContain(t, "the usage confirmation", text, "서비스 이용 확인서", "클라우드 주식회사", "000-00-00000", "김데모",
		"클라우드빌 주식회사", "123-45-67890", "2026-10-01 ~ 2026-10-31", "2026년 10월", "(단위: 원)",
		won("usageAmount.amount"), won("paymentAmount.amount")+"원", "부가가치세 (10%)", won("taxAmount.amount")+"원",
		"크레딧 사용", minus(won("creditAmount.amount"))+"원", "위와 같이 클라우드 서비스를 이용하였음을 확인합니다")

	text = pdfText(t, download(t, str(inv, "documentUrl"), "application/pdf"))
	mustContain(t, "the invoice", text, "청구서", str(inv, "id"), "납부 기한", "2026-11-14", "신용카드 · VISA **** 4242", "청구 금액", "부가세 포함 · 납부 완료",
		"확정 금액 (공급가액)", won("determinedAmount.amount")+"원", "결제 금액", won("paymentAmount.amount")+"원", "납부 완료")

	pay := get(inv, "payments.0").(map[string]any)
	text = pdfText(t, download(t, str(pay, "receiptUrl"), "application/pdf"))
	mustContain(t, "the receipt", text, "영수증", str(pay, "receiptId"), "VISA **** 4242", "자동 결제", "결제 완료",
		"공급가액", "부가가치세", won("taxAmount.amount")+"원", won("paymentAmount.amount")+"원", "세금계산서가 아닙니다")
	mustNotContain(t, "the receipt", text, "AUTOMATIC", "SUCCESSFUL", "????")

	// In English when asked (or for an international payer).
	conf = e.ok(master, `mutation($in: DocumentInput!) { issueUsageConfirmation(input: $in) { url } }`,
		map[string]any{"in": map[string]any{"billingGroupId": main["id"], "month": "2026-10", "language": "EN"}})
	text = pdfText(t, download(t, str(conf, "issueUsageConfirmation.url"), "application/pdf"))
	mustContain(t, "the English usage confirmation", text, "Usage Confirmation", "Cloudbill Co., Ltd.", "October 2026",
		"KRW "+won("paymentAmount.amount"), "VAT (10%)")
}
