-- Resizes (PostgreSQL). server_resizes holds the size a resize operation asks for: the payload
-- of its instance:resize task (the sweeper may enqueue it again), and what the server row takes
-- when the operation succeeds. prev_* is the size the server had when it was asked.
CREATE TABLE server_resizes (
    operation_id    TEXT PRIMARY KEY REFERENCES operations (id),
    server_id       TEXT NOT NULL REFERENCES servers (id),
    cpu             INTEGER NOT NULL CHECK (cpu >= 1),
    memory_mib      BIGINT NOT NULL CHECK (memory_mib >= 1),
    disk_mib        BIGINT NOT NULL CHECK (disk_mib >= 1),
    prev_cpu        INTEGER NOT NULL,
    prev_memory_mib BIGINT NOT NULL,
    prev_disk_mib   BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX server_resizes_server ON server_resizes (server_id, created_at);

-- A plan change of a subscription with its proration. amount is the signed retail proration
-- (> 0 charged to the customer when accepted, < 0 credited once the resize succeeded);
-- wholesale_amount the same for the reseller's wallet (0 for the provider's own customers).
-- prev_* keep the subscription's terms before the change, restored if the resize fails.
-- invoice_id is the paid invoice of an upgrade's charge; credit_invoice_id the credit invoice of a
-- downgrade's credit or of a failed upgrade's refund. status: pending (resize running), applied, reverted. idempotency_key is the client's key,
-- unique per subscription.
CREATE TABLE subscription_changes (
    id                   TEXT PRIMARY KEY,
    subscription_id      TEXT NOT NULL REFERENCES subscriptions (id),
    user_id              TEXT NOT NULL REFERENCES users (id),
    reseller_id          TEXT REFERENCES users (id),
    actor_id             TEXT NOT NULL,
    idempotency_key      TEXT NOT NULL,
    operation_id         TEXT NOT NULL REFERENCES operations (id),
    status               TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'reverted')),
    from_plan_id         TEXT NOT NULL REFERENCES plans (id),
    to_plan_id           TEXT NOT NULL REFERENCES plans (id),
    currency             TEXT NOT NULL,
    price                BIGINT NOT NULL CHECK (price >= 0),
    wholesale_price      BIGINT NOT NULL CHECK (wholesale_price >= 0),
    prev_price           BIGINT NOT NULL,
    prev_wholesale_price BIGINT NOT NULL,
    prev_cpu             INTEGER NOT NULL,
    prev_memory_mib      BIGINT NOT NULL,
    prev_disk_mib        BIGINT NOT NULL,
    amount               BIGINT NOT NULL,
    wholesale_amount     BIGINT NOT NULL,
    remaining_seconds    BIGINT NOT NULL CHECK (remaining_seconds >= 0),
    period_seconds       BIGINT NOT NULL CHECK (period_seconds >= 0),
    invoice_id           TEXT REFERENCES invoices (id),
    credit_invoice_id    TEXT REFERENCES invoices (id),
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    UNIQUE (subscription_id, idempotency_key)
);
CREATE UNIQUE INDEX subscription_changes_operation ON subscription_changes (operation_id);
