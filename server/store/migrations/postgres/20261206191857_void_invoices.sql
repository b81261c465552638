-- Drop index "invoice_billing_group_id_month" from table: "invoices"
DROP INDEX "invoice_billing_group_id_month";
-- Modify "invoices" table
ALTER TABLE "invoices" ADD COLUMN "voided_at" timestamptz NULL, ADD COLUMN "void_reason" character varying NOT NULL DEFAULT '';
-- Create index "invoice_billing_group_id_month" to table: "invoices"
CREATE UNIQUE INDEX "invoice_billing_group_id_month" ON "invoices" ("billing_group_id", "month") WHERE ((status)::text <> 'VOID'::text);
