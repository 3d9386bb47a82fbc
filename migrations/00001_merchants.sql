-- Merchants, their API keys, gateway accounts and customers.
-- Secrets (response key, webhook password, gateway credentials) are stored
-- sealed with AES-256-GCM under SWITCHYARD_MASTER_KEY; *_key_version names
-- the master key that sealed them so keys can be rotated.

-- +goose Up
CREATE TABLE merchants (
    id                            VARCHAR(64)   NOT NULL,
    name                          VARCHAR(255)  NOT NULL,
    payment_redirect_url          VARCHAR(2048) NOT NULL DEFAULT '',
    allowed_return_hosts          TEXT          NOT NULL,
    webhook_url                   VARCHAR(2048) NOT NULL DEFAULT '',
    webhook_username              VARCHAR(255)  NOT NULL DEFAULT '',
    webhook_password_sealed       VARBINARY(512) NULL,
    default_currency              CHAR(3)       NOT NULL,
    order_timeout_minutes         INT           NOT NULL,
    auto_refund_conflicted        BOOLEAN       NOT NULL,
    auto_refund_threshold_minutes INT           NOT NULL,
    auto_refund_multiple_charged  BOOLEAN       NOT NULL,
    enabled_payment_methods       TEXT          NOT NULL,
    response_key_sealed           VARBINARY(512) NOT NULL,
    secrets_key_version           INT           NOT NULL,
    dashboard_login               VARCHAR(64)   NOT NULL,
    dashboard_password_hash       VARCHAR(255)  NOT NULL,
    routing_config                TEXT          NOT NULL,
    created_at                    DATETIME(6)   NOT NULL,
    updated_at                    DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY merchants_dashboard_login (dashboard_login)
);

CREATE TABLE api_keys (
    id           VARCHAR(40)  NOT NULL,
    merchant_id  VARCHAR(64)  NOT NULL,
    prefix       VARCHAR(16)  NOT NULL,
    key_hash     CHAR(64)     NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    revoked_at   DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY api_keys_hash (key_hash),
    KEY api_keys_merchant (merchant_id)
);

CREATE TABLE gateway_accounts (
    merchant_id         VARCHAR(64)    NOT NULL,
    name                VARCHAR(64)    NOT NULL,
    connector           VARCHAR(32)    NOT NULL,
    enabled             BOOLEAN        NOT NULL,
    credentials_sealed  VARBINARY(4096) NOT NULL,
    secrets_key_version INT            NOT NULL,
    payment_methods     TEXT           NOT NULL,
    currencies          TEXT           NOT NULL,
    fee_percent         VARCHAR(16)    NOT NULL,
    fee_fixed           BIGINT         NOT NULL,
    priority            INT            NOT NULL,
    created_at          DATETIME(6)    NOT NULL,
    updated_at          DATETIME(6)    NOT NULL,
    PRIMARY KEY (merchant_id, name)
);

CREATE TABLE customers (
    id                   VARCHAR(40)  NOT NULL,
    merchant_id          VARCHAR(64)  NOT NULL,
    object_reference_id  VARCHAR(64)  NOT NULL,
    mobile_number        VARCHAR(20)  NOT NULL DEFAULT '',
    mobile_country_code  VARCHAR(6)   NOT NULL DEFAULT '',
    email_address        VARCHAR(254) NOT NULL DEFAULT '',
    first_name           VARCHAR(255) NOT NULL DEFAULT '',
    last_name            VARCHAR(255) NOT NULL DEFAULT '',
    created_at           DATETIME(6)  NOT NULL,
    updated_at           DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY customers_reference (merchant_id, object_reference_id)
);

-- +goose Down
DROP TABLE customers;
DROP TABLE gateway_accounts;
DROP TABLE api_keys;
DROP TABLE merchants;
