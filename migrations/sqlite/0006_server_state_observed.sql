-- When the node observed a server's current status (the node's clock): set by an operation
-- result, compared with a heartbeat's collection time so an older heartbeat cannot overwrite
-- a newer result.
ALTER TABLE servers ADD COLUMN state_observed_at TIMESTAMP;
