-- Idempotency keys are opaque and compared exactly: under the default
-- utf8mb4 collation "Key-A" and "key-a " would be one key.

-- +goose Up
ALTER TABLE idempotency_keys MODIFY idem_key VARBINARY(255) NOT NULL;

-- +goose Down
ALTER TABLE idempotency_keys MODIFY idem_key VARCHAR(255) NOT NULL;
