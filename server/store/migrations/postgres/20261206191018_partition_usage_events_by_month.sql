-- usage_events becomes partitioned by LIST of its new month column (server/store/partitions.go), written
-- by hand: Atlas cannot turn a table into a partitioned one. The month of each stored event is that of
-- occurred_at in Asia/Seoul, every shipped policy's zone. The rows are copied into one partition per
-- month they have (and the current month's); the jobs make the months ahead.
ALTER TABLE "usage_events" RENAME TO "usage_events_unpartitioned";
ALTER TABLE "usage_events_unpartitioned" RENAME CONSTRAINT "usage_events_pkey" TO "usage_events_unpartitioned_pkey";
-- Create "usage_events" table
CREATE TABLE "usage_events" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "event_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "service_code" character varying NOT NULL, "region_code" character varying NOT NULL, "channel" character varying NOT NULL DEFAULT '', "metric" character varying NOT NULL, "quantity_micros" bigint NOT NULL, "occurred_at" timestamptz NOT NULL, "month" character varying NOT NULL, PRIMARY KEY ("id", "month")) PARTITION BY LIST ("month");
-- Create index "usageevent_org_id_event_id_month" to table: "usage_events"
CREATE UNIQUE INDEX "usageevent_org_id_event_id_month" ON "usage_events" ("org_id", "event_id", "month");
-- The partition of months nobody made a partition for yet
CREATE TABLE "usage_events_default" PARTITION OF "usage_events" DEFAULT;
-- One partition a month the rows have, and the current month
DO $$
DECLARE m text;
BEGIN
  FOR m IN SELECT to_char(occurred_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM') FROM "usage_events_unpartitioned"
    UNION SELECT to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM') LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "usage_events" FOR VALUES IN (%L)', 'usage_events_' || replace(m, '-', '_'), m);
  END LOOP;
END $$;
-- Copy the rows, each into its month's partition
INSERT INTO "usage_events" ("id", "org_id", "created_at", "event_id", "billing_group_id", "service_code", "region_code", "channel", "metric", "quantity_micros", "occurred_at", "month") SELECT "id", "org_id", "created_at", "event_id", "billing_group_id", "service_code", "region_code", "channel", "metric", "quantity_micros", "occurred_at", to_char(occurred_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM') FROM "usage_events_unpartitioned";
DROP TABLE "usage_events_unpartitioned";
