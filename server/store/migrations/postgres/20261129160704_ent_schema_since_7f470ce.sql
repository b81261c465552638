-- Modify "accounts" table
ALTER TABLE "accounts" ADD COLUMN "language" character varying NULL, ADD COLUMN "legal_name" character varying NULL, ADD COLUMN "business_registration_number" character varying NULL, ADD COLUMN "representative_name" character varying NULL, ADD COLUMN "address" character varying NULL, ADD COLUMN "phone_number" character varying NULL, ADD COLUMN "phone_verified_at" timestamptz NULL, ADD COLUMN "pending_phone_number" character varying NULL, ADD COLUMN "phone_code_hash" character varying NULL, ADD COLUMN "phone_code_sent_at" timestamptz NULL, ADD COLUMN "phone_code_attempts" bigint NOT NULL DEFAULT 0;
-- Modify "outbox_events" table
ALTER TABLE "outbox_events" ADD COLUMN "language" character varying NOT NULL DEFAULT '';
-- Modify "payment_methods" table
ALTER TABLE "payment_methods" ADD COLUMN "account_number" character varying NOT NULL DEFAULT '';
-- Modify "payments" table
ALTER TABLE "payments" ADD COLUMN "credit_id" character varying NULL, ADD COLUMN "description" character varying NOT NULL DEFAULT '';
-- Create index "payment_credit_id" to table: "payments"
CREATE INDEX "payment_credit_id" ON "payments" ("credit_id");
-- Create "auth_throttles" table
CREATE TABLE "auth_throttles" ("id" character varying NOT NULL, "key" character varying NOT NULL, "attempts" bigint NOT NULL DEFAULT 0, "last_at" timestamptz NOT NULL, "locked_until" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "auththrottle_key" to table: "auth_throttles"
CREATE UNIQUE INDEX "auththrottle_key" ON "auth_throttles" ("key");
-- Create index "auththrottle_last_at" to table: "auth_throttles"
CREATE INDEX "auththrottle_last_at" ON "auth_throttles" ("last_at");
-- Create "invitations" table
CREATE TABLE "invitations" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "email" character varying NOT NULL, "invited_by" character varying NOT NULL, "expires_at" timestamptz NOT NULL, "accepted_at" timestamptz NULL, "account_id" character varying NULL, PRIMARY KEY ("id"));
-- Create index "invitation_org_id_email" to table: "invitations"
CREATE INDEX "invitation_org_id_email" ON "invitations" ("org_id", "email");
-- Create "issued_cash_receipts" table
CREATE TABLE "issued_cash_receipts" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "payment_id" character varying NOT NULL, "account_id" character varying NOT NULL, "billing_group_id" character varying NULL, "type" character varying NOT NULL, "identifier" character varying NOT NULL, "currency" character varying NOT NULL, "supply_amount" bigint NOT NULL, "tax_amount" bigint NOT NULL, "issued_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "issued_cash_receipts_payment_id_key" to table: "issued_cash_receipts"
CREATE UNIQUE INDEX "issued_cash_receipts_payment_id_key" ON "issued_cash_receipts" ("payment_id");
-- Create index "issuedcashreceipt_account_id" to table: "issued_cash_receipts"
CREATE INDEX "issuedcashreceipt_account_id" ON "issued_cash_receipts" ("account_id");
-- Create index "issuedcashreceipt_org_id" to table: "issued_cash_receipts"
CREATE INDEX "issuedcashreceipt_org_id" ON "issued_cash_receipts" ("org_id");
-- Create "job_cursors" table
CREATE TABLE "job_cursors" ("id" character varying NOT NULL, "ran_through" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create "job_failures" table
CREATE TABLE "job_failures" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "step" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "subject_id" character varying NOT NULL, "month" character varying NOT NULL DEFAULT '', "key" character varying NOT NULL DEFAULT '', "error" text NOT NULL, "attempts" bigint NOT NULL DEFAULT 1, "first_failed_at" timestamptz NOT NULL, "last_failed_at" timestamptz NOT NULL, "resolved_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "jobfailure_resolved_at" to table: "job_failures"
CREATE INDEX "jobfailure_resolved_at" ON "job_failures" ("resolved_at");
-- Create index "jobfailure_step_subject_id_key" to table: "job_failures"
CREATE UNIQUE INDEX "jobfailure_step_subject_id_key" ON "job_failures" ("step", "subject_id", "key");
