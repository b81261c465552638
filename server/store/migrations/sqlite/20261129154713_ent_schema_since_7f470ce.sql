-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_payments" table
CREATE TABLE `new_payments` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NULL, `account_id` text NULL, `receipt_id` text NOT NULL, `kind` text NOT NULL, `payment_method_id` text NULL, `method_label` text NOT NULL DEFAULT (''), `currency` text NOT NULL, `amount` integer NOT NULL, `status` text NOT NULL, `failure_reason` text NOT NULL DEFAULT (''), `credit_id` text NULL, `description` text NOT NULL DEFAULT (''), `attempt_key` text NULL, `billed_at` datetime NOT NULL, `paid_at` datetime NULL, `changed_at` datetime NULL, PRIMARY KEY (`id`), CONSTRAINT `payment_amount_positive` CHECK (amount > 0));
-- Copy rows from old table "payments" to new temporary table "new_payments"
INSERT INTO `new_payments` (`id`, `org_id`, `created_at`, `billing_group_id`, `account_id`, `receipt_id`, `kind`, `payment_method_id`, `method_label`, `currency`, `amount`, `status`, `failure_reason`, `attempt_key`, `billed_at`, `paid_at`, `changed_at`) SELECT `id`, `org_id`, `created_at`, `billing_group_id`, `account_id`, `receipt_id`, `kind`, `payment_method_id`, `method_label`, `currency`, `amount`, `status`, `failure_reason`, `attempt_key`, `billed_at`, `paid_at`, `changed_at` FROM `payments`;
-- Drop "payments" table after copying rows
DROP TABLE `payments`;
-- Rename temporary table "new_payments" to "payments"
ALTER TABLE `new_payments` RENAME TO `payments`;
-- Create index "payments_receipt_id_key" to table: "payments"
CREATE UNIQUE INDEX `payments_receipt_id_key` ON `payments` (`receipt_id`);
-- Create index "payments_attempt_key_key" to table: "payments"
CREATE UNIQUE INDEX `payments_attempt_key_key` ON `payments` (`attempt_key`);
-- Create index "payment_org_id" to table: "payments"
CREATE INDEX `payment_org_id` ON `payments` (`org_id`);
-- Create index "payment_billing_group_id_created_at" to table: "payments"
CREATE INDEX `payment_billing_group_id_created_at` ON `payments` (`billing_group_id`, `created_at`);
-- Create index "payment_status" to table: "payments"
CREATE INDEX `payment_status` ON `payments` (`status`);
-- Create index "payment_credit_id" to table: "payments"
CREATE INDEX `payment_credit_id` ON `payments` (`credit_id`);
-- Create "auth_throttles" table
CREATE TABLE `auth_throttles` (`id` text NOT NULL, `key` text NOT NULL, `attempts` integer NOT NULL DEFAULT (0), `last_at` datetime NOT NULL, `locked_until` datetime NULL, PRIMARY KEY (`id`));
-- Create index "auththrottle_key" to table: "auth_throttles"
CREATE UNIQUE INDEX `auththrottle_key` ON `auth_throttles` (`key`);
-- Create index "auththrottle_last_at" to table: "auth_throttles"
CREATE INDEX `auththrottle_last_at` ON `auth_throttles` (`last_at`);
-- Create "invitations" table
CREATE TABLE `invitations` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `email` text NOT NULL, `invited_by` text NOT NULL, `expires_at` datetime NOT NULL, `accepted_at` datetime NULL, `account_id` text NULL, PRIMARY KEY (`id`));
-- Create index "invitation_org_id_email" to table: "invitations"
CREATE INDEX `invitation_org_id_email` ON `invitations` (`org_id`, `email`);
-- Create "job_cursors" table
CREATE TABLE `job_cursors` (`id` text NOT NULL, `ran_through` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create "job_failures" table
CREATE TABLE `job_failures` (`id` text NOT NULL, `org_id` text NOT NULL, `step` text NOT NULL, `billing_group_id` text NOT NULL, `subject_id` text NOT NULL, `month` text NOT NULL DEFAULT (''), `key` text NOT NULL DEFAULT (''), `error` text NOT NULL, `attempts` integer NOT NULL DEFAULT (1), `first_failed_at` datetime NOT NULL, `last_failed_at` datetime NOT NULL, `resolved_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "jobfailure_step_subject_id_key" to table: "job_failures"
CREATE UNIQUE INDEX `jobfailure_step_subject_id_key` ON `job_failures` (`step`, `subject_id`, `key`);
-- Create index "jobfailure_resolved_at" to table: "job_failures"
CREATE INDEX `jobfailure_resolved_at` ON `job_failures` (`resolved_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
