-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_accounts" table
CREATE TABLE `new_accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `email` text NOT NULL, `billing_email` text NOT NULL, `password_hash` text NOT NULL, `member_type` text NOT NULL, `residence_country` text NOT NULL, `birth_date` datetime NULL, `is_master` bool NOT NULL DEFAULT (false), `business_certified` bool NOT NULL DEFAULT (false), `cash_receipt_type` text NULL, `cash_receipt_identifier` text NULL, `language` text NULL, `legal_name` text NULL, `business_registration_number` text NULL, `representative_name` text NULL, `address` text NULL, `phone_number` text NULL, `phone_verified_at` datetime NULL, `pending_phone_number` text NULL, `phone_code_hash` text NULL, `phone_code_sent_at` datetime NULL, `phone_code_attempts` integer NOT NULL DEFAULT (0), `org_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `accounts_organizations_accounts` FOREIGN KEY (`org_id`) REFERENCES `organizations` (`id`) ON DELETE NO ACTION);
-- Copy rows from old table "accounts" to new temporary table "new_accounts"
INSERT INTO `new_accounts` (`id`, `created_at`, `email`, `billing_email`, `password_hash`, `member_type`, `residence_country`, `birth_date`, `is_master`, `business_certified`, `cash_receipt_type`, `cash_receipt_identifier`, `org_id`) SELECT `id`, `created_at`, `email`, `billing_email`, `password_hash`, `member_type`, `residence_country`, `birth_date`, `is_master`, `business_certified`, `cash_receipt_type`, `cash_receipt_identifier`, `org_id` FROM `accounts`;
-- Drop "accounts" table after copying rows
DROP TABLE `accounts`;
-- Rename temporary table "new_accounts" to "accounts"
ALTER TABLE `new_accounts` RENAME TO `accounts`;
-- Create index "accounts_email_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_email_key` ON `accounts` (`email`);
-- Create index "account_org_id" to table: "accounts"
CREATE INDEX `account_org_id` ON `accounts` (`org_id`);
-- Create "new_outbox_events" table
CREATE TABLE `new_outbox_events` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `topic` text NOT NULL, `channel` text NOT NULL, `recipient` text NOT NULL DEFAULT (''), `language` text NOT NULL DEFAULT (''), `payload` blob NOT NULL, `attempts` integer NOT NULL DEFAULT (0), `deliver_after` datetime NULL, `delivered_at` datetime NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "outbox_events" to new temporary table "new_outbox_events"
INSERT INTO `new_outbox_events` (`id`, `org_id`, `created_at`, `topic`, `channel`, `recipient`, `payload`, `attempts`, `deliver_after`, `delivered_at`) SELECT `id`, `org_id`, `created_at`, `topic`, `channel`, `recipient`, `payload`, `attempts`, `deliver_after`, `delivered_at` FROM `outbox_events`;
-- Drop "outbox_events" table after copying rows
DROP TABLE `outbox_events`;
-- Rename temporary table "new_outbox_events" to "outbox_events"
ALTER TABLE `new_outbox_events` RENAME TO `outbox_events`;
-- Create index "outboxevent_org_id" to table: "outbox_events"
CREATE INDEX `outboxevent_org_id` ON `outbox_events` (`org_id`);
-- Create index "outboxevent_delivered_at" to table: "outbox_events"
CREATE INDEX `outboxevent_delivered_at` ON `outbox_events` (`delivered_at`);
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
-- Create "new_payment_methods" table
CREATE TABLE `new_payment_methods` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `account_id` text NOT NULL, `type` text NOT NULL, `brand` text NOT NULL DEFAULT (''), `last4` text NOT NULL DEFAULT (''), `bank_code` text NOT NULL DEFAULT (''), `holder_name` text NOT NULL DEFAULT (''), `account_number` text NOT NULL DEFAULT (''), `corporate` bool NOT NULL DEFAULT (false), `gateway_token` text NOT NULL, `is_default` bool NOT NULL DEFAULT (false), `status` text NOT NULL DEFAULT ('ACTIVE'), `consented_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "payment_methods" to new temporary table "new_payment_methods"
INSERT INTO `new_payment_methods` (`id`, `org_id`, `created_at`, `account_id`, `type`, `brand`, `last4`, `bank_code`, `holder_name`, `corporate`, `gateway_token`, `is_default`, `status`, `consented_at`) SELECT `id`, `org_id`, `created_at`, `account_id`, `type`, `brand`, `last4`, `bank_code`, `holder_name`, `corporate`, `gateway_token`, `is_default`, `status`, `consented_at` FROM `payment_methods`;
-- Drop "payment_methods" table after copying rows
DROP TABLE `payment_methods`;
-- Rename temporary table "new_payment_methods" to "payment_methods"
ALTER TABLE `new_payment_methods` RENAME TO `payment_methods`;
-- Create index "paymentmethod_org_id" to table: "payment_methods"
CREATE INDEX `paymentmethod_org_id` ON `payment_methods` (`org_id`);
-- Create index "paymentmethod_account_id" to table: "payment_methods"
CREATE INDEX `paymentmethod_account_id` ON `payment_methods` (`account_id`);
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
-- Create "issued_cash_receipts" table
CREATE TABLE `issued_cash_receipts` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `payment_id` text NOT NULL, `account_id` text NOT NULL, `billing_group_id` text NULL, `type` text NOT NULL, `identifier` text NOT NULL, `currency` text NOT NULL, `supply_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `issued_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "issued_cash_receipts_payment_id_key" to table: "issued_cash_receipts"
CREATE UNIQUE INDEX `issued_cash_receipts_payment_id_key` ON `issued_cash_receipts` (`payment_id`);
-- Create index "issuedcashreceipt_org_id" to table: "issued_cash_receipts"
CREATE INDEX `issuedcashreceipt_org_id` ON `issued_cash_receipts` (`org_id`);
-- Create index "issuedcashreceipt_account_id" to table: "issued_cash_receipts"
CREATE INDEX `issuedcashreceipt_account_id` ON `issued_cash_receipts` (`account_id`);
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
