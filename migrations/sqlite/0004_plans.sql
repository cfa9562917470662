-- Plans catalogue (SQLite). Prices are BIGINT minor units of the plan's ISO-4217 currency;
-- price_hour and price_month are independent. Archived plans (archived_at set) are hidden
-- from customers and kept for history; a name is unique among the plans not archived.
CREATE TABLE plans (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    type        TEXT NOT NULL CHECK (type IN ('container', 'vm')),
    cpu         INTEGER NOT NULL CHECK (cpu >= 1),
    memory_mib  BIGINT NOT NULL CHECK (memory_mib >= 1),
    disk_mib    BIGINT NOT NULL CHECK (disk_mib >= 1),
    -- Monthly traffic allowance; 0 is unmetered.
    traffic_gib BIGINT NOT NULL DEFAULT 0 CHECK (traffic_gib >= 0),
    price_month BIGINT NOT NULL DEFAULT 0 CHECK (price_month >= 0),
    price_hour  BIGINT NOT NULL DEFAULT 0 CHECK (price_hour >= 0),
    setup_fee   BIGINT NOT NULL DEFAULT 0 CHECK (setup_fee >= 0),
    currency    TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    -- NULL is unlimited.
    stock       BIGINT CHECK (stock IS NULL OR stock >= 0),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    archived_at TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX plans_live_name ON plans (name) WHERE archived_at IS NULL;

-- The nodes that may host a plan; none is any node. Deleting a node removes its rows.
CREATE TABLE plan_nodes (
    plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    node_id TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (plan_id, node_id)
);
CREATE INDEX plan_nodes_node ON plan_nodes (node_id);
