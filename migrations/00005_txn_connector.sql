-- Which connector served a txn: the gateway account may later point at
-- another connector, but a txn must be synced and refunded where it ran.

-- +goose Up
ALTER TABLE txns ADD COLUMN connector VARCHAR(32) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE txns DROP COLUMN connector;
