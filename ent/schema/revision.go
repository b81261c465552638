package schema

import "entgo.io/ent/schema"

// Revision says how a change to a tenant table's rows reaches what is cached
// per organization (the views of billing/readmodel/orgcache.go) and what a read
// replica may answer (server/store/replica.go). Every table that carries
// org_id must say it: `go generate` writes the lists of ent/revision.go from
// these annotations, and server/store's TestEveryTenantTableDecidesItsRevision
// fails for a table that does not, so a new table can no longer be silently
// left out of the caches' freshness or the replicas' routing.
type Revision struct {
	// Kind is one of
	//   "trigger": a trigger moves organizations.revision in the writing
	//              transaction (server/store/revision.go installs it);
	//   "covered": its rows change only with another revision's move (Why
	//              says which), so the caches and replicas may use it;
	//   "outside": nothing cached reads it; reads of it stay on the primary.
	Kind string
	// Why the table is covered or outside (empty for "trigger").
	Why string
}

// Name implements schema.Annotation.
func (Revision) Name() string { return "OrgRevision" }

// MovesRevision: every change moves the organization's revision by trigger.
var MovesRevision = Revision{Kind: "trigger"}

// CoveredBy marks a table whose changes always come with another revision's move.
func CoveredBy(why string) Revision { return Revision{Kind: "covered", Why: why} }

// OutsideRevision marks bookkeeping that no cached view reads.
func OutsideRevision(why string) Revision { return Revision{Kind: "outside", Why: why} }

var _ schema.Annotation = Revision{}
