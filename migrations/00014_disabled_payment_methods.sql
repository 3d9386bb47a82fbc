-- The instruments (card brands, banks, wallets: catalog codes such as AMEX,
-- NB_YESB, MOBIKWIK) a merchant turned off within an enabled payment method
-- type, as a JSON array. Empty: every instrument of an enabled type.

-- +goose Up
ALTER TABLE merchants ADD COLUMN disabled_payment_methods VARCHAR(2048) NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE merchants DROP COLUMN disabled_payment_methods;
