package graph

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudbill/cloudbill/billing"
)

// TextInput refuses, before anything runs, an operation whose input holds
// text that a database column cannot keep: a NUL character (PostgreSQL's
// text refuses U+0000, so such a string reached a statement and answered
// INTERNAL, while SQLite kept it) or invalid UTF-8. Every string a client
// sends — in variables and in literal arguments alike, at any depth — is
// checked here once, rather than in each resolver that stores one
// (idempotency keys, event ids, channels, names, codes…). The refusal is
// BAD_USER_INPUT naming the variable or argument.
type TextInput struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = TextInput{}

func (TextInput) ExtensionName() string                   { return "TextInput" }
func (TextInput) Validate(graphql.ExecutableSchema) error { return nil }

func (TextInput) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	for name, v := range rc.Variables {
		if path, bad := badText(v, "$"+name); bad {
			return textError(path)
		}
	}
	if rc.Operation == nil {
		return nil
	}
	w := textWalk{frags: rc.Doc.Fragments, seen: map[string]bool{}}
	if path, bad := w.selections(rc.Operation.SelectionSet); bad {
		return textError(path)
	}
	return nil
}

// storable reports whether s can be kept as text by both databases.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// badText finds a string that is not storable in a decoded JSON value.
func badText(v any, path string) (string, bool) {
	switch x := v.(type) {
	case string:
		return path, !storable(x)
	case map[string]any:
		for k, e := range x {
			if p, bad := badText(e, path+"."+k); bad {
				return p, true
			}
		}
	case []any:
		for i, e := range x {
			if p, bad := badText(e, fmt.Sprintf("%s[%d]", path, i)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// textWalk looks at the literal arguments of a document's fields and
// directives, following fragments once each.
type textWalk struct {
	frags ast.FragmentDefinitionList
	seen  map[string]bool
}

func (w *textWalk) selections(set ast.SelectionSet) (string, bool) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if p, bad := w.arguments(s.Name, s.Arguments, s.Directives); bad {
				return p, true
			}
			if p, bad := w.selections(s.SelectionSet); bad {
				return p, true
			}
		case *ast.InlineFragment:
			if p, bad := w.arguments("", nil, s.Directives); bad {
				return p, true
			}
			if p, bad := w.selections(s.SelectionSet); bad {
				return p, true
			}
		case *ast.FragmentSpread:
			if p, bad := w.arguments("", nil, s.Directives); bad {
				return p, true
			}
			if f := w.frags.ForName(s.Name); f != nil && !w.seen[s.Name] {
				w.seen[s.Name] = true
				if p, bad := w.selections(f.SelectionSet); bad {
					return p, true
				}
			}
		}
	}
	return "", false
}

func (w *textWalk) arguments(field string, args ast.ArgumentList, dirs ast.DirectiveList) (string, bool) {
	for _, a := range args {
		if p, bad := badLiteral(a.Value, field+"."+a.Name); bad {
			return p, true
		}
	}
	for _, d := range dirs {
		for _, a := range d.Arguments {
			if p, bad := badLiteral(a.Value, "@"+d.Name+"."+a.Name); bad {
				return p, true
			}
		}
	}
	return "", false
}

// badLiteral finds a string literal that is not storable in a value.
func badLiteral(v *ast.Value, path string) (string, bool) {
	if v == nil {
		return "", false
	}
	switch v.Kind {
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return path, !storable(v.Raw)
	case ast.ListValue, ast.ObjectValue:
		for i, c := range v.Children {
			p := fmt.Sprintf("%s[%d]", path, i)
			if v.Kind == ast.ObjectValue {
				p = path + "." + c.Name
			}
			if p, bad := badLiteral(c.Value, p); bad {
				return p, true
			}
		}
	}
	return "", false
}

func textError(path string) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf("%s holds a NUL character or invalid UTF-8, which no text field can keep", path),
		Extensions: map[string]any{"code": billing.CodeBadUserInput, "field": strings.TrimPrefix(path, "$")},
	}
}
