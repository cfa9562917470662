package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// TestAccountsMigrations upgrades a database holding spine-era data: 0007 rebuilds users on
// SQLite (to admit the reseller role) and must keep every row that references them, and 0014
// marks the accounts created before sign-up existed as verified while a self-signed-up account
// (it has a verify_email token) stays unverified.
func TestAccountsMigrations(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		db, err := store.Open(ctx, tdb.Driver, tdb.DSN, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if _, err := db.MigrateTo(ctx, "0006"); err != nil {
			t.Fatal(err)
		}
		created := store.Now().Add(-time.Hour)
		exec := func(q string, args ...any) {
			t.Helper()
			if err := db.Exec(q, args...).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u1', 'admin@example.com', 'x', 'admin', ?, ?)", created, created)
		exec("INSERT INTO sessions (token_hash, id, user_id, created_at, last_seen_at, expires_at) VALUES ('h1', 's1', 'u1', ?, ?, ?)", created, created, created.Add(48*time.Hour))
		exec("INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, scopes, created_at) VALUES ('t1', 'u1', 'cli', 'p', 'th1', 'servers:read', ?)", created)
		exec("INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ('r1', 'u1', 'ch1', ?)", created)
		exec("INSERT INTO wallets (id, user_id, currency, balance, entry_count, created_at, updated_at) VALUES ('w1', 'u1', 'USD', 100, 1, ?, ?)", created, created)
		exec(`INSERT INTO ledger_entries (id, wallet_id, seq, kind, amount, balance_after, idempotency_key, fingerprint, actor_id, created_at)
			VALUES ('e1', 'w1', 1, 'topup', 100, 100, 'k1', 'f', 'u1', ?)`, created)

		applied, err := db.MigrateTo(ctx, "0013")
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 6 || applied[0] != "0007_resellers_billing" || applied[5] != "0013_resize" { // 0010 was not needed
			t.Fatalf("applied %v", applied)
		}
		for table, want := range map[string]int64{"users": 1, "sessions": 1, "api_tokens": 1, "recovery_codes": 1, "wallets": 1, "ledger_entries": 1} {
			var n int64
			if err := db.Table(table).Count(&n).Error; err != nil || n != want {
				t.Fatalf("%s after 0007: %d rows (%v), want %d", table, n, err, want)
			}
		}
		// The rebuilt table admits resellers and keeps its constraints.
		exec("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u2', 'self@example.com', 'x', 'customer', ?, ?)", created, created)
		exec("INSERT INTO account_tokens (id, kind, user_id, token_hash, expires_at, created_at) VALUES ('a1', 'verify_email', 'u2', 'vh', ?, ?)", created.Add(24*time.Hour), created)
		exec("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u3', 'reseller@example.com', 'x', 'reseller', ?, ?)", created, created)
		if err := db.Exec("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u4', 'x@example.com', 'x', 'root', ?, ?)", created, created).Error; err == nil {
			t.Fatal("role root accepted")
		}
		if err := db.Exec("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u5', 'admin@example.com', 'x', 'admin', ?, ?)", created, created).Error; err == nil {
			t.Fatal("duplicate e-mail accepted")
		}
		if err := db.Exec("UPDATE users SET reseller_id = 'u3' WHERE id = 'u1'").Error; err == nil {
			t.Fatal("an admin with a reseller accepted")
		}
		if err := db.Exec("DELETE FROM users WHERE id = 'u1'").Error; err == nil {
			t.Fatal("deleting a user with a wallet succeeded: foreign keys are not enforced after the rebuild")
		}

		// 0014 comes next; later migrations (0015…) follow it in the same run.
		if applied, err = db.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != "0014_existing_accounts_verified" {
			t.Fatalf("applied %v, %v", applied, err)
		}
		var users []store.User
		if err := db.Order("id").Find(&users).Error; err != nil {
			t.Fatal(err)
		}
		verified := map[string]bool{}
		for _, u := range users {
			verified[u.ID] = u.EmailVerifiedAt != nil
			if u.EmailVerifiedAt != nil && !u.EmailVerifiedAt.Equal(u.CreatedAt) {
				t.Fatalf("%s verified at %s, want its creation time %s", u.ID, u.EmailVerifiedAt, u.CreatedAt)
			}
		}
		if !verified["u1"] || verified["u2"] || !verified["u3"] {
			t.Fatalf("verified after 0014: %v, want u1 and u3 only", verified)
		}
	})
}
