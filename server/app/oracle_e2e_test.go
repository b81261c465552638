package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// a foreign id and an id that does not exist answer byte for byte the
// same (message, code, field, path, data — all but the request id), for
// every argument and input field of the schema that takes an ID and every
// kind of id (prefix): the test reads them from the schema by
// introspection, so a new argument is covered without being listed. Each
// field runs as a caller of the target organization that may use it, so
// the answer comes from the id, not from a refusal at the door; and an id
// of the kind the slot expects must answer NOT_FOUND, which proves the
// lookup was reached.
func TestForeignAndMissingIdsAnswerAlike(t *testing.T) {
	db := testenv.SQLite(t)
	e := newEnv(t, db)
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")

	tok, own := e.tenantFixture(db, "o")
	bg1 := own["billingGroupId"].(string)

	// Another organization, holding one object of every kind of id.
	fTok, fAcct := e.signUp("o-foreign@example.com")
	fBG := e.mainGroup(fTok)
	db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = '` + fBG + `'`)
	fOrg := str(e.ok(fTok, `{ viewer { organization { id } } }`, nil), "viewer.organization.id")
	fCredit := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": fBG, "name": "F", "type": "FREE",
		"amount": "1000", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}}), "grantCredit.credit.id")
	fEntry := str(e.ok(e.op, `query($id: ID!) { node(id: $id) { ... on Credit { history(first: 1) { edges { node { id } } } } } }`,
		map[string]any{"id": fCredit}), "node.history.edges.0.node.id")
	fContract := str(e.ok(e.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: "2026-10-01"}) { contract { id } } }`,
		map[string]any{"bg": fBG}), "createContract.contract.id")
	fDiscount := str(e.ok(e.op, `mutation($bg: ID!) { createDiscount(input: {billingGroupId: $bg, month: "2026-12", name: "D", percentage: "10"}) { discount { id } } }`,
		map[string]any{"bg": fBG}), "createDiscount.discount.id")
	fPromo := str(e.ok(e.op, `mutation($bg: ID!) { createPromotion(input: {name: "P", serviceCode: "vm", provisionType: "FREE", pricingPlan: "basic", numberProvided: 1, billingGroupId: $bg}) { promotion { id } } }`,
		map[string]any{"bg": fBG}), "createPromotion.promotion.id")
	fToken := str(e.ok(fTok, `mutation { createApiToken(input: {name: "f", scopes: ["billing:read"]}) { apiToken { id } } }`, nil), "createApiToken.apiToken.id")
	fPM := str(e.ok(fTok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	fCharge := e.ok(fTok, `mutation($pm: ID!) { chargeCoins(input: {amount: "1000", paymentMethodId: $pm, idempotencyKey: "f-1"}) { charge { id } payment { id } } }`,
		map[string]any{"pm": fPM})
	fMember := db.Client.Account.Create().SetOrgID(fOrg).SetEmail("o-foreign-member@example.com").SetBillingEmail("o-foreign-member@example.com").
		SetPasswordHash("x").SetMemberType("BUSINESS").SetResidenceCountry("KR").SaveX(context.Background())
	fGrant := db.Client.Grant.Create().SetOrgID(fOrg).SetBillingGroupID(fBG).SetAccountID(fMember.ID).SetRole("MEMBER").SaveX(context.Background())
	fBudget := str(e.ok(fTok, `mutation($bg: ID!) { createBudgetAlert(input: {billingGroupId: $bg, name: "F", amount: "100000", thresholds: [80]}) { budgetAlert { id } } }`,
		map[string]any{"bg": fBG}), "createBudgetAlert.budgetAlert.id")
	e.runJobs("2026-11-03T00:00:00+09:00")
	fInvoice := str(e.ok(fTok, `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { id } } }`, map[string]any{"bg": fBG}), "billingGroup.invoice.id")
	e.at("2026-11-20T10:00:00+09:00")
	tok[operator] = e.op
	foreignIDs := map[string]string{}
	for _, id := range []string{fOrg, fAcct, fBG, fGrant.ID, fToken, fContract, fInvoice, fCredit, fEntry, fDiscount, fPromo, fPM,
		str(fCharge, "chargeCoins.charge.id"), str(fCharge, "chargeCoins.payment.id"), fBudget} {
		if id == "" {
			t.Fatal("a foreign fixture is missing")
		}
		foreignIDs[xid.Prefix(id)] = id
	}
	prefixes := make([]string, 0, len(foreignIDs))
	for p := range foreignIDs {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)

	types := introspectSchema(e)
	probed, slots := 0, 0
	for _, root := range []struct{ typ, op string }{{"Query", "query"}, {"Mutation", "mutation"}, {"Subscription", "subscription"}} {
		pol := queryPolicy
		switch root.typ {
		case "Mutation":
			pol = mutationPolicy
		case "Subscription":
			pol = map[string]policy{"paymentUpdated": {allowed: readers}}
		}
		for _, f := range types[root.typ].Fields {
			b := &idArgs{types: types, own: own}
			if f.Name == "node" || f.Name == "billingGroup" {
				b.own = map[string]any{"id": bg1}
			}
			decl, use, vars := b.args(f)
			if len(b.slots) == 0 {
				continue
			}
			who, ok := firstAllowed(pol[f.Name].allowed, master, pUsage, pPM, pRead, operator)
			if !ok {
				t.Logf("%s.%s: nobody may call it; not probed", root.typ, f.Name)
				continue
			}
			q := root.op + decl + " { " + f.Name + use + selectionOf(f.Type) + " }"
			answer := e.canonical
			if root.typ == "Subscription" {
				answer = e.subscribed
			}
			var ownAnswer string
			if who != operator {
				ownAnswer = answer(tok[who], q, vars) // the caller's own objects throughout
			}
			for _, s := range b.slots {
				slots++
				for _, prefix := range prefixes {
					if who == operator && prefix == xid.Prefix(s.ownID(vars)) {
						// Operators see every tenant: nothing is foreign to
						// them but ids of another kind than the slot takes.
						continue
					}
					foreignAnswer := answer(tok[who], q, s.with(vars, foreignIDs[prefix]))
					missingAnswer := answer(tok[who], q, s.with(vars, xid.New(prefix)))
					probed++
					if foreignAnswer != missingAnswer {
						t.Errorf("%s.%s, %s = a foreign %s_ id, as %s:\n  foreign: %s\n  missing: %s", root.typ, f.Name, s.name, prefix, who, foreignAnswer, missingAnswer)
					}
					// The id was looked up: another tenant's object of the
					// kind the slot takes is refused, unlike the caller's own.
					if prefix == xid.Prefix(s.ownID(vars)) && (foreignAnswer == ownAnswer || !strings.Contains(foreignAnswer, `"errors":[`)) {
						t.Errorf("%s.%s, %s = a foreign %s_ id, as %s: the id made no difference (the lookup was not reached?): %s", root.typ, f.Name, s.name, prefix, who, foreignAnswer)
					}
				}
			}
		}
	}
	// Arguments elsewhere than on the roots would escape the loop above.
	for name, ty := range types {
		if name == "Query" || name == "Mutation" || name == "Subscription" || strings.HasPrefix(name, "__") {
			continue
		}
		for _, f := range ty.Fields {
			for _, a := range f.Args {
				if a.Type.named().Name == "ID" {
					t.Errorf("%s.%s(%s: ID) is not probed for existence oracles: extend this test", name, f.Name, a.Name)
				}
			}
		}
	}
	t.Logf("%d id slots, %d foreign/missing pairs compared", slots, probed)
}

// idSlot is one place in a request's variables that holds an ID.
type idSlot struct {
	name string
	path []any // variable name, then input field names and list indexes
	list bool
	kind string // the scalar's type: ID, String, Decimal, Int…
}

// with returns a deep copy of vars with id in the slot.
func (s idSlot) with(vars map[string]any, id string) map[string]any { return s.set(vars, id) }

// set returns a deep copy of vars with v in the slot (in a list of one for
// a list).
func (s idSlot) set(vars map[string]any, v any) map[string]any {
	var cp map[string]any
	remarshal(vars, &cp)
	if s.list {
		v = []any{v}
	}
	var cur any = cp
	for i, k := range s.path {
		last := i == len(s.path)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k.(string)] = v
			}
			cur = c[k.(string)]
		case []any:
			if last {
				c[k.(int)] = v
			}
			cur = c[k.(int)]
		}
	}
	return cp
}

// ownID is the id the slot holds by default (the caller's own object).
func (s idSlot) ownID(vars map[string]any) string {
	var cur any = vars
	for _, k := range s.path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k.(string)]
		case []any:
			cur = c[k.(int)]
		}
	}
	if l, ok := cur.([]any); ok && len(l) > 0 {
		cur = l[0]
	}
	id, _ := cur.(string)
	return id
}

// idArgs builds a field's arguments — every required one, and every ID
// anywhere in them, required or not (every one at all with all) — and
// records where the IDs are (slots) and where the other scalars are
// (leaves).
type idArgs struct {
	types  map[string]inputType
	own    map[string]any
	all    bool
	slots  []idSlot
	leaves []idSlot
	keys   int
}

func (b *idArgs) args(f matrixField) (decl, use string, vars map[string]any) {
	vars = map[string]any{}
	var d, u []string
	for _, a := range f.Args {
		if a.Type.Kind != "NON_NULL" && !b.holdsID(a.Type, 0) && !b.all {
			continue
		}
		vars[a.Name] = b.value(a.Name, a.Type, []any{a.Name})
		d = append(d, "$"+a.Name+": "+render(a.Type))
		u = append(u, a.Name+": $"+a.Name)
	}
	if len(d) == 0 {
		return "", "", vars
	}
	return "(" + strings.Join(d, ", ") + ")", "(" + strings.Join(u, ", ") + ")", vars
}

func (b *idArgs) holdsID(tr typeRef, depth int) bool {
	n := tr.named()
	if n.Name == "ID" {
		return true
	}
	if n.Kind != "INPUT_OBJECT" || depth > 3 {
		return false
	}
	for _, f := range b.types[n.Name].InputFields {
		if b.holdsID(f.Type, depth+1) {
			return true
		}
	}
	return false
}

func isList(tr typeRef) bool {
	return tr.Kind == "LIST" || (tr.OfType != nil && tr.OfType.Kind == "LIST")
}

func (b *idArgs) value(name string, tr typeRef, path []any) any {
	n := tr.named()
	switch {
	case n.Name == "ID":
		b.slots = append(b.slots, idSlot{name: name, path: path, list: isList(tr)})
		if v, ok := b.own[name]; ok {
			return v
		}
		panic("no id of the caller's own for " + name + ": add one to the test's fixtures")
	case n.Kind == "INPUT_OBJECT":
		if isList(tr) {
			path = append(path, 0)
		}
		obj := map[string]any{}
		for _, f := range b.types[n.Name].InputFields {
			if b.own[f.Name] == absent {
				continue // left out on purpose
			}
			if f.Type.Kind == "NON_NULL" || b.own[f.Name] != nil || b.holdsID(f.Type, 0) || b.all {
				obj[f.Name] = b.value(f.Name, f.Type, append(append([]any{}, path...), f.Name))
			}
		}
		if isList(tr) {
			return []any{obj}
		}
		return obj
	case n.Kind == "ENUM":
		if v, ok := b.own[name].(string); ok && b.all {
			return v // a variant's choice (the sweep's)
		}
		return b.types[n.Name].EnumValues[0].Name
	}
	b.leaves = append(b.leaves, idSlot{name: name, path: path, list: isList(tr), kind: n.Name})
	var v any
	if own, ok := b.own[name]; ok {
		v = own
	} else {
		switch n.Name {
		case "Int":
			v = 1
		case "Boolean":
			v = true
		case "Decimal":
			v = "1"
		case "Month":
			v = "2026-11"
		case "DateTime":
			v = "2026-11-02T00:00:00Z"
		default:
			v = "x"
		}
	}
	if name == "idempotencyKey" || name == "eventId" || name == "depositId" {
		b.keys++
		v = fmt.Sprintf("oracle-%d-%s", b.keys, xid.New("k"))
	}
	if isList(tr) {
		return []any{v}
	}
	return v
}

func firstAllowed(allowed []caller, prefer ...caller) (caller, bool) {
	for _, c := range prefer {
		if contains(allowed, c) {
			return c, true
		}
	}
	return "", false
}

func selectionOf(tr typeRef) string {
	switch tr.named().Kind {
	case "OBJECT", "INTERFACE", "UNION":
		return " { __typename }"
	}
	return ""
}

// canonical is a request's whole answer — status, data and errors — with
// the request id (different on every request) left out.
func (e *env) canonical(token, query string, vars map[string]any) string {
	e.t.Helper()
	return e.canonicalFrom("", token, query, vars)
}

// canonicalFrom is canonical for a request forwarded for address xff (none
// when empty), as a reverse proxy would send it.
func (e *env) canonicalFrom(xff, token, query string, vars map[string]any) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", e.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Sprintf("%d %s", resp.StatusCode, raw)
	}
	errs, _ := v["errors"].([]any)
	for _, x := range errs {
		if ext, ok := x.(map[string]any)["extensions"].(map[string]any); ok {
			delete(ext, "requestId")
		}
	}
	out, _ := json.Marshal(v)
	return fmt.Sprintf("%d %s", resp.StatusCode, out)
}

// subscribed is canonical over a websocket: the first message a
// subscription gets (its error, or its first event within a second).
func (e *env) subscribed(token, query string, vars map[string]any) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := e.socket(ctx, token, false)
	defer c.Close(websocket.StatusNormalClosure, "")
	wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	defer rcancel()
	var msg map[string]any
	if err := wsjson.Read(rctx, c, &msg); err != nil {
		return "no message within a second"
	}
	errs, _ := msg["payload"].([]any)
	for _, x := range errs {
		if ext, ok := x.(map[string]any)["extensions"].(map[string]any); ok {
			delete(ext, "requestId")
		}
	}
	out, _ := json.Marshal(msg)
	return string(out)
}

// tenantFixture makes the callers' organization: its master, partner tokens
// of each scope, the operator, and one object of each kind the API's
// arguments name (a second billing group, a member with a grant, an API
// token, a credit, a card, a coin charge, a contract). own maps argument and
// input field names to the organization's values.
func (e *env) tenantFixture(db *store.DB, prefix string) (tok map[caller]string, own map[string]any) {
	e.t.Helper()
	tok = map[caller]string{operator: e.op}
	tok[master], _ = e.signUp(prefix + "-master@example.com")
	bg1 := e.mainGroup(tok[master])
	bg2 := str(e.ok(tok[master], `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
	for c, scope := range map[caller]string{pRead: "billing:read", pUsage: "usage:write", pPM: "payment_methods:write"} {
		tok[c] = str(e.ok(tok[master], `mutation($s: String!) { createApiToken(input: {name: "p", scopes: [$s]}) { token } }`, map[string]any{"s": scope}), "createApiToken.token")
	}
	ownToken := str(e.ok(tok[master], `mutation { createApiToken(input: {name: "spare", scopes: ["billing:read"]}) { apiToken { id } } }`, nil), "createApiToken.apiToken.id")
	ownCredit := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg1, "name": "Promo", "type": "FREE",
		"amount": "1000", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}}), "grantCredit.credit.id")
	ownPM := str(e.ok(tok[master], registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	ownCharge := str(e.ok(tok[master], `mutation($pm: ID!, $k: String!) { chargeCoins(input: {amount: "1000", paymentMethodId: $pm, idempotencyKey: $k}) { charge { id } } }`,
		map[string]any{"pm": ownPM, "k": prefix + "-1"}), "chargeCoins.charge.id")
	orgID := str(e.ok(tok[master], `{ viewer { organization { id } } }`, nil), "viewer.organization.id")
	member := db.Client.Account.Create().SetOrgID(orgID).SetEmail(prefix + "-member@example.com").SetBillingEmail(prefix + "-member@example.com").
		SetPasswordHash("x").SetMemberType("BUSINESS").SetResidenceCountry("KR").SaveX(context.Background())
	db.Client.Grant.Create().SetOrgID(orgID).SetBillingGroupID(bg1).SetAccountID(member.ID).SetRole("MEMBER").SaveX(context.Background())
	ownContract := str(e.ok(e.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: "2026-11-01"}) { contract { id } } }`,
		map[string]any{"bg": bg1}), "createContract.contract.id")
	ownBudget := str(e.ok(tok[master], `mutation($bg: ID!) { createBudgetAlert(input: {billingGroupId: $bg, name: "B", amount: "100000", thresholds: [80]}) { budgetAlert { id } } }`,
		map[string]any{"bg": bg1}), "createBudgetAlert.budgetAlert.id")
	own = map[string]any{"contractId": ownContract, "budgetAlertId": ownBudget, "thresholds": 50, "invoiceId": fixtureInvoice(e.t, db, bg1, "2026-10"),
		"billingGroupId": bg1, "toBillingGroupId": bg2, "accountId": member.ID, "accountIds": []any{member.ID}, "creditId": ownCredit,
		"paymentMethodId": ownPM, "chargeId": ownCharge, "id": ownToken, "ids": []any{bg1},
		"code": "NO-SUCH-CODE", "month": "2026-11", "serviceCode": "vm", "region": "kr-1", "metric": "hour", "quantity": "1",
		"occurredAt": "2026-11-02T00:00:00+09:00", "amount": "1000", "cardToken": "tok_visa", "email": "x@example.com",
	}
	return tok, own
}
