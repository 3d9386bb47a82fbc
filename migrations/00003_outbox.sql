-- The outbox (events written in the same transaction as the state change they
-- describe), stored Idempotency-Key results, and the client-token signing keys.

-- +goose Up
CREATE TABLE outbox (
    id               BIGINT        NOT NULL AUTO_INCREMENT,
    event_id         VARCHAR(40)   NOT NULL,
    merchant_id      VARCHAR(64)   NOT NULL,
    order_uuid       VARCHAR(40)   NOT NULL DEFAULT '',
    event_name       VARCHAR(64)   NOT NULL,
    payload          MEDIUMTEXT    NOT NULL,
    state            VARCHAR(16)   NOT NULL,
    attempts         INT           NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME(6)   NOT NULL,
    created_at       DATETIME(6)   NOT NULL,
    updated_at       DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY outbox_event (event_id),
    KEY outbox_due (state, next_attempt_at)
);

CREATE TABLE idempotency_keys (
    merchant_id    VARCHAR(64)   NOT NULL,
    idem_key       VARCHAR(255)  NOT NULL,
    request_hash   CHAR(64)      NOT NULL,
    state          VARCHAR(16)   NOT NULL,
    response_code  INT           NOT NULL DEFAULT 0,
    response_body  MEDIUMTEXT    NULL,
    created_at     DATETIME(6)   NOT NULL,
    updated_at     DATETIME(6)   NOT NULL,
    PRIMARY KEY (merchant_id, idem_key)
);

CREATE TABLE signing_keys (
    id                   VARCHAR(40)    NOT NULL,
    secret_sealed        VARBINARY(512) NOT NULL,
    secrets_key_version  INT            NOT NULL,
    created_at           DATETIME(6)    NOT NULL,
    retired_at           DATETIME(6)    NULL,
    PRIMARY KEY (id)
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE idempotency_keys;
DROP TABLE outbox;
