package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/vektah/gqlparser/v2/ast"
)

// Audit records every mutation but the sign-in ones — who, what, when, the
// outcome and the request id — in the audit log that masters and operators
// read. It runs around each root field only (a field interceptor would run
// around every field of every response).
//
// A caller without credentials never writes to the log: its mutations are
// only counted (Anonymous), so that nobody without an account can grow the
// log — 30 aliased refusals a request would otherwise be 30 rows.
type Audit struct {
	R *Resolver
	// Anonymous counts an anonymous caller's mutation by action and
	// outcome (a metric); nil counts nothing.
	Anonymous func(action, outcome string)
}

var _ interface {
	graphql.HandlerExtension
	graphql.RootFieldInterceptor
} = Audit{}

func (Audit) ExtensionName() string                   { return "Audit" }
func (Audit) Validate(graphql.ExecutableSchema) error { return nil }

// unaudited mutations carry passwords or refresh tokens and change no money.
var unaudited = map[string]bool{"login": true, "refreshToken": true, "signUp": true}

// secretArgs are never written to the log.
var secretArgs = []string{"password", "cardtoken", "refreshtoken", "accountnumber", "identifier", "token"}

func (a Audit) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	rc, oc := graphql.GetRootFieldContext(ctx), graphql.GetOperationContext(ctx)
	if rc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Mutation || unaudited[rc.Field.Name] {
		return next(ctx)
	}
	res := next(ctx)
	// The outcome is the mutation's own error, if any: the one at the
	// root field's path (errors deeper in its payload are not its outcome).
	outcome := "ok"
	for _, e := range graphql.GetErrors(ctx) {
		if len(e.Path) == 1 && fmt.Sprint(e.Path[0]) == rc.Field.Alias {
			outcome = kernel.CodeInternal
			if c, ok := e.Extensions["code"].(string); ok {
				outcome = c
			}
			break
		}
	}
	p := auth.FromContext(ctx)
	if p == nil {
		if a.Anonymous != nil {
			a.Anonymous(rc.Field.Name, outcome)
		}
		return res
	}
	actor, org := p.Caller(), "platform"
	if p.OrgID != "" {
		org = p.OrgID
	}
	// The arguments as the client sent them (variables filled in).
	input, _ := json.Marshal(redact(rc.Field.ArgumentMap(oc.Variables)))
	entry := kernel.AuditEntry{OrgID: org, Actor: actor, Action: rc.Field.Name, Input: string(input),
		Outcome: outcome, RequestID: RequestID(ctx)}
	if werr := kernel.RecordAudit(ctx, a.R.Client, entry); werr != nil {
		a.R.Log.ErrorContext(ctx, "audit log write failed", "action", rc.Field.Name, "err", werr)
	}
	return res
}

const auditListMax = 20

// redact copies v with secret fields replaced.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			secret := false
			for _, s := range secretArgs {
				secret = secret || strings.ToLower(k) == s
			}
			if secret {
				out[k] = "[redacted]"
			} else {
				out[k] = redact(val)
			}
		}
		return out
	case []any:
		// Long lists (a usage batch carries up to 1,000 events, which keep
		// their own ids in usage_events) are counted, not copied: the log
		// records who did what, not the payload.
		if len(x) > auditListMax {
			return fmt.Sprintf("[%d items]", len(x))
		}
		out := make([]any, len(x))
		for i := range x {
			out[i] = redact(x[i])
		}
		return out
	}
	// Input structs: through JSON to a map, then redacted.
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	if _, ok := m.(map[string]any); ok {
		return redact(m)
	}
	return m
}
