package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime/pprof"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/app"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
)

// billingFlags configure the billing-pass benchmark.
type billingFlags struct {
	subs  int
	batch int
	// workers is how many renewal transactions run side by side.
	workers int
	// resellerShare is the fraction of subscriptions sold through a reseller (settled too).
	resellerShare float64
	// cpuProfile, when set, is where the pass's CPU profile (the panel side) is written.
	cpuProfile string
}

// benchBilling measures one billing pass over subs active monthly subscriptions that are all
// due for renewal, on a fresh PostgreSQL database filled in bulk (COPY): one customer with a
// funded wallet per subscription, a reseller paying the wholesale price for a share of them.
// It reports the pass's duration and renewals per second, then checks the result.
func benchBilling(ctx context.Context, env stack.Env, f billingFlags) error {
	admin, err := pgx.Connect(ctx, env.PostgresDSN)
	if err != nil {
		return fmt.Errorf("connect postgres: %w", err)
	}
	defer admin.Close(context.Background())
	name := "nimbo_bench_billing_" + stack.RandomSuffix(8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	defer func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()
	u, err := url.Parse(env.PostgresDSN)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	dsn := u.String()

	cfg := config.Default()
	dir, err := os.MkdirTemp("", "nimbo-bench-billing-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir = dir
	cfg.Database.Driver, cfg.Database.DSN = "postgres", dsn
	cfg.Redis.URL, cfg.Nodes.RedisURL = env.RedisURL, env.RedisURL
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, logger) // applies the migrations
	if err != nil {
		return err
	}
	defer a.Close()

	fmt.Printf("billing pass: inserting %d due monthly subscriptions on PostgreSQL (COPY)…\n", f.subs)
	now := time.Now().UTC().Truncate(time.Microsecond)
	t0 := time.Now()
	if err := seedBilling(ctx, dsn, f, now); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("  seeded in %s\n", time.Since(t0).Round(time.Millisecond))
	if err := a.DB().Exec("ANALYZE").Error; err != nil {
		return err
	}

	eng := a.Orders().Engine().WithBatch(f.batch).WithWorkers(f.workers)
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	t0 = time.Now()
	st, err := eng.Pass(ctx, now)
	elapsed := time.Since(t0)
	if f.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fmt.Errorf("pass: %w", err)
	}
	fmt.Printf("  one pass: %d renewed (batch %d, %d workers) in %s = %.0f subscriptions/s\n", st.Renewed, f.batch, f.workers,
		elapsed.Round(time.Millisecond), float64(st.Renewed)/elapsed.Seconds())

	// The result: every subscription renewed once, with its ledger entries and invoice.
	var renewed, charges, settlements, invoices int64
	db := a.DB()
	db.Raw("SELECT COUNT(*) FROM subscriptions WHERE period_end > ?", now).Scan(&renewed)
	db.Raw("SELECT COUNT(*) FROM ledger_entries WHERE kind = ?", api.EntryCharge).Scan(&charges)
	db.Raw("SELECT COUNT(*) FROM ledger_entries WHERE kind = ?", api.EntrySettlement).Scan(&settlements)
	db.Raw("SELECT COUNT(*) FROM invoices").Scan(&invoices)
	fmt.Printf("  check: %d subscriptions advanced, %d charges, %d settlements, %d invoices\n", renewed, charges, settlements, invoices)
	if renewed != int64(f.subs) || charges != int64(f.subs) || invoices != int64(f.subs) || st.Renewed != f.subs {
		return fmt.Errorf("expected %d renewals", f.subs)
	}
	t0 = time.Now()
	st, err = eng.Pass(ctx, now)
	if err != nil || st.Renewed != 0 {
		return fmt.Errorf("a second pass renewed %d (%v)", st.Renewed, err)
	}
	fmt.Printf("  a second pass at the same time renews nothing (%s)\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

// seedBilling writes the users, wallets (with their top-up entry), plan and subscriptions.
func seedBilling(ctx context.Context, dsn string, f billingFlags, now time.Time) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	const funds = 1_000_000
	planID, resellerID := uuid.NewString(), uuid.NewString()
	if _, err := conn.Exec(ctx, `INSERT INTO plans (id, name, type, cpu, memory_mib, disk_mib, traffic_gib, price_month, price_hour,
		setup_fee, currency, active, created_at, updated_at) VALUES ($1, 'Bench S', 'container', 1, 128, 256, 0, 800, 2, 0, 'USD', TRUE, $2, $2)`,
		planID, now); err != nil {
		return err
	}
	n := f.subs
	nres := int(float64(n) * f.resellerShare)
	users := make([][]any, 0, n+1)
	wallets := make([][]any, 0, n+1)
	entries := make([][]any, 0, n+1)
	subs := make([][]any, 0, n)
	addUser := func(id, role string, reseller *string, balance int64) {
		users = append(users, []any{id, id + "@bench.test", "x", role, reseller, now, now, now})
		wid := uuid.NewString()
		wallets = append(wallets, []any{wid, id, "USD", balance, int64(0), int64(1), now, now})
		entries = append(entries, []any{uuid.NewString(), wid, int64(1), api.EntryTopup, balance, balance, "seed-" + wid, "seed", "bench", now})
	}
	addUser(resellerID, api.RoleReseller, nil, int64(n)*funds)
	start := now.AddDate(0, -1, 0)
	for i := 0; i < n; i++ {
		id := uuid.NewString()
		var reseller *string
		price, wholesale := int64(1000), int64(0)
		if i < nres {
			reseller, wholesale = &resellerID, 800
		}
		addUser(id, api.RoleCustomer, reseller, funds)
		// Period ends spread over the last hour, all due.
		end := now.Add(-time.Duration(i%3600) * time.Second)
		subs = append(subs, []any{uuid.NewString(), id, reseller, planID, "monthly", "active", "USD", price, wholesale, 1, int64(128),
			int64(256), true, start, end, now, now})
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"users", []string{"id", "email", "password_hash", "role", "reseller_id", "email_verified_at", "created_at", "updated_at"}, users},
		{"wallets", []string{"id", "user_id", "currency", "balance", "credit_limit", "entry_count", "created_at", "updated_at"}, wallets},
		{"ledger_entries", []string{"id", "wallet_id", "seq", "kind", "amount", "balance_after", "idempotency_key", "fingerprint",
			"actor_id", "created_at"}, entries},
		{"subscriptions", []string{"id", "user_id", "reseller_id", "plan_id", "cycle", "status", "currency", "price", "wholesale_price",
			"cpu", "memory_mib", "disk_mib", "auto_renew", "period_start", "period_end", "created_at", "updated_at"}, subs},
	}
	for _, c := range copies {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	return nil
}
