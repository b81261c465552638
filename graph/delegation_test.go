package graph

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// entWrites are the ent builder calls that write: a resolver that makes
// one decides a use case itself instead of delegating it to a billing
// service, which owns validation, idempotency and the transaction
// (docs/architecture.md, "Resolvers delegate").
var entWrites = map[string]bool{
	"Create": true, "CreateBulk": true, "MapCreateBulk": true,
	"Update": true, "UpdateOne": true, "UpdateOneID": true,
	"Delete": true, "DeleteOne": true, "DeleteOneID": true,
	"Save": true, "SaveX": true, "Exec": true, "ExecX": true,
	// A transaction or an idempotency key handled here is a use case
	// glued together in graph/ (billing/moneyops.go owns them).
	"WithTx": true, "Idempotent": true, "Tx": true, "BeginTx": true,
}

// TestResolversDoNotWrite fails when hand-written code in graph/ writes
// through ent (the generated code is not looked at).
func TestResolversDoNotWrite(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && entWrites[sel.Sel.Name] {
				t.Errorf("%s: %s writes through ent or runs a transaction; move it into a billing service and call that", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked only %d files: is the test run from graph/?", checked)
	}
}
