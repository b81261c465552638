package app_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/testenv"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// handJWT builds a token byte by byte with the standard library, not with
// the JWT library the server uses.
func handJWT(header, claims map[string]any, sign func(signingInput []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	return in + "." + b64(sign([]byte(in)))
}

// Hostile tokens are refused with UNAUTHENTICATED, quickly; an identity
// provider's RS256 and ES256 tokens from the JWKS file are accepted.
func TestHostileTokens(t *testing.T) {
	db := testenv.SQLite(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := map[string]any{"keys": []any{
		map[string]any{"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		map[string]any{"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64(ecKey.X.FillBytes(make([]byte, 32))), "y": b64(ecKey.Y.FillBytes(make([]byte, 32)))},
	}}
	path := filepath.Join(t.TempDir(), "jwks.json")
	raw, _ := json.Marshal(jwks)
	os.WriteFile(path, raw, 0o600)
	e := newEnv(t, db)
	if err := e.app.Tokens.LoadJWKS(path); err != nil {
		t.Fatal(err)
	}
	_, acct := e.signUp("idp-user@example.com")
	secret := []byte("test-secret-test-secret-test-secret!")
	now := e.clock.Now().Unix()
	good := map[string]any{"iss": "cloudbill", "aud": []string{"cloudbill-api"}, "sub": acct, "typ": "access",
		"iat": now, "nbf": now, "exp": now + 600}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hs256 := func(key []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, key); m.Write(in); return m.Sum(nil) }
	}
	hs512 := func(in []byte) []byte { m := hmac.New(sha512.New, secret); m.Write(in); return m.Sum(nil) }
	rs256 := func(in []byte) []byte {
		d := sha256.Sum256(in)
		s, _ := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, d[:])
		return s
	}
	es256 := func(in []byte) []byte {
		d := sha256.Sum256(in)
		r, s, _ := ecdsa.Sign(rand.Reader, ecKey, d[:])
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
	pubPEM, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubPEM})
	hsHeader := map[string]any{"alg": "HS256", "typ": "JWT"}

	// The control: a hand-built HS256 token with the right key works.
	if r := e.gql(handJWT(hsHeader, good, hs256(secret)), `{ viewer { account { id } } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("hand-built valid token refused: %+v", r.Errors)
	}
	idpClaims := map[string]any{"iss": "cloudbill", "aud": "cloudbill-api", "sub": "idp|123", "email": "IDP-USER@example.com",
		"iat": now, "exp": now + 600}
	for name, tok := range map[string]string{
		"RS256 from the identity provider": handJWT(map[string]any{"alg": "RS256", "kid": "rsa-1"}, idpClaims, rs256),
		"ES256 from the identity provider": handJWT(map[string]any{"alg": "ES256", "kid": "ec-1"}, idpClaims, es256),
	} {
		r := e.gql(tok, `{ viewer { account { id } } }`, nil)
		if len(r.Errors) > 0 || str(r.Data, "viewer.account.id") != acct {
			t.Errorf("%s: %+v %v", name, r.Errors, r.Data)
		}
	}
	hostile := map[string]string{
		"alg none":                       handJWT(map[string]any{"alg": "none"}, good, func([]byte) []byte { return nil }),
		"alg None":                       handJWT(map[string]any{"alg": "None"}, good, func([]byte) []byte { return nil }),
		"HS512 when HS256 is required":   handJWT(map[string]any{"alg": "HS512"}, good, hs512),
		"HS256 keyed with the RSA PEM":   handJWT(map[string]any{"alg": "HS256", "kid": "rsa-1"}, good, hs256(pemBytes)),
		"RS256 with an unknown key id":   handJWT(map[string]any{"alg": "RS256", "kid": "nope"}, idpClaims, rs256),
		"RS256 header on the EC key":     handJWT(map[string]any{"alg": "RS256", "kid": "ec-1"}, idpClaims, rs256),
		"ES256 header on the RSA key":    handJWT(map[string]any{"alg": "ES256", "kid": "rsa-1"}, idpClaims, es256),
		"expired":                        handJWT(hsHeader, with("exp", now-120), hs256(secret)),
		"without exp":                    handJWT(hsHeader, with("exp", nil), hs256(secret)),
		"wrong aud":                      handJWT(hsHeader, with("aud", "someone-else"), hs256(secret)),
		"wrong iss":                      handJWT(hsHeader, with("iss", "evil"), hs256(secret)),
		"nbf in the future":              handJWT(hsHeader, with("nbf", now+3600), hs256(secret)),
		"iat in the future":              handJWT(hsHeader, with("iat", now+3600), hs256(secret)),
		"refresh type":                   handJWT(hsHeader, with("typ", "refresh"), hs256(secret)),
		"no type":                        handJWT(hsHeader, with("typ", nil), hs256(secret)),
		"wrong secret":                   handJWT(hsHeader, good, hs256([]byte("guess-guess-guess-guess-guess-guess"))),
		"thousands of dots":              strings.Repeat(".", 5000),
		"huge":                           strings.Repeat("a", 9000) + ".b.c",
		"unknown account":                handJWT(hsHeader, with("sub", "acct_01zzzzzzzzzzzzzzzzzzzzzzzz"), hs256(secret)),
		"IdP token for an unknown email": handJWT(map[string]any{"alg": "RS256", "kid": "rsa-1"}, map[string]any{"iss": "cloudbill", "aud": "cloudbill-api", "email": "nobody@example.com", "iat": now, "exp": now + 600}, rs256),
	}
	for name, tok := range hostile {
		start := time.Now()
		r := e.gql(tok, `{ viewer { account { id } } }`, nil)
		if r.code() != "UNAUTHENTICATED" || r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, %+v", name, r.Status, r.Errors)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %s", name, d)
		}
	}
}

// graphql-cop's checks and the other abuse limits, against a server
// configured as in production where that matters.
func TestGraphQLAbuse(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	tok, _ := e.signUp("abuse@example.com")
	post := func(contentType, body string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	var cases int
	check := func(name string, cond bool, detail any) {
		cases++
		if !cond {
			t.Errorf("%s: %v", name, detail)
		}
	}
	aliases := "{"
	for i := 0; i < 31; i++ {
		aliases += fmt.Sprintf(" a%d: __typename", i)
	}
	r := e.gql(tok, aliases+" }", nil)
	check("alias overloading", r.code() == "QUERY_TOO_COMPLEX", r.Errors)
	r = e.gql(tok, "{"+strings.Repeat(" __typename", 501)+" }", nil)
	check("field duplication", r.code() == "QUERY_TOO_COMPLEX", r.Errors)
	r = e.gql(tok, "{ __typename"+strings.Repeat(" @include(if: true)", 60)+" }", nil)
	check("directive overloading", len(r.Errors) > 0 && r.Data == nil, r.Errors)
	r = e.gql(tok, "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }", nil)
	check("circular fragments", r.code() == "GRAPHQL_VALIDATION_FAILED", r.Errors)
	deep := "{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } } } } } }"
	r = e.gql(tok, deep, nil)
	check("circular introspection", len(r.Errors) > 0 && r.Data == nil, r.Errors)
	r = e.gql(tok, `{ viewr { roles } }`, nil)
	check("no field suggestions", len(r.Errors) == 1 && !strings.Contains(r.Errors[0].Message, "Did you mean"), r.Errors)
	resp, body := post("application/json", `[{"query":"{ __typename }"},{"query":"{ __typename }"}]`)
	check("batching refused", resp.StatusCode >= 400 && !strings.Contains(body, `"__typename"`), body)
	resp, body = post("application/x-www-form-urlencoded", "query="+url.QueryEscape(`mutation { createBillingGroup(input: {name: "csrf"}) { billingGroup { id } } }`))
	check("url-encoded POST (CSRF)", resp.StatusCode >= 400 && !strings.Contains(body, "billingGroup"), body)
	resp, body = post("text/plain", `{"query":"mutation { createBillingGroup(input: {name: \"csrf2\"}) { billingGroup { id } } }"}`)
	check("text/plain POST (CSRF)", resp.StatusCode >= 400 && !strings.Contains(body, "billingGroup"), body)
	req, _ := http.NewRequest("GET", e.srv.URL+"/graphql?query="+url.QueryEscape(`mutation { createBillingGroup(input: {name: "get"}) { billingGroup { id } } }`), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	gresp, _ := http.DefaultClient.Do(req)
	gbody, _ := io.ReadAll(gresp.Body)
	gresp.Body.Close()
	check("GET mutation refused", gresp.StatusCode >= 400 && !strings.Contains(string(gbody), "billingGroup\":{"), string(gbody))
	n := e.ok(tok, `{ viewer { billingGroups { name } } }`, nil)
	check("no CSRF/GET side effects", len(get(n, "viewer.billingGroups").([]any)) == 1, n)
	resp, body = post("application/json", `{"query": "{ __typename `)
	check("unhandled error is clean", resp.StatusCode == 400 || (strings.Contains(body, "errors") && !strings.Contains(body, "goroutine")), body)
	r = e.gql(tok, `{ __typename }`, nil)
	check("no trace extension", r.Errors == nil, r.Errors)
	resp, body = post("application/json", `{"query":"{ viewer { roles } }","extensions":{"tracing":true}}`)
	check("trace mode off", !strings.Contains(body, "tracing") && !strings.Contains(body, "execution"), body)
	big := `{"query":"{ __typename }","variables":{"x":"` + strings.Repeat("x", 2<<20) + `"}}`
	resp, _ = post("application/json", big)
	check("body size limit", resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode == 400, resp.Status)
	r = e.gql(tok, "{"+strings.Repeat(" a: __typename", 4000)+" }", nil)
	check("parser token limit", len(r.Errors) > 0 && r.Data == nil, r.Errors)
	bg := e.mainGroup(tok)
	r = e.gql(tok, `query($id: ID!) { billingGroup(id: $id) { invoices { totalCount } } }`, map[string]any{"id": bg})
	check("connections need first or last", r.code() == "BAD_USER_INPUT", r.Errors)
	r = e.gql(tok, `query($id: ID!) { billingGroup(id: $id) { invoices(first: 101) { totalCount } } }`, map[string]any{"id": bg})
	check("page size at most 100", r.code() == "BAD_USER_INPUT", r.Errors)
	r = e.gql(tok, `query($id: ID!) { billingGroup(id: $id) { credits(first: 100) { edges { node { history(first: 100) { edges { node { id invoice { lines { region } } } } } } } } } }`, map[string]any{"id": bg})
	check("cost limit", r.code() == "QUERY_TOO_COMPLEX", r.Errors)
	t.Logf("%d abuse cases checked", cases)
}

// Each caller spends query cost from its own budget, reported like
// Shopify's extensions.cost; an exhausted caller is THROTTLED, others not.
func TestCostBudget(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) { c.RateLimit = 1 }) // capacity 20000, 1 point/s
	a, _ := e.signUp("budget-a@example.com")
	b, _ := e.signUp("budget-b@example.com")
	bg := e.mainGroup(a)
	q := `query($id: ID!) { billingGroup(id: $id) { invoices(first: 100) { edges { node { id month status } } } } }` // 2 + 100 × 4
	body, _ := json.Marshal(map[string]any{"query": q, "variables": map[string]any{"id": bg}})
	var last map[string]any
	throttled := 0
	for i := 0; i < 60 && throttled == 0; i++ {
		req, _ := http.NewRequest("POST", e.srv.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+a)
		resp, _ := http.DefaultClient.Do(req)
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if errs, _ := out["errors"].([]any); len(errs) > 0 {
			if get(out, "errors.0.extensions.code") == "THROTTLED" {
				throttled++
				continue
			}
			t.Fatalf("errors: %v", errs)
		}
		last = out
	}
	cost, _ := get(last, "extensions.cost.requestedQueryCost").(float64)
	if cost < 400 || throttled == 0 || get(last, "extensions.cost.throttleStatus.maximumAvailable") == nil {
		t.Fatalf("cost %v, throttled %d, last %v", cost, throttled, get(last, "extensions"))
	}
	// Another caller still has its own budget.
	e.ok(b, `{ viewer { roles } }`, nil)
}

// Production mode: introspection, the playground and sandbox operations
// are off; the demo is not seeded.
func TestProductionMode(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.Production, c.Introspection, c.Playground = true, false, false
	})
	tok, _ := e.signUp("prod@example.com")
	// Introspection is refused as a validation failure that says so, for
	// any caller, wherever __schema or __type hides (aliases, fragments);
	// __typename stays.
	for _, q := range []string{
		`{ __schema { types { name } } }`,
		`{ t: __type(name: "Query") { name } }`,
		`query { ...F } fragment F on Query { __schema { queryType { name } } }`,
	} {
		for _, caller := range []string{tok, ""} {
			r := e.gql(caller, q, nil)
			if r.code() != "GRAPHQL_VALIDATION_FAILED" || r.Data != nil || !strings.Contains(r.Errors[0].Message, "introspection is disabled") {
				t.Fatalf("introspection in production: %+v %v\nquery: %s", r.Errors, r.Data, q)
			}
		}
	}
	if d := e.ok(tok, `{ __typename viewer { __typename } }`, nil); d["__typename"] != "Query" {
		t.Fatalf("__typename in production: %v", d)
	}
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("playground in production: %d", resp.StatusCode)
	}
	e.fails("FORBIDDEN", e.op, `mutation { simulateDeposit(input: {paymentMethodId: "pm_x", amount: "1", depositId: "d"}) { payment { id } } }`, nil)
	if _, err := app.LoadConfig(func(k string) string {
		return map[string]string{"CLOUDBILL_ENV": "production", "CLOUDBILL_CLOCK": "2026-01-01T00:00:00Z"}[k]
	}); err == nil {
		t.Fatal("CLOUDBILL_CLOCK accepted in production")
	}
}

// Every mutation lands in the audit log with who, what (secrets redacted),
// the outcome and the request id; the master reads its organization's,
// nobody else's.
func TestAuditLog(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	m, _ := e.signUp("audit@example.com")
	other, _ := e.signUp("audit-other@example.com")
	e.ok(m, `mutation { createBillingGroup(input: {name: "Audited"}) { billingGroup { id } } }`, nil)
	e.fails("FORBIDDEN", m, `mutation { createRegion(input: {code: "x-1", name: "X"}) { region { code } } }`, nil)
	e.ok(m, registerMethod, card("tok_visa"))
	log := e.ok(m, `{ auditLog(first: 10) { totalCount edges { node { actor action input outcome requestID createdAt } } } }`, nil)
	if get(log, "auditLog.totalCount") != 3.0 {
		t.Fatalf("audit log = %v", log)
	}
	seen := map[string]string{}
	for _, ed := range get(log, "auditLog.edges").([]any) {
		seen[str(ed, "node.action")] = str(ed, "node.outcome")
		if str(ed, "node.requestID") == "" || !strings.HasPrefix(str(ed, "node.actor"), "account:") {
			t.Fatalf("entry = %v", ed)
		}
		if strings.Contains(str(ed, "node.input"), "tok_visa") {
			t.Fatalf("a card token reached the audit log: %v", ed)
		}
	}
	if seen["createBillingGroup"] != "ok" || seen["createRegion"] != "FORBIDDEN" || seen["registerPaymentMethod"] != "ok" {
		t.Fatalf("actions = %v", seen)
	}
	if get(e.ok(other, `{ auditLog(first: 10) { totalCount } }`, nil), "auditLog.totalCount") != 0.0 {
		t.Fatal("another organization reads this audit log")
	}
	if get(e.ok(e.op, `{ auditLog(first: 100) { totalCount } }`, nil), "auditLog.totalCount").(float64) < 3 {
		t.Fatal("operators read every organization's log")
	}
}

// Issue 14, finding 10: someone without an account cannot grow the audit
// log. Their refused mutations (here 5 requests of 30 aliased ones) are
// counted by action and outcome in /metrics, not stored one by one.
func TestAnonymousCallsDoNotGrowTheAuditLog(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	before := get(e.ok(e.op, `{ auditLog(first: 1) { totalCount } }`, nil), "auditLog.totalCount")
	q := "mutation {"
	for i := 0; i < 30; i++ {
		q += fmt.Sprintf(` m%d: createBillingGroup(input: {name: "x"}) { billingGroup { id } }`, i)
	}
	for i := 0; i < 5; i++ {
		if r := e.gql("", q+" }", nil); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("anonymous mutations: %+v", r.Errors)
		}
	}
	if after := get(e.ok(e.op, `{ auditLog(first: 1) { totalCount } }`, nil), "auditLog.totalCount"); after != before {
		t.Fatalf("anonymous refused mutations grew the audit log from %v to %v entries", before, after)
	}
	want := `cloudbill_anonymous_mutations_total{action="createBillingGroup",outcome="UNAUTHENTICATED"} 150`
	if m := e.metrics(); !strings.Contains(m, want) {
		t.Fatalf("/metrics lacks %s", want)
	}
}

// metrics returns the server's /metrics page.
func (e *env) metrics() string {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
