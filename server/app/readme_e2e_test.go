package app_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
)

// TestReadmeExamplesRunAsWritten runs every GraphQL example of the README's
// first two sections against a freshly seeded demo, as a newcomer pastes
// them: the demo master's or the operator's token (the block's first
// comment says which) and all the variables the startup log prints, on a
// day that is not the seed's month end. An example that answers an error,
// or a variable the log does not print, fails it.
func TestReadmeExamplesRunAsWritten(t *testing.T) {
	now := time.Date(2026, 12, 5, 21, 30, 0, 0, kst)
	e, master := demoEnv(t, now)
	banner := app.StartupBanner(context.Background(), e.app, "127.0.0.1:8080")
	m := regexp.MustCompile(`Variables for the README's examples[^\n]*\n\s*(\{[^\n]*\})`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("the startup log prints no variables:\n%s", banner)
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(m[1]), &vars); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	text = text[strings.Index(text, "## Two commands"):strings.Index(text, "## Configuration")]
	ran := 0
	for _, block := range regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(text, -1) {
		token := master
		if strings.HasPrefix(block[1], "# as the operator") {
			token = e.op
		}
		for _, op := range operations(block[1]) {
			for _, name := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(op, -1) {
				if _, ok := vars[name[1]]; !ok {
					t.Errorf("the README uses $%s, which the startup log does not print: %s", name[1], op)
				}
			}
			if r := e.gql(token, op, vars); len(r.Errors) > 0 {
				t.Errorf("README example fails as written: %s\n→ %s: %s", op, r.code(), r.Errors[0].Message)
			}
			ran++
		}
	}
	if ran < 8 {
		t.Fatalf("ran %d README examples; the sections or their blocks moved", ran)
	}
}

// operations splits a README block into its operations: each starts on a
// line beginning with "{", "query" or "mutation"; "#" lines are comments.
func operations(block string) []string {
	var ops []string
	for _, line := range strings.Split(block, "\n") {
		switch {
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "{") || strings.HasPrefix(line, "query") || strings.HasPrefix(line, "mutation"):
			ops = append(ops, line)
		case len(ops) > 0:
			ops[len(ops)-1] += "\n" + line
		}
	}
	return ops
}
