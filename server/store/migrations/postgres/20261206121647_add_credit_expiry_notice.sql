-- Modify "credits" table
ALTER TABLE "credits" ADD COLUMN "expiry_noticed_at" timestamptz NULL;
