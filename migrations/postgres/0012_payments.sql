-- Payments through the gateways (PostgreSQL). A payment is money a user pays in (Stripe
-- Checkout, Alipay page pay) or that an admin or reseller records by hand (manual). It is
-- created, then paid exactly once: the wallet top-up (ledger key "payment:<id>") and the
-- status change commit together. amount is minor units of currency.
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    gateway         TEXT NOT NULL CHECK (gateway IN ('manual', 'stripe', 'alipay')),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status          TEXT NOT NULL CHECK (status IN ('created', 'paid', 'failed', 'expired')),
    -- The gateway's id: the Stripe Checkout Session id, the Alipay trade_no ('' until known).
    external_id     TEXT NOT NULL DEFAULT '',
    -- Where the payer is sent to pay ('' for manual payments and failed checkouts).
    redirect_url    TEXT NOT NULL DEFAULT '',
    -- The wallet top-up, once paid.
    ledger_entry_id TEXT REFERENCES ledger_entries (id),
    -- Who created it (the payer, or the admin or reseller of a manual payment) and the
    -- Idempotency-Key they sent; fingerprint hashes the request, to refuse a reused key.
    created_by      TEXT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    -- Why the checkout failed, for the payer.
    failure         TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    paid_at         TIMESTAMPTZ,
    UNIQUE (created_by, idempotency_key),
    CHECK ((status = 'paid') = (ledger_entry_id IS NOT NULL AND paid_at IS NOT NULL))
);
CREATE INDEX payments_user_created ON payments (user_id, created_at);
CREATE INDEX payments_created ON payments (created_at);
CREATE UNIQUE INDEX payments_external ON payments (gateway, external_id) WHERE external_id <> '';

-- Gateway notifications already handled, by the gateway's event id (Stripe event id, Alipay
-- notify_id): a delivery whose id is here is a duplicate and changes nothing.
CREATE TABLE payment_notifications (
    gateway     TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (gateway, event_id)
);
CREATE INDEX payment_notifications_payment ON payment_notifications (payment_id);
