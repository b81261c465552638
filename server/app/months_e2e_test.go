package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// A month that has not begun has no usage: every view of one is refused
// (BAD_USER_INPUT, field month or period), never answered with an estimate
// such as an open contract projected over it; the month in progress shows
// its days up to yesterday, like currentUsage. Checked at the exact
// KST instants a month begins.
func TestMonthsThatHaveNotBegun(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-20T10:00:00+09:00")
		tok, _ := e.signUp("future@example.com")
		bg := e.mainGroup(tok)
		db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = '` + bg + `'`)
		// A load balancer (18,000 a month) held from October 1st, open-ended.
		e.ok(e.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: "2026-10-01"}) { contract { id } } }`,
			map[string]any{"bg": bg})

		usage := `query($bg: ID!, $m: Month!) { billingGroup(id: $bg) { usage(month: $m) { period { from to } usedAmount { amount } } } }`
		refused := func(field, query string, vars map[string]any) {
			t.Helper()
			r := e.fails("BAD_USER_INPUT", tok, query, vars)
			if r.Errors[0].Extensions["field"] != field || r.Data["billingGroup"] != nil && get(r.Data, "billingGroup.usage") != nil {
				t.Fatalf("refusal: %+v, data %v", r.Errors, r.Data)
			}
		}
		refused("month", usage, map[string]any{"bg": bg, "m": "9999-12"})
		refused("month", usage, map[string]any{"bg": bg, "m": "2026-12"})
		refused("month", `query($bg: ID!) { billingGroup(id: $bg) { channelUsage(month: "9999-12") { channel } } }`, map[string]any{"bg": bg})
		refused("month", `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-12") { id } } }`, map[string]any{"bg": bg})
		refused("month", `mutation($bg: ID!) { issueUsageConfirmation(input: {billingGroupId: $bg, month: "2026-12"}) { url } }`, map[string]any{"bg": bg})

		// The month in progress: November 1st to 19th, 18,000 × 19 / 30, as currentUsage says.
		d := e.ok(tok, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { period { from to } usedAmount { amount } }
			currentUsage { usedAmount { amount } } invoice(month: "2026-11") { id } } }`, map[string]any{"bg": bg})
		if str(d, "billingGroup.usage.period.to") != "2026-11-19" || str(d, "billingGroup.usage.usedAmount.amount") != "11400" ||
			str(d, "billingGroup.currentUsage.usedAmount.amount") != "11400" || get(d, "billingGroup.invoice") != nil {
			t.Fatalf("November so far = %v", d)
		}
		// Its documents wait for its end.
		for _, doc := range []string{"issueUsageConfirmation", "exportUsageDetails"} {
			refused("month", `mutation($bg: ID!) { `+doc+`(input: {billingGroupId: $bg, month: "2026-11"}) { url } }`, map[string]any{"bg": bg})
		}
		e.ok(tok, `mutation($bg: ID!) { issueUsageConfirmation(input: {billingGroupId: $bg, month: "2026-10"}) { url } }`, map[string]any{"bg": bg})

		// The last second of November: December has not begun.
		e.at("2026-11-30T23:59:59+09:00")
		tok = e.login("future@example.com")
		refused("month", usage, map[string]any{"bg": bg, "m": "2026-12"})
		refused("month", `mutation($bg: ID!) { exportUsageDetails(input: {billingGroupId: $bg, month: "2026-11"}) { url } }`, map[string]any{"bg": bg})
		// 2026-12-01 00:00 KST: December has begun with no day over yet, November has ended.
		e.at("2026-12-01T00:00:00+09:00")
		tok = e.login("future@example.com")
		d = e.ok(tok, usage, map[string]any{"bg": bg, "m": "2026-12"})
		if str(d, "billingGroup.usage.usedAmount.amount") != "0" || str(d, "billingGroup.usage.period.to") != "2026-11-30" {
			t.Fatalf("December at its first instant = %v", d)
		}
		if d := e.ok(tok, usage, map[string]any{"bg": bg, "m": "2026-11"}); str(d, "billingGroup.usage.usedAmount.amount") != "18000" {
			t.Fatalf("November once over = %v", d)
		}
		e.ok(tok, `mutation($bg: ID!) { exportUsageDetails(input: {billingGroupId: $bg, month: "2026-11"}) { url } }`, map[string]any{"bg": bg})

		// Coin periods: a year or month that has not begun is refused too.
		coins := `query($p: String) { viewer { account { coins { charges(period: $p) { id } usages(period: $p) { occurredAt } } } } }`
		e.at("2026-12-31T23:59:59+09:00")
		tok = e.login("future@example.com")
		refused("period", coins, map[string]any{"p": "2027"})
		refused("period", coins, map[string]any{"p": "2027-01"})
		e.at("2027-01-01T00:00:00+09:00")
		tok = e.login("future@example.com")
		if d := e.ok(tok, coins, map[string]any{"p": "2027-01"}); len(get(d, "viewer.account.coins.charges").([]any)) != 0 {
			t.Fatalf("coins = %v", d)
		}
	})
}
