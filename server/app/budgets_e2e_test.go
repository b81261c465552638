package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/ent/outboxevent"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const createBudget = `mutation($in: CreateBudgetAlertInput!) { createBudgetAlert(input: $in) { budgetAlert { id thresholds amount { amount } } } }`

const budgetStatus = `query($bg: ID!) { billingGroup(id: $bg) { budgetAlerts { id name month thresholds crossedThresholds
  spentAmount { amount } forecastAmount { amount } } } }`

// budgetNotices are the queued notices of crossed thresholds by channel,
// and the thresholds the webhooks name.
func budgetNotices(t *testing.T, db *store.DB, alertID string) (map[string]int, []int) {
	t.Helper()
	evs, err := db.Client.OutboxEvent.Query().Where(outboxevent.Topic("budget.threshold_crossed")).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byChannel := map[string]int{}
	var thresholds []int
	for _, ev := range evs {
		var p struct {
			AlertID   string `json:"alertId"`
			Threshold int    `json:"threshold"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.AlertID != alertID {
			continue
		}
		byChannel[ev.Channel]++
		if ev.Channel == "WEBHOOK" {
			thresholds = append(thresholds, p.Threshold)
		}
	}
	sort.Ints(thresholds)
	return byChannel, thresholds
}

// a budget's thresholds are told once each per month, by email, SMS
// and webhook, as usage crosses them; the alert shows the month so far and
// its forecast; only who manages the group may see or change it.
func TestBudgetAlerts(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": testenv.SQLite, "postgres": testenv.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			e := newEnv(t, db)
			e.ok(e.op, catalogSetup, nil)
			e.at("2026-11-10T10:00:00+09:00")
			master, _ := e.signUp("budget@example.com")
			e.verifyPhone(master, "010-2000-0001") // SMS goes to a verified number only
			bg := e.mainGroup(master)
			memberTok, _ := e.member(master, "budget-member@example.com")
			foreignTok, _ := e.signUp("budget-foreign@example.com")

			in := map[string]any{"billingGroupId": bg, "name": "Monthly", "amount": "10000", "thresholds": []int{100, 50, 80}, "idempotencyKey": "b-1"}
			d := e.ok(master, createBudget, map[string]any{"in": in})
			alert := str(d, "createBudgetAlert.budgetAlert.id")
			if got := fmt.Sprint(get(d, "createBudgetAlert.budgetAlert.thresholds")); got != "[50 80 100]" {
				t.Errorf("thresholds %s, want them ascending", got)
			}
			// The same key and input answer the same alert; another input is refused.
			if again := str(e.ok(master, createBudget, map[string]any{"in": in}), "createBudgetAlert.budgetAlert.id"); again != alert {
				t.Errorf("a repeated key made alert %s, want %s", again, alert)
			}
			in2 := map[string]any{"billingGroupId": bg, "name": "Other", "amount": "10000", "thresholds": []int{50}, "idempotencyKey": "b-1"}
			e.fails("IDEMPOTENCY_KEY_REUSED", master, createBudget, map[string]any{"in": in2})
			for _, bad := range []map[string]any{
				{"thresholds": []int{}}, {"thresholds": []int{0}}, {"thresholds": []int{50, 50}}, {"thresholds": []int{1001}},
				{"amount": "0"}, {"amount": "1.5"}, {"amount": "2000000000000"}, {"name": " "},
			} {
				v := map[string]any{"billingGroupId": bg, "name": "B", "amount": "10000", "thresholds": []int{50}}
				for k, x := range bad {
					v[k] = x
				}
				e.fails("BAD_USER_INPUT", master, createBudget, map[string]any{"in": v})
			}

			// 50 hours × 85 = 4,250: under 50 %.
			record := func(id, hours string) {
				e.ok(e.op, recordUsage, map[string]any{"e": []any{event(id, bg, "vm", "hour", hours, "2026-11-10T09:00:00+09:00")}})
			}
			record("b-u1", "50")
			if ch, _ := budgetNotices(t, db, alert); len(ch) != 0 {
				t.Fatalf("told at 42.5 %%: %v", ch)
			}
			// 100 hours = 8,500: past 50 % and 80 %, each told once by each channel.
			record("b-u2", "50")
			ch, th := budgetNotices(t, db, alert)
			if fmt.Sprint(th) != "[50 80]" || ch["EMAIL"] != 2 || ch["SMS"] != 2 || ch["WEBHOOK"] != 2 {
				t.Fatalf("at 85 %%: notices %v thresholds %v, want 2 per channel for 50 and 80", ch, th)
			}
			// 110 hours = 9,350: nothing new; a duplicate batch neither.
			record("b-u3", "10")
			record("b-u3", "10")
			if ch2, th2 := budgetNotices(t, db, alert); fmt.Sprint(th2) != "[50 80]" || ch2["WEBHOOK"] != 2 {
				t.Fatalf("told again: %v %v", ch2, th2)
			}
			st := get(e.ok(master, budgetStatus, map[string]any{"bg": bg}), "billingGroup.budgetAlerts.0").(map[string]any)
			// 9,350 over 10 of November's 30 days → 28,050 by the 30th.
			if st["month"] != "2026-11" || fmt.Sprint(st["crossedThresholds"]) != "[50 80]" ||
				get(st, "spentAmount.amount") != "9350" || get(st, "forecastAmount.amount") != "28050" {
				t.Errorf("status %v", st)
			}

			// Lowering the budget tells the threshold it now passed, once.
			upd := `mutation($in: UpdateBudgetAlertInput!) { updateBudgetAlert(input: $in) { budgetAlert { amount { amount } crossedThresholds } } }`
			d = e.ok(master, upd, map[string]any{"in": map[string]any{"budgetAlertId": alert, "amount": "9000"}})
			if fmt.Sprint(get(d, "updateBudgetAlert.budgetAlert.crossedThresholds")) != "[50 80 100]" {
				t.Errorf("after lowering: %v", d)
			}
			if _, th := budgetNotices(t, db, alert); fmt.Sprint(th) != "[50 80 100]" {
				t.Errorf("thresholds told %v", th)
			}

			// Who may: a member without the billing manager's role may not; another
			// tenant cannot tell the alert from a missing one.
			del := `mutation($id: ID!) { deleteBudgetAlert(input: {budgetAlertId: $id}) { deletedBudgetAlertId } }`
			e.fails("FORBIDDEN", memberTok, del, map[string]any{"id": alert})
			foreign := e.fails("NOT_FOUND", foreignTok, del, map[string]any{"id": alert})
			missing := e.fails("NOT_FOUND", foreignTok, del, map[string]any{"id": "bud_00000000000000000000000000"})
			if fmt.Sprint(foreign.Errors) != fmt.Sprint(missing.Errors) {
				t.Errorf("foreign %v and missing %v answer differently", foreign.Errors, missing.Errors)
			}
			e.fails("NOT_FOUND", foreignTok, budgetStatus, map[string]any{"bg": bg})
			e.ok(master, del, map[string]any{"id": alert})
			if n := len(get(e.ok(master, budgetStatus, map[string]any{"bg": bg}), "billingGroup.budgetAlerts").([]any)); n != 0 {
				t.Errorf("%d alerts after delete", n)
			}
		})
	}
}

// R-70 under concurrency: 4 partners' clients ingest past every threshold at
// once, on two replicas; each threshold is told exactly once.
func TestBudgetAlertFiresOnceUnderRacingBatches(t *testing.T) {
	db := testenv.Postgres(t)
	e1 := newEnvAt(t, db, calendar.NewFixedClock(time.Date(2026, 11, 10, 10, 0, 0, 0, kst)))
	e2 := newEnvAt(t, db, e1.clock) // a second replica
	e1.ok(e1.op, catalogSetup, nil)
	master, _ := e1.signUp("budget-race@example.com")
	e1.verifyPhone(master, "010-2000-0002")
	bg := e1.mainGroup(master)
	alert := str(e1.ok(master, createBudget, map[string]any{"in": map[string]any{
		"billingGroupId": bg, "name": "Race", "amount": "10000", "thresholds": []int{50, 80, 100}}}), "createBudgetAlert.budgetAlert.id")
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int, e *env) {
			defer wg.Done()
			for i := 0; i < 30; i++ { // 4 × 30 hours × 85 = 10,200
				r := e.gql(e.op, recordUsage, map[string]any{"e": []any{
					event(fmt.Sprintf("race-%d-%d", c, i), bg, "vm", "hour", "1", "2026-11-10T09:00:00+09:00")}})
				if len(r.Errors) > 0 {
					t.Errorf("batch: %v", r.Errors)
					return
				}
			}
		}(c, []*env{e1, e2}[c%2])
	}
	wg.Wait()
	ch, th := budgetNotices(t, db, alert)
	if fmt.Sprint(th) != "[50 80 100]" || ch["EMAIL"] != 3 || ch["SMS"] != 3 || ch["WEBHOOK"] != 3 {
		t.Fatalf("notices %v thresholds %v, want each of 50, 80, 100 told once per channel", ch, th)
	}
}
