// Package worker runs the daemon's asynq server: it consumes only this node's queue
// (jobs.Queue(nodeID)), turns each task into Incus calls, and reports progress and results
// to the panel. Handlers are idempotent: asynq may deliver a task more than once.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/config"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// Reporter is the part of the panel's node API the worker reports to; *panel.Client
// implements it.
type Reporter interface {
	Progress(ctx context.Context, opID string, p api.Progress) error
	Result(ctx context.Context, opID string, r api.Result) error
}

// Config tunes a Worker.
type Config struct {
	// NodeID selects the queue, jobs.Queue(NodeID), and labels created instances.
	NodeID string
	// Concurrency is how many tasks run at once (default 4).
	Concurrency int
	// TaskCheckInterval is how often an idle server polls the queue (default
	// config.DefaultTaskCheckInterval).
	TaskCheckInterval time.Duration
	// StopTimeout bounds a clean shutdown of an instance before it is forced (default 30 s).
	StopTimeout time.Duration
	// ShutdownTimeout is how long running tasks get to finish when the worker stops
	// (default 10 s); unfinished ones go back to the queue.
	ShutdownTimeout time.Duration
	// Logger receives the worker's and asynq's logs (default slog.Default()).
	Logger *slog.Logger
}

// Worker handles this node's jobs.
type Worker struct {
	cfg    Config
	rdb    redis.UniversalClient
	incus  *incus.Client
	report Reporter
	// progressQ sends progress reports in the background, ordered before results.
	progressQ *progressQueue
	log       *slog.Logger
	mux       *asynq.ServeMux
}

// New returns a worker of nodeID consuming from rdb, acting on inc and reporting to rep.
func New(cfg Config, rdb redis.UniversalClient, inc *incus.Client, rep Reporter) (*Worker, error) {
	if cfg.NodeID == "" {
		return nil, errors.New("worker: node id is required")
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 4
	}
	if cfg.TaskCheckInterval <= 0 {
		cfg.TaskCheckInterval = config.DefaultTaskCheckInterval
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Worker{
		cfg:    cfg,
		rdb:    rdb,
		incus:  inc,
		report: rep,
		log:    cfg.Logger.With("node_id", cfg.NodeID),
		mux:    asynq.NewServeMux(),
	}
	w.progressQ = newProgressQueue(func(ctx context.Context, opID string, p api.Progress) error {
		return w.report.Progress(ctx, opID, p)
	}, w.log)
	w.mux.HandleFunc(jobs.TypeInstanceCreate, w.handleCreate)
	w.mux.HandleFunc(jobs.TypeInstanceResize, w.handleResize)
	for _, t := range []string{jobs.TypeInstanceStart, jobs.TypeInstanceStop, jobs.TypeInstanceRestart, jobs.TypeInstanceDelete} {
		w.mux.HandleFunc(t, w.handleAction)
	}
	return w, nil
}

// Queue returns the queue the worker consumes.
func (w *Worker) Queue() string { return jobs.Queue(w.cfg.NodeID) }

// ProcessTask runs one task; it implements asynq.Handler.
func (w *Worker) ProcessTask(ctx context.Context, t *asynq.Task) error {
	return w.mux.ProcessTask(ctx, t)
}

// Run reclaims tasks orphaned by a previous process of this daemon (see ReclaimOrphans),
// then serves the node's queue until ctx is cancelled, then shuts the server down, giving
// running tasks ShutdownTimeout to finish. Progress reports are sent by a goroutine of Run
// that stops after the server; Run returns once it has.
func (w *Worker) Run(ctx context.Context) error {
	n, err := ReclaimOrphans(ctx, w.rdb, w.Queue())
	if err != nil {
		return err
	}
	if n > 0 {
		w.log.Info("reclaimed orphaned tasks", "count", n, "queue", w.Queue())
	}
	srv := asynq.NewServerFromRedisClient(w.rdb, asynq.Config{
		Concurrency:              w.cfg.Concurrency,
		Queues:                   map[string]int{w.Queue(): 1},
		TaskCheckInterval:        w.cfg.TaskCheckInterval,
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           RetryDelay,
		ErrorHandler:             asynq.ErrorHandlerFunc(w.HandleError),
		ShutdownTimeout:          w.cfg.ShutdownTimeout,
		Logger:                   asynqLogger{w.log.With("component", "asynq")},
	})
	// The reporter outlives the server: tasks finishing during Shutdown still report.
	rctx, stopReporter := context.WithCancel(context.WithoutCancel(ctx))
	reporterDone := make(chan struct{})
	go func() {
		defer close(reporterDone)
		w.progressQ.run(rctx)
	}()
	defer func() {
		stopReporter()
		<-reporterDone
	}()
	if err := srv.Start(w); err != nil {
		return fmt.Errorf("start asynq server: %w", err)
	}
	w.log.Info("worker started", "queue", w.Queue(), "concurrency", w.cfg.Concurrency,
		"task_check_interval", w.cfg.TaskCheckInterval)
	<-ctx.Done()
	srv.Shutdown()
	w.log.Info("worker stopped")
	return nil
}

// RetryDelay is the backoff between attempts of a failed task: 1 s, 2 s, 4 s … capped at
// 30 s. A task recovered after its lease expired (a crashed daemon) is retried at once.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	if n < 0 {
		n = 0
	}
	if n >= 5 {
		return 30 * time.Second
	}
	return min(time.Second<<n, 30*time.Second)
}

// reportTimeout bounds reporting a final failure from HandleError.
const reportTimeout = 30 * time.Second

// HandleError is the asynq error handler. When the failure is final (SkipRetry, or the
// last allowed attempt) it reports Result{failure} to the panel; otherwise asynq retries
// and the panel hears about the later attempt.
func (w *Worker) HandleError(ctx context.Context, t *asynq.Task, err error) {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, hasMax := asynq.GetMaxRetry(ctx)
	final := errors.Is(err, asynq.SkipRetry) || (hasMax && retried >= maxRetry)
	opID := operationID(ctx, t)
	log := w.log.With("op_id", opID, "type", t.Type(), "retried", retried)
	if !final {
		log.Warn("task failed, will retry", "err", err)
		return
	}
	log.Error("task failed", "err", err)
	if opID == "" {
		log.Error("cannot report failure: no operation id")
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if rerr := w.result(rctx, opID, api.Result{Status: api.OpFailure, Error: FailureMessage(err)}); rerr != nil {
		log.Error("report failure result", "err", rerr)
	}
}

// FailureMessage is the text the panel shows for a failed task: err without asynq's
// "skip retry" marker.
func FailureMessage(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+asynq.SkipRetry.Error())
}

// operationID is the task id (jobs.Options sets it to the operation id), or else the
// payload's operation_id.
func operationID(ctx context.Context, t *asynq.Task) string {
	if id, ok := asynq.GetTaskID(ctx); ok && id != "" {
		return id
	}
	var p struct {
		OperationID string `json:"operation_id"`
	}
	_ = json.Unmarshal(t.Payload(), &p)
	return p.OperationID
}

// permanent marks err as one retrying cannot fix.
func permanent(err error) error { return fmt.Errorf("%w: %w", err, asynq.SkipRetry) }

// progress queues a progress report and returns at once: progress is advisory, so a
// handler never waits on the panel for it (the reporter goroutine logs failures). The first
// report of an operation moves it from pending to running in the panel.
func (w *Worker) progress(opID string, pct int, msg string) {
	w.progressQ.enqueue(opID, api.Progress{Progress: pct, Message: msg})
}

// result reports the final result of opID synchronously, after every progress report of
// opID queued or in flight has been delivered, so that no progress overtakes it.
func (w *Worker) result(ctx context.Context, opID string, r api.Result) error {
	if err := w.progressQ.settle(ctx, opID); err != nil {
		return err
	}
	return w.report.Result(ctx, opID, r)
}

// succeed reports the success result (the panel sets the progress to 100); its error makes
// asynq retry the idempotent task so the panel eventually hears the result.
func (w *Worker) succeed(ctx context.Context, opID, state string) error {
	if err := w.result(ctx, opID, api.Result{Status: api.OpSuccess, State: state, ObservedAt: time.Now().UTC()}); err != nil {
		return fmt.Errorf("report result of operation %s: %w", opID, err)
	}
	return nil
}

// asynqLogger sends asynq's logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// Fatal logs at error level and does not exit: the daemon decides how to stop, not a
// library's logger.
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
