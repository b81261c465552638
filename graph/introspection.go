package graph

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// IntrospectionDisabledMessage is what a client asking __schema or __type
// is told where introspection is off (production, docs/api.md).
const IntrospectionDisabledMessage = "introspection is disabled on this server: __schema and __type cannot be queried (__typename can)"

// NoIntrospection refuses introspection while validating, as
// GRAPHQL_VALIDATION_FAILED with IntrospectionDisabledMessage, wherever the
// field hides (an alias, a fragment). Without it gqlgen refuses at
// execution with an internal error, which a client cannot tell from a
// fault.
var NoIntrospection = core.Rule{
	Name: "NoIntrospection",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnField(func(_ *core.Walker, field *ast.Field) {
			if field.Name == "__schema" || field.Name == "__type" {
				addError(core.Message(IntrospectionDisabledMessage), core.At(field.Position))
			}
		})
	},
}

// RulesWithoutIntrospection are the default validation rules and
// NoIntrospection.
func RulesWithoutIntrospection() *rules.Rules {
	r := rules.NewDefaultRules()
	r.AddRule(NoIntrospection.Name, NoIntrospection.RuleFunc)
	return r
}
