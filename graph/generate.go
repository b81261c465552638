// Package graph holds cloudbill's GraphQL resolvers; they stay thin and
// delegate to billing/. generated/ and model/ are written by gqlgen.
package graph

//go:generate go run github.com/99designs/gqlgen generate
