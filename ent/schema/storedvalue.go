package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Coupon is a credit code an operator issues. Codes are
// platform-wide, like the catalog: any organization may redeem one.
type Coupon struct{ ent.Schema }

func (Coupon) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{Prefix: "cpn"}, TimeMixin{}} }

func (Coupon) Fields() []ent.Field {
	return []ent.Field{
		// Upper-case; compared after normalising what the user typed.
		field.String("code").Unique().Immutable().NotEmpty().MaxLen(40),
		field.String("name").NotEmpty().MaxLen(200),
		field.Enum("kind").Values("CREDIT", "DISCOUNT").Immutable(),
		field.String("currency").Immutable().Annotations(entgql.Skip()),
		// CREDIT: the credit's amount in minor units.
		field.Int64("amount").Default(0).Immutable().Annotations(entgql.Skip()),
		// DISCOUNT: the percentage off the month of redemption.
		field.String("percentage").Default("").Immutable().Annotations(entgql.Skip()),
		field.Time("valid_from").Immutable(),
		field.Time("valid_until").Immutable(),
		field.Int("max_redemptions").Positive().Immutable(),
		field.Int("redemptions").Default(0).NonNegative(),
		field.Int("credit_valid_days").Default(0).NonNegative().Immutable(),
		field.Strings("service_codes").SchemaType(jsonText).Optional().Annotations(entgql.Skip()),
	}
}

func (Coupon) Annotations() []schema.Annotation {
	return gql(entsql.Checks(map[string]string{"coupon_redemptions_max": "redemptions <= max_redemptions"}))
}

// CouponRedemption records that a billing group redeemed a coupon; one per
// group and coupon.
type CouponRedemption struct{ ent.Schema }

func (CouponRedemption) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "red"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (CouponRedemption) Fields() []ent.Field {
	return []ent.Field{
		field.String("coupon_id").Immutable(),
		field.String("billing_group_id").Immutable(),
		field.String("credit_id").Optional().Immutable(),
		field.String("discount_id").Optional().Immutable(),
	}
}

func (CouponRedemption) Indexes() []ent.Index {
	return []ent.Index{index.Fields("coupon_id", "billing_group_id").Unique()}
}

func (CouponRedemption) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// DiscountUse is what one discount took off one invoice (R-29's usage history).
type DiscountUse struct{ ent.Schema }

func (DiscountUse) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "du"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (DiscountUse) Fields() []ent.Field {
	return []ent.Field{
		field.String("discount_id").Immutable(),
		field.String("invoice_id").Immutable(),
		field.String("service_code").Immutable(),
		field.String("currency").Immutable(),
		field.Int64("amount").Immutable(),
	}
}

func (DiscountUse) Indexes() []ent.Index { return []ent.Index{index.Fields("discount_id")} }

func (DiscountUse) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
