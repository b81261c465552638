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
-- Create "job_cursors" table
CREATE TABLE "job_cursors" ("id" character varying NOT NULL, "ran_through" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create "job_failures" table
CREATE TABLE "job_failures" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "step" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "subject_id" character varying NOT NULL, "month" character varying NOT NULL DEFAULT '', "key" character varying NOT NULL DEFAULT '', "error" text NOT NULL, "attempts" bigint NOT NULL DEFAULT 1, "first_failed_at" timestamptz NOT NULL, "last_failed_at" timestamptz NOT NULL, "resolved_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "jobfailure_resolved_at" to table: "job_failures"
CREATE INDEX "jobfailure_resolved_at" ON "job_failures" ("resolved_at");
-- Create index "jobfailure_step_subject_id_key" to table: "job_failures"
CREATE UNIQUE INDEX "jobfailure_step_subject_id_key" ON "job_failures" ("step", "subject_id", "key");
