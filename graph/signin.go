package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/vektah/gqlparser/v2/ast"
)

// signInFields are the mutations that sign a caller in; an operation
// holds at most one of them (Limits), so that aliases cannot multiply a
// password check or an organization's creation.
var signInFields = map[string]bool{"login": true, "signUp": true, "refreshToken": true}

// passwordFields are the mutations that hash a password: they cost
// Limits.PasswordCost points of the caller's budget (a caller without an
// account is counted per client address) and wait for the bounded
// password hashing (SignInGate). A new mutation that hashes a password
// belongs here.
var passwordFields = map[string]bool{"login": true, "signUp": true}

// countSignIns counts the sign-in fields of an operation's root selection and,
// of them, those that hash a password (fragments included).
func countSignIns(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen map[string]bool) (all, passwords int) {
	for _, sel := range set {
		var inner ast.SelectionSet
		switch s := sel.(type) {
		case *ast.Field:
			if signInFields[s.Name] {
				all++
			}
			if passwordFields[s.Name] {
				passwords++
			}
			continue
		case *ast.InlineFragment:
			inner = s.SelectionSet
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if f := frags.ForName(s.Name); f != nil {
				inner = f.SelectionSet
			}
		}
		a, p := countSignIns(inner, frags, seen)
		all, passwords = all+a, passwords+p
	}
	return all, passwords
}

// SignInGate refuses a password mutation at once (THROTTLED, retry in a
// second) while MaxBacklog password hashes already wait for their turn:
// the hashing itself is bounded (auth.LimitHashing), and this keeps
// sign-ins queued behind it from holding every admission slot, so the
// other requests still get in.
type SignInGate struct{ MaxBacklog int } // 0: no gate

var _ interface {
	graphql.HandlerExtension
	graphql.RootFieldInterceptor
} = SignInGate{}

func (SignInGate) ExtensionName() string                   { return "SignInGate" }
func (SignInGate) Validate(graphql.ExecutableSchema) error { return nil }

func (g SignInGate) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	rc := graphql.GetRootFieldContext(ctx)
	if rc == nil || !passwordFields[rc.Field.Name] || g.MaxBacklog <= 0 || auth.HashingBacklog() < g.MaxBacklog {
		return next(ctx)
	}
	if oc := graphql.GetOperationContext(ctx); oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return next(ctx)
	}
	graphql.AddError(ctx, kernel.Throttled(time.Second, "too many sign-ins at once, try again in a second"))
	return graphql.Null
}
