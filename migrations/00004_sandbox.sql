-- The sandbox processors (server/connector/sandbox): a simulated payment
-- gateway that runs inside Switchyard in sandbox mode. From the orchestrator's
-- point of view it is an external system, so its state lives in these
-- sandbox_* tables only, which nothing outside that package reads or writes.
--
-- Money is BIGINT minor units of the row's CHAR(3) currency. Card payments
-- keep only BIN and last four digits; the CVV is never stored. Every change
-- of a row is a single compare-and-set statement (the embedded engine has no
-- row locks), which is also why refunds reserve their amount on the payment
-- row (amount_refunded) rather than summing under a lock.

-- +goose Up
CREATE TABLE sandbox_processors (
    name                   VARCHAR(64)  NOT NULL,
    success_rate           DOUBLE       NOT NULL,
    success_rate_card      DOUBLE       NULL,
    success_rate_upi       DOUBLE       NULL,
    success_rate_nb        DOUBLE       NULL,
    success_rate_wallet    DOUBLE       NULL,
    latency_ms             INT          NOT NULL,
    down                   BOOLEAN      NOT NULL,
    timeout                BOOLEAN      NOT NULL,
    three_ds               VARCHAR(16)  NOT NULL,
    late_success_after_ms  INT          NOT NULL,
    created_at             DATETIME(6)  NOT NULL,
    updated_at             DATETIME(6)  NOT NULL,
    PRIMARY KEY (name)
);

CREATE TABLE sandbox_payments (
    id                    VARCHAR(40)   NOT NULL,
    processor             VARCHAR(64)   NOT NULL,
    txn_id                VARCHAR(160)  NOT NULL,
    amount                BIGINT        NOT NULL,
    currency              CHAR(3)       NOT NULL,
    method_type           VARCHAR(16)   NOT NULL,
    method                VARCHAR(64)   NOT NULL DEFAULT '',
    card_bin              VARCHAR(8)    NOT NULL DEFAULT '',
    card_last4            VARCHAR(4)    NOT NULL DEFAULT '',
    vpa                   VARCHAR(255)  NOT NULL DEFAULT '',
    upi_flow              VARCHAR(16)   NOT NULL DEFAULT '',
    status                VARCHAR(24)   NOT NULL,
    decline_code          VARCHAR(64)   NOT NULL DEFAULT '',
    message               VARCHAR(255)  NOT NULL DEFAULT '',
    retryable             BOOLEAN       NOT NULL DEFAULT FALSE,
    action_page           VARCHAR(16)   NOT NULL DEFAULT '',
    action_status         VARCHAR(24)   NOT NULL DEFAULT '',
    action_decline_code   VARCHAR(64)   NOT NULL DEFAULT '',
    action_message        VARCHAR(255)  NOT NULL DEFAULT '',
    action_retryable      BOOLEAN       NOT NULL DEFAULT FALSE,
    intent_link           VARCHAR(512)  NOT NULL DEFAULT '',
    return_url            VARCHAR(2048) NOT NULL DEFAULT '',
    webhook_url           VARCHAR(2048) NOT NULL DEFAULT '',
    notify_secret         VARCHAR(128)  NOT NULL DEFAULT '',
    amount_refunded       BIGINT        NOT NULL DEFAULT 0,
    created_at            DATETIME(6)   NOT NULL,
    updated_at            DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY sandbox_payments_txn (processor, txn_id),
    KEY sandbox_payments_processor_status (processor, status)
);

CREATE TABLE sandbox_refunds (
    id            VARCHAR(40)   NOT NULL,
    processor     VARCHAR(64)   NOT NULL,
    refund_id     VARCHAR(160)  NOT NULL,
    payment_id    VARCHAR(40)   NOT NULL,
    txn_id        VARCHAR(160)  NOT NULL,
    amount        BIGINT        NOT NULL,
    currency      CHAR(3)       NOT NULL,
    status        VARCHAR(24)   NOT NULL,
    decline_code  VARCHAR(64)   NOT NULL DEFAULT '',
    message       VARCHAR(255)  NOT NULL DEFAULT '',
    created_at    DATETIME(6)   NOT NULL,
    updated_at    DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY sandbox_refunds_refund (processor, refund_id),
    KEY sandbox_refunds_payment (payment_id)
);

CREATE TABLE sandbox_notifications (
    id             BIGINT        NOT NULL AUTO_INCREMENT,
    payment_id     VARCHAR(40)   NOT NULL,
    from_status    VARCHAR(24)   NOT NULL DEFAULT '',
    to_status      VARCHAR(24)   NOT NULL DEFAULT '',
    decline_code   VARCHAR(64)   NOT NULL DEFAULT '',
    message        VARCHAR(255)  NOT NULL DEFAULT '',
    state          VARCHAR(16)   NOT NULL,
    attempts       INT           NOT NULL DEFAULT 0,
    version        INT           NOT NULL DEFAULT 1,
    due_at         DATETIME(6)   NOT NULL,
    created_at     DATETIME(6)   NOT NULL,
    updated_at     DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    KEY sandbox_notifications_due (state, due_at)
);

-- +goose Down
DROP TABLE sandbox_notifications;
DROP TABLE sandbox_refunds;
DROP TABLE sandbox_payments;
DROP TABLE sandbox_processors;
