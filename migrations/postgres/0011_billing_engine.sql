-- The billing engine's notification outbox: every notification the engine (or an order's
-- provisioning result) decides to send is written in the same transaction as the change it
-- reports, then delivered after commit. A crash between commit and delivery loses nothing:
-- the next billing pass delivers what is left. claimed_at marks a delivery in progress (two
-- passes never send one row twice); attempts bounds retries of a failing notifier.
CREATE TABLE notification_outbox (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    claimed_at TIMESTAMPTZ,
    sent_at    TIMESTAMPTZ
);
CREATE INDEX notification_outbox_unsent ON notification_outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX notification_outbox_user ON notification_outbox (user_id, created_at);

-- Orders are found by their provisioning operation when it finishes.
CREATE INDEX orders_operation ON orders (operation_id) WHERE operation_id IS NOT NULL;
-- Coupon uses are released by order.
CREATE INDEX coupon_redemptions_order ON coupon_redemptions (order_id);
