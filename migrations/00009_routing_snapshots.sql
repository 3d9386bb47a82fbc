-- Learned routing estimates, saved periodically so a restart starts warm.

-- +goose Up
CREATE TABLE routing_snapshots (
    id          VARCHAR(32)  NOT NULL,
    body        MEDIUMTEXT   NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id)
);

-- +goose Down
DROP TABLE routing_snapshots;
