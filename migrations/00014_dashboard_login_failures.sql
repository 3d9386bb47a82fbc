-- Failed dashboard logins per login name, for the lockout after repeated
-- failures. Shared through the database so the count holds across replicas.

-- +goose Up
CREATE TABLE dashboard_login_failures (
    login         VARCHAR(255) NOT NULL,
    failures      INT          NOT NULL,
    first_at      DATETIME(6)  NOT NULL,
    locked_until  DATETIME(6)  NULL,
    PRIMARY KEY (login)
);

-- +goose Down
DROP TABLE dashboard_login_failures;
