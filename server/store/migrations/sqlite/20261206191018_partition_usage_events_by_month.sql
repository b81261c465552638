-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_usage_events" table
CREATE TABLE `new_usage_events` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `event_id` text NOT NULL, `billing_group_id` text NOT NULL, `service_code` text NOT NULL, `region_code` text NOT NULL, `channel` text NOT NULL DEFAULT (''), `metric` text NOT NULL, `quantity_micros` integer NOT NULL, `occurred_at` datetime NOT NULL, `month` text NOT NULL, PRIMARY KEY (`id`));
-- Copy rows from old table (hand-written: the month of occurred_at in Asia/Seoul, every shipped policy's zone; times are stored as UTC text, server/store/sqlitetime.go)
-- Copy rows from old table "usage_events" to new temporary table "new_usage_events"
INSERT INTO `new_usage_events` (`id`, `org_id`, `created_at`, `event_id`, `billing_group_id`, `service_code`, `region_code`, `channel`, `metric`, `quantity_micros`, `occurred_at`, `month`) SELECT `id`, `org_id`, `created_at`, `event_id`, `billing_group_id`, `service_code`, `region_code`, `channel`, `metric`, `quantity_micros`, `occurred_at`, strftime('%Y-%m', substr(`occurred_at`, 1, 19), '+9 hours') FROM `usage_events`;
-- Drop "usage_events" table after copying rows
DROP TABLE `usage_events`;
-- Rename temporary table "new_usage_events" to "usage_events"
ALTER TABLE `new_usage_events` RENAME TO `usage_events`;
-- Create index "usageevent_org_id_event_id_month" to table: "usage_events"
CREATE UNIQUE INDEX `usageevent_org_id_event_id_month` ON `usage_events` (`org_id`, `event_id`, `month`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
