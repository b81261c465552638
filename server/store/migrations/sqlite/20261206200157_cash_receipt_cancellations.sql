-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_issued_cash_receipts" table
CREATE TABLE `new_issued_cash_receipts` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `payment_id` text NOT NULL, `account_id` text NOT NULL, `billing_group_id` text NULL, `type` text NOT NULL, `identifier` text NOT NULL, `currency` text NOT NULL, `supply_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `issued_at` datetime NOT NULL, `kind` text NOT NULL DEFAULT ('APPROVAL'), `original_id` text NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "issued_cash_receipts" to new temporary table "new_issued_cash_receipts"
INSERT INTO `new_issued_cash_receipts` (`id`, `org_id`, `created_at`, `payment_id`, `account_id`, `billing_group_id`, `type`, `identifier`, `currency`, `supply_amount`, `tax_amount`, `issued_at`) SELECT `id`, `org_id`, `created_at`, `payment_id`, `account_id`, `billing_group_id`, `type`, `identifier`, `currency`, `supply_amount`, `tax_amount`, `issued_at` FROM `issued_cash_receipts`;
-- Drop "issued_cash_receipts" table after copying rows
DROP TABLE `issued_cash_receipts`;
-- Rename temporary table "new_issued_cash_receipts" to "issued_cash_receipts"
ALTER TABLE `new_issued_cash_receipts` RENAME TO `issued_cash_receipts`;
-- Create index "issued_cash_receipts_payment_id_key" to table: "issued_cash_receipts"
CREATE UNIQUE INDEX `issued_cash_receipts_payment_id_key` ON `issued_cash_receipts` (`payment_id`);
-- Create index "issuedcashreceipt_org_id" to table: "issued_cash_receipts"
CREATE INDEX `issuedcashreceipt_org_id` ON `issued_cash_receipts` (`org_id`);
-- Create index "issuedcashreceipt_account_id" to table: "issued_cash_receipts"
CREATE INDEX `issuedcashreceipt_account_id` ON `issued_cash_receipts` (`account_id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
