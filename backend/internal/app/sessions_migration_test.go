package app_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	"github.com/nimbo-panel/nimbo/migrations"
)

// TestSessionsBackfill applies the migrations before 0005 by hand, stores sessions in the old
// shape, then lets Migrate apply 0005: each old session gets its own UUIDv4 id and
// last_seen_at = created_at.
func TestSessionsBackfill(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		db, err := store.Open(ctx, tdb.Driver, tdb.DSN, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		entries, err := fs.ReadDir(migrations.FS, tdb.Driver)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`).Error; err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() >= "0005" {
				break
			}
			body, err := fs.ReadFile(migrations.FS, path.Join(tdb.Driver, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(string(body)).Error; err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if err := db.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
				strings.TrimSuffix(e.Name(), ".sql"), store.Now()).Error; err != nil {
				t.Fatal(err)
			}
		}
		now := store.Now()
		if err := db.Exec("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			"u1", "a@example.com", "x", "customer", now, now).Error; err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"h1", "h2", "h3"} {
			if err := db.Exec("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
				h, "u1", now, now.Add(time.Hour)).Error; err != nil {
				t.Fatal(err)
			}
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) == 0 || applied[0] != "0005_sessions" {
			t.Fatalf("applied %v", applied)
		}
		var rows []store.Session
		if err := db.Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range rows {
			u, err := uuid.Parse(r.ID)
			if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != r.ID {
				t.Fatalf("session %s: id %q is not a UUIDv4 (%v)", r.TokenHash, r.ID, err)
			}
			ids[r.ID] = true
			if !r.LastSeenAt.Equal(r.CreatedAt) || r.IP != "" || r.UserAgent != "" {
				t.Fatalf("backfilled session %+v", r)
			}
		}
		if len(rows) != 3 || len(ids) != 3 {
			t.Fatalf("sessions %+v", rows)
		}
		// The id is unique.
		err = db.Exec("UPDATE sessions SET id = ? WHERE token_hash = ?", rows[0].ID, rows[1].TokenHash).Error
		if err == nil {
			t.Fatal("duplicate session id accepted")
		}
	})
}
