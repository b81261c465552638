-- Modify "coin_usages" table
ALTER TABLE "coin_usages" ADD COLUMN "credit_note_id" character varying NULL;
-- Modify "credit_entries" table
ALTER TABLE "credit_entries" ADD COLUMN "credit_note_id" character varying NULL;
-- Modify "invoices" table
ALTER TABLE "invoices" ADD COLUMN "credit_note_amount" bigint NOT NULL DEFAULT 0, ADD COLUMN "credited_amount" bigint NOT NULL DEFAULT 0;
-- Modify "payments" table
ALTER TABLE "payments" ADD COLUMN "refunded_payment_id" character varying NULL, ADD COLUMN "credit_note_id" character varying NULL;
-- Create "credit_notes" table
CREATE TABLE "credit_notes" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "invoice_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "month" character varying NOT NULL, "currency" character varying NOT NULL, "amount" bigint NOT NULL, "taxed_amount" bigint NOT NULL, "tax_amount" bigint NOT NULL, "credit_amount" bigint NOT NULL, "due_amount" bigint NOT NULL, "refund_amount" bigint NOT NULL, "coin_amount" bigint NOT NULL, "reason" character varying NOT NULL, "lines" json NULL, "tax_invoice_id" character varying NULL, "issued_at" timestamptz NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "credit_note_amounts" CHECK ((amount > 0) AND (taxed_amount >= 0) AND (tax_amount >= 0) AND (credit_amount >= 0) AND (due_amount >= 0) AND (refund_amount >= 0) AND (coin_amount >= 0) AND (amount = (taxed_amount + credit_amount)) AND ((taxed_amount + tax_amount) = ((due_amount + refund_amount) + coin_amount))));
-- Create index "creditnote_invoice_id_issued_at" to table: "credit_notes"
CREATE INDEX "creditnote_invoice_id_issued_at" ON "credit_notes" ("invoice_id", "issued_at");
-- Create index "creditnote_org_id" to table: "credit_notes"
CREATE INDEX "creditnote_org_id" ON "credit_notes" ("org_id");
