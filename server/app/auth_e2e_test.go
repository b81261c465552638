package app_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Sign-up, login, refresh rotation and every way a bad credential is
// refused, through real HTTP requests.
func TestAuthEndToEnd(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		in := func(over map[string]any) map[string]any {
			m := map[string]any{"email": "kim@example.com", "password": "Secret!234", "memberType": "INDIVIDUAL",
				"residenceCountry": "KR", "birthDate": "2000-01-01"}
			for k, v := range over {
				m[k] = v
			}
			return map[string]any{"in": m}
		}
		// individuals must be 19 or older (the clock reads 2026-11-20).
		r := e.fails("BAD_USER_INPUT", "", signUpMutation, in(map[string]any{"birthDate": "2007-11-21"}))
		if r.Errors[0].Extensions["field"] != "birthDate" {
			t.Fatalf("field = %v", r.Errors[0].Extensions["field"])
		}
		e.ok("", signUpMutation, in(map[string]any{"email": "just19@example.com", "birthDate": "2007-11-20"}))
		// 8–16 characters of letters, digits and specials.
		for _, pw := range []string{"short1!", "nodigits!!", "NoSpecial12", "waytoolong-12345!"} {
			r := e.fails("BAD_USER_INPUT", "", signUpMutation, in(map[string]any{"password": pw}))
			if r.Errors[0].Extensions["field"] != "password" {
				t.Fatalf("password %q: field = %v", pw, r.Errors[0].Extensions["field"])
			}
		}
		e.fails("BAD_USER_INPUT", "", signUpMutation, in(map[string]any{"email": "not-an-email"}))
		e.fails("BAD_USER_INPUT", "", signUpMutation, in(map[string]any{"residenceCountry": "Korea"}))

		d := e.ok("", signUpMutation, in(nil))
		access, refresh := str(d, "signUp.accessToken"), str(d, "signUp.refreshToken")
		e.fails("CONFLICT", "", signUpMutation, in(nil))

		v := e.ok(access, `{ viewer { roles account { email residenceCountry memberType } billingGroups { name isMain } } }`, nil)
		if str(v, "viewer.account.email") != "kim@example.com" || str(v, "viewer.roles.0") != "MASTER" ||
			str(v, "viewer.billingGroups.0.name") != "Main" || len(get(v, "viewer.billingGroups").([]any)) != 1 {
			t.Fatalf("viewer = %v", v)
		}

		login := `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken account { id } } }`
		e.fails("UNAUTHENTICATED", "", login, map[string]any{"e": "kim@example.com", "p": "Wrong!234"})
		e.fails("UNAUTHENTICATED", "", login, map[string]any{"e": "nobody@example.com", "p": "Secret!234"})
		if tok := str(e.ok("", login, map[string]any{"e": "KIM@example.com", "p": "Secret!234"}), "login.accessToken"); tok == "" {
			t.Fatal("login gave no token")
		}

		// Refresh tokens rotate; a spent one revokes its whole family.
		rq := `mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { accessToken refreshToken } }`
		d2 := e.ok("", rq, map[string]any{"r": refresh})
		refresh2 := str(d2, "refreshToken.refreshToken")
		e.ok(str(d2, "refreshToken.accessToken"), `{ viewer { roles } }`, nil)
		e.fails("UNAUTHENTICATED", "", rq, map[string]any{"r": refresh})
		e.fails("UNAUTHENTICATED", "", rq, map[string]any{"r": refresh2})
		// An access token is not a refresh token, and vice versa.
		e.fails("UNAUTHENTICATED", "", rq, map[string]any{"r": access})
		if r := e.gql(refresh, `{ viewer { roles } }`, nil); r.Status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
			t.Fatalf("refresh token as access token: %d %+v", r.Status, r.Errors)
		}

		// Hostile and stale bearer values.
		parts := strings.Split(access, ".")
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		expired, _, _ := e.app.Tokens.Mint("access", str(d, "signUp.account.id"), "", "", nil, -time.Hour)
		for name, tok := range map[string]string{
			"garbage": "garbage", "alg none": none, "expired": expired, "tampered": parts[0] + "." + parts[1] + "x." + parts[2],
			"dots": strings.Repeat(".", 5000), "unknown api token": "cbk_nope",
		} {
			if r := e.gql(tok, `{ viewer { roles } }`, nil); r.code() != "UNAUTHENTICATED" {
				t.Errorf("%s token: %+v", name, r.Errors)
			}
		}
		// Anonymous callers may sign in but not read.
		e.fails("UNAUTHENTICATED", "", `{ viewer { roles } }`, nil)

		// Partner API tokens: shown once, stored hashed, revocable at once.
		ct := `mutation { createApiToken(input: {name: "reseller", scopes: ["billing:read", "usage:write"]}) { token apiToken { id hint scopes } } }`
		c := e.ok(access, ct, nil)
		secret, tokID := str(c, "createApiToken.token"), str(c, "createApiToken.apiToken.id")
		if !strings.HasPrefix(secret, "cbk_") || strings.Contains(str(c, "createApiToken.apiToken.hint"), secret[8:]) {
			t.Fatalf("token %q hint %q", secret, str(c, "createApiToken.apiToken.hint"))
		}
		pv := e.ok(secret, `{ viewer { roles billingGroups { name } } }`, nil)
		if str(pv, "viewer.roles.0") != "PARTNER" || str(pv, "viewer.billingGroups.0.name") != "Main" {
			t.Fatalf("partner viewer = %v", pv)
		}
		e.fails("FORBIDDEN", secret, ct, nil) // partners cannot mint tokens
		e.fails("BAD_USER_INPUT", access, `mutation { createApiToken(input: {name: "x", scopes: ["root"]}) { token } }`, nil)
		lt := e.ok(access, `{ viewer { account { apiTokens { id hint lastUsedAt } } } }`, nil)
		if str(lt, "viewer.account.apiTokens.0.lastUsedAt") == "" {
			t.Fatalf("last use not recorded: %v", lt)
		}
		e.ok(access, `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }`, map[string]any{"id": tokID})
		e.fails("UNAUTHENTICATED", secret, `{ viewer { roles } }`, nil)
	})
}
