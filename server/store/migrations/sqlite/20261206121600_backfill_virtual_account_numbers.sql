-- Direct-deposit methods made before account_number existed kept the
-- virtual account's number in holder_name (and after "va:" in
-- gateway_token): move it to account_number; the holder is the gateway's
-- (the sandbox's "cloudbill").
UPDATE payment_methods SET account_number = SUBSTR(gateway_token, 4), holder_name = 'cloudbill'
WHERE type = 'DIRECT_DEPOSIT' AND account_number = '' AND gateway_token LIKE 'va:%';
