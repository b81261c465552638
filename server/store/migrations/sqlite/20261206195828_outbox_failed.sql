-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_outbox_events" table
CREATE TABLE `new_outbox_events` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `topic` text NOT NULL, `channel` text NOT NULL, `recipient` text NOT NULL DEFAULT (''), `language` text NOT NULL DEFAULT (''), `payload` blob NOT NULL, `attempts` integer NOT NULL DEFAULT (0), `deliver_after` datetime NULL, `delivered_at` datetime NULL, `failed_at` datetime NULL, `last_error` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Copy rows from old table "outbox_events" to new temporary table "new_outbox_events"
INSERT INTO `new_outbox_events` (`id`, `org_id`, `created_at`, `topic`, `channel`, `recipient`, `language`, `payload`, `attempts`, `deliver_after`, `delivered_at`) SELECT `id`, `org_id`, `created_at`, `topic`, `channel`, `recipient`, `language`, `payload`, `attempts`, `deliver_after`, `delivered_at` FROM `outbox_events`;
-- Drop "outbox_events" table after copying rows
DROP TABLE `outbox_events`;
-- Rename temporary table "new_outbox_events" to "outbox_events"
ALTER TABLE `new_outbox_events` RENAME TO `outbox_events`;
-- Create index "outboxevent_org_id" to table: "outbox_events"
CREATE INDEX `outboxevent_org_id` ON `outbox_events` (`org_id`);
-- Create index "outboxevent_delivered_at" to table: "outbox_events"
CREATE INDEX `outboxevent_delivered_at` ON `outbox_events` (`delivered_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
