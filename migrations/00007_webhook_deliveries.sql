-- Webhook delivery bookkeeping (server/webhook reads and writes it through
-- server/store/outbox.go).
--
-- webhook_deliveries logs every HTTP attempt at delivering an outbox event:
-- what was called, what came back, how long it took. It never holds the
-- body, the Basic-auth password, the signature or the response key; url is
-- stored with any userinfo password redacted.
--
-- outbox.retry_base is the number of attempts already made when the current
-- retry schedule started: 0, or outbox.attempts at the last manual resend.
-- attempts keeps counting across resends so the log's attempt numbers stay
-- unique per event, while the schedule restarts from its first step.
--
-- outbox_claim lets a claim find the merchants with due events in one probe
-- per merchant (a loose index scan for MIN(next_attempt_at) GROUP BY
-- merchant_id) and then take each merchant's oldest due events, so a long
-- backlog of one merchant is never scanned to reach another's.
-- It replaces outbox_due (state, next_attempt_at), which nothing reads any
-- more and which every outbox insert and every claim had to maintain.
-- outbox_merchant serves the per-merchant event list (dashboard, admin).
-- The outbox states are pending (due at next_attempt_at), delivered, dead
-- (the schedule ran out) and skipped (the merchant has no webhook URL).

-- +goose Up
CREATE TABLE webhook_deliveries (
    id             BIGINT        NOT NULL AUTO_INCREMENT,
    event_id       VARCHAR(40)   NOT NULL,
    merchant_id    VARCHAR(64)   NOT NULL,
    attempt        INT           NOT NULL,
    url            VARCHAR(2048) NOT NULL,
    status_code    INT           NOT NULL DEFAULT 0,
    error_message  VARCHAR(1024) NOT NULL DEFAULT '',
    duration_ms    INT           NOT NULL,
    created_at     DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    KEY webhook_deliveries_event (event_id, id)
);

ALTER TABLE outbox ADD COLUMN retry_base INT NOT NULL DEFAULT 0;

CREATE INDEX outbox_claim ON outbox (state, merchant_id, next_attempt_at);

DROP INDEX outbox_due ON outbox;

CREATE INDEX outbox_merchant ON outbox (merchant_id, id);

-- +goose Down
DROP INDEX outbox_merchant ON outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
DROP INDEX outbox_claim ON outbox;
ALTER TABLE outbox DROP COLUMN retry_base;
DROP TABLE webhook_deliveries;
