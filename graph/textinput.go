package graph

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TextInput refuses, before anything runs, an operation whose input holds
// text that a database column cannot keep: a NUL character (PostgreSQL's
// text refuses U+0000, so such a string reached a statement and answered
// INTERNAL, while SQLite kept it) or invalid UTF-8 — or text longer than
// MaxInputString characters, which no input needs. Every string a client
// sends — in variables and in literal arguments alike, at any depth — is
// checked here once, rather than in each resolver that stores one
// (idempotency keys, event ids, channels, names, codes…), so an input added
// later is bounded too. The refusal is BAD_USER_INPUT naming the variable
// or argument.
type TextInput struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = TextInput{}

func (TextInput) ExtensionName() string                   { return "TextInput" }
func (TextInput) Validate(graphql.ExecutableSchema) error { return nil }

func (TextInput) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	for name, v := range rc.Variables {
		if path, why := badText(v, "$"+name); why != "" {
			return textError(path, why)
		}
	}
	if rc.Operation == nil {
		return nil
	}
	w := textWalk{frags: rc.Doc.Fragments, seen: map[string]bool{}}
	if path, why := w.selections(rc.Operation.SelectionSet); why != "" {
		return textError(path, why)
	}
	return nil
}

// MaxInputString bounds every string an operation takes, whatever the
// input: names, codes, keys and tokens all fit well inside it, and the
// domain rules bound most of them tighter (a name 200 characters, a card
// token 200).
const MaxInputString = 1000

// storable reports whether s can be kept as text by both databases.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// textProblem says what makes s unacceptable as input ("" for nothing).
func textProblem(s string) string {
	switch {
	case !storable(s):
		return "holds a NUL character or invalid UTF-8, which no text field can keep"
	case len(s) > MaxInputString && utf8.RuneCountInString(s) > MaxInputString:
		return fmt.Sprintf("is longer than %d characters", MaxInputString)
	}
	return ""
}

// badText finds a string that is not acceptable in a decoded JSON value.
func badText(v any, path string) (string, string) {
	switch x := v.(type) {
	case string:
		return path, textProblem(x)
	case map[string]any:
		for k, e := range x {
			if p, why := badText(e, path+"."+k); why != "" {
				return p, why
			}
		}
	case []any:
		for i, e := range x {
			if p, why := badText(e, fmt.Sprintf("%s[%d]", path, i)); why != "" {
				return p, why
			}
		}
	}
	return "", ""
}

// textWalk looks at the literal arguments of a document's fields and
// directives, following fragments once each.
type textWalk struct {
	frags ast.FragmentDefinitionList
	seen  map[string]bool
}

func (w *textWalk) selections(set ast.SelectionSet) (string, string) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if p, why := w.arguments(s.Name, s.Arguments, s.Directives); why != "" {
				return p, why
			}
			if p, why := w.selections(s.SelectionSet); why != "" {
				return p, why
			}
		case *ast.InlineFragment:
			if p, why := w.arguments("", nil, s.Directives); why != "" {
				return p, why
			}
			if p, why := w.selections(s.SelectionSet); why != "" {
				return p, why
			}
		case *ast.FragmentSpread:
			if p, why := w.arguments("", nil, s.Directives); why != "" {
				return p, why
			}
			if f := w.frags.ForName(s.Name); f != nil && !w.seen[s.Name] {
				w.seen[s.Name] = true
				if p, why := w.selections(f.SelectionSet); why != "" {
					return p, why
				}
			}
		}
	}
	return "", ""
}

func (w *textWalk) arguments(field string, args ast.ArgumentList, dirs ast.DirectiveList) (string, string) {
	for _, a := range args {
		if p, why := badLiteral(a.Value, field+"."+a.Name); why != "" {
			return p, why
		}
	}
	for _, d := range dirs {
		for _, a := range d.Arguments {
			if p, why := badLiteral(a.Value, "@"+d.Name+"."+a.Name); why != "" {
				return p, why
			}
		}
	}
	return "", ""
}

// badLiteral finds a string literal that is not storable in a value.
func badLiteral(v *ast.Value, path string) (string, string) {
	if v == nil {
		return "", ""
	}
	switch v.Kind {
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return path, textProblem(v.Raw)
	case ast.ListValue, ast.ObjectValue:
		for i, c := range v.Children {
			p := fmt.Sprintf("%s[%d]", path, i)
			if v.Kind == ast.ObjectValue {
				p = path + "." + c.Name
			}
			if p, why := badLiteral(c.Value, p); why != "" {
				return p, why
			}
		}
	}
	return "", ""
}

func textError(path, problem string) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    path + " " + problem,
		Extensions: map[string]any{"code": kernel.CodeBadUserInput, "field": strings.TrimPrefix(path, "$")},
	}
}
