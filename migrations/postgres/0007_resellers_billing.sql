-- Resellers, sub-users and the billing schema (PostgreSQL).
-- users admits the reseller role and gains reseller_id (the reseller a customer belongs to;
-- NULL for the provider's own customers), email_verified_at and trial_used_at.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'reseller', 'customer'));
ALTER TABLE users ADD COLUMN reseller_id TEXT REFERENCES users (id);
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN trial_used_at TIMESTAMPTZ;
ALTER TABLE users ADD CONSTRAINT users_reseller_customer CHECK (reseller_id IS NULL OR role = 'customer');
CREATE INDEX users_reseller ON users (reseller_id, created_at) WHERE reseller_id IS NOT NULL;

-- A reseller's brand, default markup and resource quota across its customers' servers.
-- markup_bp is basis points over the wholesale plan price (2500 = +25 %); a quota of NULL is
-- unlimited. domain is the host name the reseller's portal is served on.
CREATE TABLE reseller_profiles (
    user_id          TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    brand_name       TEXT NOT NULL DEFAULT '',
    logo_url         TEXT NOT NULL DEFAULT '',
    domain           TEXT UNIQUE,
    support_email    TEXT NOT NULL DEFAULT '',
    markup_bp        BIGINT NOT NULL DEFAULT 0 CHECK (markup_bp >= 0),
    quota_servers    BIGINT CHECK (quota_servers IS NULL OR quota_servers >= 0),
    quota_cpu        BIGINT CHECK (quota_cpu IS NULL OR quota_cpu >= 0),
    quota_memory_mib BIGINT CHECK (quota_memory_mib IS NULL OR quota_memory_mib >= 0),
    quota_disk_mib   BIGINT CHECK (quota_disk_mib IS NULL OR quota_disk_mib >= 0),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- A reseller's own retail price for a plan, overriding its markup. Same currency as the plan.
CREATE TABLE reseller_prices (
    reseller_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan_id     TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    price_month BIGINT NOT NULL CHECK (price_month >= 0),
    price_hour  BIGINT NOT NULL CHECK (price_hour >= 0),
    setup_fee   BIGINT NOT NULL CHECK (setup_fee >= 0),
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reseller_id, plan_id)
);

-- Sub-users: another account given some rights on one server. permissions is a
-- space-separated subset of: power console backups tunnels settings billing.
CREATE TABLE server_members (
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permissions TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX server_members_user ON server_members (user_id);

-- A suspended server (unpaid) may not be started until it is unsuspended.
ALTER TABLE servers ADD COLUMN suspended_at TIMESTAMPTZ;

-- Low-balance notification: below low_balance_threshold (minor units; 0 is off) the owner is
-- told once; low_balance_notified_at is cleared when the balance is back above it.
ALTER TABLE wallets ADD COLUMN low_balance_threshold BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallets ADD COLUMN low_balance_notified_at TIMESTAMPTZ;

-- Coupons. kind percent: value is basis points (1000 = 10 %); kind fixed: value is minor
-- units of currency. owner_id is the reseller that issued it, NULL for the provider's.
-- plan_ids is a JSON array of plan ids the coupon is restricted to ([] is any plan).
CREATE TABLE coupons (
    id                TEXT PRIMARY KEY,
    code              TEXT NOT NULL,
    owner_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value             BIGINT NOT NULL CHECK (value > 0),
    currency          TEXT NOT NULL DEFAULT '',
    expires_at        TIMESTAMPTZ,
    max_uses          BIGINT CHECK (max_uses IS NULL OR max_uses > 0),
    uses              BIGINT NOT NULL DEFAULT 0 CHECK (uses >= 0),
    once_per_customer BOOLEAN NOT NULL DEFAULT TRUE,
    plan_ids          TEXT NOT NULL DEFAULT '[]',
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    CHECK (kind <> 'percent' OR value <= 10000),
    CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE UNIQUE INDEX coupons_code ON coupons (code);

CREATE TABLE coupon_redemptions (
    id         TEXT PRIMARY KEY,
    coupon_id  TEXT NOT NULL REFERENCES coupons (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    order_id   TEXT NOT NULL,
    discount   BIGINT NOT NULL CHECK (discount >= 0),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX coupon_redemptions_coupon_user ON coupon_redemptions (coupon_id, user_id);

-- A subscription: one plan bought by one customer, and the server it provisions.
-- cycle monthly: prepaid periods [period_start, period_end), renewed from the wallet.
-- cycle hourly: metered; period_end is the time metered (and charged) up to.
-- price and wholesale_price are per period (a month or an hour) in currency; wholesale_price is
-- what the reseller (reseller_id) pays the provider, 0 when sold by the provider directly.
-- status: pending (order not provisioned yet), trial, active, suspended, terminated, cancelled.
CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    reseller_id     TEXT REFERENCES users (id),
    plan_id         TEXT NOT NULL REFERENCES plans (id),
    server_id       TEXT REFERENCES servers (id),
    cycle           TEXT NOT NULL CHECK (cycle IN ('monthly', 'hourly')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'trial', 'active', 'suspended', 'terminated', 'cancelled')),
    currency        TEXT NOT NULL,
    price           BIGINT NOT NULL CHECK (price >= 0),
    wholesale_price BIGINT NOT NULL DEFAULT 0 CHECK (wholesale_price >= 0),
    cpu             INTEGER NOT NULL,
    memory_mib      BIGINT NOT NULL,
    disk_mib        BIGINT NOT NULL,
    auto_renew      BOOLEAN NOT NULL DEFAULT TRUE,
    period_start    TIMESTAMPTZ NOT NULL,
    period_end      TIMESTAMPTZ NOT NULL,
    trial_ends_at   TIMESTAMPTZ,
    reminded_at     TIMESTAMPTZ,
    suspended_at    TIMESTAMPTZ,
    terminated_at   TIMESTAMPTZ,
    cancelled_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_user ON subscriptions (user_id, created_at);
CREATE INDEX subscriptions_due ON subscriptions (status, period_end);
CREATE INDEX subscriptions_server ON subscriptions (server_id);
CREATE INDEX subscriptions_reseller ON subscriptions (reseller_id) WHERE reseller_id IS NOT NULL;

-- An order: the request to buy a plan. idempotency_key is unique per user.
-- status: provisioning, active, failed (provisioning failed; charge refunded), refunded.
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    plan_id         TEXT NOT NULL REFERENCES plans (id),
    subscription_id TEXT REFERENCES subscriptions (id),
    server_id       TEXT REFERENCES servers (id),
    operation_id    TEXT,
    status          TEXT NOT NULL CHECK (status IN ('provisioning', 'active', 'failed', 'refunded')),
    cycle           TEXT NOT NULL CHECK (cycle IN ('monthly', 'hourly')),
    trial           BOOLEAN NOT NULL DEFAULT FALSE,
    currency        TEXT NOT NULL,
    subtotal        BIGINT NOT NULL CHECK (subtotal >= 0),
    discount        BIGINT NOT NULL DEFAULT 0 CHECK (discount >= 0),
    total           BIGINT NOT NULL CHECK (total >= 0),
    coupon_id       TEXT REFERENCES coupons (id),
    image           TEXT NOT NULL DEFAULT '',
    server_name     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user_created ON orders (user_id, created_at);
CREATE INDEX orders_status ON orders (status);

-- Invoices are numbered per issuer (the provider, issuer_id '', or a reseller) without gaps
-- from invoice_counters, and immutable once issued: only status and paid_at may change, from
-- open to paid or void. Lines are append-only.
CREATE TABLE invoice_counters (
    issuer_id TEXT PRIMARY KEY,
    next      BIGINT NOT NULL CHECK (next >= 1)
);

CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    issuer_id       TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL REFERENCES users (id),
    subscription_id TEXT REFERENCES subscriptions (id),
    order_id        TEXT REFERENCES orders (id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void')),
    currency        TEXT NOT NULL,
    subtotal        BIGINT NOT NULL,
    discount        BIGINT NOT NULL DEFAULT 0,
    total           BIGINT NOT NULL,
    period_start    TIMESTAMPTZ,
    period_end      TIMESTAMPTZ,
    -- Snapshots taken at issue time, so a later rename does not change an issued invoice.
    seller_name     TEXT NOT NULL,
    seller_email    TEXT NOT NULL DEFAULT '',
    buyer_email     TEXT NOT NULL,
    issued_at       TIMESTAMPTZ NOT NULL,
    due_at          TIMESTAMPTZ,
    paid_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX invoices_user_issued ON invoices (user_id, issued_at);
CREATE INDEX invoices_subscription ON invoices (subscription_id);

CREATE TABLE invoice_lines (
    id          TEXT PRIMARY KEY,
    invoice_id  TEXT NOT NULL REFERENCES invoices (id),
    position    INTEGER NOT NULL,
    description TEXT NOT NULL,
    quantity    BIGINT NOT NULL,
    unit_amount BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    UNIQUE (invoice_id, position)
);

CREATE FUNCTION invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'open'
       OR (to_jsonb(NEW) - 'status' - 'paid_at') IS DISTINCT FROM (to_jsonb(OLD) - 'status' - 'paid_at') THEN
        RAISE EXCEPTION 'issued invoices are immutable';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_immutable();

CREATE FUNCTION invoice_lines_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invoice lines are append-only';
END;
$$;
CREATE TRIGGER invoice_lines_no_change BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_append_only();
