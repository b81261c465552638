-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Add column "credit_note_id" to table: "coin_usages"
ALTER TABLE `coin_usages` ADD COLUMN `credit_note_id` text NULL;
-- Add column "credit_note_id" to table: "credit_entries"
ALTER TABLE `credit_entries` ADD COLUMN `credit_note_id` text NULL;
-- Add column "refunded_payment_id" to table: "payments"
ALTER TABLE `payments` ADD COLUMN `refunded_payment_id` text NULL;
-- Add column "credit_note_id" to table: "payments"
ALTER TABLE `payments` ADD COLUMN `credit_note_id` text NULL;
-- Create "new_invoices" table
CREATE TABLE `new_invoices` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `status` text NOT NULL, `currency` text NOT NULL, `usage_amount` integer NOT NULL, `discount_amount` integer NOT NULL, `credit_amount` integer NOT NULL, `determined_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `coin_amount` integer NOT NULL DEFAULT (0), `late_fee_amount` integer NOT NULL DEFAULT (0), `late_fee_months` integer NOT NULL DEFAULT (0), `outstanding_at` datetime NULL, `paid_amount` integer NOT NULL DEFAULT (0), `issued_at` datetime NOT NULL, `paid_at` datetime NULL, `voided_at` datetime NULL, `void_reason` text NOT NULL DEFAULT (''), `credit_note_amount` integer NOT NULL DEFAULT (0), `credited_amount` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`), CONSTRAINT `invoice_amounts_nonneg` CHECK (usage_amount >= 0 AND discount_amount >= 0 AND credit_amount >= 0 AND determined_amount >= 0 AND tax_amount >= 0 AND coin_amount >= 0 AND paid_amount >= 0));
-- Copy rows from old table "invoices" to new temporary table "new_invoices"
INSERT INTO `new_invoices` (`id`, `org_id`, `created_at`, `billing_group_id`, `month`, `status`, `currency`, `usage_amount`, `discount_amount`, `credit_amount`, `determined_amount`, `tax_amount`, `coin_amount`, `late_fee_amount`, `late_fee_months`, `outstanding_at`, `paid_amount`, `issued_at`, `paid_at`, `voided_at`, `void_reason`) SELECT `id`, `org_id`, `created_at`, `billing_group_id`, `month`, `status`, `currency`, `usage_amount`, `discount_amount`, `credit_amount`, `determined_amount`, `tax_amount`, `coin_amount`, `late_fee_amount`, `late_fee_months`, `outstanding_at`, `paid_amount`, `issued_at`, `paid_at`, `voided_at`, `void_reason` FROM `invoices`;
-- Drop "invoices" table after copying rows
DROP TABLE `invoices`;
-- Rename temporary table "new_invoices" to "invoices"
ALTER TABLE `new_invoices` RENAME TO `invoices`;
-- Create index "invoice_org_id" to table: "invoices"
CREATE INDEX `invoice_org_id` ON `invoices` (`org_id`);
-- Create index "invoice_billing_group_id_month" to table: "invoices"
CREATE UNIQUE INDEX `invoice_billing_group_id_month` ON `invoices` (`billing_group_id`, `month`) WHERE status <> 'VOID';
-- Create "credit_notes" table
CREATE TABLE `credit_notes` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `invoice_id` text NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `currency` text NOT NULL, `amount` integer NOT NULL, `taxed_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `credit_amount` integer NOT NULL, `due_amount` integer NOT NULL, `refund_amount` integer NOT NULL, `coin_amount` integer NOT NULL, `reason` text NOT NULL, `lines` json NULL, `tax_invoice_id` text NULL, `issued_at` datetime NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `credit_note_amounts` CHECK (amount > 0 AND taxed_amount >= 0 AND tax_amount >= 0 AND credit_amount >= 0 AND due_amount >= 0 AND refund_amount >= 0 AND coin_amount >= 0 AND amount = taxed_amount + credit_amount AND taxed_amount + tax_amount = due_amount + refund_amount + coin_amount));
-- Create index "creditnote_org_id" to table: "credit_notes"
CREATE INDEX `creditnote_org_id` ON `credit_notes` (`org_id`);
-- Create index "creditnote_invoice_id_issued_at" to table: "credit_notes"
CREATE INDEX `creditnote_invoice_id_issued_at` ON `credit_notes` (`invoice_id`, `issued_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
