package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Organization is a tenant (KakaoCloud's "domain", R-03). It is its own
// tenant key: its id is the org_id of every row it owns.
type Organization struct{ ent.Schema }

func (Organization) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "org"}, TimeMixin{}}
}

func (Organization) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200),
		// Set once the welcome credit was granted (R-25: once per organization).
		field.Time("welcome_credit_at").Optional().Nillable().Annotations(entgql.Skip()),
		// Changes whenever the organization's money rows change (set by a
		// trigger at commit, see server/store/revision.go): replicas key
		// what they cache of the organization's views by it.
		field.Int64("revision").Default(0).Annotations(entgql.Skip()),
		// Changes whenever usage of the organization is recorded (by
		// recordUsage, at the end of its transaction): the usage views are
		// cached by it, apart from revision, so that partners pushing usage
		// all day leave the other views cached.
		field.Int64("usage_revision").Default(0).Annotations(entgql.Skip()),
	}
}

func (Organization) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("accounts", Account.Type).Annotations(entgql.Skip()),
		edge.To("billing_groups", BillingGroup.Type).Annotations(entgql.Skip()),
	}
}

func (Organization) Annotations() []schema.Annotation { return gql() }

// Account is a person or company that signs in. It belongs to one
// organization, as its master or as a member.
type Account struct{ ent.Schema }

func (Account) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "acct"}, TimeMixin{}}
}

func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("org_id").NotEmpty().MaxLen(40).Annotations(entgql.Skip()),
		field.String("email").NotEmpty().MaxLen(254).Unique(),
		field.String("billing_email").NotEmpty().MaxLen(254),
		field.String("password_hash").Sensitive().Annotations(entgql.Skip()),
		field.Enum("member_type").Values("INDIVIDUAL", "BUSINESS"),
		// the residence country never changes after sign-up.
		field.String("residence_country").Immutable().MinLen(2).MaxLen(2),
		field.Time("birth_date").Optional().Nillable().Annotations(entgql.Skip()),
		field.Bool("is_master").Default(false),
		// operators certify international businesses for direct deposit.
		field.Bool("business_certified").Default(false),
		// Cash receipts issued automatically for what an individual pays
		// INCOME_DEDUCTION or EXPENSE_PROOF, to a masked identifier.
		field.String("cash_receipt_type").Optional().Nillable(),
		field.String("cash_receipt_identifier").Optional().Nillable().Annotations(entgql.Skip()),
		// Documents and notifications are written in this language; unset,
		// KO for domestic accounts and EN for international ones.
		field.Enum("language").Values("KO", "EN").Optional().Nillable().Annotations(entgql.Skip()),
		// Whom documents are addressed to: a business's registered name
		// (상호) or a person's name, the business registration number
		// (사업자등록번호, 10 digits; tax invoices need it, R-46), the
		// representative and the address.
		field.String("legal_name").Optional().MaxLen(200).Annotations(entgql.Skip()),
		field.String("business_registration_number").Optional().MaxLen(10).Annotations(entgql.Skip()),
		field.String("representative_name").Optional().MaxLen(100).Annotations(entgql.Skip()),
		field.String("address").Optional().MaxLen(300).Annotations(entgql.Skip()),
		// The verified mobile number that text messages go to (E.164), and
		// the verification in progress: the number asked for, a hash of the
		// code sent to it, when it was sent, and wrong attempts at it.
		field.String("phone_number").Optional().MaxLen(16).Annotations(entgql.Skip()),
		field.Time("phone_verified_at").Optional().Nillable().Annotations(entgql.Skip()),
		field.String("pending_phone_number").Optional().MaxLen(16).Annotations(entgql.Skip()),
		field.String("phone_code_hash").Optional().Sensitive().Annotations(entgql.Skip()),
		field.Time("phone_code_sent_at").Optional().Nillable().Annotations(entgql.Skip()),
		field.Int("phone_code_attempts").Default(0).Annotations(entgql.Skip()),
	}
}

func (Account) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("organization", Organization.Type).Ref("accounts").
			Field("org_id").Unique().Required().Annotations(entgql.Skip()),
		edge.To("grants", Grant.Type).Annotations(entgql.Skip()),
	}
}

func (Account) Indexes() []ent.Index { return []ent.Index{index.Fields("org_id")} }

func (Account) Annotations() []schema.Annotation { return gql(MovesRevision) }

// BillingGroup keeps usage, credits, invoices and payments.
type BillingGroup struct{ ent.Schema }

func (BillingGroup) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "bg"}, TimeMixin{}}
}

func (BillingGroup) Fields() []ent.Field {
	return []ent.Field{
		field.String("org_id").Immutable().NotEmpty().MaxLen(40).Annotations(entgql.Skip()),
		field.String("name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("NAME")),
		field.Bool("is_main").Default(false),
		field.String("currency").Default("KRW").MinLen(3).MaxLen(3).Annotations(entgql.Skip()),
	}
}

func (BillingGroup) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("organization", Organization.Type).Ref("billing_groups").
			Field("org_id").Unique().Required().Immutable().Annotations(entgql.Skip()),
		edge.To("grants", Grant.Type).Annotations(entgql.Skip()),
		edge.To("contracts", Contract.Type).Annotations(entgql.Skip()),
	}
}

func (BillingGroup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("org_id"),
		// One main billing group per organization is enforced in code at
		// sign-up; names are unique within an organization.
		index.Fields("org_id", "name").Unique(),
	}
}

func (BillingGroup) Annotations() []schema.Annotation { return gql(MovesRevision) }

// Grant gives an account a role on one billing group.
type Grant struct{ ent.Schema }

func (Grant) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "grant"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (Grant) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable().Annotations(entgql.Skip()),
		field.String("account_id").Immutable().Annotations(entgql.Skip()),
		field.Enum("role").Values("BILLING_MANAGER", "MEMBER"),
	}
}

func (Grant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("billing_group", BillingGroup.Type).Ref("grants").
			Field("billing_group_id").Unique().Required().Immutable(),
		edge.From("account", Account.Type).Ref("grants").
			Field("account_id").Unique().Required().Immutable(),
	}
}

func (Grant) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("billing_group_id", "account_id").Unique(),
		index.Fields("account_id"),
	}
}

func (Grant) Annotations() []schema.Annotation { return gql() }

// APIToken is a partner's long-lived credential. Only a hash of the secret is
// stored; the secret is shown once, at creation.
type APIToken struct{ ent.Schema }

func (APIToken) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "tok"}, TenantMixin{Revision: OutsideRevision("API tokens: read by authentication on the primary")}, TimeMixin{}}
}

func (APIToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").Immutable().Annotations(entgql.Skip()),
		field.String("name").NotEmpty().MaxLen(200),
		// The first characters of the secret, for people to recognise a token.
		field.String("hint").Immutable(),
		field.String("secret_hash").Immutable().Unique().Sensitive().Annotations(entgql.Skip()),
		field.Strings("scopes").SchemaType(jsonText).Annotations(entgql.Skip()),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

func (APIToken) Annotations() []schema.Annotation { return gql() }

// RefreshToken tracks issued refresh tokens so they rotate: each may be used
// once, and reuse of a spent one revokes its whole family.
type RefreshToken struct{ ent.Schema }

func (RefreshToken) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rt"}, TenantMixin{Revision: OutsideRevision("refresh tokens: read by sign-in on the primary")}, TimeMixin{}}
}

func (RefreshToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").Immutable(),
		field.String("family").Immutable(),
		field.Time("expires_at").Immutable(),
		field.Time("used_at").Optional().Nillable(),
	}
}

func (RefreshToken) Indexes() []ent.Index { return []ent.Index{index.Fields("family")} }

func (RefreshToken) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// AuditEvent records a mutation: who, when, what, the outcome and the
// request id (issue "security"). Secrets in the input are redacted.
type AuditEvent struct{ ent.Schema }

func (AuditEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "aud"}, TenantMixin{Revision: OutsideRevision("the audit log: appended by every mutation; read on the primary")}, TimeMixin{}}
}

func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("actor").Immutable(),
		field.String("action").Immutable(),
		field.String("input").Immutable(),
		// "ok", or the error code the caller received.
		field.String("outcome").Immutable(),
		field.String("request_id").Immutable(),
	}
}

func (AuditEvent) Indexes() []ent.Index { return []ent.Index{index.Fields("org_id", "created_at")} }

func (AuditEvent) Annotations() []schema.Annotation { return gql() }
