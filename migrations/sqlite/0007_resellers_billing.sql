-- nimbo:foreign-keys-off
-- Resellers, sub-users and the billing schema (SQLite).
-- users is rebuilt to admit the reseller role (SQLite cannot alter a CHECK), gaining
-- reseller_id (the reseller a customer belongs to; NULL for the provider's own customers),
-- email_verified_at and trial_used_at. The rebuild keeps every column earlier migrations added.
CREATE TABLE users_new (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('admin', 'reseller', 'customer')),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    totp_secret       TEXT,
    totp_enabled      BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step    BIGINT NOT NULL DEFAULT 0,
    reseller_id       TEXT REFERENCES users (id),
    email_verified_at TIMESTAMP,
    trial_used_at     TIMESTAMP,
    CHECK (reseller_id IS NULL OR role = 'customer')
);
INSERT INTO users_new (id, email, password_hash, role, created_at, updated_at, totp_secret, totp_enabled, totp_last_step)
    SELECT id, email, password_hash, role, created_at, updated_at, totp_secret, totp_enabled, totp_last_step FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
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
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

-- A reseller's own retail price for a plan, overriding its markup. Same currency as the plan.
CREATE TABLE reseller_prices (
    reseller_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan_id     TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    price_month BIGINT NOT NULL CHECK (price_month >= 0),
    price_hour  BIGINT NOT NULL CHECK (price_hour >= 0),
    setup_fee   BIGINT NOT NULL CHECK (setup_fee >= 0),
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (reseller_id, plan_id)
);

-- Sub-users: another account given some rights on one server. permissions is a
-- space-separated subset of: power console backups tunnels settings billing.
CREATE TABLE server_members (
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permissions TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX server_members_user ON server_members (user_id);

-- A suspended server (unpaid) may not be started until it is unsuspended.
ALTER TABLE servers ADD COLUMN suspended_at TIMESTAMP;

-- Low-balance notification: below low_balance_threshold (minor units; 0 is off) the owner is
-- told once; low_balance_notified_at is cleared when the balance is back above it.
ALTER TABLE wallets ADD COLUMN low_balance_threshold BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallets ADD COLUMN low_balance_notified_at TIMESTAMP;

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
    expires_at        TIMESTAMP,
    max_uses          BIGINT CHECK (max_uses IS NULL OR max_uses > 0),
    uses              BIGINT NOT NULL DEFAULT 0 CHECK (uses >= 0),
    once_per_customer BOOLEAN NOT NULL DEFAULT TRUE,
    plan_ids          TEXT NOT NULL DEFAULT '[]',
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
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
    created_at TIMESTAMP NOT NULL
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
    period_start    TIMESTAMP NOT NULL,
    period_end      TIMESTAMP NOT NULL,
    trial_ends_at   TIMESTAMP,
    reminded_at     TIMESTAMP,
    suspended_at    TIMESTAMP,
    terminated_at   TIMESTAMP,
    cancelled_at    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
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
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
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
    period_start    TIMESTAMP,
    period_end      TIMESTAMP,
    -- Snapshots taken at issue time, so a later rename does not change an issued invoice.
    seller_name     TEXT NOT NULL,
    seller_email    TEXT NOT NULL DEFAULT '',
    buyer_email     TEXT NOT NULL,
    issued_at       TIMESTAMP NOT NULL,
    due_at          TIMESTAMP,
    paid_at         TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
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

CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
WHEN NEW.id IS NOT OLD.id OR NEW.number IS NOT OLD.number OR NEW.issuer_id IS NOT OLD.issuer_id
    OR NEW.user_id IS NOT OLD.user_id OR NEW.subscription_id IS NOT OLD.subscription_id
    OR NEW.order_id IS NOT OLD.order_id OR NEW.currency IS NOT OLD.currency
    OR NEW.subtotal IS NOT OLD.subtotal OR NEW.discount IS NOT OLD.discount OR NEW.total IS NOT OLD.total
    OR NEW.period_start IS NOT OLD.period_start OR NEW.period_end IS NOT OLD.period_end
    OR NEW.seller_name IS NOT OLD.seller_name OR NEW.seller_email IS NOT OLD.seller_email
    OR NEW.buyer_email IS NOT OLD.buyer_email OR NEW.issued_at IS NOT OLD.issued_at
    OR NEW.due_at IS NOT OLD.due_at OR NEW.created_at IS NOT OLD.created_at
    OR OLD.status <> 'open'
BEGIN
    SELECT RAISE(ABORT, 'issued invoices are immutable');
END;

CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'issued invoices are immutable');
END;

CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines
BEGIN
    SELECT RAISE(ABORT, 'invoice lines are append-only');
END;

CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
BEGIN
    SELECT RAISE(ABORT, 'invoice lines are append-only');
END;
