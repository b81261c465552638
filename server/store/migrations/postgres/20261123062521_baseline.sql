-- Create "idempotency_keys" table
CREATE TABLE "idempotency_keys" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "caller" character varying NOT NULL, "key" character varying NOT NULL, "operation" character varying NOT NULL, "request_hash" character varying NOT NULL, "response" bytea NULL, PRIMARY KEY ("id"));
-- Create index "idempotencykey_caller_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX "idempotencykey_caller_key" ON "idempotency_keys" ("caller", "key");
-- Create index "idempotencykey_org_id" to table: "idempotency_keys"
CREATE INDEX "idempotencykey_org_id" ON "idempotency_keys" ("org_id");
-- Create "tax_invoices" table
CREATE TABLE "tax_invoices" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "invoice_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "month" character varying NOT NULL, "supply_amount" bigint NOT NULL, "tax_amount" bigint NOT NULL, "currency" character varying NOT NULL, "issued_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "tax_invoices_invoice_id_key" to table: "tax_invoices"
CREATE UNIQUE INDEX "tax_invoices_invoice_id_key" ON "tax_invoices" ("invoice_id");
-- Create index "taxinvoice_org_id" to table: "tax_invoices"
CREATE INDEX "taxinvoice_org_id" ON "tax_invoices" ("org_id");
-- Create "audit_events" table
CREATE TABLE "audit_events" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "actor" character varying NOT NULL, "action" character varying NOT NULL, "input" character varying NOT NULL, "outcome" character varying NOT NULL, "request_id" character varying NOT NULL, PRIMARY KEY ("id"));
-- Create index "auditevent_org_id" to table: "audit_events"
CREATE INDEX "auditevent_org_id" ON "audit_events" ("org_id");
-- Create index "auditevent_org_id_created_at" to table: "audit_events"
CREATE INDEX "auditevent_org_id_created_at" ON "audit_events" ("org_id", "created_at");
-- Create "usage_events" table
CREATE TABLE "usage_events" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "event_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "service_code" character varying NOT NULL, "region_code" character varying NOT NULL, "channel" character varying NOT NULL DEFAULT '', "metric" character varying NOT NULL, "quantity_micros" bigint NOT NULL, "occurred_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "usageevent_org_id_event_id" to table: "usage_events"
CREATE UNIQUE INDEX "usageevent_org_id_event_id" ON "usage_events" ("org_id", "event_id");
-- Create "coin_charges" table
CREATE TABLE "coin_charges" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "payment_id" character varying NOT NULL, "currency" character varying NOT NULL, "charged" bigint NOT NULL, "bonus" bigint NOT NULL, "charged_remaining" bigint NOT NULL, "bonus_remaining" bigint NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "coin_remaining_bounds" CHECK ((charged_remaining >= 0) AND (bonus_remaining >= 0) AND (charged_remaining <= charged) AND (bonus_remaining <= bonus)));
-- Create index "coincharge_account_id" to table: "coin_charges"
CREATE INDEX "coincharge_account_id" ON "coin_charges" ("account_id");
-- Create index "coincharge_org_id" to table: "coin_charges"
CREATE INDEX "coincharge_org_id" ON "coin_charges" ("org_id");
-- Create "coin_shares" table
CREATE TABLE "coin_shares" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "charge_id" character varying NOT NULL, "account_id" character varying NOT NULL, PRIMARY KEY ("id"));
-- Create index "coinshare_account_id" to table: "coin_shares"
CREATE INDEX "coinshare_account_id" ON "coin_shares" ("account_id");
-- Create index "coinshare_charge_id_account_id" to table: "coin_shares"
CREATE UNIQUE INDEX "coinshare_charge_id_account_id" ON "coin_shares" ("charge_id", "account_id");
-- Create index "coinshare_org_id" to table: "coin_shares"
CREATE INDEX "coinshare_org_id" ON "coin_shares" ("org_id");
-- Create "coin_usages" table
CREATE TABLE "coin_usages" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "charge_id" character varying NOT NULL, "account_id" character varying NOT NULL, "invoice_id" character varying NOT NULL, "currency" character varying NOT NULL, "bonus_amount" bigint NOT NULL, "charged_amount" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "coinusage_account_id_created_at" to table: "coin_usages"
CREATE INDEX "coinusage_account_id_created_at" ON "coin_usages" ("account_id", "created_at");
-- Create index "coinusage_charge_id" to table: "coin_usages"
CREATE INDEX "coinusage_charge_id" ON "coin_usages" ("charge_id");
-- Create index "coinusage_org_id" to table: "coin_usages"
CREATE INDEX "coinusage_org_id" ON "coin_usages" ("org_id");
-- Create "usage_dailies" table
CREATE TABLE "usage_dailies" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "day" character varying NOT NULL, "service_code" character varying NOT NULL, "region_code" character varying NOT NULL, "channel" character varying NOT NULL DEFAULT '', "metric" character varying NOT NULL, "quantity_micros" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "usagedaily_billing_group_id_da_61fb3c10895941161addd885a1a76fef" to table: "usage_dailies"
CREATE UNIQUE INDEX "usagedaily_billing_group_id_da_61fb3c10895941161addd885a1a76fef" ON "usage_dailies" ("billing_group_id", "day", "service_code", "region_code", "channel", "metric");
-- Create "discounts" table
CREATE TABLE "discounts" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "billing_group_id" character varying NOT NULL, "month" character varying NOT NULL, "name" character varying NOT NULL, "percentage" character varying NOT NULL, "service_codes" json NULL, "conditions" character varying NOT NULL DEFAULT '', PRIMARY KEY ("id"));
-- Create index "discount_billing_group_id_month" to table: "discounts"
CREATE INDEX "discount_billing_group_id_month" ON "discounts" ("billing_group_id", "month");
-- Create index "discount_org_id" to table: "discounts"
CREATE INDEX "discount_org_id" ON "discounts" ("org_id");
-- Create "coupon_redemptions" table
CREATE TABLE "coupon_redemptions" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "coupon_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, "credit_id" character varying NULL, "discount_id" character varying NULL, PRIMARY KEY ("id"));
-- Create index "couponredemption_coupon_id_billing_group_id" to table: "coupon_redemptions"
CREATE UNIQUE INDEX "couponredemption_coupon_id_billing_group_id" ON "coupon_redemptions" ("coupon_id", "billing_group_id");
-- Create index "couponredemption_org_id" to table: "coupon_redemptions"
CREATE INDEX "couponredemption_org_id" ON "coupon_redemptions" ("org_id");
-- Create "coupons" table
CREATE TABLE "coupons" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, "kind" character varying NOT NULL, "currency" character varying NOT NULL, "amount" bigint NOT NULL DEFAULT 0, "percentage" character varying NOT NULL DEFAULT '', "valid_from" timestamptz NOT NULL, "valid_until" timestamptz NOT NULL, "max_redemptions" bigint NOT NULL, "redemptions" bigint NOT NULL DEFAULT 0, "credit_valid_days" bigint NOT NULL DEFAULT 0, "service_codes" json NULL, PRIMARY KEY ("id"), CONSTRAINT "coupon_redemptions_max" CHECK (redemptions <= max_redemptions));
-- Create index "coupons_code_key" to table: "coupons"
CREATE UNIQUE INDEX "coupons_code_key" ON "coupons" ("code");
-- Create "payment_methods" table
CREATE TABLE "payment_methods" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "type" character varying NOT NULL, "brand" character varying NOT NULL DEFAULT '', "last4" character varying NOT NULL DEFAULT '', "bank_code" character varying NOT NULL DEFAULT '', "holder_name" character varying NOT NULL DEFAULT '', "corporate" boolean NOT NULL DEFAULT false, "gateway_token" character varying NOT NULL, "is_default" boolean NOT NULL DEFAULT false, "status" character varying NOT NULL DEFAULT 'ACTIVE', "consented_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "paymentmethod_account_id" to table: "payment_methods"
CREATE INDEX "paymentmethod_account_id" ON "payment_methods" ("account_id");
-- Create index "paymentmethod_org_id" to table: "payment_methods"
CREATE INDEX "paymentmethod_org_id" ON "payment_methods" ("org_id");
-- Create "regions" table
CREATE TABLE "regions" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, PRIMARY KEY ("id"));
-- Create index "regions_code_key" to table: "regions"
CREATE UNIQUE INDEX "regions_code_key" ON "regions" ("code");
-- Create "discount_uses" table
CREATE TABLE "discount_uses" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "discount_id" character varying NOT NULL, "invoice_id" character varying NOT NULL, "service_code" character varying NOT NULL, "currency" character varying NOT NULL, "amount" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "discountuse_discount_id" to table: "discount_uses"
CREATE INDEX "discountuse_discount_id" ON "discount_uses" ("discount_id");
-- Create index "discountuse_org_id" to table: "discount_uses"
CREATE INDEX "discountuse_org_id" ON "discount_uses" ("org_id");
-- Create "api_tokens" table
CREATE TABLE "api_tokens" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "name" character varying NOT NULL, "hint" character varying NOT NULL, "secret_hash" character varying NOT NULL, "scopes" json NOT NULL, "expires_at" timestamptz NULL, "last_used_at" timestamptz NULL, "revoked_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "api_tokens_secret_hash_key" to table: "api_tokens"
CREATE UNIQUE INDEX "api_tokens_secret_hash_key" ON "api_tokens" ("secret_hash");
-- Create index "apitoken_org_id" to table: "api_tokens"
CREATE INDEX "apitoken_org_id" ON "api_tokens" ("org_id");
-- Create "refresh_tokens" table
CREATE TABLE "refresh_tokens" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "family" character varying NOT NULL, "expires_at" timestamptz NOT NULL, "used_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "refreshtoken_family" to table: "refresh_tokens"
CREATE INDEX "refreshtoken_family" ON "refresh_tokens" ("family");
-- Create index "refreshtoken_org_id" to table: "refresh_tokens"
CREATE INDEX "refreshtoken_org_id" ON "refresh_tokens" ("org_id");
-- Create "coupon_guesses" table
CREATE TABLE "coupon_guesses" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "caller" character varying NOT NULL, "at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "couponguess_caller_at" to table: "coupon_guesses"
CREATE INDEX "couponguess_caller_at" ON "coupon_guesses" ("caller", "at");
-- Create "promotions" table
CREATE TABLE "promotions" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "billing_group_id" character varying NULL, "name" character varying NOT NULL, "service_code" character varying NOT NULL, "provision_type" character varying NOT NULL, "pricing_plan" character varying NOT NULL, "number_provided" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create "payments" table
CREATE TABLE "payments" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "billing_group_id" character varying NULL, "account_id" character varying NULL, "receipt_id" character varying NOT NULL, "kind" character varying NOT NULL, "payment_method_id" character varying NULL, "method_label" character varying NOT NULL DEFAULT '', "currency" character varying NOT NULL, "amount" bigint NOT NULL, "status" character varying NOT NULL, "failure_reason" character varying NOT NULL DEFAULT '', "attempt_key" character varying NULL, "billed_at" timestamptz NOT NULL, "paid_at" timestamptz NULL, "changed_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "payment_amount_positive" CHECK (amount > 0));
-- Create index "payment_billing_group_id_created_at" to table: "payments"
CREATE INDEX "payment_billing_group_id_created_at" ON "payments" ("billing_group_id", "created_at");
-- Create index "payment_org_id" to table: "payments"
CREATE INDEX "payment_org_id" ON "payments" ("org_id");
-- Create index "payment_status" to table: "payments"
CREATE INDEX "payment_status" ON "payments" ("status");
-- Create index "payments_attempt_key_key" to table: "payments"
CREATE UNIQUE INDEX "payments_attempt_key_key" ON "payments" ("attempt_key");
-- Create index "payments_receipt_id_key" to table: "payments"
CREATE UNIQUE INDEX "payments_receipt_id_key" ON "payments" ("receipt_id");
-- Create "organizations" table
CREATE TABLE "organizations" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "name" character varying NOT NULL, "welcome_credit_at" timestamptz NULL, "revision" bigint NOT NULL DEFAULT 0, "usage_revision" bigint NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
-- Create "outbox_events" table
CREATE TABLE "outbox_events" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "topic" character varying NOT NULL, "channel" character varying NOT NULL, "recipient" character varying NOT NULL DEFAULT '', "payload" bytea NOT NULL, "attempts" bigint NOT NULL DEFAULT 0, "deliver_after" timestamptz NULL, "delivered_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "outboxevent_delivered_at" to table: "outbox_events"
CREATE INDEX "outboxevent_delivered_at" ON "outbox_events" ("delivered_at");
-- Create index "outboxevent_org_id" to table: "outbox_events"
CREATE INDEX "outboxevent_org_id" ON "outbox_events" ("org_id");
-- Create "payment_allocations" table
CREATE TABLE "payment_allocations" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "payment_id" character varying NOT NULL, "invoice_id" character varying NOT NULL, "amount" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "paymentallocation_invoice_id" to table: "payment_allocations"
CREATE INDEX "paymentallocation_invoice_id" ON "payment_allocations" ("invoice_id");
-- Create index "paymentallocation_org_id" to table: "payment_allocations"
CREATE INDEX "paymentallocation_org_id" ON "payment_allocations" ("org_id");
-- Create index "paymentallocation_payment_id" to table: "payment_allocations"
CREATE INDEX "paymentallocation_payment_id" ON "payment_allocations" ("payment_id");
-- Create "accounts" table
CREATE TABLE "accounts" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "email" character varying NOT NULL, "billing_email" character varying NOT NULL, "password_hash" character varying NOT NULL, "member_type" character varying NOT NULL, "residence_country" character varying NOT NULL, "birth_date" timestamptz NULL, "is_master" boolean NOT NULL DEFAULT false, "business_certified" boolean NOT NULL DEFAULT false, "cash_receipt_type" character varying NULL, "cash_receipt_identifier" character varying NULL, "org_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "accounts_organizations_accounts" FOREIGN KEY ("org_id") REFERENCES "organizations" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "account_org_id" to table: "accounts"
CREATE INDEX "account_org_id" ON "accounts" ("org_id");
-- Create index "accounts_email_key" to table: "accounts"
CREATE UNIQUE INDEX "accounts_email_key" ON "accounts" ("email");
-- Create "billing_groups" table
CREATE TABLE "billing_groups" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "name" character varying NOT NULL, "is_main" boolean NOT NULL DEFAULT false, "currency" character varying NOT NULL DEFAULT 'KRW', "org_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "billing_groups_organizations_billing_groups" FOREIGN KEY ("org_id") REFERENCES "organizations" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "billinggroup_org_id" to table: "billing_groups"
CREATE INDEX "billinggroup_org_id" ON "billing_groups" ("org_id");
-- Create index "billinggroup_org_id_name" to table: "billing_groups"
CREATE UNIQUE INDEX "billinggroup_org_id_name" ON "billing_groups" ("org_id", "name");
-- Create "contracts" table
CREATE TABLE "contracts" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "service_code" character varying NOT NULL, "region_code" character varying NOT NULL, "starts_on" timestamptz NOT NULL, "ends_on" timestamptz NULL, "billing_group_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "contracts_billing_groups_contracts" FOREIGN KEY ("billing_group_id") REFERENCES "billing_groups" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "contract_billing_group_id_service_code_region_code" to table: "contracts"
CREATE INDEX "contract_billing_group_id_service_code_region_code" ON "contracts" ("billing_group_id", "service_code", "region_code");
-- Create index "contract_org_id" to table: "contracts"
CREATE INDEX "contract_org_id" ON "contracts" ("org_id");
-- Create "credits" table
CREATE TABLE "credits" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "billing_group_id" character varying NOT NULL, "name" character varying NOT NULL, "type" character varying NOT NULL, "status" character varying NOT NULL, "starts_at" timestamptz NOT NULL, "ends_at" timestamptz NOT NULL, "currency" character varying NOT NULL, "accumulated" bigint NOT NULL, "used" bigint NOT NULL DEFAULT 0, "remaining" bigint NOT NULL, "service_codes" json NULL, "source" character varying NOT NULL DEFAULT 'GRANT', "closed_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "credit_remaining_nonneg" CHECK ((remaining >= 0) AND (used >= 0) AND (accumulated >= 0) AND (remaining <= accumulated)));
-- Create index "credit_billing_group_id_status" to table: "credits"
CREATE INDEX "credit_billing_group_id_status" ON "credits" ("billing_group_id", "status");
-- Create index "credit_org_id" to table: "credits"
CREATE INDEX "credit_org_id" ON "credits" ("org_id");
-- Create "credit_entries" table
CREATE TABLE "credit_entries" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "kind" character varying NOT NULL, "amount" bigint NOT NULL, "invoice_id" character varying NULL, "counterpart_billing_group_id" character varying NULL, "occurred_at" timestamptz NOT NULL, "currency" character varying NOT NULL DEFAULT 'KRW', "credit_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "credit_entries_credits_entries" FOREIGN KEY ("credit_id") REFERENCES "credits" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "creditentry_credit_id_occurred_at" to table: "credit_entries"
CREATE INDEX "creditentry_credit_id_occurred_at" ON "credit_entries" ("credit_id", "occurred_at");
-- Create index "creditentry_org_id" to table: "credit_entries"
CREATE INDEX "creditentry_org_id" ON "credit_entries" ("org_id");
-- Create "grants" table
CREATE TABLE "grants" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "role" character varying NOT NULL, "account_id" character varying NOT NULL, "billing_group_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "grants_accounts_grants" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "grants_billing_groups_grants" FOREIGN KEY ("billing_group_id") REFERENCES "billing_groups" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "grant_account_id" to table: "grants"
CREATE INDEX "grant_account_id" ON "grants" ("account_id");
-- Create index "grant_billing_group_id_account_id" to table: "grants"
CREATE UNIQUE INDEX "grant_billing_group_id_account_id" ON "grants" ("billing_group_id", "account_id");
-- Create index "grant_org_id" to table: "grants"
CREATE INDEX "grant_org_id" ON "grants" ("org_id");
-- Create "invoices" table
CREATE TABLE "invoices" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "billing_group_id" character varying NOT NULL, "month" character varying NOT NULL, "status" character varying NOT NULL, "currency" character varying NOT NULL, "usage_amount" bigint NOT NULL, "discount_amount" bigint NOT NULL, "credit_amount" bigint NOT NULL, "determined_amount" bigint NOT NULL, "tax_amount" bigint NOT NULL, "coin_amount" bigint NOT NULL DEFAULT 0, "late_fee_amount" bigint NOT NULL DEFAULT 0, "late_fee_months" bigint NOT NULL DEFAULT 0, "outstanding_at" timestamptz NULL, "paid_amount" bigint NOT NULL DEFAULT 0, "issued_at" timestamptz NOT NULL, "paid_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "invoice_amounts_nonneg" CHECK ((usage_amount >= 0) AND (discount_amount >= 0) AND (credit_amount >= 0) AND (determined_amount >= 0) AND (tax_amount >= 0) AND (coin_amount >= 0) AND (paid_amount >= 0)));
-- Create index "invoice_billing_group_id_month" to table: "invoices"
CREATE UNIQUE INDEX "invoice_billing_group_id_month" ON "invoices" ("billing_group_id", "month");
-- Create index "invoice_org_id" to table: "invoices"
CREATE INDEX "invoice_org_id" ON "invoices" ("org_id");
-- Create "invoice_lines" table
CREATE TABLE "invoice_lines" ("id" character varying NOT NULL, "org_id" character varying NOT NULL, "position" bigint NOT NULL, "region_code" character varying NOT NULL, "service_code" character varying NOT NULL, "service_name" character varying NOT NULL, "currency" character varying NOT NULL, "used_amount" bigint NOT NULL, "discount_amount" bigint NOT NULL, "credit_amount" bigint NOT NULL, "determined_amount" bigint NOT NULL, "invoice_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "invoice_lines_invoices_lines" FOREIGN KEY ("invoice_id") REFERENCES "invoices" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "invoiceline_invoice_id_position" to table: "invoice_lines"
CREATE UNIQUE INDEX "invoiceline_invoice_id_position" ON "invoice_lines" ("invoice_id", "position");
-- Create index "invoiceline_org_id" to table: "invoice_lines"
CREATE INDEX "invoiceline_org_id" ON "invoice_lines" ("org_id");
-- Create "services" table
CREATE TABLE "services" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, "category" character varying NOT NULL DEFAULT 'General', "kind" character varying NOT NULL DEFAULT 'STANDARD', PRIMARY KEY ("id"));
-- Create index "services_code_key" to table: "services"
CREATE UNIQUE INDEX "services_code_key" ON "services" ("code");
-- Create "prices" table
CREATE TABLE "prices" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "region_code" character varying NOT NULL DEFAULT '', "metric" character varying NOT NULL, "model" character varying NOT NULL, "unit_price" character varying NOT NULL, "currency" character varying NOT NULL DEFAULT 'KRW', "service_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "prices_services_prices" FOREIGN KEY ("service_id") REFERENCES "services" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "price_service_id_region_code_metric" to table: "prices"
CREATE UNIQUE INDEX "price_service_id_region_code_metric" ON "prices" ("service_id", "region_code", "metric");
