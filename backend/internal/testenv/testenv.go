// Package testenv gives tests the real services they run against: a fresh SQLite file
// database, a fresh PostgreSQL database (NIMBO_TEST_POSTGRES_DSN) and Redis
// (NIMBO_TEST_REDIS_URL). A service that cannot be reached fails the test when CI=true and
// skips it (with a message) otherwise.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for CREATE/DROP DATABASE
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/backend/internal/config"
)

// Database is one database to run a test against.
type Database struct {
	Driver string
	DSN    string
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (set CI=true to make this a failure)")
}

// Random returns n random hex characters.
func Random(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// PostgresDSN is the server tests create their databases on.
func PostgresDSN() string {
	if v := os.Getenv("NIMBO_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL returns the test Redis URL after checking that it answers.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("NIMBO_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("NIMBO_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unavailable(t, "redis at %s unreachable: %v", u, err)
	}
	return u
}

// Redis returns a client of the test Redis, closed at cleanup.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// SQLite returns a fresh SQLite file database.
func SQLite(t testing.TB) Database {
	return Database{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "nimbo.db")}
}

// Postgres creates a fresh database nimbo_t_<random>, dropped at cleanup.
func Postgres(t testing.TB) Database {
	t.Helper()
	admin := PostgresDSN()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		unavailable(t, "postgres at %s unreachable: %v", admin, err)
	}
	name := "nimbo_t_" + Random(12)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		_ = db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse postgres dsn: %v", err)
	}
	u.Path = "/" + name
	return Database{Driver: "postgres", DSN: u.String()}
}

// EachDB runs f as a subtest against a fresh SQLite database and a fresh PostgreSQL one.
func EachDB(t *testing.T, f func(t *testing.T, db Database)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}

// Config returns a panel configuration for db with the test Redis, a unique Redis prefix,
// a temporary data dir and short intervals.
func Config(t testing.TB, db Database) config.Config {
	t.Helper()
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Listen = "127.0.0.1:0"
	c.Database.Driver = db.Driver
	c.Database.DSN = db.DSN
	c.Redis.URL = RedisURL(t)
	c.Redis.Prefix = "nimbo_t_" + Random(8) + ":"
	c.Nodes.RedisURL = c.Redis.URL
	c.Nodes.HeartbeatInterval = time.Second
	// Fake nodes heartbeat once; a slow test (argon2 logins under -race on a loaded
	// machine) must not see them go offline. Tests of offline detection lower this.
	c.Nodes.OfflineAfter = 3600
	c.SweepInterval = 200 * time.Millisecond
	c.Log.Level = "warn"
	// Most tests create servers directly as customers; billing tests turn this off.
	c.Billing.FreeServers = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}
