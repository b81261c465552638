package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// JobCursor is how far a job has run the billing calendar: the instant its
// last run reached. A run at a later instant first runs, in order, every
// calendar step due since then (billing/replay.go); a run at an earlier one
// does nothing new. One row per job, shared by every replica.
type JobCursor struct{ ent.Schema }

func (JobCursor) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().MaxLen(40), // the job's name
		field.Time("ran_through"),
	}
}

func (JobCursor) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// JobFailure is a step of the billing jobs that failed for one subject (a
// billing group's month, an invoice, a payment, a credit) while the others
// went on. It is retried on later runs; a success resolves it. The unique
// (step, subject, key) row counts the attempts.
type JobFailure struct{ ent.Schema }

func (JobFailure) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "jobf"}, TenantMixin{Revision: OutsideRevision("the jobs' bookkeeping, read by operators and /metrics"), NoOrgIndex: true}}
}

func (JobFailure) Fields() []ent.Field {
	return []ent.Field{
		field.String("step").Immutable().NotEmpty().MaxLen(40),
		field.String("billing_group_id").Immutable().MaxLen(40),
		// The invoice, payment, credit or billing group the step failed for.
		field.String("subject_id").Immutable().NotEmpty().MaxLen(40),
		// The month concerned (YYYY-MM), when there is one.
		field.String("month").Immutable().Default("").MaxLen(7),
		// What tells apart the attempts of one subject in one step: the
		// month issued, the day of an automatic payment.
		field.String("key").Immutable().Default("").MaxLen(40),
		field.Text("error").SchemaType(map[string]string{dialect.Postgres: "text"}),
		field.Int("attempts").Default(1),
		// Instants of the calendar the failing runs ran at.
		field.Time("first_failed_at").Immutable(),
		field.Time("last_failed_at"),
		field.Time("resolved_at").Optional().Nillable(),
	}
}

func (JobFailure) Indexes() []ent.Index {
	return []ent.Index{index.Fields("step", "subject_id", "key").Unique(), index.Fields("resolved_at")}
}

func (JobFailure) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
