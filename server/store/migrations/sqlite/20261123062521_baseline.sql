-- Create "api_tokens" table
CREATE TABLE `api_tokens` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NOT NULL, `hint` text NOT NULL, `secret_hash` text NOT NULL, `scopes` json NOT NULL, `expires_at` datetime NULL, `last_used_at` datetime NULL, `revoked_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "api_tokens_secret_hash_key" to table: "api_tokens"
CREATE UNIQUE INDEX `api_tokens_secret_hash_key` ON `api_tokens` (`secret_hash`);
-- Create index "apitoken_org_id" to table: "api_tokens"
CREATE INDEX `apitoken_org_id` ON `api_tokens` (`org_id`);
-- Create "accounts" table
CREATE TABLE `accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `email` text NOT NULL, `billing_email` text NOT NULL, `password_hash` text NOT NULL, `member_type` text NOT NULL, `residence_country` text NOT NULL, `birth_date` datetime NULL, `is_master` bool NOT NULL DEFAULT false, `business_certified` bool NOT NULL DEFAULT false, `cash_receipt_type` text NULL, `cash_receipt_identifier` text NULL, `org_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `accounts_organizations_accounts` FOREIGN KEY (`org_id`) REFERENCES `organizations` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "accounts_email_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_email_key` ON `accounts` (`email`);
-- Create index "account_org_id" to table: "accounts"
CREATE INDEX `account_org_id` ON `accounts` (`org_id`);
-- Create "audit_events" table
CREATE TABLE `audit_events` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `actor` text NOT NULL, `action` text NOT NULL, `input` text NOT NULL, `outcome` text NOT NULL, `request_id` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "auditevent_org_id" to table: "audit_events"
CREATE INDEX `auditevent_org_id` ON `audit_events` (`org_id`);
-- Create index "auditevent_org_id_created_at" to table: "audit_events"
CREATE INDEX `auditevent_org_id_created_at` ON `audit_events` (`org_id`, `created_at`);
-- Create "billing_groups" table
CREATE TABLE `billing_groups` (`id` text NOT NULL, `created_at` datetime NOT NULL, `name` text NOT NULL, `is_main` bool NOT NULL DEFAULT false, `currency` text NOT NULL DEFAULT 'KRW', `org_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `billing_groups_organizations_billing_groups` FOREIGN KEY (`org_id`) REFERENCES `organizations` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "billinggroup_org_id" to table: "billing_groups"
CREATE INDEX `billinggroup_org_id` ON `billing_groups` (`org_id`);
-- Create index "billinggroup_org_id_name" to table: "billing_groups"
CREATE UNIQUE INDEX `billinggroup_org_id_name` ON `billing_groups` (`org_id`, `name`);
-- Create "coin_charges" table
CREATE TABLE `coin_charges` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `account_id` text NOT NULL, `payment_id` text NOT NULL, `currency` text NOT NULL, `charged` integer NOT NULL, `bonus` integer NOT NULL, `charged_remaining` integer NOT NULL, `bonus_remaining` integer NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `coin_remaining_bounds` CHECK (charged_remaining >= 0 AND bonus_remaining >= 0 AND charged_remaining <= charged AND bonus_remaining <= bonus));
-- Create index "coincharge_org_id" to table: "coin_charges"
CREATE INDEX `coincharge_org_id` ON `coin_charges` (`org_id`);
-- Create index "coincharge_account_id" to table: "coin_charges"
CREATE INDEX `coincharge_account_id` ON `coin_charges` (`account_id`);
-- Create "coin_shares" table
CREATE TABLE `coin_shares` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `charge_id` text NOT NULL, `account_id` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "coinshare_org_id" to table: "coin_shares"
CREATE INDEX `coinshare_org_id` ON `coin_shares` (`org_id`);
-- Create index "coinshare_charge_id_account_id" to table: "coin_shares"
CREATE UNIQUE INDEX `coinshare_charge_id_account_id` ON `coin_shares` (`charge_id`, `account_id`);
-- Create index "coinshare_account_id" to table: "coin_shares"
CREATE INDEX `coinshare_account_id` ON `coin_shares` (`account_id`);
-- Create "coin_usages" table
CREATE TABLE `coin_usages` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `charge_id` text NOT NULL, `account_id` text NOT NULL, `invoice_id` text NOT NULL, `currency` text NOT NULL, `bonus_amount` integer NOT NULL, `charged_amount` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "coinusage_org_id" to table: "coin_usages"
CREATE INDEX `coinusage_org_id` ON `coin_usages` (`org_id`);
-- Create index "coinusage_account_id_created_at" to table: "coin_usages"
CREATE INDEX `coinusage_account_id_created_at` ON `coin_usages` (`account_id`, `created_at`);
-- Create index "coinusage_charge_id" to table: "coin_usages"
CREATE INDEX `coinusage_charge_id` ON `coin_usages` (`charge_id`);
-- Create "contracts" table
CREATE TABLE `contracts` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `service_code` text NOT NULL, `region_code` text NOT NULL, `starts_on` datetime NOT NULL, `ends_on` datetime NULL, `billing_group_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `contracts_billing_groups_contracts` FOREIGN KEY (`billing_group_id`) REFERENCES `billing_groups` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "contract_org_id" to table: "contracts"
CREATE INDEX `contract_org_id` ON `contracts` (`org_id`);
-- Create index "contract_billing_group_id_service_code_region_code" to table: "contracts"
CREATE INDEX `contract_billing_group_id_service_code_region_code` ON `contracts` (`billing_group_id`, `service_code`, `region_code`);
-- Create "coupons" table
CREATE TABLE `coupons` (`id` text NOT NULL, `created_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, `kind` text NOT NULL, `currency` text NOT NULL, `amount` integer NOT NULL DEFAULT 0, `percentage` text NOT NULL DEFAULT '', `valid_from` datetime NOT NULL, `valid_until` datetime NOT NULL, `max_redemptions` integer NOT NULL, `redemptions` integer NOT NULL DEFAULT 0, `credit_valid_days` integer NOT NULL DEFAULT 0, `service_codes` json NULL, PRIMARY KEY (`id`), CONSTRAINT `coupon_redemptions_max` CHECK (redemptions <= max_redemptions));
-- Create index "coupons_code_key" to table: "coupons"
CREATE UNIQUE INDEX `coupons_code_key` ON `coupons` (`code`);
-- Create "coupon_guesses" table
CREATE TABLE `coupon_guesses` (`id` text NOT NULL, `org_id` text NOT NULL, `caller` text NOT NULL, `at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "couponguess_caller_at" to table: "coupon_guesses"
CREATE INDEX `couponguess_caller_at` ON `coupon_guesses` (`caller`, `at`);
-- Create "coupon_redemptions" table
CREATE TABLE `coupon_redemptions` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `coupon_id` text NOT NULL, `billing_group_id` text NOT NULL, `credit_id` text NULL, `discount_id` text NULL, PRIMARY KEY (`id`));
-- Create index "couponredemption_org_id" to table: "coupon_redemptions"
CREATE INDEX `couponredemption_org_id` ON `coupon_redemptions` (`org_id`);
-- Create index "couponredemption_coupon_id_billing_group_id" to table: "coupon_redemptions"
CREATE UNIQUE INDEX `couponredemption_coupon_id_billing_group_id` ON `coupon_redemptions` (`coupon_id`, `billing_group_id`);
-- Create "credits" table
CREATE TABLE `credits` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NOT NULL, `name` text NOT NULL, `type` text NOT NULL, `status` text NOT NULL, `starts_at` datetime NOT NULL, `ends_at` datetime NOT NULL, `currency` text NOT NULL, `accumulated` integer NOT NULL, `used` integer NOT NULL DEFAULT 0, `remaining` integer NOT NULL, `service_codes` json NULL, `source` text NOT NULL DEFAULT 'GRANT', `closed_at` datetime NULL, PRIMARY KEY (`id`), CONSTRAINT `credit_remaining_nonneg` CHECK (remaining >= 0 AND used >= 0 AND accumulated >= 0 AND remaining <= accumulated));
-- Create index "credit_org_id" to table: "credits"
CREATE INDEX `credit_org_id` ON `credits` (`org_id`);
-- Create index "credit_billing_group_id_status" to table: "credits"
CREATE INDEX `credit_billing_group_id_status` ON `credits` (`billing_group_id`, `status`);
-- Create "credit_entries" table
CREATE TABLE `credit_entries` (`id` text NOT NULL, `org_id` text NOT NULL, `kind` text NOT NULL, `amount` integer NOT NULL, `invoice_id` text NULL, `counterpart_billing_group_id` text NULL, `occurred_at` datetime NOT NULL, `currency` text NOT NULL DEFAULT 'KRW', `credit_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `credit_entries_credits_entries` FOREIGN KEY (`credit_id`) REFERENCES `credits` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "creditentry_org_id" to table: "credit_entries"
CREATE INDEX `creditentry_org_id` ON `credit_entries` (`org_id`);
-- Create index "creditentry_credit_id_occurred_at" to table: "credit_entries"
CREATE INDEX `creditentry_credit_id_occurred_at` ON `credit_entries` (`credit_id`, `occurred_at`);
-- Create "discounts" table
CREATE TABLE `discounts` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `name` text NOT NULL, `percentage` text NOT NULL, `service_codes` json NULL, `conditions` text NOT NULL DEFAULT '', PRIMARY KEY (`id`));
-- Create index "discount_org_id" to table: "discounts"
CREATE INDEX `discount_org_id` ON `discounts` (`org_id`);
-- Create index "discount_billing_group_id_month" to table: "discounts"
CREATE INDEX `discount_billing_group_id_month` ON `discounts` (`billing_group_id`, `month`);
-- Create "discount_uses" table
CREATE TABLE `discount_uses` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `discount_id` text NOT NULL, `invoice_id` text NOT NULL, `service_code` text NOT NULL, `currency` text NOT NULL, `amount` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "discountuse_org_id" to table: "discount_uses"
CREATE INDEX `discountuse_org_id` ON `discount_uses` (`org_id`);
-- Create index "discountuse_discount_id" to table: "discount_uses"
CREATE INDEX `discountuse_discount_id` ON `discount_uses` (`discount_id`);
-- Create "grants" table
CREATE TABLE `grants` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `role` text NOT NULL, `account_id` text NOT NULL, `billing_group_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `grants_billing_groups_grants` FOREIGN KEY (`billing_group_id`) REFERENCES `billing_groups` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT `grants_accounts_grants` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "grant_org_id" to table: "grants"
CREATE INDEX `grant_org_id` ON `grants` (`org_id`);
-- Create index "grant_billing_group_id_account_id" to table: "grants"
CREATE UNIQUE INDEX `grant_billing_group_id_account_id` ON `grants` (`billing_group_id`, `account_id`);
-- Create index "grant_account_id" to table: "grants"
CREATE INDEX `grant_account_id` ON `grants` (`account_id`);
-- Create "idempotency_keys" table
CREATE TABLE `idempotency_keys` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `caller` text NOT NULL, `key` text NOT NULL, `operation` text NOT NULL, `request_hash` text NOT NULL, `response` blob NULL, PRIMARY KEY (`id`));
-- Create index "idempotencykey_org_id" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_org_id` ON `idempotency_keys` (`org_id`);
-- Create index "idempotencykey_caller_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX `idempotencykey_caller_key` ON `idempotency_keys` (`caller`, `key`);
-- Create "invoices" table
CREATE TABLE `invoices` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `status` text NOT NULL, `currency` text NOT NULL, `usage_amount` integer NOT NULL, `discount_amount` integer NOT NULL, `credit_amount` integer NOT NULL, `determined_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `coin_amount` integer NOT NULL DEFAULT 0, `late_fee_amount` integer NOT NULL DEFAULT 0, `late_fee_months` integer NOT NULL DEFAULT 0, `outstanding_at` datetime NULL, `paid_amount` integer NOT NULL DEFAULT 0, `issued_at` datetime NOT NULL, `paid_at` datetime NULL, PRIMARY KEY (`id`), CONSTRAINT `invoice_amounts_nonneg` CHECK (usage_amount >= 0 AND discount_amount >= 0 AND credit_amount >= 0 AND determined_amount >= 0 AND tax_amount >= 0 AND coin_amount >= 0 AND paid_amount >= 0));
-- Create index "invoice_org_id" to table: "invoices"
CREATE INDEX `invoice_org_id` ON `invoices` (`org_id`);
-- Create index "invoice_billing_group_id_month" to table: "invoices"
CREATE UNIQUE INDEX `invoice_billing_group_id_month` ON `invoices` (`billing_group_id`, `month`);
-- Create "invoice_lines" table
CREATE TABLE `invoice_lines` (`id` text NOT NULL, `org_id` text NOT NULL, `position` integer NOT NULL, `region_code` text NOT NULL, `service_code` text NOT NULL, `service_name` text NOT NULL, `currency` text NOT NULL, `used_amount` integer NOT NULL, `discount_amount` integer NOT NULL, `credit_amount` integer NOT NULL, `determined_amount` integer NOT NULL, `invoice_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `invoice_lines_invoices_lines` FOREIGN KEY (`invoice_id`) REFERENCES `invoices` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "invoiceline_org_id" to table: "invoice_lines"
CREATE INDEX `invoiceline_org_id` ON `invoice_lines` (`org_id`);
-- Create index "invoiceline_invoice_id_position" to table: "invoice_lines"
CREATE UNIQUE INDEX `invoiceline_invoice_id_position` ON `invoice_lines` (`invoice_id`, `position`);
-- Create "organizations" table
CREATE TABLE `organizations` (`id` text NOT NULL, `created_at` datetime NOT NULL, `name` text NOT NULL, `welcome_credit_at` datetime NULL, `revision` integer NOT NULL DEFAULT 0, `usage_revision` integer NOT NULL DEFAULT 0, PRIMARY KEY (`id`));
-- Create "outbox_events" table
CREATE TABLE `outbox_events` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `topic` text NOT NULL, `channel` text NOT NULL, `recipient` text NOT NULL DEFAULT '', `payload` blob NOT NULL, `attempts` integer NOT NULL DEFAULT 0, `deliver_after` datetime NULL, `delivered_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "outboxevent_org_id" to table: "outbox_events"
CREATE INDEX `outboxevent_org_id` ON `outbox_events` (`org_id`);
-- Create index "outboxevent_delivered_at" to table: "outbox_events"
CREATE INDEX `outboxevent_delivered_at` ON `outbox_events` (`delivered_at`);
-- Create "payments" table
CREATE TABLE `payments` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NULL, `account_id` text NULL, `receipt_id` text NOT NULL, `kind` text NOT NULL, `payment_method_id` text NULL, `method_label` text NOT NULL DEFAULT '', `currency` text NOT NULL, `amount` integer NOT NULL, `status` text NOT NULL, `failure_reason` text NOT NULL DEFAULT '', `attempt_key` text NULL, `billed_at` datetime NOT NULL, `paid_at` datetime NULL, `changed_at` datetime NULL, PRIMARY KEY (`id`), CONSTRAINT `payment_amount_positive` CHECK (amount > 0));
-- Create index "payments_receipt_id_key" to table: "payments"
CREATE UNIQUE INDEX `payments_receipt_id_key` ON `payments` (`receipt_id`);
-- Create index "payments_attempt_key_key" to table: "payments"
CREATE UNIQUE INDEX `payments_attempt_key_key` ON `payments` (`attempt_key`);
-- Create index "payment_org_id" to table: "payments"
CREATE INDEX `payment_org_id` ON `payments` (`org_id`);
-- Create index "payment_billing_group_id_created_at" to table: "payments"
CREATE INDEX `payment_billing_group_id_created_at` ON `payments` (`billing_group_id`, `created_at`);
-- Create index "payment_status" to table: "payments"
CREATE INDEX `payment_status` ON `payments` (`status`);
-- Create "payment_allocations" table
CREATE TABLE `payment_allocations` (`id` text NOT NULL, `org_id` text NOT NULL, `payment_id` text NOT NULL, `invoice_id` text NOT NULL, `amount` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "paymentallocation_org_id" to table: "payment_allocations"
CREATE INDEX `paymentallocation_org_id` ON `payment_allocations` (`org_id`);
-- Create index "paymentallocation_invoice_id" to table: "payment_allocations"
CREATE INDEX `paymentallocation_invoice_id` ON `payment_allocations` (`invoice_id`);
-- Create index "paymentallocation_payment_id" to table: "payment_allocations"
CREATE INDEX `paymentallocation_payment_id` ON `payment_allocations` (`payment_id`);
-- Create "payment_methods" table
CREATE TABLE `payment_methods` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `account_id` text NOT NULL, `type` text NOT NULL, `brand` text NOT NULL DEFAULT '', `last4` text NOT NULL DEFAULT '', `bank_code` text NOT NULL DEFAULT '', `holder_name` text NOT NULL DEFAULT '', `corporate` bool NOT NULL DEFAULT false, `gateway_token` text NOT NULL, `is_default` bool NOT NULL DEFAULT false, `status` text NOT NULL DEFAULT 'ACTIVE', `consented_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "paymentmethod_org_id" to table: "payment_methods"
CREATE INDEX `paymentmethod_org_id` ON `payment_methods` (`org_id`);
-- Create index "paymentmethod_account_id" to table: "payment_methods"
CREATE INDEX `paymentmethod_account_id` ON `payment_methods` (`account_id`);
-- Create "prices" table
CREATE TABLE `prices` (`id` text NOT NULL, `created_at` datetime NOT NULL, `region_code` text NOT NULL DEFAULT '', `metric` text NOT NULL, `model` text NOT NULL, `unit_price` text NOT NULL, `currency` text NOT NULL DEFAULT 'KRW', `service_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `prices_services_prices` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "price_service_id_region_code_metric" to table: "prices"
CREATE UNIQUE INDEX `price_service_id_region_code_metric` ON `prices` (`service_id`, `region_code`, `metric`);
-- Create "promotions" table
CREATE TABLE `promotions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `billing_group_id` text NULL, `name` text NOT NULL, `service_code` text NOT NULL, `provision_type` text NOT NULL, `pricing_plan` text NOT NULL, `number_provided` integer NOT NULL, PRIMARY KEY (`id`));
-- Create "refresh_tokens" table
CREATE TABLE `refresh_tokens` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `account_id` text NOT NULL, `family` text NOT NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "refreshtoken_org_id" to table: "refresh_tokens"
CREATE INDEX `refreshtoken_org_id` ON `refresh_tokens` (`org_id`);
-- Create index "refreshtoken_family" to table: "refresh_tokens"
CREATE INDEX `refreshtoken_family` ON `refresh_tokens` (`family`);
-- Create "regions" table
CREATE TABLE `regions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "regions_code_key" to table: "regions"
CREATE UNIQUE INDEX `regions_code_key` ON `regions` (`code`);
-- Create "services" table
CREATE TABLE `services` (`id` text NOT NULL, `created_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, `category` text NOT NULL DEFAULT 'General', `kind` text NOT NULL DEFAULT 'STANDARD', PRIMARY KEY (`id`));
-- Create index "services_code_key" to table: "services"
CREATE UNIQUE INDEX `services_code_key` ON `services` (`code`);
-- Create "tax_invoices" table
CREATE TABLE `tax_invoices` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `invoice_id` text NOT NULL, `billing_group_id` text NOT NULL, `month` text NOT NULL, `supply_amount` integer NOT NULL, `tax_amount` integer NOT NULL, `currency` text NOT NULL, `issued_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "tax_invoices_invoice_id_key" to table: "tax_invoices"
CREATE UNIQUE INDEX `tax_invoices_invoice_id_key` ON `tax_invoices` (`invoice_id`);
-- Create index "taxinvoice_org_id" to table: "tax_invoices"
CREATE INDEX `taxinvoice_org_id` ON `tax_invoices` (`org_id`);
-- Create "usage_dailies" table
CREATE TABLE `usage_dailies` (`id` text NOT NULL, `org_id` text NOT NULL, `billing_group_id` text NOT NULL, `day` text NOT NULL, `service_code` text NOT NULL, `region_code` text NOT NULL, `channel` text NOT NULL DEFAULT '', `metric` text NOT NULL, `quantity_micros` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "usagedaily_billing_group_id_day_5fa34c4aaa2820c015a5961ea84aa92d" to table: "usage_dailies"
CREATE UNIQUE INDEX `usagedaily_billing_group_id_day_5fa34c4aaa2820c015a5961ea84aa92d` ON `usage_dailies` (`billing_group_id`, `day`, `service_code`, `region_code`, `channel`, `metric`);
-- Create "usage_events" table
CREATE TABLE `usage_events` (`id` text NOT NULL, `org_id` text NOT NULL, `created_at` datetime NOT NULL, `event_id` text NOT NULL, `billing_group_id` text NOT NULL, `service_code` text NOT NULL, `region_code` text NOT NULL, `channel` text NOT NULL DEFAULT '', `metric` text NOT NULL, `quantity_micros` integer NOT NULL, `occurred_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "usageevent_org_id_event_id" to table: "usage_events"
CREATE UNIQUE INDEX `usageevent_org_id_event_id` ON `usage_events` (`org_id`, `event_id`);
