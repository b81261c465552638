package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const invoiceLinesQuery = `query($bg: ID!, $m: Month!) { billingGroup(id: $bg) { invoice(month: $m) {
	usageAmount { amount } discountAmount { amount } creditAmount { amount } determinedAmount { amount } taxAmount { amount } paymentAmount { amount }
	lines { serviceCode usedAmount { amount } discountAmount { amount } creditAmount { amount } determinedAmount { amount } } } } }`

// a free credit pays only what was incurred on the days
// of its usage period (KST). October 2026 (31 days) of one billing group:
// VM usage of 8,500 on the 5th and 8,500 on the 20th, and a load balancer
// held all month (18,000, spread evenly: 18,000/31 a day) with a 10%
// discount (1,800), so 16,200 of it is left for credits. Two free credits:
// "until the 10th" (valid to 00:00 on the 11th) and "from the 16th".
//
//	LB, until the 10th:  ⌊16,200 × 10/31⌋ = ⌊5,225.81⌋ = 5,225
//	LB, from the 16th:   ⌊16,200 × 16/31⌋ = ⌊8,361.29⌋ = 8,361
//	LB determined:        16,200 − 13,586 = 2,614 (the 11th–15th, 2,612.90, and the fractions the floors left)
//	VM, until the 10th:  the 5th, 8,500;  VM, from the 16th: the 20th, 8,500
//
// Totals: used 35,000, discounts 1,800, credits 30,586, determined 2,614,
// VAT 261, to pay 2,875. Without the day rule the credit "until the 10th"
// paid all of October (the month its period overlaps). The credit ending
// at 00:00 KST on November 1st, last day October 31st, expires once
// October's invoice is issued (November 3rd), not a month later.
func TestFreeCreditsPayOnlyTheirDays(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, _ := e.signUp("days@example.com")
		bg := e.mainGroup(tok)
		other := str(e.ok(tok, `mutation { createBillingGroup(input: {name: "Other"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
		db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z'`)
		e.ok(e.op, recordUsage, map[string]any{"e": []any{
			event("vm-5th", bg, "vm", "hour", "100", "2026-10-05T23:59:59+09:00"),
			event("vm-20th", bg, "vm", "hour", "100", "2026-10-20T00:00:00+09:00"),
		}})
		e.ok(e.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: "2026-10-01"}) { contract { id } } }`,
			map[string]any{"bg": bg})
		e.ok(e.op, `mutation($bg: ID!) { createDiscount(input: {billingGroupId: $bg, month: "2026-10", name: "LB 10%", percentage: "10", serviceCodes: ["lb"]}) { discount { id } } }`,
			map[string]any{"bg": bg})
		grant := func(group, name, from, until string) string {
			c := e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": group, "name": name, "type": "FREE",
				"amount": "100000", "startsAt": from, "endsAt": until}})
			return str(c, "grantCredit.credit.id")
		}
		until10 := grant(bg, "Until the 10th", "2026-09-01T00:00:00+09:00", "2026-10-11T00:00:00+09:00")
		from16 := grant(bg, "From the 16th", "2026-10-16T00:00:00+09:00", "2026-12-01T00:00:00+09:00")
		october := grant(other, "October", "2026-10-01T00:00:00+09:00", "2026-11-01T00:00:00+09:00")

		e.runJobs("2026-11-02T23:59:59+09:00")
		creditStatus := func(id string) (string, string) {
			c := e.ok(e.op, `query($id: ID!) { node(id: $id) { ... on Credit { status remainingAmount { amount } } } }`, map[string]any{"id": id})
			return str(c, "node.status"), str(c, "node.remainingAmount.amount")
		}
		if s, _ := creditStatus(october); s != "AVAILABLE" {
			t.Fatalf("the October credit is %s before October's invoice is issued", s)
		}
		e.runJobs("2026-11-03T00:00:00+09:00")
		e.at("2026-11-03T10:00:00+09:00")
		tok = e.login("days@example.com")
		inv := get(e.ok(tok, invoiceLinesQuery, map[string]any{"bg": bg, "m": "2026-10"}), "billingGroup.invoice")
		want := map[string]string{"usageAmount": "35000", "discountAmount": "1800", "creditAmount": "30586", "determinedAmount": "2614",
			"taxAmount": "261", "paymentAmount": "2875"}
		for f, w := range want {
			if got := str(inv, f+".amount"); got != w {
				t.Errorf("invoice %s = %s, want %s", f, got, w)
			}
		}
		lines := map[string][4]string{"lb": {"18000", "1800", "13586", "2614"}, "vm": {"17000", "0", "17000", "0"}}
		for _, l := range get(inv, "lines").([]any) {
			w := lines[str(l, "serviceCode")]
			got := [4]string{str(l, "usedAmount.amount"), str(l, "discountAmount.amount"), str(l, "creditAmount.amount"), str(l, "determinedAmount.amount")}
			if got != w {
				t.Errorf("line %s = %v, want %v (used, discount, credit, determined)", str(l, "serviceCode"), got, w)
			}
		}
		if t.Failed() {
			t.Fatalf("invoice = %v", inv)
		}
		// What each credit paid: until the 10th 5,225 + 8,500; from the 16th 8,361 + 8,500.
		if s, left := creditStatus(until10); s != "EXPIRED" || left != "0" {
			t.Errorf("until the 10th: %s, %s left; want EXPIRED after October's invoice", s, left)
		}
		used := `query($id: ID!) { node(id: $id) { ... on Credit { usedAmount { amount } remainingAmount { amount } } } }`
		if u := e.ok(e.op, used, map[string]any{"id": until10}); str(u, "node.usedAmount.amount") != "13725" {
			t.Errorf("until the 10th used %v, want 13725", u)
		}
		if u := e.ok(e.op, used, map[string]any{"id": from16}); str(u, "node.usedAmount.amount") != "16861" || str(u, "node.remainingAmount.amount") != "83139" {
			t.Errorf("from the 16th: %v, want 16861 used and 83139 left", u)
		}
		if s, left := creditStatus(october); s != "EXPIRED" || left != "0" {
			t.Errorf("the October credit is %s (%s left) once October's invoice is issued, want EXPIRED", s, left)
		}
	})
}
