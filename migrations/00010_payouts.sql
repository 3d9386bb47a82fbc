-- Payouts (server/payout, storage in server/store/payouts.go; DESIGN §12).
--
-- A payout order has fulfillments; a fulfillment has attempts, each one try
-- at paying the fulfillment's whole amount on one rail ("SANDBOX_IMPS").
-- Money is BIGINT minor units of the row's CHAR(3) currency.
--
-- Money safety lives in payout_attempts.live_guard: an attempt that may
-- have paid or may still pay (INITIATED, SUCCESS, MANUAL_REVIEW) holds its
-- fulfillment's id there, and the unique index allows one such attempt per
-- fulfillment. So a second attempt cannot even be inserted while the first
-- is unknown or succeeded, whichever worker (or replica) tries, and the sum
-- of successful attempts can never exceed the fulfillment's amount. Only a
-- FAILURE (certainly not paid) or a REVERSED attempt (the money came back)
-- frees the fulfillment for the next one. A CONFLICTED attempt (reported
-- failed, later paid) is out of the guard, like a conflicted charge: it is
-- recorded as it happened and the fulfillment goes to review if it means a
-- second payment.
--
-- payout_fulfillments.due_at is when the worker next looks at a fulfillment
-- (NULL: not scheduled, e.g. a pay-and-fulfill order whose payment is not
-- in yet); a claim pushes it a lease ahead (FOR UPDATE SKIP LOCKED), so a
-- crashed worker's fulfillments come due again by themselves.
--
-- outbox gains an optional destination per event: payout callbacks go to a
-- fulfillment's own webhookDetails when given; the password is sealed like
-- every other secret (AES-GCM, key version column).

-- +goose Up
CREATE TABLE payout_orders (
    id                  VARCHAR(40)   NOT NULL,
    merchant_id         VARCHAR(64)   NOT NULL,
    order_id            VARCHAR(64)   NOT NULL,
    type                VARCHAR(24)   NOT NULL,
    status              VARCHAR(32)   NOT NULL,
    amount              BIGINT        NOT NULL,
    currency            CHAR(3)       NOT NULL,
    customer_id         VARCHAR(64)   NOT NULL DEFAULT '',
    customer_phone      VARCHAR(32)   NOT NULL DEFAULT '',
    customer_email      VARCHAR(255)  NOT NULL DEFAULT '',
    udfs                TEXT          NOT NULL,
    retry_policy        TEXT          NOT NULL,
    payment_order_uuid  VARCHAR(40)   NOT NULL DEFAULT '',
    payment_status      VARCHAR(16)   NOT NULL DEFAULT '',
    refund_status       VARCHAR(16)   NOT NULL DEFAULT '',
    refund_amount       BIGINT        NOT NULL DEFAULT 0,
    next_check_at       DATETIME(6)   NULL,
    version             INT           NOT NULL DEFAULT 1,
    created_at          DATETIME(6)   NOT NULL,
    updated_at          DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY payout_orders_order (merchant_id, order_id),
    KEY payout_orders_payment (payment_status, next_check_at),
    KEY payout_orders_refund (refund_status, next_check_at)
);

CREATE TABLE payout_fulfillments (
    id                       VARCHAR(48)    NOT NULL,
    payout_order_id          VARCHAR(40)    NOT NULL,
    merchant_id              VARCHAR(64)    NOT NULL,
    seq                      INT            NOT NULL,
    status                   VARCHAR(16)    NOT NULL,
    amount                   BIGINT         NOT NULL,
    currency                 CHAR(3)        NOT NULL,
    preferred_methods        TEXT           NOT NULL,
    beneficiary_type         VARCHAR(16)    NOT NULL,
    beneficiary_details      TEXT           NOT NULL,
    udfs                     TEXT           NOT NULL,
    additional_info          TEXT           NOT NULL,
    webhook_url              VARCHAR(2048)  NOT NULL DEFAULT '',
    webhook_username         VARCHAR(255)   NOT NULL DEFAULT '',
    webhook_password_sealed  VARBINARY(512) NULL,
    secrets_key_version      INT            NOT NULL DEFAULT 0,
    due_at                   DATETIME(6)    NULL,
    status_updated_at        DATETIME(6)    NOT NULL,
    version                  INT            NOT NULL DEFAULT 1,
    created_at               DATETIME(6)    NOT NULL,
    updated_at               DATETIME(6)    NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY payout_fulfillments_seq (payout_order_id, seq),
    KEY payout_fulfillments_due (due_at)
);

CREATE TABLE payout_attempts (
    id                VARCHAR(64)   NOT NULL,
    fulfillment_id    VARCHAR(48)   NOT NULL,
    payout_order_id   VARCHAR(40)   NOT NULL,
    seq               INT           NOT NULL,
    method            VARCHAR(64)   NOT NULL,
    amount            BIGINT        NOT NULL,
    currency          CHAR(3)       NOT NULL,
    status            VARCHAR(16)   NOT NULL,
    failure_kind      VARCHAR(16)   NOT NULL DEFAULT '',
    response_code     VARCHAR(64)   NOT NULL DEFAULT '',
    response_message  VARCHAR(255)  NOT NULL DEFAULT '',
    gateway_ref       VARCHAR(64)   NOT NULL DEFAULT '',
    created_at        DATETIME(6)   NOT NULL,
    updated_at        DATETIME(6)   NOT NULL,
    live_guard        VARCHAR(48)
        AS (CASE WHEN status IN ('INITIATED', 'SUCCESS', 'MANUAL_REVIEW') THEN fulfillment_id ELSE NULL END) STORED,
    PRIMARY KEY (id),
    UNIQUE KEY payout_attempts_seq (fulfillment_id, seq),
    UNIQUE KEY payout_attempts_live (live_guard),
    KEY payout_attempts_order (payout_order_id)
);

CREATE TABLE payout_settings (
    merchant_id   VARCHAR(64)  NOT NULL,
    retry_policy  TEXT         NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (merchant_id)
);

ALTER TABLE outbox ADD COLUMN dest_url VARCHAR(2048) NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN dest_username VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN dest_password_sealed VARBINARY(512) NULL;
ALTER TABLE outbox ADD COLUMN dest_key_version INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE outbox DROP COLUMN dest_key_version;
ALTER TABLE outbox DROP COLUMN dest_password_sealed;
ALTER TABLE outbox DROP COLUMN dest_username;
ALTER TABLE outbox DROP COLUMN dest_url;
DROP TABLE payout_settings;
DROP TABLE payout_attempts;
DROP TABLE payout_fulfillments;
DROP TABLE payout_orders;
