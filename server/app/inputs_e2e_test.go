package app_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudbill/cloudbill/graph"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// listIndex is a list index in extensions.field ("input.scopes[0]").
var listIndex = regexp.MustCompile(`\[[0-9]+\]`)

// Issue 14, finding 9: every amount, count, code and string a mutation
// takes is bounded and validated. The test reads every scalar input of
// every mutation from the schema (arguments and input fields, nested ones
// and optional ones included) and sends each, in turn, an absurd value — a
// 10,000-character string, 10,000,000,000,000 for a decimal, 2,147,483,647
// for an integer — with everything else valid, as a caller who may use the
// mutation. Each must be refused as BAD_USER_INPUT naming that input in
// extensions.field (or, for a value only looked up — a coupon code, a login
// — as not found); never accepted, never INTERNAL.
func TestEveryMutationInputIsBounded(t *testing.T) {
	db := testenv.SQLite(t)
	e := newEnv(t, db)
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	tok, own := e.tenantFixture(db, "in")
	tok[anon] = ""
	// A virtual account for simulateDeposit (the master's card stays for
	// chargeCoins, which names it).
	va := str(e.ok(tok[master], `mutation { changePaymentMethod(input: {type: DIRECT_DEPOSIT}) { paymentMethod { id } } }`, nil), "changePaymentMethod.paymentMethod.id")
	e.at("2026-11-20T10:00:00+09:00")
	tok[operator] = e.op
	// Per mutation, values that differ from the organization's defaults.
	overrides := map[string][]map[string]any{
		"createRegion":    {{"code": "kr-9"}},
		"createService":   {{"code": "svc-new"}},
		"simulateDeposit": {{"paymentMethodId": va}},
		// A card, then a bank account.
		"registerPaymentMethod": {{"bankAccount": absent}, {"type": "BANK_TRANSFER", "cardToken": absent}},
		// A credit coupon, then a discount coupon.
		"createCoupon": {{"code": "SWEEP-1", "discountPercentage": absent}, {"code": "SWEEP-2", "amount": absent, "creditValidDays": absent}},
	}
	for k, v := range map[string]any{
		"password": "Secret!234", "residenceCountry": "KR", "birthDate": "1990-01-01", "organizationName": "Org", "name": "Name",
		"scopes": "billing:read", "startsOn": "2026-11-01", "endsOn": "2026-12-31", "unitPrice": "1", "category": "compute",
		"provisionType": "FREE", "pricingPlan": "basic", "numberProvided": 1, "percentage": "10", "conditions": "none",
		"maxRedemptions": 10, "creditValidDays": 30, "serviceCodes": "vm", "corporate": false,
		"startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00",
		"validFrom": "2026-11-01T00:00:00+09:00", "validUntil": "2027-01-01T00:00:00+09:00", "occurredAt": "2026-11-02T00:00:00+09:00", "serviceField": "AI",
		"signupPath": "search", "bankCode": "004", "accountNumber": "1234560000", "holderName": "Holder", "identifier": "01012345678",
		"channel": "ch-1", "refreshToken": "x", "token": "x", "period": "2026-11",
	} {
		own[k] = v
	}
	types := introspectSchema(e)
	checked := 0
	for _, f := range types["Mutation"].Fields {
		who, ok := firstAllowed(mutationPolicy[f.Name].allowed, master, pUsage, pPM, operator)
		if mutationPolicy[f.Name].skip != "" {
			who, ok = anon, true // sign-up and sign-in
		}
		if !ok {
			continue
		}
		variants := overrides[f.Name]
		if variants == nil {
			variants = []map[string]any{{}}
		}
		for _, variant := range variants {
			checked += e.sweep(f, types, own, variant, tok[who])
		}
	}
	t.Logf("%d absurd inputs refused", checked)
}

// absurdValues are the values no input of leaf's kind may accept: for a
// string, the longest one the GraphQL boundary lets through
// (graph.MaxInputString characters, which the input's own domain must
// refuse) and one a character longer (which the boundary refuses); for a
// decimal, 10^13 (past every policy limit, short of the parser's bound);
// for an integer, the largest GraphQL Int.
func absurdValues(leaf idSlot) []any {
	switch leaf.kind {
	case "String":
		long := strings.Repeat("x", graph.MaxInputString)
		if freeText[leaf.name] {
			return []any{long + "x"}
		}
		return []any{long, long + "x"}
	case "Decimal":
		return []any{"10000000000000"}
	case "Int":
		return []any{2147483647}
	}
	return nil // Boolean, DateTime, Month and enums: their parsers refuse what is not one
}

// freeText are the inputs that are free text up to graph.MaxInputString
// characters: a discount's conditions.
var freeText = map[string]bool{"conditions": true}

// absent in a variant leaves an optional input out.
var absent = &struct{}{}

// sweep sends each scalar input of mutation f an absurd value in turn,
// everything else as own and variant say, and reports what was not refused
// for that input. It returns how many inputs it tried.
func (e *env) sweep(f matrixField, types map[string]inputType, own, variant map[string]any, token string) int {
	e.t.Helper()
	values := map[string]any{}
	for k, v := range own {
		values[k] = v
	}
	for k, v := range variant {
		values[k] = v
	}
	b := &idArgs{types: types, own: values, all: true}
	decl, use, vars := b.args(f)
	q := "mutation" + decl + " { " + f.Name + use + selectionOf(f.Type) + " }"
	checked := 0
	{
		for _, leaf := range b.leaves {
			for _, absurd := range absurdValues(leaf) {
				checked++
				answer := e.canonical(token, q, leaf.set(vars, absurd))
				if !refusedFor(answer, leaf.name) {
					e.t.Errorf("%s, %s = %.20v… (%d): %s", f.Name, leaf.name, absurd, len(fmt.Sprint(absurd)), answer)
				}
				if s, _ := absurd.(string); len(s) > graph.MaxInputString && !strings.Contains(answer, "is longer than") {
					e.t.Errorf("%s, %s: the GraphQL boundary lets %d characters through: %s", f.Name, leaf.name, len(s), answer)
				}
			}
		}
	}
	return checked
}

// refusedFor reports whether a canonical answer refuses the input named
// name: BAD_USER_INPUT with extensions.field naming it, or the not-found of
// a value that is only looked up.
func refusedFor(answer, name string) bool {
	_, body, _ := strings.Cut(answer, " ")
	var v struct {
		Data   map[string]any
		Errors []struct {
			Extensions struct{ Code, Field string }
		}
	}
	if json.Unmarshal([]byte(body), &v) != nil || len(v.Errors) == 0 {
		return false
	}
	x := v.Errors[0].Extensions
	field := listIndex.ReplaceAllString(x.Field, "")
	named := field == name || strings.HasSuffix(field, "."+name)
	switch x.Code {
	case "INTERNAL":
		return false
	case "COUPON_NOT_FOUND":
		return name == "code"
	case "UNAUTHENTICATED": // login and refreshToken look their inputs up
		return name == "email" || name == "password" || name == "refreshToken"
	}
	return named // BAD_USER_INPUT, or a domain refusal of that very input (INSUFFICIENT_BALANCE of an amount)
}
