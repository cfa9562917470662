-- Session list and revoke (PostgreSQL). A session gains a non-secret id the user can see and
-- revoke it by (the primary key token_hash stays secret), the IP address and User-Agent
-- (at most 256 characters) of the login, and last_seen_at, refreshed at most once a minute.
-- Existing sessions get a random UUIDv4 id and last_seen_at = created_at.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
UPDATE sessions SET id = gen_random_uuid()::text, last_seen_at = created_at;
ALTER TABLE sessions ALTER COLUMN id SET NOT NULL;
ALTER TABLE sessions ALTER COLUMN last_seen_at SET NOT NULL;
CREATE UNIQUE INDEX sessions_id ON sessions (id);
