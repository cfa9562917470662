package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// The panel's own asynq queue and the billing task types on it.
const (
	// QueuePanel is the name, after the Redis prefix (redis.prefix, "nimbo:" by default), of
	// the queue the panel processes (not a node's): panels of different installations (or
	// tests) sharing one Redis do not take each other's tasks.
	QueuePanel = "panel"
	// TaskPass runs one billing pass at the time it is processed.
	TaskPass = "billing:pass"
	// TaskSettle retries what is due for one user (payload SettlePayload).
	TaskSettle = "billing:settle"
)

// SettlePayload is the payload of TaskSettle.
type SettlePayload struct {
	UserID string `json:"user_id"`
}

// Scheduler runs the billing engine from asynq: a server processing QueuePanel (concurrency
// 2) and a scheduler enqueueing TaskPass every interval. The pass task is unique while it is
// queued or running, so several panel processes do not pile passes up; a pass that runs
// twice anyway is harmless (row locks and idempotency keys).
type Scheduler struct {
	engine   *Engine
	log      *slog.Logger
	interval time.Duration
	queue    string
	srv      *asynq.Server
	sch      *asynq.Scheduler
	client   *asynq.Client
}

// NewScheduler prepares a Scheduler on the Redis at redisURL (its own connections), on the
// queue prefix+QueuePanel.
func NewScheduler(e *Engine, redisURL, prefix string, interval time.Duration, log *slog.Logger) (*Scheduler, error) {
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	al := asynqLogger{log: log}
	s := &Scheduler{engine: e, log: log, interval: interval, queue: prefix + QueuePanel}
	s.srv = asynq.NewServer(opt, asynq.Config{
		Concurrency: 2, Queues: map[string]int{s.queue: 1}, Logger: al, LogLevel: asynq.WarnLevel,
		ShutdownTimeout: 10 * time.Second,
	})
	s.sch = asynq.NewScheduler(opt, &asynq.SchedulerOpts{
		Logger: al, LogLevel: asynq.WarnLevel, Location: time.UTC,
		PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
			if err != nil && !errors.Is(err, asynq.ErrDuplicateTask) && !errors.Is(err, asynq.ErrTaskIDConflict) {
				log.Warn("billing: enqueue pass", "err", err)
			}
		},
	})
	s.client = asynq.NewClient(opt)
	return s, nil
}

// Start registers the periodic pass and starts the scheduler and the server.
func (s *Scheduler) Start() error {
	if _, err := s.sch.Register("@every "+s.interval.String(), asynq.NewTask(TaskPass, nil),
		asynq.Queue(s.queue), asynq.Unique(s.interval), asynq.MaxRetry(0), asynq.Timeout(s.interval+10*time.Minute)); err != nil {
		return fmt.Errorf("register billing pass: %w", err)
	}
	mux := asynq.NewServeMux()
	mux.HandleFunc(TaskPass, s.handlePass)
	mux.HandleFunc(TaskSettle, s.handleSettle)
	if err := s.srv.Start(mux); err != nil {
		return fmt.Errorf("start panel queue server: %w", err)
	}
	if err := s.sch.Start(); err != nil {
		s.srv.Shutdown()
		return fmt.Errorf("start billing scheduler: %w", err)
	}
	return nil
}

// Shutdown stops the scheduler and the server (waiting for running tasks) and closes the
// client.
func (s *Scheduler) Shutdown() {
	s.sch.Shutdown()
	s.srv.Shutdown()
	if err := s.client.Close(); err != nil {
		s.log.Warn("billing: close queue client", "err", err)
	}
}

// EnqueueSettle queues a Settle of userID, processed by any panel process.
func (s *Scheduler) EnqueueSettle(ctx context.Context, userID string) error {
	b, err := json.Marshal(SettlePayload{UserID: userID})
	if err != nil {
		return err
	}
	if _, err := s.client.EnqueueContext(ctx, asynq.NewTask(TaskSettle, b), asynq.Queue(s.queue), asynq.MaxRetry(3),
		asynq.Timeout(5*time.Minute)); err != nil {
		return fmt.Errorf("enqueue settle: %w", err)
	}
	return nil
}

func (s *Scheduler) handlePass(ctx context.Context, _ *asynq.Task) error {
	_, err := s.engine.Pass(ctx, time.Now())
	return err
}

func (s *Scheduler) handleSettle(ctx context.Context, t *asynq.Task) error {
	var p SettlePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || uuid.Validate(p.UserID) != nil {
		return fmt.Errorf("bad settle payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	return s.engine.Settle(ctx, p.UserID, time.Now())
}

// asynqLogger sends asynq's log lines to slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...), "component", "asynq") }

// Fatal logs at error level and does not exit: the panel decides what is fatal.
func (l asynqLogger) Fatal(args ...any) {
	l.log.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
