-- Orders, their transactions and refunds. Money is BIGINT minor units of the
-- row's CHAR(3) currency; server/pay knows each currency's exponent.
-- version is bumped by every update so writers can compare-and-set.

-- +goose Up
CREATE TABLE orders (
    id               VARCHAR(40)   NOT NULL,
    merchant_id      VARCHAR(64)   NOT NULL,
    order_id         VARCHAR(64)   NOT NULL,
    amount           BIGINT        NOT NULL,
    currency         CHAR(3)       NOT NULL,
    status           VARCHAR(32)   NOT NULL,
    customer_id      VARCHAR(64)   NOT NULL DEFAULT '',
    customer_email   VARCHAR(254)  NOT NULL DEFAULT '',
    customer_phone   VARCHAR(20)   NOT NULL DEFAULT '',
    product_id       VARCHAR(255)  NOT NULL DEFAULT '',
    description      VARCHAR(1024) NOT NULL DEFAULT '',
    return_url       VARCHAR(2048) NOT NULL DEFAULT '',
    udf              TEXT          NOT NULL,
    metadata         TEXT          NOT NULL,
    details          TEXT          NOT NULL,
    amount_refunded  BIGINT        NOT NULL DEFAULT 0,
    txn_count        INT           NOT NULL DEFAULT 0,
    version          INT           NOT NULL DEFAULT 1,
    expires_at       DATETIME(6)   NOT NULL,
    created_at       DATETIME(6)   NOT NULL,
    updated_at       DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY orders_merchant_order (merchant_id, order_id),
    KEY orders_merchant_created (merchant_id, created_at)
);

CREATE TABLE txns (
    id                   VARCHAR(40)   NOT NULL,
    txn_id               VARCHAR(160)  NOT NULL,
    order_uuid           VARCHAR(40)   NOT NULL,
    merchant_id          VARCHAR(64)   NOT NULL,
    seq                  INT           NOT NULL,
    status               VARCHAR(32)   NOT NULL,
    amount               BIGINT        NOT NULL,
    currency             CHAR(3)       NOT NULL,
    gateway              VARCHAR(64)   NOT NULL DEFAULT '',
    payment_method_type  VARCHAR(32)   NOT NULL,
    payment_method       VARCHAR(64)   NOT NULL DEFAULT '',
    details              TEXT          NOT NULL,
    routing              TEXT          NOT NULL,
    error_code           VARCHAR(64)   NOT NULL DEFAULT '',
    error_message        VARCHAR(1024) NOT NULL DEFAULT '',
    version              INT           NOT NULL DEFAULT 1,
    created_at           DATETIME(6)   NOT NULL,
    updated_at           DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY txns_txn_id (txn_id),
    UNIQUE KEY txns_order_seq (order_uuid, seq),
    KEY txns_status_updated (status, updated_at)
);

CREATE TABLE refunds (
    id                 VARCHAR(40)   NOT NULL,
    order_uuid         VARCHAR(40)   NOT NULL,
    txn_uuid           VARCHAR(40)   NOT NULL,
    merchant_id        VARCHAR(64)   NOT NULL,
    unique_request_id  VARCHAR(64)   NOT NULL,
    amount             BIGINT        NOT NULL,
    currency           CHAR(3)       NOT NULL,
    status             VARCHAR(32)   NOT NULL,
    gateway_ref        VARCHAR(128)  NOT NULL DEFAULT '',
    error_code         VARCHAR(64)   NOT NULL DEFAULT '',
    error_message      VARCHAR(1024) NOT NULL DEFAULT '',
    initiated_by       VARCHAR(32)   NOT NULL,
    created_at         DATETIME(6)   NOT NULL,
    updated_at         DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY refunds_order_request (order_uuid, unique_request_id),
    KEY refunds_status_created (status, created_at)
);

-- +goose Down
DROP TABLE refunds;
DROP TABLE txns;
DROP TABLE orders;
