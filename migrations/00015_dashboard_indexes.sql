-- Indexes behind the merchant dashboard's order list, order detail and
-- analytics (server/store/dashboard.go).
--
-- txns_merchant_created: analytics aggregate a merchant's txns over a time
-- range; without it every chart refresh scans all merchants' txns.
-- orders_merchant_status_created: the order list filtered by status, newest
-- first (orders_merchant_created serves the unfiltered list).
-- outbox_order: the webhook events of one order on its detail page.

-- +goose Up
CREATE INDEX txns_merchant_created ON txns (merchant_id, created_at);

CREATE INDEX orders_merchant_status_created ON orders (merchant_id, status, created_at);

CREATE INDEX outbox_order ON outbox (order_uuid, id);

-- +goose Down
DROP INDEX outbox_order ON outbox;
DROP INDEX orders_merchant_status_created ON orders;
DROP INDEX txns_merchant_created ON txns;
