-- Nimbo initial schema (PostgreSQL). Timestamps are stored in UTC.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'customer')),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_user_created ON api_tokens (user_id, created_at);

CREATE TABLE nodes (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    status                TEXT NOT NULL,
    version               TEXT NOT NULL DEFAULT '',
    hostname              TEXT NOT NULL DEFAULT '',
    credential_hash       TEXT UNIQUE,
    join_token_hash       TEXT UNIQUE,
    join_token_expires_at TIMESTAMPTZ,
    joined_at             TIMESTAMPTZ,
    last_seen_at          TIMESTAMPTZ,
    cpus                  INTEGER NOT NULL DEFAULT 0,
    memory_total          BIGINT NOT NULL DEFAULT 0,
    memory_used           BIGINT NOT NULL DEFAULT 0,
    disk_total            BIGINT NOT NULL DEFAULT 0,
    disk_used             BIGINT NOT NULL DEFAULT 0,
    containers            BOOLEAN NOT NULL DEFAULT FALSE,
    virtual_machines      BOOLEAN NOT NULL DEFAULT FALSE,
    vm_reason             TEXT NOT NULL DEFAULT '',
    server_name           TEXT NOT NULL DEFAULT '',
    server_version        TEXT NOT NULL DEFAULT '',
    storage_driver        TEXT NOT NULL DEFAULT '',
    images                TEXT NOT NULL DEFAULT '[]',
    job_types             TEXT NOT NULL DEFAULT '[]',
    drift                 TEXT,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX nodes_status_last_seen ON nodes (status, last_seen_at);

CREATE TABLE servers (
    id                 TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL REFERENCES users (id),
    node_id            TEXT NOT NULL,
    name               TEXT NOT NULL,
    incus_name         TEXT NOT NULL UNIQUE,
    type               TEXT NOT NULL CHECK (type IN ('container', 'vm')),
    image              TEXT NOT NULL,
    cpu                INTEGER NOT NULL,
    memory_mib         BIGINT NOT NULL,
    disk_mib           BIGINT NOT NULL,
    status             TEXT NOT NULL,
    usage_cpu_ns       BIGINT NOT NULL DEFAULT 0,
    usage_memory_bytes BIGINT NOT NULL DEFAULT 0,
    usage_disk_bytes   BIGINT NOT NULL DEFAULT 0,
    usage_net_rx_bytes BIGINT NOT NULL DEFAULT 0,
    usage_net_tx_bytes BIGINT NOT NULL DEFAULT 0,
    usage_at           TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    deleted_at         TIMESTAMPTZ
);
-- The list endpoints read live servers newest first, per owner (customers) or overall (admins).
CREATE INDEX servers_owner_created ON servers (owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX servers_created ON servers (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX servers_node_id ON servers (node_id);
CREATE INDEX servers_status ON servers (status);
CREATE UNIQUE INDEX servers_owner_name_live ON servers (owner_id, name) WHERE deleted_at IS NULL;

CREATE TABLE operations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    progress    INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    server_id   TEXT REFERENCES servers (id),
    node_id     TEXT NOT NULL,
    user_id     TEXT,
    prev_status TEXT NOT NULL DEFAULT '',
    force_stop  BOOLEAN NOT NULL DEFAULT FALSE,
    enqueued    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX operations_server_created ON operations (server_id, created_at DESC, id DESC);
CREATE INDEX operations_status ON operations (status);
CREATE INDEX operations_created ON operations (created_at DESC, id DESC);
CREATE INDEX operations_node_id ON operations (node_id);
