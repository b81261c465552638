package app_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/ent/outboxevent"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const (
	requestPhone = `mutation($n: String!) { requestPhoneVerification(input: {phoneNumber: $n}) { phoneNumber expiresAt } }`
	confirmPhone = `mutation($c: String!) { confirmPhoneVerification(input: {code: $c}) { account { id phoneNumber phoneVerifiedAt } } }`
	myPhone      = `{ viewer { account { id phoneNumber phoneVerifiedAt } } }`
)

// phoneCode reads the code texted to number from the outbox, as the
// customer reads it on their phone.
func (e *env) phoneCode(number string) string {
	e.t.Helper()
	var raw []byte
	if err := e.app.DB.SQL.QueryRow(`SELECT payload FROM outbox_events WHERE topic = 'phone.verification' AND recipient = '` + number +
		`' ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&raw); err != nil {
		e.t.Fatalf("no code texted to %s: %v", number, err)
	}
	var p struct{ Code string }
	json.Unmarshal(raw, &p)
	return p.Code
}

func sameInstant(a, b string) bool {
	x, err1 := time.Parse(time.RFC3339, a)
	y, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && x.Equal(y)
}

// verifyPhone proves the caller holds number, through the API.
func (e *env) verifyPhone(token, number string) string {
	e.t.Helper()
	n := str(e.ok(token, requestPhone, map[string]any{"n": number}), "requestPhoneVerification.phoneNumber")
	e.ok(token, confirmPhone, map[string]any{"c": e.phoneCode(n)})
	return n
}

// SMS notices go only to a number the account proved it holds; a code
// is throttled, expires, and takes a bounded number of guesses.
func TestPhoneVerification(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": testenv.SQLite, "postgres": testenv.Postgres} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			e.at("2026-11-10T10:00:00+09:00")
			master, _ := e.signUp("phone@example.com")
			for _, bad := range []string{"", "12345", "02-123-4567", "+0123456789", "010-1234-567a", "+1234567890123456", string(make([]byte, 5000))} {
				e.fails("BAD_USER_INPUT", master, requestPhone, map[string]any{"n": bad})
			}
			d := e.ok(master, requestPhone, map[string]any{"n": "010-1234-5678"})
			if str(d, "requestPhoneVerification.phoneNumber") != "+821012345678" ||
				!sameInstant(str(d, "requestPhoneVerification.expiresAt"), "2026-11-10T10:10:00+09:00") {
				t.Fatalf("request = %v", d)
			}
			// Unverified, the number is not the account's: not shown, not texted.
			if v := e.ok(master, myPhone, nil); get(v, "viewer.account.phoneNumber") != nil || get(v, "viewer.account.phoneVerifiedAt") != nil {
				t.Fatalf("unverified number shown: %v", v)
			}
			// A second code within the minute is refused with the seconds left.
			e.at("2026-11-10T10:00:45+09:00")
			r := e.fails("THROTTLED", master, requestPhone, map[string]any{"n": "010-1234-5678"})
			if r.Errors[0].Extensions["retryAfterSeconds"] != 15.0 {
				t.Errorf("throttled without retryAfterSeconds: %+v", r.Errors)
			}
			code := e.phoneCode("+821012345678")
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			// Five guesses per code; the sixth, even the right one, is refused.
			for i := 0; i < 5; i++ {
				e.fails("BAD_USER_INPUT", master, confirmPhone, map[string]any{"c": wrong})
			}
			e.fails("CONFLICT", master, confirmPhone, map[string]any{"c": code})
			// A new code after the minute; it expires after ten.
			e.at("2026-11-10T10:01:00+09:00")
			e.ok(master, requestPhone, map[string]any{"n": "+82 10 1234 5678"})
			e.at("2026-11-10T10:11:00+09:00")
			e.fails("CONFLICT", master, confirmPhone, map[string]any{"c": e.phoneCode("+821012345678")})
			// In time, the right code verifies the number.
			e.ok(master, requestPhone, map[string]any{"n": "01012345678"})
			e.at("2026-11-10T10:20:59+09:00")
			d = e.ok(master, confirmPhone, map[string]any{"c": e.phoneCode("+821012345678")})
			if str(d, "confirmPhoneVerification.account.phoneNumber") != "+821012345678" ||
				!sameInstant(str(d, "confirmPhoneVerification.account.phoneVerifiedAt"), "2026-11-10T10:20:59+09:00") {
				t.Fatalf("confirm = %v", d)
			}
			// The code is spent.
			e.fails("CONFLICT", master, confirmPhone, map[string]any{"c": e.phoneCode("+821012345678")})

			// Only the account itself sees its number; a partner token may not
			// verify a phone, nor may an anonymous caller.
			memberTok, _ := e.member(master, "phone-member@example.com")
			who := `query($id: ID!) { node(id: $id) { ... on Account { phoneNumber } } }`
			masterID := str(e.ok(master, myPhone, nil), "viewer.account.id")
			if r := e.gql(memberTok, who, map[string]any{"id": masterID}); len(r.Errors) == 0 && get(r.Data, "node.phoneNumber") != nil {
				t.Errorf("a member read the master's phone: %v", r.Data)
			}
			e.fails("UNAUTHENTICATED", "", requestPhone, map[string]any{"n": "010-1234-5678"})
			e.fails("FORBIDDEN", e.partner(master), requestPhone, map[string]any{"n": "010-1234-5678"})

			// Once verified, the master's notices are texted to it.
			e.ok(e.op, catalogSetup, nil)
			bg := e.mainGroup(master)
			e.ok(e.op, recordUsage, map[string]any{"e": []any{event("ph-1", bg, "vm", "hour", "10", "2026-11-10T09:00:00+09:00")}})
			e.ok(master, createBudget, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "B", "amount": "1000", "thresholds": []int{50}}})
			e.ok(e.op, recordUsage, map[string]any{"e": []any{event("ph-2", bg, "vm", "hour", "10", "2026-11-10T09:00:00+09:00")}})
			var n int
			e.app.DB.SQL.QueryRow(`SELECT count(*) FROM outbox_events WHERE channel = 'SMS' AND topic <> 'phone.verification' AND recipient = '+821012345678'`).Scan(&n)
			if n != 1 {
				t.Fatalf("%d notices texted to the verified number, want the budget's one", n)
			}
		})
	}
}

// noticesRender renders every email and SMS a test queued, as the outbox
// will: each topic a test reaches must have its wording, every field its
// templates name must be in the payload, and each SMS fits 90 bytes.
// newEnv runs it when a test ends, so a new notice without its wording
// fails the test that first queues it.
func noticesRender(t *testing.T, db *store.DB) {
	rows, err := db.SQL.Query(`SELECT id, topic, channel, language, payload FROM outbox_events WHERE channel IN ('EMAIL', 'SMS')`)
	if err != nil {
		return // the test closed its database already
	}
	defer rows.Close()
	for rows.Next() {
		var id, topic, channel string
		var lang *string
		var payload []byte
		if err := rows.Scan(&id, &topic, &channel, &lang, &payload); err != nil {
			t.Fatal(err)
		}
		l := ""
		if lang != nil {
			l = *lang
		}
		m, err := notify.Render(topic, l, payload)
		if err != nil {
			t.Errorf("outbox %s (%s %s): %v", id, topic, channel, err)
			continue
		}
		for _, s := range []string{m.Subject, m.Text, m.SMS} {
			if strings.Contains(s, "<no value>") {
				t.Errorf("outbox %s (%s %s) names a field its payload lacks: %q\npayload %s", id, topic, channel, s, payload)
			}
		}
		if channel == "SMS" && notify.SMSBytes(m.SMS) > 90 {
			t.Errorf("outbox %s (%s): SMS of %d bytes: %q", id, topic, notify.SMSBytes(m.SMS), m.SMS)
		}
	}
}

// an invoice with nothing to pay is not mailed or texted (asking to
// pay 0원 by a due date); its webhook still goes. One with something due is
// mailed.
func TestNothingToPayIsNotMailed(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		idle, _ := e.signUp("idle@example.com")
		idleBG := e.mainGroup(idle)
		busy, _ := e.signUp("busy@example.com")
		busyBG := e.mainGroup(busy)
		e.ok(e.op, recordUsage, map[string]any{"e": []any{event("b1", busyBG, "vm", "hour", "1", "2026-11-01T05:00:00+09:00")}})
		e.runJobs("2026-12-03T00:00:00+09:00")
		channels := func(bg string) []string {
			var out []string
			for _, ev := range db.Client.OutboxEvent.Query().Where(outboxevent.Topic(topics.InvoiceIssued)).AllX(t.Context()) {
				if strings.Contains(string(ev.Payload), bg) {
					out = append(out, ev.Channel)
				}
			}
			sort.Strings(out)
			return out
		}
		if got := strings.Join(channels(idleBG), ","); got != "WEBHOOK" {
			t.Fatalf("the invoice of nothing went by %q, want the webhook only", got)
		}
		if got := strings.Join(channels(busyBG), ","); got != "EMAIL,WEBHOOK" { // no verified phone: no SMS
			t.Fatalf("the invoice of 85원 went by %q, want email and webhook", got)
		}
	})
}
