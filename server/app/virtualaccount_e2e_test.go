package app_test

import (
	"regexp"
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const myMethods = `{ viewer { account { paymentMethods { id type last4 holderName
  virtualAccount { bankCode bankName accountNumber holderName amountDue { amount currency } dueAt } } } } }`

// a direct-deposit customer sees where to deposit — bank, full
// number, holder — and what is due by when; the number is not in holderName.
func TestVirtualAccountShowsWhereAndWhenToDeposit(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, _ := e.octoberInvoice("va@example.com")
		e.ok(tok, registerMethod, card("tok_visa"))
		va := str(e.ok(tok, `mutation { changePaymentMethod(input: {type: DIRECT_DEPOSIT}) { paymentMethod { id } } }`, nil), "changePaymentMethod.paymentMethod.id")
		method := func() map[string]any {
			t.Helper()
			for _, m := range get(e.ok(tok, myMethods, nil), "viewer.account.paymentMethods").([]any) {
				m := m.(map[string]any)
				if m["id"] == va {
					return m
				}
				if m["virtualAccount"] != nil {
					t.Errorf("a %v method has a virtual account", m["type"])
				}
			}
			t.Fatal("the virtual account is not among the methods")
			return nil
		}
		m := method()
		number := str(m, "virtualAccount.accountNumber")
		if !regexp.MustCompile(`^5620\d{10}$`).MatchString(number) || number[len(number)-4:] != str(m, "last4") ||
			str(m, "virtualAccount.bankCode") != "088" || str(m, "virtualAccount.bankName") != "신한은행" ||
			str(m, "virtualAccount.holderName") != "cloudbill" || str(m, "holderName") != "cloudbill" {
			t.Fatalf("virtual account = %v", m)
		}
		// Nothing issued yet: nothing due.
		if str(m, "virtualAccount.amountDue.amount") != "0" || get(m, "virtualAccount.dueAt") != nil {
			t.Fatalf("due before the invoice: %v", m["virtualAccount"])
		}
		// October's invoice (93,500) is due by 22:00 on November 30th (KST).
		e.runJobs("2026-11-03T00:00:00+09:00")
		m = method()
		if str(m, "virtualAccount.amountDue.amount") != "93500" || !sameInstant(str(m, "virtualAccount.dueAt"), "2026-11-30T22:00:00+09:00") {
			t.Fatalf("due = %v", m["virtualAccount"])
		}
		// A deposit pays part: the rest stays due by the same time.
		e.ok(e.op, `mutation($pm: ID!) { simulateDeposit(input: {paymentMethodId: $pm, amount: "50000", depositId: "va-1"}) { payment { id } } }`,
			map[string]any{"pm": va})
		if m = method(); str(m, "virtualAccount.amountDue.amount") != "43500" || !sameInstant(str(m, "virtualAccount.dueAt"), "2026-11-30T22:00:00+09:00") {
			t.Fatalf("after a deposit of 50,000: %v", m["virtualAccount"])
		}
		e.ok(e.op, `mutation($pm: ID!) { simulateDeposit(input: {paymentMethodId: $pm, amount: "43500", depositId: "va-2"}) { payment { id } } }`,
			map[string]any{"pm": va})
		if m = method(); str(m, "virtualAccount.amountDue.amount") != "0" || get(m, "virtualAccount.dueAt") != nil {
			t.Fatalf("paid in full: %v", m["virtualAccount"])
		}
		// Another organization cannot reach the method at all.
		foreign, _ := e.signUp("va-foreign@example.com")
		r := e.gql(foreign, `query($id: ID!) { node(id: $id) { ... on PaymentMethod { virtualAccount { accountNumber } } } }`, map[string]any{"id": va})
		if get(r.Data, "node.virtualAccount") != nil {
			t.Fatalf("a foreign caller read the virtual account: %v", r.Data)
		}
	})
}
