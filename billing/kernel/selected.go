package kernel

import (
	"entgo.io/ent/dialect"
	"github.com/cloudbill/cloudbill/ent"
)

// JSONFuncs names a database's JSON array aggregate and array constructor,
// for columns a query appends to an entity's row (e.g. a billing group read
// with its credit summary's rows: credits.WithSummaryRows).
func JSONFuncs(d string) (agg, arr string) {
	if d == dialect.Postgres {
		return "json_agg", "json_build_array"
	}
	return "json_group_array", "json_array"
}

// SelectedText returns the text of a column an entity was read with beyond
// its fields (ent keeps them for Value): ok false when it was read without
// it; nil text for SQL NULL (an aggregate over no rows).
func SelectedText(e interface {
	Value(string) (ent.Value, error)
}, name string) (text []byte, ok bool) {
	v, err := e.Value(name)
	if err != nil {
		return nil, false
	}
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return []byte(x), true
	case []byte:
		return x, true
	}
	return nil, false
}
