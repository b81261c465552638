package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// The catalog (regions, services, prices) is platform-wide reference data,
// the same for every tenant: it is the one place without an org_id, and would
// be replicated to every shard when data is distributed by tenant.

// Region is where services run.
type Region struct{ ent.Schema }

func (Region) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "rgn"}, TimeMixin{}} }

func (Region) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().MaxLen(40).Unique().Immutable(),
		field.String("name").NotEmpty().MaxLen(200),
	}
}

func (Region) Annotations() []schema.Annotation { return gql() }

// Service is a product of the catalog.
type Service struct{ ent.Schema }

func (Service) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "svc"}, TimeMixin{}} }

func (Service) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().MaxLen(60).Unique().Immutable(),
		field.String("name").NotEmpty().MaxLen(200),
		field.String("category").Default("General").MaxLen(100),
		// MARKETPLACE and OS_IMAGE are never paid by free credits.
		field.Enum("kind").Values("STANDARD", "MARKETPLACE", "OS_IMAGE", "CHANNEL").Default("STANDARD"),
	}
}

func (Service) Edges() []ent.Edge {
	return []ent.Edge{edge.To("prices", Price.Type)}
}

func (Service) Annotations() []schema.Annotation { return gql() }

// Price is one priced metric of a service, optionally for one region only.
type Price struct{ ent.Schema }

func (Price) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "price"}, TimeMixin{}} }

func (Price) Fields() []ent.Field {
	return []ent.Field{
		field.String("service_id").Immutable().Annotations(entgql.Skip()),
		// Empty means every region.
		field.String("region_code").Default("").MaxLen(40),
		field.String("metric").NotEmpty().MaxLen(60),
		field.Enum("model").Values("PER_UNIT", "FLAT_MONTHLY"),
		// An exact decimal in the currency's major unit ("0.5"), never a float.
		field.String("unit_price").NotEmpty().MaxLen(40).Annotations(entgql.Skip()),
		field.String("currency").Default("KRW").Annotations(entgql.Skip()),
	}
}

func (Price) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("service", Service.Type).Ref("prices").Field("service_id").
			Unique().Required().Immutable().Annotations(entgql.Skip()),
	}
}

func (Price) Indexes() []ent.Index {
	return []ent.Index{index.Fields("service_id", "region_code", "metric").Unique()}
}

func (Price) Annotations() []schema.Annotation { return []schema.Annotation{} }

// Contract holds a service in a region for a billing group.
type Contract struct{ ent.Schema }

func (Contract) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ctr"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (Contract) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable().Annotations(entgql.Skip()),
		field.String("service_code").Immutable(),
		field.String("region_code").Immutable(),
		// Dates in the policy's time zone, stored as midnight UTC of that day.
		field.Time("starts_on").Immutable(),
		field.Time("ends_on").Optional().Nillable(),
	}
}

func (Contract) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("billing_group", BillingGroup.Type).Ref("contracts").
			Field("billing_group_id").Unique().Required().Immutable().Annotations(entgql.Skip()),
	}
}

func (Contract) Indexes() []ent.Index {
	return []ent.Index{index.Fields("billing_group_id", "service_code", "region_code")}
}

func (Contract) Annotations() []schema.Annotation { return gql() }

// Promotion is a free offer of a service. Without a billing
// group it is offered platform-wide, like the catalog.
type Promotion struct{ ent.Schema }

func (Promotion) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "promo"}, TimeMixin{}} }

func (Promotion) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Optional().Nillable().Immutable().Annotations(entgql.Skip()),
		field.String("name").NotEmpty().MaxLen(200),
		field.String("service_code").Immutable(),
		field.String("provision_type").MaxLen(100),
		field.String("pricing_plan").MaxLen(100),
		field.Int("number_provided").NonNegative(),
	}
}

func (Promotion) Annotations() []schema.Annotation { return gql() }
