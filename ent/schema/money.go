package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Money columns are int64 minor units of the billing group's currency
// (KRW has none). Usage quantities are int64 micro-units (1e-6), so rollups
// add exactly in SQL on every database.

// UsageEvent is one recorded usage event; the client's event id
// is unique per organization, so the same event twice counts once.
type UsageEvent struct{ ent.Schema }

func (UsageEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "use"}, TenantMixin{Revision: CoveredBy("usage_revision: every batch moves it"), NoOrgIndex: true} /* unique (org_id, event_id) */, TimeMixin{}}
}

func (UsageEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("event_id").Immutable().NotEmpty().MaxLen(200),
		field.String("billing_group_id").Immutable(),
		field.String("service_code").Immutable(),
		field.String("region_code").Immutable(),
		field.String("channel").Immutable().Default(""),
		field.String("metric").Immutable(),
		field.Int64("quantity_micros").Immutable(),
		field.Time("occurred_at").Immutable(),
		// The month of occurred_at in the policy's time zone, "2026-10":
		// in PostgreSQL the table is partitioned by it (server/store/partitions.go),
		// and an event id is unique within its organization and month.
		field.String("month").Immutable().MinLen(7).MaxLen(7),
	}
}

func (UsageEvent) Indexes() []ent.Index {
	// A unique index of a partitioned table must hold its partition key:
	// the same event sent again has the same instant, so the same month.
	return []ent.Index{index.Fields("org_id", "event_id", "month").Unique()}
}

func (UsageEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// UsageDaily is the exact daily rollup of usage events that every usage view
// and the invoice read, kept up to date as events arrive.
type UsageDaily struct{ ent.Schema }

func (UsageDaily) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ud"}, TenantMixin{Revision: CoveredBy("usage_revision: written with the usage events of a batch"), NoOrgIndex: true} /* read by billing group; an organization's usage is found through usage_events */}
}

func (UsageDaily) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable(),
		// The day in the policy's time zone, "2026-10-31".
		field.String("day").Immutable().MinLen(10).MaxLen(10),
		field.String("service_code").Immutable(),
		field.String("region_code").Immutable(),
		field.String("channel").Immutable().Default(""),
		field.String("metric").Immutable(),
		field.Int64("quantity_micros"),
	}
}

func (UsageDaily) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("billing_group_id", "day", "service_code", "region_code", "channel", "metric").Unique(),
	}
}

func (UsageDaily) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// UsageMonth bounds what a billing group's usage of one month can rate to:
// the sum of its recorded events' amount ceilings (quantity × unit price
// rounded up, plus a channel product's base fees), in minor units, grown by
// recordUsage in the statement that records the events. Usage that would
// take it past billing.MaxMonthUsageAmount is refused, so that no invoice
// amount can overflow (issue 13).
type UsageMonth struct{ ent.Schema }

func (UsageMonth) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "um"}, TenantMixin{Revision: CoveredBy("usage_revision: written with the usage events of a batch"), NoOrgIndex: true} /* read by billing group only */}
}

func (UsageMonth) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable(),
		field.String("month").Immutable().MinLen(7).MaxLen(7),
		field.Int64("amount"),
	}
}

func (UsageMonth) Indexes() []ent.Index {
	return []ent.Index{index.Fields("billing_group_id", "month").Unique()}
}

func (UsageMonth) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Invoice is the bill of one billing group for one month.
// Exactly one per billing group and month is a unique constraint.
type Invoice struct{ ent.Schema }

func (Invoice) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "inv"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (Invoice) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable().Annotations(entgql.Skip()),
		field.String("month").Immutable().Annotations(entgql.Skip()),
		// VOID: withdrawn by an operator before anything paid it; kept in
		// the history with its id, the month open again to be corrected and
		// issued anew (billing/void.go).
		field.Enum("status").Values("ISSUED", "PAID", "OUTSTANDING", "VOID"),
		field.String("currency").Immutable().Annotations(entgql.Skip()),
		field.Int64("usage_amount").Immutable().Annotations(entgql.Skip()),
		field.Int64("discount_amount").Immutable().Annotations(entgql.Skip()),
		field.Int64("credit_amount").Immutable().Annotations(entgql.Skip()),
		field.Int64("determined_amount").Immutable().Annotations(entgql.Skip()),
		field.Int64("tax_amount").Immutable().Annotations(entgql.Skip()),
		field.Int64("coin_amount").Default(0).Annotations(entgql.Skip()),
		field.Int64("late_fee_amount").Default(0).Annotations(entgql.Skip()),
		// How many months of late fees were charged (R-44: once per month carried).
		field.Int("late_fee_months").Default(0).Annotations(entgql.Skip()),
		// Set when the invoice turned outstanding.
		field.Time("outstanding_at").Optional().Nillable(),
		field.Int64("paid_amount").Default(0).Annotations(entgql.Skip()),
		field.Time("issued_at").Immutable(),
		field.Time("paid_at").Optional().Nillable(),
		field.Time("voided_at").Optional().Nillable(),
		field.String("void_reason").Default("").MaxLen(500),
		// Credit notes (R-73, billing/creditnotes.go): what they took off
		// what the invoice asks to be paid (their taxed supply and VAT), and
		// of that what they took off the amount still unpaid. The rest went
		// back to the payments and coins that paid it.
		field.Int64("credit_note_amount").Default(0).Annotations(entgql.Skip()),
		field.Int64("credited_amount").Default(0).Annotations(entgql.Skip()),
	}
}

func (Invoice) Edges() []ent.Edge {
	return []ent.Edge{edge.To("lines", InvoiceLine.Type).Annotations(entgql.Skip())}
}

func (Invoice) Indexes() []ent.Index {
	// One invoice per billing group and month that is not void:
	// a voided month is issued again under a new id.
	return []ent.Index{index.Fields("billing_group_id", "month").Unique().
		Annotations(entsql.IndexWhere("status <> 'VOID'"))}
}

func (Invoice) Annotations() []schema.Annotation {
	return gql(entsql.Checks(map[string]string{
		"invoice_amounts_nonneg": "usage_amount >= 0 AND discount_amount >= 0 AND credit_amount >= 0 AND determined_amount >= 0 AND tax_amount >= 0 AND coin_amount >= 0 AND paid_amount >= 0",
	}))
}

// CreditNote corrects an issued invoice downwards: a supply value
// with its VAT, restored to where the invoice's money came from — the
// amount still unpaid first, then the payments (refunded through the
// gateway), then the coins, and the part of the supply free credits paid
// back to those credits. Its parts add up: amount = taxedAmount +
// creditAmount; taxedAmount + taxAmount = dueAmount + refundAmount +
// coinAmount.
type CreditNote struct{ ent.Schema }

func (CreditNote) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cn"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (CreditNote) Fields() []ent.Field {
	return []ent.Field{
		field.String("invoice_id").Immutable(),
		field.String("billing_group_id").Immutable(),
		field.String("month").Immutable(),
		field.String("currency").Immutable(),
		// The supply value credited, and its part on the taxed supply (the
		// rest is the supply free credits paid, which carried no VAT).
		field.Int64("amount").Immutable(),
		field.Int64("taxed_amount").Immutable(),
		field.Int64("tax_amount").Immutable(),
		field.Int64("credit_amount").Immutable(),
		field.Int64("due_amount").Immutable(),
		field.Int64("refund_amount").Immutable(),
		field.Int64("coin_amount").Immutable(),
		field.String("reason").MaxLen(500).Immutable(),
		// Lines credited, when the note names them: region, service, amount.
		field.JSON("lines", []CreditNoteLine{}).SchemaType(jsonText).Optional().Immutable(),
		// The tax invoice it amends (a business customer's, R-46): the note
		// is then an amended tax invoice (수정세금계산서) of minus amounts.
		field.String("tax_invoice_id").Optional().Immutable(),
		field.Time("issued_at").Immutable(),
	}
}

func (CreditNote) Indexes() []ent.Index {
	return []ent.Index{index.Fields("invoice_id", "issued_at")}
}

func (CreditNote) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll), entsql.Checks(map[string]string{
		"credit_note_amounts": "amount > 0 AND taxed_amount >= 0 AND tax_amount >= 0 AND credit_amount >= 0 AND due_amount >= 0 AND refund_amount >= 0 AND coin_amount >= 0 AND amount = taxed_amount + credit_amount AND taxed_amount + tax_amount = due_amount + refund_amount + coin_amount",
	})}
}

// CreditNoteLine is the part of a credit note on one invoice line.
type CreditNoteLine struct {
	Region      string `json:"region"`
	ServiceCode string `json:"serviceCode"`
	Amount      int64  `json:"amount"`
}

// InvoiceLine is one region × service line of an invoice.
type InvoiceLine struct{ ent.Schema }

func (InvoiceLine) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "invl"}, TenantMixin{Revision: CoveredBy("revision: written only with their invoice, whose row moves it")}}
}

func (InvoiceLine) Fields() []ent.Field {
	return []ent.Field{
		field.String("invoice_id").Immutable(),
		field.Int("position").Immutable(),
		field.String("region_code").Immutable(),
		field.String("service_code").Immutable(),
		field.String("service_name").Immutable(),
		field.String("currency").Immutable(),
		field.Int64("used_amount").Immutable(),
		field.Int64("discount_amount").Immutable(),
		field.Int64("credit_amount").Immutable(),
		field.Int64("determined_amount").Immutable(),
	}
}

func (InvoiceLine) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("invoice", Invoice.Type).Ref("lines").Field("invoice_id").
			Unique().Required().Immutable(),
	}
}

func (InvoiceLine) Indexes() []ent.Index {
	return []ent.Index{index.Fields("invoice_id", "position").Unique()}
}

func (InvoiceLine) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Credit is prepaid or granted money of a billing group (R-20..R-28).
// Its amounts are the sums of its history entries; a check constraint
// makes a negative remainder impossible.
type Credit struct{ ent.Schema }

func (Credit) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cred"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (Credit) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable().Annotations(entgql.Skip()),
		field.String("name").NotEmpty().MaxLen(200),
		field.Enum("type").Values("FREE", "PAID").Immutable(),
		field.Enum("status").Values("AVAILABLE", "USED_UP", "EXPIRED", "RECOVERED", "REFUNDED"),
		field.Time("starts_at").Immutable(),
		field.Time("ends_at"),
		field.String("currency").Immutable().Annotations(entgql.Skip()),
		field.Int64("accumulated").Annotations(entgql.Skip()),
		field.Int64("used").Default(0).Annotations(entgql.Skip()),
		field.Int64("remaining").Annotations(entgql.Skip()),
		field.Strings("service_codes").SchemaType(jsonText).Optional().Annotations(entgql.Skip()),
		field.String("source").Default("GRANT").Annotations(entgql.Skip()),
		// When it reached a terminal status with nothing left.
		field.Time("closed_at").Optional().Nillable().Annotations(entgql.Skip()),
		// When the master was told the credit ends within a week: once.
		field.Time("expiry_noticed_at").Optional().Nillable().Annotations(entgql.Skip()),
	}
}

func (Credit) Edges() []ent.Edge {
	return []ent.Edge{edge.To("entries", CreditEntry.Type).Annotations(entgql.Skip())}
}

func (Credit) Indexes() []ent.Index {
	return []ent.Index{index.Fields("billing_group_id", "status")}
}

func (Credit) Annotations() []schema.Annotation {
	return gql(entsql.Checks(map[string]string{
		"credit_remaining_nonneg": "remaining >= 0 AND used >= 0 AND accumulated >= 0 AND remaining <= accumulated",
	}))
}

// CreditEntry is one immutable change to a credit.
type CreditEntry struct{ ent.Schema }

func (CreditEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cre"}, TenantMixin{Revision: MovesRevision}}
}

func (CreditEntry) Fields() []ent.Field {
	return []ent.Field{
		field.String("credit_id").Immutable().Annotations(entgql.Skip()),
		field.Enum("kind").Values("ACCUMULATION", "USE", "EXPIRY", "TRANSFER_ACCUMULATION",
			"TRANSFER_DEDUCTION", "RECOVERY", "REFUND", "RESTORE").Immutable(),
		// Signed change to the remaining amount, in minor units.
		field.Int64("amount").Immutable().Annotations(entgql.Skip()),
		field.String("invoice_id").Optional().Immutable().Annotations(entgql.Skip()),
		// A RESTORE of a credit note names it.
		field.String("credit_note_id").Optional().Immutable().Annotations(entgql.Skip()),
		field.String("counterpart_billing_group_id").Optional().Immutable().Annotations(entgql.Skip()),
		field.Time("occurred_at").Immutable().Annotations(entgql.OrderField("OCCURRED_AT")),
		// The credit's currency, kept on the entry so a history reads alone.
		field.String("currency").Immutable().Default("KRW").Annotations(entgql.Skip()),
	}
}

func (CreditEntry) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("credit", Credit.Type).Ref("entries").Field("credit_id").
			Unique().Required().Immutable().Annotations(entgql.Skip()),
	}
}

func (CreditEntry) Indexes() []ent.Index {
	return []ent.Index{index.Fields("credit_id", "occurred_at")}
}

func (CreditEntry) Annotations() []schema.Annotation { return gql() }

// OutboxEvent is a notification or webhook to deliver at least once; it is
// written in the same transaction as the change it reports.
type OutboxEvent struct{ ent.Schema }

func (OutboxEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "evt"}, TenantMixin{Revision: OutsideRevision("the outbox: read by the relay, never by a view")}, TimeMixin{}}
}

func (OutboxEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("topic").Immutable(),
		field.String("channel").Immutable(), // EMAIL, SMS, WEBHOOK
		field.String("recipient").Immutable().Default(""),
		// The recipient's language (KO, EN) for email and SMS.
		field.String("language").Immutable().Default(""),
		field.Bytes("payload").Immutable(),
		field.Int("attempts").Default(0),
		field.Time("deliver_after").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
		// Set when the event is given up on (notify.Outbox: one that can
		// never be sent, or failing MaxAttempts times): kept for operators,
		// never retried.
		field.Time("failed_at").Optional().Nillable(),
		field.String("last_error").Default("").MaxLen(500),
	}
}

func (OutboxEvent) Indexes() []ent.Index { return []ent.Index{index.Fields("delivered_at")} }

func (OutboxEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// IdempotencyKey remembers the result of a money-moving mutation.
// The unique (caller, key) row is inserted in the mutation's transaction, so
// concurrent duplicates wait for the first and then read its result.
type IdempotencyKey struct{ ent.Schema }

func (IdempotencyKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "idem"}, TenantMixin{Revision: OutsideRevision("idempotency keys: read by the mutation that writes them")}, TimeMixin{}}
}

func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("caller").Immutable(),
		field.String("key").Immutable().NotEmpty().MaxLen(200),
		field.String("operation").Immutable(),
		field.String("request_hash").Immutable(),
		field.Bytes("response").Optional(),
	}
}

func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("caller", "key").Unique()}
}

func (IdempotencyKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Discount takes a percentage off a billing group's service lines for one
// month, before credits.
type Discount struct{ ent.Schema }

func (Discount) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "disc"}, TenantMixin{Revision: MovesRevision}, TimeMixin{}}
}

func (Discount) Fields() []ent.Field {
	return []ent.Field{
		field.String("billing_group_id").Immutable().Annotations(entgql.Skip()),
		field.String("month").Immutable().Annotations(entgql.Skip()),
		field.String("name").NotEmpty().MaxLen(200),
		// Exact decimal percentage, "12.5".
		field.String("percentage").Immutable().Annotations(entgql.Skip()),
		field.Strings("service_codes").SchemaType(jsonText).Optional().Annotations(entgql.Skip()),
		field.String("conditions").Default(""),
	}
}

func (Discount) Indexes() []ent.Index {
	return []ent.Index{index.Fields("billing_group_id", "month")}
}

func (Discount) Annotations() []schema.Annotation { return gql() }

// CouponGuess is one coupon code attempt of a caller still counted against
// its limit of wrong codes (billing.Guesses): kept while wrong, removed
// when right, forgotten after the window. In the database so that every
// replica counts the same attempts.
type CouponGuess struct{ ent.Schema }

func (CouponGuess) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cg"}, TenantMixin{Revision: OutsideRevision("coupon guesses: counted by the redeeming mutation"), NoOrgIndex: true} /* read by caller */}
}

func (CouponGuess) Fields() []ent.Field {
	return []ent.Field{
		field.String("caller").Immutable(),
		field.Time("at").Immutable(),
	}
}

func (CouponGuess) Indexes() []ent.Index {
	return []ent.Index{index.Fields("caller", "at")}
}

func (CouponGuess) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
