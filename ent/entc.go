//go:build ignore

// entc.go generates the ent client and the entgql GraphQL schema
// (graph/ent.graphqls) from ent/schema alone. Run through `go generate ./...`.
// It deliberately does not read gqlgen.yml: that would make its output
// depend on the hand-written schema and the previous ent.graphqls.
package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("../graph/ent.graphqls"),
		entgql.WithWhereInputs(true),
		entgql.WithRelaySpec(true),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	err = entc.Generate("./schema", &gen.Config{
		Features: []gen.Feature{gen.FeatureLock, gen.FeatureUpsert, gen.FeatureExecQuery, gen.FeatureModifier},
	}, entc.Extensions(ex), entc.TemplateFiles("template/revision.tmpl"))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
