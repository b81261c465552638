-- Modify "outbox_events" table
ALTER TABLE "outbox_events" ADD COLUMN "failed_at" timestamptz NULL, ADD COLUMN "last_error" character varying NOT NULL DEFAULT '';
