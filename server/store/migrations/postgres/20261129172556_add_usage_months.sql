-- Create "usage_months" table
CREATE TABLE "usage_months" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "month" character varying NOT NULL, "amount" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "usagemonth_billing_group_id_month" to table: "usage_months"
CREATE UNIQUE INDEX "usagemonth_billing_group_id_month" ON "usage_months" ("billing_group_id", "month");
