package app_test

import (
	"strings"
	"testing"

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
	e.app.DB.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-01T00:00:00Z' WHERE id = '` + bg + `'`)
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
