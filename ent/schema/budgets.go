package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// BudgetAlert is a billing manager's budget for a billing group's month
// when the month's amount so far crosses one of its thresholds (a
// percentage of the budget), the organization is told once per threshold
// and month (BudgetAlertFiring).
type BudgetAlert struct{ ent.Schema }

func (BudgetAlert) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "bud"}, TenantMixin{Revision: MovesRevision, NoOrgIndex: true}, TimeMixin{}}
}

func (BudgetAlert) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable(),
		field.String("name").NotEmpty().MaxLen(200),
		// The monthly budget in minor units of the group's currency.
		field.Int64("amount").Positive(),
		field.String("currency").MaxLen(3),
		// Percentages of the budget, ascending, 1..1000.
		field.Ints("thresholds").SchemaType(jsonText),
		field.String("created_by").Immutable().Default(""),
	}
}

func (BudgetAlert) Indexes() []ent.Index {
	return []ent.Index{index.Fields("billing_group_id")}
}

func (BudgetAlert) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// BudgetAlertFiring records that an alert's threshold was crossed in a
// month. Its unique (alert, month, threshold) key is what makes the
// notice go out once however many replicas and batches race past it.
type BudgetAlertFiring struct{ ent.Schema }

func (BudgetAlertFiring) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "budf"}, TenantMixin{Revision: MovesRevision, NoOrgIndex: true}, TimeMixin{}}
}

func (BudgetAlertFiring) Fields() []ent.Field {
	return []ent.Field{
		field.String("alert_id").Immutable(),
		field.String("month").Immutable().MaxLen(7),
		field.Int("threshold").Immutable(),
		// The month's amount so far when it was crossed.
		field.Int64("amount").Immutable(),
	}
}

func (BudgetAlertFiring) Indexes() []ent.Index {
	return []ent.Index{index.Fields("alert_id", "month", "threshold").Unique()}
}

func (BudgetAlertFiring) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
