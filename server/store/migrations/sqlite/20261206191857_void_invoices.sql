-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_invoices" table
CREATE TABLE `new_invoices` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `status` text NOT NULL, `currency` text NOT NULL, `usage_amount` integer NOT NULL, `discount_amount` integer NOT NULL, `credit_amount` integer NOT NULL, `determined_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `coin_amount` integer NOT NULL DEFAULT (0), `late_fee_amount` integer NOT NULL DEFAULT (0), `late_fee_months` integer NOT NULL DEFAULT (0), `outstanding_at` datetime NULL, `paid_amount` integer NOT NULL DEFAULT (0), `issued_at` datetime NOT NULL, `paid_at` datetime NULL, `voided_at` datetime NULL, `void_reason` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`), CONSTRAINT `invoice_amounts_nonneg` CHECK (usage_amount >= 0 AND discount_amount >= 0 AND credit_amount >= 0 AND determined_amount >= 0 AND tax_amount >= 0 AND coin_amount >= 0 AND paid_amount >= 0));
-- Copy rows from old table "invoices" to new temporary table "new_invoices"
INSERT INTO `new_invoices` (`id`, `org_id`, `created_at`, `billing_group_id`, `month`, `status`, `currency`, `usage_amount`, `discount_amount`, `credit_amount`, `determined_amount`, `tax_amount`, `coin_amount`, `late_fee_amount`, `late_fee_months`, `outstanding_at`, `paid_amount`, `issued_at`, `paid_at`) SELECT `id`, `org_id`, `created_at`, `billing_group_id`, `month`, `status`, `currency`, `usage_amount`, `discount_amount`, `credit_amount`, `determined_amount`, `tax_amount`, `coin_amount`, `late_fee_amount`, `late_fee_months`, `outstanding_at`, `paid_amount`, `issued_at`, `paid_at` FROM `invoices`;
-- Drop "invoices" table after copying rows
DROP TABLE `invoices`;
-- Rename temporary table "new_invoices" to "invoices"
ALTER TABLE `new_invoices` RENAME TO `invoices`;
-- Create index "invoice_org_id" to table: "invoices"
CREATE INDEX `invoice_org_id` ON `invoices` (`org_id`);
-- Create index "invoice_billing_group_id_month" to table: "invoices"
CREATE UNIQUE INDEX `invoice_billing_group_id_month` ON `invoices` (`billing_group_id`, `month`) WHERE status <> 'VOID';
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
