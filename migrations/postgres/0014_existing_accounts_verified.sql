-- Accounts created before e-mail verification existed were all made by an admin (or by
-- `nimbo-panel admin create`), which now counts as verified. An account that signed up itself
-- always has a verify_email token, so it is left alone.
UPDATE users SET email_verified_at = created_at
WHERE email_verified_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM account_tokens t WHERE t.user_id = users.id AND t.kind = 'verify_email');
