-- Create "budget_alerts" table
CREATE TABLE `budget_alerts` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NOT NULL, `name` text NOT NULL, `amount` integer NOT NULL, `currency` text NOT NULL, `thresholds` json NOT NULL, `created_by` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "budgetalert_billing_group_id" to table: "budget_alerts"
CREATE INDEX `budgetalert_billing_group_id` ON `budget_alerts` (`billing_group_id`);
-- Create "budget_alert_firings" table
CREATE TABLE `budget_alert_firings` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `alert_id` text NOT NULL, `month` text NOT NULL, `threshold` integer NOT NULL, `amount` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "budgetalertfiring_alert_id_month_threshold" to table: "budget_alert_firings"
CREATE UNIQUE INDEX `budgetalertfiring_alert_id_month_threshold` ON `budget_alert_firings` (`alert_id`, `month`, `threshold`);
