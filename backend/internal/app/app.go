// Package app is nimbo-panel's composition root: it opens the database and Redis, builds the
// services and the HTTP app, and runs the HTTP server, the operation-change subscriber and
// the sweeper until its context ends.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/coupon"
	"github.com/nimbo-panel/nimbo/backend/internal/httpapi"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/mail"
	"github.com/nimbo-panel/nimbo/backend/internal/metrics"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/nodeapi"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/order"
	"github.com/nimbo-panel/nimbo/backend/internal/payment"
	"github.com/nimbo-panel/nimbo/backend/internal/proration"
	"github.com/nimbo-panel/nimbo/backend/internal/queue"
	"github.com/nimbo-panel/nimbo/backend/internal/reseller"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// ShutdownTimeout bounds the graceful HTTP shutdown.
const ShutdownTimeout = 15 * time.Second

// App is one panel process.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	db    *store.DB
	rdb   *redis.Client
	auth  *auth.Service
	nodes *node.Service
	inst  *instance.Service
	ops   *ops.Service
	bill  *billing.Service
	resl  *reseller.Service
	pay   *payment.Service
	http  *fiber.App

	// mail sends the panel's e-mail; accounts is sign-up and password reset; notify is the
	// Notifier (e-mail and signed webhooks) every service that tells users things gets.
	mail     mail.Sender
	accounts *auth.Accounts
	notify   *notify.Service

	// resize changes subscription plans with proration.
	resize *proration.Service

	// orders sells plans and runs the billing engine; sched runs its passes from asynq (set
	// by Start, guarded by bgMu).
	orders *order.Service
	sched  *order.Scheduler

	// metrics records the servers' usage history from heartbeats and compacts it (Start).
	metrics *metrics.Service

	done      chan struct{}
	closeOnce sync.Once

	bgMu     sync.Mutex
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
}

// New opens the database (applying pending migrations) and Redis, and builds the services
// and the HTTP app. Redis need not be up: requests that enqueue keep working and the sweeper
// enqueues later.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	log := slog.New(httpapi.LogHandler(logger.Handler()))
	db, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN, log)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	ropt, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(ropt)
	authSvc, err := auth.New(db, rdb, log, auth.Options{SessionTTL: cfg.SessionTTL, RedisPrefix: cfg.Redis.Prefix})
	if err != nil {
		_ = rdb.Close()
		_ = db.Close()
		return nil, err
	}
	q := queue.New(db, rdb)
	opsSvc := ops.New(db, rdb, q, cfg.Redis.Prefix+"ops", log)
	resl := reseller.New(db, log, reseller.Options{PublicURL: cfg.PublicURL})
	a := &App{
		cfg: cfg, log: log, db: db, rdb: rdb, auth: authSvc, nodes: node.New(db, log), ops: opsSvc,
		inst: instance.New(db, q, opsSvc, instance.Overcommit{
			CPU: cfg.Nodes.CPUOvercommit, Memory: cfg.Nodes.MemoryOvercommit, Disk: cfg.Nodes.DiskOvercommit},
			resl, log),
		resl: resl,
		bill: billing.New(db, log), done: make(chan struct{}),
	}
	a.mail = mail.New(cfg.Mail, log)
	a.accounts = auth.NewAccounts(authSvc, a.mail, auth.AccountOptions{PublicURL: cfg.PublicURL, BrandName: cfg.Billing.SellerName})
	a.notify = notify.NewService(db, a.mail, notify.Options{WebhookURL: cfg.Billing.WebhookURL, WebhookSecret: cfg.Billing.WebhookSecret}, log)
	if a.pay, err = payment.New(db, a.bill, cfg, log, payment.Options{}); err != nil {
		_ = rdb.Close()
		_ = db.Close()
		return nil, err
	}
	a.resize = proration.New(db, a.inst, a.bill, resl,
		proration.Options{SellerName: cfg.Billing.SellerName, SellerEmail: cfg.Billing.SellerEmail}, log)
	// A resize's server takes its new size, and its plan change settles, with the result.
	opsSvc.OnFinish(a.inst.FinishResize)
	opsSvc.OnFinish(a.resize.FinishChange)
	a.orders = order.New(order.Deps{DB: db, Billing: a.bill, Resellers: resl, Instances: a.inst, Notifier: a.notify,
		Config: cfg, Log: log})
	// An order's provisioning result activates it or refunds it, in the result's transaction.
	opsSvc.OnFinish(a.orders.OnOperationFinished)
	// A credited payment retries at once what its user (or a reseller's customers) owes.
	a.pay.SetOnCredited(func(ctx context.Context, userID string) {
		if err := a.orders.Engine().Settle(ctx, userID, time.Now()); err != nil {
			log.WarnContext(ctx, "billing settle after payment", "user_id", userID, "err", err)
		}
	})
	// Each heartbeat records usage samples inside its own transaction.
	a.metrics = metrics.New(db, metrics.Options{Interval: cfg.Metrics.Interval, RawRetention: cfg.Metrics.RawRetention,
		HourlyRetention: cfg.Metrics.HourlyRetention, HeartbeatInterval: cfg.Nodes.HeartbeatInterval}, log)
	a.nodes.OnHeartbeat(a.metrics.Record)
	nh := &nodeapi.Handlers{Config: cfg, Nodes: a.nodes, Ops: a.ops}
	a.http = httpapi.New(httpapi.Deps{
		Config: cfg, Log: log, DB: db, Redis: rdb, Auth: a.auth, Nodes: a.nodes, Instances: a.inst, Ops: a.ops, Billing: a.bill, Done: a.done,
		Resellers: a.resl,
		Resizes:   a.resize,
		Accounts:  a.accounts,
		Notify:    a.notify,
		Invoices:  invoice.New(db, log),
		Coupons:   coupon.New(db, log),
		Payments:  a.pay,
		Orders:    a.orders,
		Metrics:   a.metrics,
		Queue:     q,
	}, nh.Mount)
	return a, nil
}

// Handler is the Fiber app (for app.Test or a custom listener).
func (a *App) Handler() *fiber.App { return a.http }

// Auth is the account service.
func (a *App) Auth() *auth.Service { return a.auth }

// Nodes is the node service.
func (a *App) Nodes() *node.Service { return a.nodes }

// Ops is the operation service.
func (a *App) Ops() *ops.Service { return a.ops }

// Billing is the wallet ledger.
func (a *App) Billing() *billing.Service { return a.bill }

// Payments is the payment gateways service (its SetOnCredited hook runs after each credit).
func (a *App) Payments() *payment.Service { return a.pay }

// Notifier delivers notifications to users (e-mail, the provider's and the user's webhooks).
func (a *App) Notifier() *notify.Service { return a.notify }

// Accounts is self-service sign-up, e-mail verification and password reset.
func (a *App) Accounts() *auth.Accounts { return a.accounts }

// Resizes changes subscription plans with proration (SetClock controls its clock in tests).
func (a *App) Resizes() *proration.Service { return a.resize }

// Orders sells plans and manages subscriptions; Orders().Engine() is the billing engine.
func (a *App) Orders() *order.Service { return a.orders }

// DB is the database.
func (a *App) DB() *store.DB { return a.db }

// Metrics is the servers' usage history (Compact rolls it up; Start runs it periodically).
func (a *App) Metrics() *metrics.Service { return a.metrics }

// Redis is the Redis client.
func (a *App) Redis() *redis.Client { return a.rdb }

// Start runs the operation-change subscriber and the sweeper in the background until ctx
// ends or Close is called. Calling it again does nothing.
func (a *App) Start(ctx context.Context) {
	a.bgMu.Lock()
	defer a.bgMu.Unlock()
	if a.bgCancel != nil {
		return
	}
	ctx, a.bgCancel = context.WithCancel(ctx)
	a.bgWG.Add(2)
	go func() {
		defer a.bgWG.Done()
		a.ops.Hub().Run(ctx)
	}()
	// The billing engine's passes and settle tasks, on the panel's asynq queue.
	if sched, err := order.NewScheduler(a.orders.Engine(), a.cfg.Redis.URL, a.cfg.Redis.Prefix, a.cfg.Billing.Interval, a.log); err != nil {
		a.log.Error("billing scheduler not created", "err", err)
	} else if err := sched.Start(); err != nil {
		a.log.Error("billing scheduler not started", "err", err)
	} else {
		a.sched = sched
	}
	go func() {
		defer a.bgWG.Done()
		a.sweepLoop(ctx)
	}()
	// Metrics compaction: every panel process runs it; it upserts, so they agree.
	a.bgWG.Add(1)
	go func() {
		defer a.bgWG.Done()
		a.metrics.Run(ctx)
	}()
}

// Ready is closed once the operation-change subscription is live.
func (a *App) Ready() <-chan struct{} { return a.ops.Hub().Ready() }

func (a *App) sweepLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.SweepInterval)
	defer t.Stop()
	var lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "sweep", "err", err)
		}
		if time.Since(lastPurge) > time.Hour {
			lastPurge = time.Now()
			if err := a.auth.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
				a.log.WarnContext(ctx, "purge sessions", "err", err)
			}
		}
	}
}

// SweepOnce marks silent nodes offline and sweeps operations (enqueue the never-enqueued,
// re-enqueue what Redis lost, fail what asynq archived).
func (a *App) SweepOnce(ctx context.Context) error {
	cutoff := time.Now().Add(-time.Duration(a.cfg.Nodes.OfflineAfter) * a.cfg.Nodes.HeartbeatInterval)
	n, err := a.nodes.MarkOffline(ctx, cutoff)
	if n > 0 {
		a.log.WarnContext(ctx, "nodes went offline", "count", n)
	}
	return errors.Join(err, a.ops.Sweep(ctx))
}

// Serve starts the background work and serves HTTP on ln until ctx ends, then shuts down
// gracefully: waiters answer at once, in-flight requests finish within ShutdownTimeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	a.Start(ctx)
	errc := make(chan error, 1)
	go func() { errc <- a.http.Listener(ln) }()
	a.log.Info("nimbo-panel listening", "addr", ln.Addr().String(), "public_url", a.cfg.PublicURL)
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.closeDone()
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := a.http.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	a.log.Info("nimbo-panel stopped")
	return nil
}

// Run listens on the configured address and serves until ctx ends.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Listen, err)
	}
	return a.Serve(ctx, ln)
}

func (a *App) closeDone() { a.closeOnce.Do(func() { close(a.done) }) }

// Close stops the background work and closes Redis and the database.
func (a *App) Close() error {
	a.closeDone()
	a.bgMu.Lock()
	if a.bgCancel != nil {
		a.bgCancel()
	}
	sched := a.sched
	a.sched = nil
	a.bgMu.Unlock()
	if sched != nil {
		sched.Shutdown()
	}
	a.bgWG.Wait()
	return errors.Join(a.rdb.Close(), a.db.Close())
}
