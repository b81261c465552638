-- Modify "issued_cash_receipts" table
ALTER TABLE "issued_cash_receipts" ADD COLUMN "kind" character varying NOT NULL DEFAULT 'APPROVAL', ADD COLUMN "original_id" character varying NULL;
