-- Server metrics history (PostgreSQL). Times are integers: Unix milliseconds (UTC), so the
-- same bucketing arithmetic runs on both drivers.
--
-- server_metrics holds raw samples: a server's usage as a heartbeat carried it, at most one per
-- metrics.interval (at is the panel's time of the heartbeat, the servers.usage_at of that
-- moment). cpu_ns, net_rx_bytes and net_tx_bytes are cumulative counters (they restart from 0
-- when the instance restarts); memory_bytes and disk_bytes are gauges. Kept for
-- metrics.raw_retention.
CREATE TABLE server_metrics (
    server_id    TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    cpu_ns       BIGINT NOT NULL CHECK (cpu_ns >= 0),
    memory_bytes BIGINT NOT NULL CHECK (memory_bytes >= 0),
    disk_bytes   BIGINT NOT NULL CHECK (disk_bytes >= 0),
    net_rx_bytes BIGINT NOT NULL CHECK (net_rx_bytes >= 0),
    net_tx_bytes BIGINT NOT NULL CHECK (net_tx_bytes >= 0),
    PRIMARY KEY (server_id, at)
);
-- Compaction reads one hour of every server and deletes what aged out.
CREATE INDEX server_metrics_at ON server_metrics (at);

-- server_metrics_hourly holds one row per server and finished hour (hour: the hour's start,
-- Unix milliseconds), rolled up from the raw samples: the CPU use in percent of one core and
-- the network rates (bytes per second) averaged over the hour's sample intervals, memory
-- averaged and at its peak, disk averaged, and how many raw samples fell in the hour. Kept
-- for metrics.hourly_retention.
CREATE TABLE server_metrics_hourly (
    server_id        TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    hour             BIGINT NOT NULL CHECK (hour % 3600000 = 0),
    cpu_percent      DOUBLE PRECISION NOT NULL CHECK (cpu_percent >= 0),
    memory_avg_bytes BIGINT NOT NULL CHECK (memory_avg_bytes >= 0),
    memory_max_bytes BIGINT NOT NULL CHECK (memory_max_bytes >= 0),
    disk_avg_bytes   BIGINT NOT NULL CHECK (disk_avg_bytes >= 0),
    net_rx_bps       DOUBLE PRECISION NOT NULL CHECK (net_rx_bps >= 0),
    net_tx_bps       DOUBLE PRECISION NOT NULL CHECK (net_tx_bps >= 0),
    samples          INTEGER NOT NULL CHECK (samples > 0),
    PRIMARY KEY (server_id, hour)
);
CREATE INDEX server_metrics_hourly_hour ON server_metrics_hourly (hour);
