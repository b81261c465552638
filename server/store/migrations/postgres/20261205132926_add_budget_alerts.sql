-- Create "budget_alerts" table
CREATE TABLE "budget_alerts" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "billing_group_id" character varying NOT NULL, "name" character varying NOT NULL, "amount" bigint NOT NULL, "currency" character varying NOT NULL, "thresholds" json NOT NULL, "created_by" character varying NOT NULL DEFAULT '', PRIMARY KEY ("id"));
-- Create index "budgetalert_billing_group_id" to table: "budget_alerts"
CREATE INDEX "budgetalert_billing_group_id" ON "budget_alerts" ("billing_group_id");
-- Create "budget_alert_firings" table
CREATE TABLE "budget_alert_firings" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "alert_id" character varying NOT NULL, "month" character varying NOT NULL, "threshold" bigint NOT NULL, "amount" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "budgetalertfiring_alert_id_month_threshold" to table: "budget_alert_firings"
CREATE UNIQUE INDEX "budgetalertfiring_alert_id_month_threshold" ON "budget_alert_firings" ("alert_id", "month", "threshold");
