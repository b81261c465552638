-- Create index "payment_org_id_created_at" to table: "payments"
CREATE INDEX "payment_org_id_created_at" ON "payments" ("org_id", "created_at");
