-- Dashboard sessions, kept in the database so logout and expiry hold on
-- every replica. Only the SHA-256 of the session id is stored: a leaked
-- table does not let anyone in. csrf_token is the per-session token every
-- dashboard form carries.

-- +goose Up
CREATE TABLE dashboard_sessions (
    id_hash      CHAR(64)     NOT NULL,
    merchant_id  VARCHAR(64)  NOT NULL,
    csrf_token   CHAR(64)     NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    expires_at   DATETIME(6)  NOT NULL,
    PRIMARY KEY (id_hash),
    KEY dashboard_sessions_merchant (merchant_id),
    KEY dashboard_sessions_expires (expires_at)
);

-- +goose Down
DROP TABLE dashboard_sessions;
