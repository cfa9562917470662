-- Accounts (SQLite): one-time tokens for e-mail verification and password reset, and the
-- per-user notification webhook.
-- account_tokens: only the SHA-256 (hex) of a token is stored; a token is single-use
-- (used_at) and expires (expires_at). kind verify_email lasts 24 h, password_reset 1 h.
CREATE TABLE account_tokens (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('verify_email', 'password_reset')),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, kind);

-- user_webhooks: where a user's own notifications are POSTed, signed with HMAC-SHA256 under
-- secret (shown to the user once, when set; kept to sign).
CREATE TABLE user_webhooks (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
