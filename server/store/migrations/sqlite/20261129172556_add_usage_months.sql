-- Create "usage_months" table
CREATE TABLE `usage_months` (`id` text NOT NULL, `org_id` text NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `amount` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "usagemonth_billing_group_id_month" to table: "usage_months"
CREATE UNIQUE INDEX `usagemonth_billing_group_id_month` ON `usage_months` (`billing_group_id`, `month`);
