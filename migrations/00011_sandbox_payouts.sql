-- The sandbox payout rails (server/connector/sandbox/payouts.go): simulated
-- IMPS/NEFT/UPI rails, external systems from Switchyard's point of view, so
-- only that package reads or writes these tables. A payout is keyed by
-- (rail, attempt_id): the attempt id is the rail's idempotency key, so a
-- repeated initiate returns the payout already made. Its outcome is drawn
-- at creation (from the seed) and revealed once due_at passes (pending_ms);
-- every change is one compare-and-set statement.

-- +goose Up
CREATE TABLE sandbox_payout_rails (
    name          VARCHAR(64)  NOT NULL,
    success_rate  DOUBLE       NOT NULL,
    down          BOOLEAN      NOT NULL,
    latency_ms    INT          NOT NULL,
    pending_ms    INT          NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (name)
);

CREATE TABLE sandbox_payouts (
    id                VARCHAR(40)   NOT NULL,
    rail              VARCHAR(64)   NOT NULL,
    attempt_id        VARCHAR(160)  NOT NULL,
    amount            BIGINT        NOT NULL,
    currency          CHAR(3)       NOT NULL,
    beneficiary_type  VARCHAR(16)   NOT NULL,
    beneficiary       VARCHAR(255)  NOT NULL DEFAULT '',
    status            VARCHAR(16)   NOT NULL,
    final_status      VARCHAR(16)   NOT NULL,
    response_code     VARCHAR(64)   NOT NULL DEFAULT '',
    message           VARCHAR(255)  NOT NULL DEFAULT '',
    due_at            DATETIME(6)   NOT NULL,
    created_at        DATETIME(6)   NOT NULL,
    updated_at        DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY sandbox_payouts_attempt (rail, attempt_id)
);

-- +goose Down
DROP TABLE sandbox_payouts;
DROP TABLE sandbox_payout_rails;
