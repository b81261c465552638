package testenv

import "strings"

// StatementTable names what a logged statement (store.WithStatementLog)
// works on, for tests that list the statements a path runs: "INSERT t",
// "UPDATE t" or "DELETE t" for a write; for a read the table it reads —
// the first FROM of a quoted name, since ent quotes its tables and the
// subqueries written by hand in a select list do not; the statement itself
// when it names no table.
func StatementTable(q string) string {
	verb, rest, _ := strings.Cut(q, " ")
	switch verb {
	case "INSERT", "DELETE":
		_, rest, _ = strings.Cut(rest, " ") // INTO, FROM
		fallthrough
	case "UPDATE":
		if f := strings.Fields(rest); len(f) > 0 {
			return verb + " " + strings.Trim(f[0], "`\"")
		}
		return q
	}
	for _, from := range []string{" FROM \"", " FROM `", " FROM "} {
		if _, rest, ok := strings.Cut(q, from); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strings.Trim(f[0], "`\"")
			}
		}
	}
	return q
}
