// Package docs holds no code: its test keeps docs/architecture.md's "where is
// rule R-xx" table true as code moves.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	ruleDef  = regexp.MustCompile(`(?m)^\s*- \*\*(R-\d+)\*\*`)
	tableRow = regexp.MustCompile(`(?m)^\| (R-\d+) \| (.*) \| (.*) \|$`)
	// `path` optionally followed by (`Name`, `Name`)
	citation = regexp.MustCompile("`([^`]+)`(?: \\(([^)]*)\\))?")
	name     = regexp.MustCompile("`([A-Za-z_][A-Za-z0-9_]*)`")
)

// TestEveryRuleHasItsCodeAndTests fails when a rule of rules.md has no row in
// architecture.md, or a row names a file, a function or a test that is not
// there (moved or renamed without updating the table).
func TestEveryRuleHasItsCodeAndTests(t *testing.T) {
	rules, err := os.ReadFile("rules.md")
	if err != nil {
		t.Fatal(err)
	}
	arch, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][2]string{}
	for _, m := range tableRow.FindAllStringSubmatch(string(arch), -1) {
		rows[m[1]] = [2]string{m[2], m[3]}
	}
	for _, m := range ruleDef.FindAllStringSubmatch(string(rules), -1) {
		row, ok := rows[m[1]]
		if !ok {
			t.Errorf("%s: no row in architecture.md", m[1])
			continue
		}
		for i, cell := range row {
			cites := checkCell(t, m[1], cell)
			if cites == 0 {
				t.Errorf("%s: the %s column names no file", m[1], [2]string{"code", "tests"}[i])
			}
		}
	}
}

// checkCell checks each `path` (`Name`, …) of a cell: the file exists and
// declares each name (a func, method or type).
func checkCell(t *testing.T, rule, cell string) int {
	n := 0
	for _, c := range citation.FindAllStringSubmatch(cell, -1) {
		path := c[1]
		if !strings.Contains(path, "/") {
			continue // a name outside parentheses: not a citation
		}
		n++
		src, err := os.ReadFile(filepath.Join("..", path))
		if err != nil {
			t.Errorf("%s: %s does not exist", rule, path)
			continue
		}
		for _, id := range name.FindAllStringSubmatch(c[2], -1) {
			decl := regexp.MustCompile(`(?m)^(func (\([^)]*\) )?|type )` + id[1] + `\b`)
			if !decl.Match(src) {
				t.Errorf("%s: %s declares no %s", rule, path, id[1])
			}
		}
	}
	return n
}
