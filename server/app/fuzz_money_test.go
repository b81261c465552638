package app_test

// Fuzz targets for the GraphQL inputs of money mutations (issue 13), where
// billing/fuzz_test.go (the parsers) and graph's FuzzScalars (the scalars)
// stop short: here the input goes through the real handler — JSON
// decoding, gqlgen's input coercion, the resolvers, the engine and the
// database — on SQLite and PostgreSQL at once. `go test` runs the seed
// corpora; `go test -fuzz=FuzzMoneyInputs ./server/app` explores further.
// Properties: never INTERNAL nor anything but a documented code; both
// databases answer alike; what is accepted is exactly what an independent
// reading of the input says (an amount to the won, a quantity to the
// micro-unit, a month, an idempotency key).

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cloudbill/cloudbill/server/testenv"
)

// fuzzSide is one database's server, ready for money mutations.
type fuzzSide struct {
	name               string
	d                  *invDriver
	master             string            // token
	method, credit, to string            // ids
	keys               map[string]string // canonical idempotency key → the input it was first used with
}

func newFuzzSides(f *testing.F) []*fuzzSide {
	var sides []*fuzzSide
	for _, name := range []string{"sqlite", "postgres"} {
		db := testenv.SQLite(f)
		if name == "postgres" {
			db = testenv.Postgres(f)
		}
		d := newInvDriver(f, db)
		d.clock.Set(time.Date(2026, 11, 20, 10, 0, 0, 0, kst))
		s := &fuzzSide{name: name, d: d, keys: map[string]string{}}
		must := func(token, q string, vars map[string]any) result {
			r := d.do(token, q, vars)
			if len(r.Errors) > 0 {
				f.Fatalf("%s: %s: %s", name, q, answerText(r))
			}
			return r
		}
		must(d.op, catalogMutation(), nil)
		r := must("", signUpMutation, map[string]any{"in": map[string]any{"email": "fuzz@example.com", "password": "Secret!234",
			"memberType": "BUSINESS", "residenceCountry": "KR"}})
		s.master = str(r.Data, "signUp.accessToken")
		bg := str(must(s.master, `{ viewer { billingGroups { id } } }`, nil).Data, "viewer.billingGroups.0.id")
		s.to = str(must(s.master, `mutation { createBillingGroup(input: {name: "To"}) { billingGroup { id } } }`, nil).Data, "createBillingGroup.billingGroup.id")
		s.method = str(must(s.master, registerMethod, card("tok_visa")).Data, "registerPaymentMethod.paymentMethod.id")
		s.credit = str(must(d.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "Fuzz", "type": "FREE",
			"amount": "100000000", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2027-11-01T00:00:00+09:00"}}).Data, "grantCredit.credit.id") // the policy limit of a credit
		sides = append(sides, s)
	}
	return sides
}

// plainDecimal is the API's Decimal as docs/api.md writes it: digits, at
// most one point, an optional minus.
var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// wonAmount reads an amount in won independently of the engine: a plain
// decimal that is a positive whole number of won, at most 10^15.
func wonAmount(s string) (int64, bool) {
	if !plainDecimal.MatchString(s) || len(s) > 40 {
		return 0, false
	}
	r, _ := new(big.Rat).SetString(s)
	if !r.IsInt() || r.Sign() <= 0 || r.Cmp(big.NewRat(1_000_000_000_000_000, 1)) > 0 {
		return 0, false
	}
	return r.Num().Int64(), true
}

// keyOK: an idempotency key is 1 to 200 characters around spaces, and text
// a database keeps.
func keyOK(k string) bool {
	k = strings.TrimSpace(k)
	return k != "" && len(k) <= 200 && utf8.ValidString(k) && !strings.ContainsRune(k, 0)
}

// prefixKey puts a mutation's prefix on a key, inside the spaces around it:
// keys are one namespace per caller, whatever the mutation.
func prefixKey(prefix, key string) string {
	lead := len(key) - len(strings.TrimLeft(key, " \t\r\n"))
	return key[:lead] + prefix + key[lead:]
}

// wire is a string as the server receives it in JSON: invalid UTF-8 arrives
// as U+FFFD.
func wire(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

func (s *fuzzSide) balance(t *testing.T) int64 {
	r := s.d.do(s.master, `{ viewer { account { coins { charged { amount } } } } }`, nil)
	var n int64
	if _, err := fmt.Sscan(str(r.Data, "viewer.account.coins.charged.amount"), &n); err != nil {
		t.Fatalf("%s: wallet: %s", s.name, answerText(r))
	}
	return n
}

func (s *fuzzSide) remaining(t *testing.T) int64 {
	r := s.d.do(s.master, `query($id: ID!) { node(id: $id) { ... on Credit { remainingAmount { amount } } } }`, map[string]any{"id": s.credit})
	var n int64
	if _, err := fmt.Sscan(str(r.Data, "node.remainingAmount.amount"), &n); err != nil {
		t.Fatalf("%s: credit: %s", s.name, answerText(r))
	}
	return n
}

// answerOf checks an answer's code against the documented ones.
func answerOf(t *testing.T, side, what string, r result, allowed ...string) string {
	t.Helper()
	code := r.code()
	for _, a := range append(allowed, "") {
		if code == a {
			return code
		}
	}
	t.Fatalf("%s: %s answered %s; expected one of %v or success", side, what, answerText(r), allowed)
	return ""
}

func FuzzMoneyInputs(f *testing.F) {
	for _, c := range [][5]string{
		{"1000", "1.5", "2026-11", "k-1", "ev-1"},
		{"1000", "1.5", "2026-11", " k-1 ", "ev-1"}, // the same key around spaces, the same event
		{"2000", "2.5", "2026-11", "k-1", "ev-1"},   // the key with another amount, the event with another quantity
		{"0.5", "0.0000001", "2026-13", "", "\x00"},
		{"1e3", "1e3", "2026-1", "k\x00", "é"},
		{"-1000", "-1", "0000-00", strings.Repeat("k", 201), "ev\u2028"},
		{"99999999999999999999", "1000000000000.000001", "9999-12", "k-2", "A\xffB"},
		{"1000000000000000", "999999999999.999999", "2026-10", "k-3", "ev-2"},
		{"1000000000000001", "1000000000000", "2027-01", "k-4", "ev-3"},
		{"1,000", "+1", "2026-11 ", "\t", "INV-0001"},
		{"０１０００", "１", "２０２６-１１", "k-5", "ev-4"},
		{"999", "0", "2026-09", "k-6", strings.Repeat("x", 201)},
		{"001000", "007.500000", "2026-11", "k-7", "ev-5"},
		{"1000.0", "-0", "2026-11", "k-8", "ev-6"},
	} {
		f.Add(c[0], c[1], c[2], c[3], c[4])
	}
	sides := newFuzzSides(f)
	f.Fuzz(func(t *testing.T, amount, quantity, month, key, text string) {
		codes := make([][]string, len(sides))
		for i, s := range sides {
			s.d.clock.Set(s.d.clock.Now().Add(time.Minute)) // keep the wrong-coupon limit from answering for us
			codes[i] = s.fuzzOnce(t, amount, quantity, month, key, text)
		}
		if fmt.Sprint(codes[0]) != fmt.Sprint(codes[1]) {
			t.Fatalf("SQLite answered %v, PostgreSQL %v", codes[0], codes[1])
		}
	})
}

// fuzzOnce sends one input to the money mutations of one database and
// returns their answers' codes.
func (s *fuzzSide) fuzzOnce(t *testing.T, amount, quantity, month, key, text string) []string {
	var codes []string
	amount, quantity, month, key, text = wire(amount), wire(quantity), wire(month), wire(key), wire(text)
	won, wonOK := wonAmount(amount)

	// chargeCoins: an amount of won, an idempotency key.
	before := s.balance(t)
	in := map[string]any{"amount": amount, "paymentMethodId": s.method, "idempotencyKey": prefixKey("c", key)}
	r := s.d.do(s.master, `mutation($in: ChargeCoinsInput!) { chargeCoins(input: $in) { charge { chargedAmount { amount } } } }`, map[string]any{"in": in})
	code := answerOf(t, s.name, "chargeCoins", r, "BAD_USER_INPUT", "AMOUNT_BELOW_MINIMUM", "IDEMPOTENCY_KEY_REUSED")
	codes = append(codes, code)
	gained := s.balance(t) - before
	first, seen := s.keys[strings.TrimSpace(prefixKey("c", key))]
	switch {
	case code != "" && gained != 0:
		t.Fatalf("%s: a refused chargeCoins(%q) changed the wallet by %d", s.name, amount, gained)
	case code == "" && (!wonOK || won < 1000 || !keyOK(prefixKey("c", key))):
		t.Fatalf("%s: chargeCoins accepted amount %q, key %q", s.name, amount, key)
	case code == "" && seen && gained != 0:
		t.Fatalf("%s: chargeCoins replayed under key %q charged again (R-50)", s.name, key)
	case code == "" && !seen && gained != won:
		t.Fatalf("%s: chargeCoins(%q) charged %d", s.name, amount, gained)
	case code == "IDEMPOTENCY_KEY_REUSED" && (!seen || first == amount):
		t.Fatalf("%s: chargeCoins(%q) under key %q refused as reused (first %q)", s.name, amount, key, first)
	}
	if code == "" && !seen {
		s.keys[strings.TrimSpace(prefixKey("c", key))] = amount
	}

	// transferCredit: an amount, a key.
	left := s.remaining(t)
	in = map[string]any{"creditId": s.credit, "toBillingGroupId": s.to, "amount": amount, "idempotencyKey": prefixKey("t", key)}
	r = s.d.do(s.master, `mutation($in: TransferCreditInput!) { transferCredit(input: $in) { to { id } } }`, map[string]any{"in": in})
	code = answerOf(t, s.name, "transferCredit", r, "BAD_USER_INPUT", "INSUFFICIENT_BALANCE", "IDEMPOTENCY_KEY_REUSED")
	codes = append(codes, code)
	moved := left - s.remaining(t)
	first, seen = s.keys[strings.TrimSpace(prefixKey("t", key))]
	switch {
	case code != "" && moved != 0:
		t.Fatalf("%s: a refused transferCredit(%q) moved %d", s.name, amount, moved)
	case code == "" && (!wonOK || !keyOK(prefixKey("t", key))):
		t.Fatalf("%s: transferCredit accepted amount %q, key %q", s.name, amount, key)
	case code == "" && !seen && moved != won:
		t.Fatalf("%s: transferCredit(%q) moved %d", s.name, amount, moved)
	case code == "" && seen && moved != 0:
		t.Fatalf("%s: transferCredit replayed under key %q moved again (R-50)", s.name, key)
	case code == "IDEMPOTENCY_KEY_REUSED" && (!seen || first == amount):
		t.Fatalf("%s: transferCredit(%q) under key %q refused as reused (first %q)", s.name, amount, key, first)
	}
	if code == "" && !seen {
		s.keys[strings.TrimSpace(prefixKey("t", key))] = amount
	}

	// recordUsage: a quantity, an event id, a key.
	ev := map[string]any{"eventId": text, "billingGroupId": s.to, "serviceCode": "vm", "region": "kr-1", "metric": "hour",
		"quantity": quantity, "occurredAt": "2026-11-19T10:00:00+09:00"}
	r = s.d.do(s.d.op, invRecordUsage, map[string]any{"in": map[string]any{"events": []any{ev}, "idempotencyKey": "u" + key}})
	code = answerOf(t, s.name, "recordUsage", r, "BAD_USER_INPUT", "IDEMPOTENCY_KEY_REUSED")
	codes = append(codes, code)
	if code == "" {
		q, ok := new(big.Rat).SetString(quantity)
		frac := quantity[strings.IndexByte(quantity+".", '.'):]
		if !plainDecimal.MatchString(quantity) || !ok || q.Sign() < 0 || q.Cmp(big.NewRat(1_000_000_000_000, 1)) > 0 || len(frac) > 7 ||
			!keyOK(text) || !keyOK("u"+key) {
			t.Fatalf("%s: recordUsage accepted quantity %q, event id %q, key %q", s.name, quantity, text, "u"+key)
		}
	}

	// createDiscount and usage: a month.
	r = s.d.do(s.d.op, `mutation($in: CreateDiscountInput!) { createDiscount(input: $in) { discount { month } } }`,
		map[string]any{"in": map[string]any{"billingGroupId": s.to, "month": month, "name": "d " + text, "percentage": "5"}})
	code = answerOf(t, s.name, "createDiscount", r, "BAD_USER_INPUT")
	codes = append(codes, code)
	if code == "" && (!regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`).MatchString(month) || month < "2026-11" ||
		!keyOK(text+"x") || len("d "+text) > 200) {
		t.Fatalf("%s: createDiscount accepted month %q, name %q", s.name, month, "d "+text)
	}
	r = s.d.do(s.master, `query($bg: ID!, $m: Month!) { billingGroup(id: $bg) { usage(month: $m) { usedAmount { amount } } } }`,
		map[string]any{"bg": s.to, "m": month})
	code = answerOf(t, s.name, "usage", r, "BAD_USER_INPUT")
	codes = append(codes, code)
	if code == "" && (!regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`).MatchString(month) || month > "2026-11") {
		t.Fatalf("%s: usage answered month %q (issue 13 defect 9: a month not begun is refused)", s.name, month)
	}

	// registerCoupon: a code, a key.
	r = s.d.do(s.master, register, map[string]any{"in": map[string]any{"billingGroupId": s.to, "code": text, "idempotencyKey": "r" + key}})
	codes = append(codes, answerOf(t, s.name, "registerCoupon", r, "BAD_USER_INPUT", "COUPON_NOT_FOUND"))
	return codes
}

// FuzzMoneyJSON sends any JSON value where a money amount goes: only a JSON
// string may be an amount (docs/api.md: a Decimal is a string, never a
// float), and nothing answers INTERNAL.
func FuzzMoneyJSON(f *testing.F) {
	for _, s := range []string{`"1000"`, `1000`, `1000.0`, `1e3`, `"1e3"`, `null`, `true`, `[]`, `{}`, `["1000"]`, `{"amount": "1000"}`,
		`"\u0000"`, `-0`, `1e400`, `"１０００"`, `"1000\n"`} {
		f.Add(s)
	}
	sides := newFuzzSides(f)
	n := 0
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return
		}
		n++
		var codes []string
		for _, s := range sides {
			in := map[string]any{"amount": json.RawMessage(raw), "paymentMethodId": s.method, "idempotencyKey": fmt.Sprintf("j%d", n)}
			r := s.d.do(s.master, `mutation($in: ChargeCoinsInput!) { chargeCoins(input: $in) { charge { id } } }`, map[string]any{"in": in})
			code := answerOf(t, s.name, "chargeCoins", r, "BAD_USER_INPUT", "AMOUNT_BELOW_MINIMUM", "GRAPHQL_VALIDATION_FAILED")
			var str string
			if code == "" && json.Unmarshal([]byte(raw), &str) != nil {
				t.Fatalf("%s: the amount %s, not a JSON string, was accepted", s.name, raw)
			}
			codes = append(codes, code)
		}
		if codes[0] != codes[1] {
			t.Fatalf("SQLite answered %s, PostgreSQL %s", codes[0], codes[1])
		}
	})
}
