package store_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

func TestMigrate(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		db, err := store.Open(ctx, tdb.Driver, tdb.DSN, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) == 0 || applied[0] != "0001_init" {
			t.Fatalf("applied %v", applied)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate: %v %v", again, err)
		}
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM schema_migrations").Scan(&n).Error; err != nil || n != int64(len(applied)) {
			t.Fatalf("schema_migrations rows %d: %v", n, err)
		}
		for _, table := range []string{"users", "sessions", "api_tokens", "nodes", "servers", "operations"} {
			if err := db.Table(table).Count(&n).Error; err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
		// Foreign keys are enforced on both drivers.
		err = db.Exec("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('x', 'no-such-user', ?, ?)", store.Now(), store.Now()).Error
		if err == nil {
			t.Fatal("foreign key not enforced")
		}
	})
}
