package graph

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/server/auth"
)

// Audit records every mutation but the sign-in ones — who, what, when, the
// outcome and the request id — in the audit log that masters and operators
// read. It runs around each root mutation field.
type Audit struct{ R *Resolver }

var _ interface {
	graphql.HandlerExtension
	graphql.FieldInterceptor
} = Audit{}

func (Audit) ExtensionName() string                   { return "Audit" }
func (Audit) Validate(graphql.ExecutableSchema) error { return nil }

// unaudited mutations carry passwords or refresh tokens and change no money.
var unaudited = map[string]bool{"login": true, "refreshToken": true, "signUp": true}

// secretArgs are never written to the log.
var secretArgs = []string{"password", "cardtoken", "refreshtoken", "accountnumber", "identifier"}

func (a Audit) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Object != "Mutation" || unaudited[fc.Field.Name] {
		return next(ctx)
	}
	res, err := next(ctx)
	outcome := "ok"
	if err != nil {
		outcome = billing.CodeInternal
		if be, ok := billing.AsError(err); ok {
			outcome = be.Code
		}
	}
	p := auth.FromContext(ctx)
	actor, org := "anonymous", "platform"
	if p != nil {
		actor = p.Caller()
		if p.OrgID != "" {
			org = p.OrgID
		}
	}
	input, _ := json.Marshal(redact(fc.Args))
	// The entry must not be lost with the client: write it after the field,
	// detached from the request's cancellation.
	if werr := a.R.Client.AuditEvent.Create().SetOrgID(org).SetActor(actor).SetAction(fc.Field.Name).
		SetInput(string(input)).SetOutcome(outcome).SetRequestID(RequestID(ctx)).
		Exec(context.WithoutCancel(ctx)); werr != nil {
		a.R.Log.ErrorContext(ctx, "audit log write failed", "action", fc.Field.Name, "err", werr)
	}
	return res, err
}

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
