-- Add column "expiry_noticed_at" to table: "credits"
ALTER TABLE `credits` ADD COLUMN `expiry_noticed_at` datetime NULL;
