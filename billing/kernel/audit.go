package kernel

import (
	"context"

	"github.com/cloudbill/cloudbill/ent"
)

// AuditEntry is one mutation as the audit log keeps it: who (the caller),
// in which organization ("platform" for an operator's), what (the field
// and its redacted arguments), the outcome (ok or the error's code) and
// the request id.
type AuditEntry struct {
	OrgID, Actor, Action, Input, Outcome, RequestID string
}

// RecordAudit appends an entry to the audit log. It is written after the
// mutation, detached from the request's cancellation, so a client that
// goes away does not lose it.
func RecordAudit(ctx context.Context, client *ent.Client, e AuditEntry) error {
	return client.AuditEvent.Create().SetOrgID(e.OrgID).SetActor(e.Actor).SetAction(e.Action).
		SetInput(e.Input).SetOutcome(e.Outcome).SetRequestID(e.RequestID).
		Exec(context.WithoutCancel(ctx))
}
