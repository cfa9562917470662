-- Session list and revoke (SQLite). A session gains a non-secret id the user can see and
-- revoke it by (the primary key token_hash stays secret), the IP address and User-Agent
-- (at most 256 characters) of the login, and last_seen_at, refreshed at most once a minute.
-- Columns are added, not the table rebuilt, so columns other migrations add are kept.
-- Existing sessions get a random UUIDv4 id and last_seen_at = created_at.
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP;
UPDATE sessions SET
    id = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
         substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) ||
         substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_id ON sessions (id);
