-- At most one txn per order is CHARGED and kept: the database refuses a
-- second one. A success that arrives while another txn of the order is
-- charged (or after the order failed) is still recorded as CHARGED — the
-- money was taken — but flagged conflicted, which takes it out of the guard;
-- reconciliation then refunds it (AUTO_REFUNDED).

-- +goose Up
ALTER TABLE txns ADD COLUMN conflicted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE txns ADD COLUMN charged_guard VARCHAR(40)
    AS (CASE WHEN status = 'CHARGED' AND conflicted = FALSE THEN order_uuid ELSE NULL END) STORED;
CREATE UNIQUE INDEX txns_one_charge ON txns (charged_guard);

-- +goose Down
DROP INDEX txns_one_charge ON txns;
ALTER TABLE txns DROP COLUMN charged_guard;
ALTER TABLE txns DROP COLUMN conflicted;
