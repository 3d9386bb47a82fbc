-- Dashboard sessions, kept in the database so logout and expiry hold on
-- every replica. Only the SHA-256 of the session id is stored: a leaked
-- table does not let anyone in. csrf_token is the per-session token every
-- dashboard form carries.
--
-- Failed dashboard logins per login name, for the lockout after repeated
-- failures; shared through the database so the count holds across replicas.

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

CREATE TABLE dashboard_login_failures (
    login         VARCHAR(255) NOT NULL,
    failures      INT          NOT NULL,
    first_at      DATETIME(6)  NOT NULL,
    locked_until  DATETIME(6)  NULL,
    PRIMARY KEY (login)
);

-- +goose Down
DROP TABLE dashboard_login_failures;
DROP TABLE dashboard_sessions;
