package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// PaymentMethod is a card, bank account or virtual account registered by an
// account (R-33..R-37). Only the gateway's token, the brand and the
// last four digits are ever stored.
type PaymentMethod struct{ ent.Schema }

func (PaymentMethod) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pm"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (PaymentMethod) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").Immutable().Annotations(entgql.Skip()),
		field.Enum("type").Values("CARD", "BANK_TRANSFER", "DIRECT_DEPOSIT").Immutable(),
		field.String("brand").Default("").Immutable(),
		field.String("last4").Default("").Immutable(),
		field.String("bank_code").Default("").Immutable(),
		field.String("holder_name").Default("").Immutable(),
		// A direct-deposit method's virtual account number: where the
		// customer deposits. Older rows kept it in holder_name.
		field.String("account_number").Default("").Immutable().Annotations(entgql.Skip()),
		field.Bool("corporate").Default(false).Immutable(),
		// The gateway's token; never shown.
		field.String("gateway_token").Immutable().Sensitive().Annotations(entgql.Skip()),
		// The automatic method the monthly run charges.
		field.Bool("is_default").Default(false),
		field.Enum("status").Values("ACTIVE", "REMOVED").Default("ACTIVE"),
		field.Time("consented_at").Immutable(),
	}
}

func (PaymentMethod) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

func (PaymentMethod) Annotations() []schema.Annotation { return gql() }

// Payment is one attempt to move money: paying invoices
// (automatic, instant, deposit), buying coins, buying a paid credit, or
// refunding what is left of one.
type Payment struct{ ent.Schema }

func (Payment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pay"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Optional().Immutable().Annotations(entgql.Skip()),
		field.String("account_id").Optional().Immutable().Annotations(entgql.Skip()),
		// Exposed as receiptId (API.md), not entgql's receiptID.
		field.String("receipt_id").Unique().Immutable().Annotations(entgql.Skip()),
		field.Enum("kind").Values("AUTOMATIC", "INSTANT", "DEPOSIT", "COIN_CHARGE", "CREDIT_PURCHASE", "CREDIT_REFUND", "INVOICE_REFUND").Immutable(),
		field.String("payment_method_id").Optional().Immutable().Annotations(entgql.Skip()),
		// "VISA •••• 4242", kept so history reads the same after changes.
		field.String("method_label").Default("").Immutable(),
		field.String("currency").Immutable().Annotations(entgql.Skip()),
		field.Int64("amount").Immutable().Annotations(entgql.Skip()),
		field.Enum("status").Values("PENDING", "SUCCESSFUL", "FAILED"),
		field.String("failure_reason").Default(""),
		// The paid credit a CREDIT_PURCHASE buys (the id it gets once the
		// payment succeeds) or a CREDIT_REFUND refunds.
		field.String("credit_id").Optional().Immutable().Annotations(entgql.Skip()),
		// What a purchase buys, for its receipt: the paid credit's name.
		field.String("description").Default("").Immutable().Annotations(entgql.Skip()),
		// For automatic runs: the invoice and day of the attempt, unique, so
		// replicas running together attempt once a day.
		field.String("attempt_key").Optional().Nillable().Unique().Immutable().Annotations(entgql.Skip()),
		field.Time("billed_at").Immutable(),
		field.Time("paid_at").Optional().Nillable(),
		// An INVOICE_REFUND gives back part of refunded_payment_id for
		// credit note credit_note_id.
		field.String("refunded_payment_id").Optional().Immutable().Annotations(entgql.Skip()),
		field.String("credit_note_id").Optional().Immutable().Annotations(entgql.Skip()),
		// When the row last changed, by the writing replica's wall clock
		// (not the billing clock): a replica whose listening connection
		// dropped gives its paymentUpdated subscribers what changed
		// meanwhile (server/app/relay.go). Empty on rows older than it.
		field.Time("changed_at").Optional().Nillable().Default(time.Now).UpdateDefault(time.Now).Annotations(entgql.Skip()),
	}
}

func (Payment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("billing_group_id", "created_at"), index.Fields("status"), index.Fields("credit_id"),
		// The day's money in of an organization (billing/limits.go).
		index.Fields("org_id", "created_at")}
}

func (Payment) Annotations() []schema.Annotation {
	return gql(entsql.Checks(map[string]string{"payment_amount_positive": "amount > 0"}))
}

// PaymentAllocation is the part of a payment that pays one invoice.
type PaymentAllocation struct{ ent.Schema }

func (PaymentAllocation) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pal"}, TenantMixin{Revision: MovesRevision}}
}

func (PaymentAllocation) Fields() []ent.Field {
	return []ent.Field{
		field.String("payment_id").Immutable(),
		field.String("invoice_id").Immutable(),
		field.Int64("amount").Immutable(),
	}
}

func (PaymentAllocation) Indexes() []ent.Index {
	return []ent.Index{index.Fields("invoice_id"), index.Fields("payment_id")}
}

func (PaymentAllocation) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// CoinCharge is one purchase of coins: what was charged, the
// bonus on top, and what is left of each. Check constraints keep both
// remainders within [0, bought] under any concurrency.
type CoinCharge struct{ ent.Schema }

func (CoinCharge) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "coin"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (CoinCharge) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").Immutable().Annotations(entgql.Skip()),
		field.String("payment_id").Immutable().Annotations(entgql.Skip()),
		field.String("currency").Immutable().Annotations(entgql.Skip()),
		field.Int64("charged").Immutable().Annotations(entgql.Skip()),
		field.Int64("bonus").Immutable().Annotations(entgql.Skip()),
		field.Int64("charged_remaining").Annotations(entgql.Skip()),
		field.Int64("bonus_remaining").Annotations(entgql.Skip()),
	}
}

func (CoinCharge) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

func (CoinCharge) Annotations() []schema.Annotation {
	return gql(entsql.Checks(map[string]string{
		"coin_remaining_bounds": "charged_remaining >= 0 AND bonus_remaining >= 0 AND charged_remaining <= charged AND bonus_remaining <= bonus",
	}))
}

// CoinShare lets a member account spend a charge of its master.
type CoinShare struct{ ent.Schema }

func (CoinShare) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cshr"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (CoinShare) Fields() []ent.Field {
	return []ent.Field{
		field.String("charge_id").Immutable(),
		field.String("account_id").Immutable(),
	}
}

func (CoinShare) Indexes() []ent.Index {
	return []ent.Index{index.Fields("charge_id", "account_id").Unique(), index.Fields("account_id")}
}

func (CoinShare) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// CoinUsage is coins spent on an invoice: bonus first, then charged.
type CoinUsage struct{ ent.Schema }

func (CoinUsage) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cuse"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (CoinUsage) Fields() []ent.Field {
	return []ent.Field{
		field.String("charge_id").Immutable(),
		field.String("account_id").Immutable(),
		field.String("invoice_id").Immutable(),
		field.String("currency").Immutable(),
		field.Int64("bonus_amount").Immutable(),
		field.Int64("charged_amount").Immutable(),
		// Coins a credit note gave back: a use of minus amounts.
		field.String("credit_note_id").Optional().Immutable(),
	}
}

func (CoinUsage) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "created_at"), index.Fields("charge_id")}
}

func (CoinUsage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// TaxInvoice is the business customer's tax invoice for a month, issued 3
// business days after it.
type TaxInvoice struct{ ent.Schema }

func (TaxInvoice) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "txi"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (TaxInvoice) Fields() []ent.Field {
	return []ent.Field{
		field.String("invoice_id").Unique().Immutable(),
		field.String("billing_group_id").Immutable(),
		field.String("month").Immutable(),
		field.Int64("supply_amount").Immutable(),
		field.Int64("tax_amount").Immutable(),
		field.String("currency").Immutable(),
		field.Time("issued_at").Immutable(),
	}
}

func (TaxInvoice) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// IssuedCashReceipt is a cash receipt issued for what an individual paid
// to the identifier the account applied with, as it was then.
type IssuedCashReceipt struct{ ent.Schema }

func (IssuedCashReceipt) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cash"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (IssuedCashReceipt) Fields() []ent.Field {
	return []ent.Field{
		field.String("payment_id").Unique().Immutable(),
		field.String("account_id").Immutable(),
		field.String("billing_group_id").Optional().Immutable(),
		// INCOME_DEDUCTION or EXPENSE_PROOF, and the masked identifier.
		field.String("type").Immutable(),
		field.String("identifier").Immutable(),
		field.String("currency").Immutable(),
		// The paid amount split into supply value and VAT (R-39's rate).
		field.Int64("supply_amount").Immutable(),
		field.Int64("tax_amount").Immutable(),
		field.Time("issued_at").Immutable(),
		// APPROVAL for a payment; CANCELLATION (취소 거래) for a refund of
		// one, naming the approval it cancels (original_id).
		field.String("kind").Immutable().Default("APPROVAL"),
		field.String("original_id").Optional().Immutable(),
	}
}

func (IssuedCashReceipt) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

func (IssuedCashReceipt) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
