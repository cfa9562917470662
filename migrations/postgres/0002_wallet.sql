-- Wallet ledger (PostgreSQL). Money is BIGINT minor units of the wallet's ISO-4217 currency.
-- A wallet's balance changes only together with a ledger entry, in one transaction; the
-- entries are append-only (the trigger refuses UPDATE, DELETE and TRUNCATE).
CREATE TABLE wallets (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    currency     TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance      BIGINT NOT NULL DEFAULT 0,
    -- How far below zero the balance may go.
    credit_limit BIGINT NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    -- Number of entries; the seq of the next entry is entry_count + 1.
    entry_count  BIGINT NOT NULL DEFAULT 0 CHECK (entry_count >= 0),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, currency)
);

CREATE TABLE ledger_entries (
    id              TEXT PRIMARY KEY,
    wallet_id       TEXT NOT NULL REFERENCES wallets (id),
    -- 1, 2, 3, … per wallet, in posting order.
    seq             BIGINT NOT NULL CHECK (seq >= 1),
    kind            TEXT NOT NULL CHECK (kind IN ('topup', 'charge', 'refund', 'adjustment', 'settlement')),
    -- Signed: a credit is > 0, a debit < 0.
    amount          BIGINT NOT NULL CHECK (amount <> 0),
    balance_after   BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- SHA-256 (hex) of the request parameters; a key reused with other parameters is refused.
    fingerprint     TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    reference       TEXT NOT NULL DEFAULT '',
    -- Who posted it: a user id, or "system".
    actor_id        TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (wallet_id, idempotency_key),
    UNIQUE (wallet_id, seq)
);

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only';
END;
$$;

CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();
