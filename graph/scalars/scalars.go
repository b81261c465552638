// Package scalars implements cloudbill's custom GraphQL scalars. Each parser
// refuses anything malformed with a BAD_USER_INPUT error, never a panic.
package scalars

import (
	"encoding/json"
	"io"
	"strconv"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
)

// Decimal is an exact decimal string ("12345", "0.5"). It is kept as text
// here and parsed, with the rules of its field, where it is used.
type Decimal string

func (d *Decimal) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return kernel.Errorf(kernel.CodeBadUserInput, "Decimal must be a string such as \"12.5\", not %s", JSONKind(v))
	}
	if _, err := kernel.ParseDecimal(s); err != nil {
		return kernel.Errorf(kernel.CodeBadUserInput, "%s", err.Error())
	}
	*d = Decimal(s)
	return nil
}

func (d Decimal) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.Quote(string(d))) }

// Month is a calendar month, "2026-10".
type Month string

func (m *Month) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return kernel.Errorf(kernel.CodeBadUserInput, "Month must be a string such as \"2026-10\", not %s", JSONKind(v))
	}
	if _, err := calendar.ParseMonth(s); err != nil {
		return kernel.Errorf(kernel.CodeBadUserInput, "%s", err.Error())
	}
	*m = Month(s)
	return nil
}

func (m Month) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.Quote(string(m))) }

// Parse returns the month (already validated on input).
func (m Month) Parse() calendar.Month {
	v, _ := calendar.ParseMonth(string(m))
	return v
}

// JSONKind names what a client sent in JSON's words ("a number", "an
// object"), never Go's type names, for errors about a value of the wrong type.
func JSONKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case json.Number, int, int32, int64, float32, float64:
		return "a number"
	}
	return "a value of another type"
}
