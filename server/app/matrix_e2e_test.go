package app_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cloudbill/cloudbill/server/testenv"
)

// The authorization matrix (R-05..R-07): every query field, mutation
// and billing-group/account field, taken from the schema by introspection,
// against every kind of caller. A field with no policy below fails the test,
// so no new field can be forgotten.

type caller string

const (
	anon        caller = "anonymous"
	memberNo    caller = "member-without-grant"
	memberGrant caller = "member-with-grant"
	bm          caller = "billing-manager"
	master      caller = "master"
	pRead       caller = "partner-billing:read"
	pUsage      caller = "partner-usage:write"
	pPM         caller = "partner-payment_methods:write"
	operator    caller = "operator"
	foreign     caller = "foreign-master"
)

var callers = []caller{anon, memberNo, memberGrant, bm, master, pRead, pUsage, pPM, operator, foreign}

// policy says who may use a field; refs says whether its arguments name the
// target organization's objects (then a foreign caller must get NOT_FOUND).
type policy struct {
	allowed []caller
	refs    bool
	skip    string // why the matrix does not run it (covered elsewhere)
}

var (
	public    = []caller{anon, memberNo, memberGrant, bm, master, pRead, pUsage, pPM, operator, foreign}
	anyAuth   = []caller{memberNo, memberGrant, bm, master, pRead, pUsage, pPM, operator, foreign}
	accounts  = []caller{memberNo, memberGrant, bm, master, foreign}
	readers   = []caller{memberGrant, bm, master, pRead, operator}
	managers  = []caller{bm, master, operator}
	masters   = []caller{master, foreign}
	operators = []caller{operator}
	nobody    = []caller{}
)

var queryPolicy = map[string]policy{
	"viewer":        {allowed: anyAuth},
	"node":          {allowed: readers, refs: true},
	"nodes":         {allowed: readers, refs: true},
	"billingGroup":  {allowed: readers, refs: true},
	"billingPolicy": {allowed: public},
	"services":      {allowed: public},
	"regions":       {allowed: public},
	"auditLog":      {allowed: []caller{master, foreign, operator}},
	// Operators find customers (issue 16); to anyone else it is a forbidden field.
	"searchOrganizations": {allowed: operators},
	"searchAccounts":      {allowed: operators},
	"searchBillingGroups": {allowed: operators},
}

var mutationPolicy = map[string]policy{
	"signUp":             {skip: "auth flows: TestAuthEndToEnd"},
	"login":              {skip: "auth flows: TestAuthEndToEnd"},
	"refreshToken":       {skip: "auth flows: TestAuthEndToEnd"},
	"changeBillingEmail": {allowed: accounts},
	// An account verifies its own phone; a partner token has no phone.
	"requestPhoneVerification": {allowed: accounts},
	"confirmPhoneVerification": {allowed: accounts},
	"createApiToken":           {allowed: []caller{master, foreign}},
	"revokeApiToken":           {allowed: []caller{master}, refs: true},
	"createBillingGroup":       {allowed: masters},
	"grantBillingGroupRole":    {allowed: []caller{master}, refs: true},
	"revokeBillingGroupRole":   {allowed: []caller{master}, refs: true},
	"inviteMember":             {allowed: masters},
	"acceptInvitation":         {allowed: accounts}, // the invitee's own session; tested in TestInvitations
	"createRegion":             {allowed: operators},
	"createService":            {allowed: operators},
	"createContract":           {allowed: operators, refs: true},
	"endContract":              {allowed: operators, refs: true},
	"recordUsage":              {allowed: []caller{pUsage, operator}, refs: true},
	"runBillingJobs":           {allowed: operators},
	"createPromotion":          {allowed: operators},
	"issueUsageConfirmation":   {allowed: managers, refs: true},
	"exportUsageDetails":       {allowed: managers, refs: true},
	"grantCredit":              {allowed: operators, refs: true},
	"recoverCredit":            {allowed: operators, refs: true},
	"refundPaidCredit":         {allowed: operators, refs: true},
	"sellPaidCredit":           {allowed: operators, refs: true},
	"applyWelcomeCredit":       {allowed: masters},
	// Both ends: the billing manager manages the credit's group
	// (bg1) but not the group it would give to (bg2).
	"transferCredit":        {allowed: []caller{master, operator}, refs: true},
	"createCoupon":          {allowed: operators},
	"registerCoupon":        {allowed: managers, refs: true},
	"createDiscount":        {allowed: operators, refs: true},
	"registerPaymentMethod": {allowed: []caller{bm, master, pPM, foreign}},
	// partners register payment methods, never change which one pays.
	"changePaymentMethod":  {allowed: []caller{bm, master, foreign}},
	"chargeCoins":          {allowed: accounts},
	"shareCoins":           {allowed: []caller{master}, refs: true},
	"unshareCoins":         {allowed: []caller{master}, refs: true},
	"payInstantly":         {allowed: []caller{bm, master}, refs: true},
	"applyCashReceipt":     {allowed: nobody}, // every account here is a business: cash receipts are for individuals
	"cancelCashReceipt":    {allowed: nobody},
	"simulateDeposit":      {allowed: operators, refs: true},
	"certifyBusiness":      {allowed: operators, refs: true},
	"updateBillingProfile": {allowed: accounts},
	// Void and reissue: operators' corrections.
	"voidInvoice":    {allowed: operators, refs: true},
	"reissueInvoice": {allowed: operators, refs: true},
	// Credit notes: operators' corrections of issued invoices.
	"issueCreditNote": {allowed: operators, refs: true},
	// Budget alerts: who manages the billing group.
	"createBudgetAlert": {allowed: managers, refs: true},
	"updateBudgetAlert": {allowed: managers, refs: true},
	"deleteBudgetAlert": {allowed: managers, refs: true, skip: "the first allowed caller deletes it: TestBudgetAlerts"},
}

// Fields of BillingGroup, reached as billingGroup(id: <target group>) { f }:
// who may read the group may read these, except where listed.
var billingGroupFieldPolicy = map[string][]caller{
	"credits": managers, "creditSummary": managers, "grants": {master, operator}, "budgetAlerts": managers,
}

// Fields of the target master's Account, reached through node(id).
var accountFieldPolicy = map[string][]caller{
	"apiTokens": {master, operator}, "paymentMethods": {master, operator}, "coins": {master, operator},
	"cashReceipt": {master, operator}, "billingProfile": {master, operator},
	"phoneNumber": {master, operator}, "phoneVerifiedAt": {master, operator},
}

type matrixField struct {
	Name string
	Args []struct {
		Name string
		Type typeRef
	}
	Type typeRef
}

type typeRef struct {
	Kind, Name string
	OfType     *typeRef
}

func (t typeRef) named() typeRef {
	for t.OfType != nil {
		t = *t.OfType
	}
	return t
}

type inputType struct {
	Kind, Name  string
	InputFields []struct {
		Name string
		Type typeRef
	}
	EnumValues []struct{ Name string }
	Fields     []matrixField
}

const typeRefQ = `kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`

func TestAuthorizationMatrix(t *testing.T) {
	db := testenv.SQLite(t)
	e := newEnv(t, db)
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")

	// The target organization and its people.
	tok := map[caller]string{operator: e.op}
	tok[master], _ = e.signUp("t-master@example.com")
	bg1 := e.mainGroup(tok[master])
	bg2 := str(e.ok(tok[master], `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
	db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z'`)
	join := func(email, role string) (string, string) {
		e.signUp(email)
		id := e.join(tok[master], email)
		if role != "" {
			e.ok(tok[master], `mutation($bg: ID!, $a: ID!, $r: BillingGroupRole!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: $r}) { billingGroup { id } } }`,
				map[string]any{"bg": bg1, "a": id, "r": role})
		}
		return e.login(email), id
	}
	tok[memberNo], _ = join("t-nogrant@example.com", "")
	tok[memberGrant], _ = join("t-member@example.com", "MEMBER")
	tok[bm], _ = join("t-bm@example.com", "BILLING_MANAGER")
	_, spare := join("t-spare@example.com", "")
	tok[master] = e.login("t-master@example.com")
	for c, scope := range map[caller]string{pRead: "billing:read", pUsage: "usage:write", pPM: "payment_methods:write"} {
		tok[c] = str(e.ok(tok[master], `mutation($s: String!) { createApiToken(input: {name: "p", scopes: [$s]}) { token } }`, map[string]any{"s": scope}), "createApiToken.token")
	}
	spareToken := str(e.ok(tok[master], `mutation { createApiToken(input: {name: "spare", scopes: ["billing:read"]}) { apiToken { id } } }`, nil), "createApiToken.apiToken.id")
	tok[foreign], _ = e.signUp("f-master@example.com")
	masterID := str(e.ok(tok[master], `{ viewer { account { id } } }`, nil), "viewer.account.id")

	// Objects of the target organization that arguments name.
	credit := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg1, "name": "Promo", "type": "FREE",
		"amount": "1000", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}}), "grantCredit.credit.id")
	contract := str(e.ok(e.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: "2026-10-01"}) { contract { id } } }`,
		map[string]any{"bg": bg1}), "createContract.contract.id")
	pm := str(e.ok(tok[master], registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	charge := str(e.ok(tok[master], `mutation($pm: ID!) { chargeCoins(input: {amount: "1000", paymentMethodId: $pm, idempotencyKey: "m-1"}) { charge { id } } }`,
		map[string]any{"pm": pm}), "chargeCoins.charge.id")
	e.ok(e.op, newCoupon, coupon("MATRIX-CODE", 100, "2026-10-01T00:00:00+09:00", "2027-01-01T00:00:00+09:00"))
	budget := str(e.ok(tok[master], `mutation($bg: ID!) { createBudgetAlert(input: {billingGroupId: $bg, name: "b", amount: "100000", thresholds: [80]}) { budgetAlert { id } } }`,
		map[string]any{"bg": bg1}), "createBudgetAlert.budgetAlert.id")
	byName := map[string]any{
		"billingGroupId": bg1, "toBillingGroupId": bg2, "accountId": spare, "accountIds": []string{spare}, "creditId": credit,
		"paymentMethodId": pm, "chargeId": charge, "contractId": contract, "ids": []string{bg1}, "email": "nobody@example.com",
		"code": "MATRIX-CODE", "month": "2026-10", "startsOn": "2026-10-01", "endsOn": "2026-12-31", "serviceCode": "vm",
		"region": "kr-1", "metric": "hour", "quantity": "1", "cardToken": "tok_visa", "birthDate": "1990-01-01",
		"residenceCountry": "KR", "scopes": []string{"billing:read"}, "amount": "1000", "percentage": "10", "unitPrice": "1",
		"occurredAt": "2026-10-15T00:00:00+09:00", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00",
		"validFrom": "2026-10-01T00:00:00+09:00", "validUntil": "2027-01-01T00:00:00+09:00", "depositId": "d-1",
		"id": spareToken, "budgetAlertId": budget, "thresholds": []int{50}, "invoiceId": fixtureInvoice(t, db, bg1, "2026-10"),
		"reason": "matrix",
	}

	typeByName := introspectSchema(e)
	var value func(name string, tr typeRef, depth int) any
	value = func(name string, tr typeRef, depth int) any {
		if v, ok := byName[name]; ok {
			return v
		}
		n := tr.named()
		switch n.Kind {
		case "ENUM":
			return typeByName[n.Name].EnumValues[0].Name
		case "INPUT_OBJECT":
			obj := map[string]any{}
			for _, f := range typeByName[n.Name].InputFields {
				if f.Type.Kind == "NON_NULL" || byName[f.Name] != nil {
					obj[f.Name] = value(f.Name, f.Type, depth+1)
				}
			}
			if tr.Kind == "LIST" || (tr.OfType != nil && tr.OfType.Kind == "LIST") {
				return []any{obj}
			}
			return obj
		}
		var v any
		switch n.Name {
		case "Int":
			v = 1
		case "Boolean":
			v = true
		case "Decimal":
			v = "1"
		case "Month":
			v = "2026-10"
		case "DateTime", "Time":
			v = "2026-11-01T00:00:00Z"
		case "idempotencyKey":
		default:
			v = "x"
		}
		if name == "idempotencyKey" {
			v = fmt.Sprintf("k-%d", len(byName))
		}
		if tr.Kind == "LIST" || (tr.OfType != nil && tr.OfType.Kind == "LIST") {
			return []any{v}
		}
		return v
	}
	// selection returns what to select under a field of type tr.
	selection := func(tr typeRef) string {
		switch tr.named().Kind {
		case "OBJECT", "INTERFACE", "UNION":
			return " { __typename }"
		}
		return ""
	}
	args := func(f matrixField) (string, map[string]any) {
		var decl, use []string
		vars := map[string]any{}
		for _, a := range f.Args {
			required := a.Type.Kind == "NON_NULL"
			if !required && a.Name != "first" {
				continue
			}
			if a.Name == "first" {
				vars[a.Name] = 1
			} else {
				vars[a.Name] = value(a.Name, a.Type, 0)
			}
			decl = append(decl, "$"+a.Name+": "+render(a.Type))
			use = append(use, a.Name+": $"+a.Name)
		}
		d, u := "", ""
		if len(decl) > 0 {
			d, u = "("+strings.Join(decl, ", ")+")", "("+strings.Join(use, ", ")+")"
		}
		return d + "|" + u, vars
	}

	type cell struct {
		where, field string
		allowed      []caller
		refs         bool
	}
	checked, skipped := 0, 0
	run := func(c cell, build func(c caller) (string, map[string]any)) {
		for _, who := range callers {
			q, vars := build(who)
			r := e.gql(tok[who], q, vars)
			code := r.code()
			allowed := contains(c.allowed, who)
			var ok bool
			switch {
			case who == anon && !allowed:
				ok = code == "UNAUTHENTICATED"
			case who == foreign && c.refs:
				ok = code == "NOT_FOUND" || (!contains(c.allowed, master) && code == "FORBIDDEN")
			case allowed && c.where != "Mutation":
				ok = code == "" // a read the caller may make succeeds outright
			case allowed:
				ok = code != "UNAUTHENTICATED" && code != "FORBIDDEN" && code != "INTERNAL" && code != "GRAPHQL_VALIDATION_FAILED"
			default:
				ok = code == "FORBIDDEN"
			}
			checked++
			if !ok {
				t.Errorf("%s %s as %s: got %q (%v), allowed=%v", c.where, c.field, who, code, r.Errors, allowed)
			}
		}
	}

	// Query and Mutation fields.
	for _, root := range []struct{ typ, op string }{{"Query", "query"}, {"Mutation", "mutation"}} {
		pol := queryPolicy
		if root.typ == "Mutation" {
			pol = mutationPolicy
		}
		fields := typeByName[root.typ].Fields
		sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
		for _, f := range fields {
			p, ok := pol[f.Name]
			if !ok {
				t.Errorf("%s.%s has no authorization policy in the matrix: add one", root.typ, f.Name)
				continue
			}
			if p.skip != "" {
				skipped++
				continue
			}
			f := f
			run(cell{where: root.typ, field: f.Name, allowed: p.allowed, refs: p.refs}, func(caller) (string, map[string]any) {
				da, vars := args(f)
				parts := strings.SplitN(da, "|", 2)
				if _, ok := vars["id"]; ok && root.typ == "Query" {
					vars["id"] = bg1 // node, billingGroup: the target group
				}
				return root.op + parts[0] + " { " + f.Name + parts[1] + selection(f.Type) + " }", vars
			})
		}
	}
	for name := range queryPolicy {
		if !hasField(typeByName["Query"].Fields, name) {
			t.Errorf("policy for Query.%s, which the schema lacks", name)
		}
	}
	for name := range mutationPolicy {
		if !hasField(typeByName["Mutation"].Fields, name) {
			t.Errorf("policy for Mutation.%s, which the schema lacks", name)
		}
	}

	// Nested: every field of the target billing group, and of its master's account.
	for _, nest := range []struct {
		typ, prefix, suffix string
		id                  string
		pol                 map[string][]caller
		base                []caller
	}{
		{"BillingGroup", "billingGroup(id: $id) {", "}", bg1, billingGroupFieldPolicy, readers},
		{"Account", "node(id: $id) { ... on Account {", "} }", masterID, accountFieldPolicy, []caller{master, operator}},
	} {
		for _, f := range typeByName[nest.typ].Fields {
			allowed := nest.base
			if p, ok := nest.pol[f.Name]; ok {
				allowed = intersect(p, nest.base)
			}
			f := f
			nest := nest
			run(cell{where: nest.typ, field: f.Name, allowed: allowed, refs: true}, func(caller) (string, map[string]any) {
				da, vars := args(f)
				parts := strings.SplitN(da, "|", 2)
				decl := "($id: ID!"
				if parts[0] != "" {
					decl += ", " + strings.TrimPrefix(parts[0], "(")
				} else {
					decl += ")"
				}
				vars["id"] = nest.id
				return "query" + decl + " { " + nest.prefix + " " + f.Name + parts[1] + selection(f.Type) + " " + nest.suffix + " }", vars
			})
		}
	}
	t.Logf("authorization matrix: %d cells checked, %d fields skipped (covered elsewhere)", checked, skipped)
}

// introspectSchema reads every type of the schema, with its fields, their
// arguments and input fields, as an operator.
func introspectSchema(e *env) map[string]inputType {
	e.t.Helper()
	sch := e.ok(e.op, `{ __schema { types { kind name enumValues { name } inputFields { name type { `+typeRefQ+` } }
		fields { name type { `+typeRefQ+` } args { name type { `+typeRefQ+` } } } } } }`, nil)
	typeByName := map[string]inputType{}
	for _, raw := range get(sch, "__schema.types").([]any) {
		var it inputType
		remarshal(raw, &it)
		typeByName[it.Name] = it
	}
	return typeByName
}

func remarshal(in, out any) {
	b, _ := json.Marshal(in)
	json.Unmarshal(b, out)
}

func render(t typeRef) string {
	switch t.Kind {
	case "NON_NULL":
		return render(*t.OfType) + "!"
	case "LIST":
		return "[" + render(*t.OfType) + "]"
	}
	return t.Name
}

func hasField(fs []matrixField, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

func contains(cs []caller, c caller) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func intersect(a, b []caller) []caller {
	var out []caller
	for _, x := range a {
		if contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
