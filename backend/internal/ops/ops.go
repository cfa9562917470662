// Package ops manages operations: reading and listing them, the node-reported progress and
// results with their effects on servers, change notifications over Redis, long-poll waits
// and the sweeper that keeps queued work from getting lost.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/queue"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// Viewer is who reads. Admins see every server; a reseller sees its own servers and its
// customers'; anyone sees the servers they own and those they are a sub-user of.
type Viewer struct {
	UserID   string
	Admin    bool
	Reseller bool
}

// ServerVisible is an SQL condition on a servers row (under alias, e.g. "servers") that
// holds when the viewer may see it, with one "?" per returned argument. It is "" for admins.
func (v Viewer) ServerVisible(alias string) (string, []any) {
	if v.Admin {
		return "", nil
	}
	cond := "(" + alias + ".owner_id = ? OR EXISTS (SELECT 1 FROM server_members sm WHERE sm.server_id = " + alias + ".id AND sm.user_id = ?)"
	args := []any{v.UserID, v.UserID}
	if v.Reseller {
		cond += " OR " + alias + ".owner_id IN (SELECT id FROM users WHERE reseller_id = ?)"
		args = append(args, v.UserID)
	}
	return cond + ")", args
}

// Service is the operation service.
type Service struct {
	db      *store.DB
	rdb     redis.UniversalClient
	q       *queue.Queue
	channel string
	log     *slog.Logger
	hub     *Hub
	hooks   []FinishHook
}

// FinishHook runs inside the transaction that records an operation's final status (op
// carries it), so what it writes commits or rolls back together with the result: a refund
// for a failed provisioning is never lost nor doubled. It must not call out of the database.
type FinishHook func(ctx context.Context, tx *gorm.DB, op store.Operation) error

// OnFinish registers h; call it while building the app, before serving.
func (s *Service) OnFinish(h FinishHook) { s.hooks = append(s.hooks, h) }

// New returns a Service publishing changes on channel (e.g. "nimbo:ops").
func New(db *store.DB, rdb redis.UniversalClient, q *queue.Queue, channel string, log *slog.Logger) *Service {
	return &Service{db: db, rdb: rdb, q: q, channel: channel, log: log, hub: NewHub(rdb, channel, log)}
}

// Hub is the process's notification hub.
func (s *Service) Hub() *Hub { return s.hub }

// Publish announces a change of operation id to every panel process. Failures are logged:
// waiters also re-read the database periodically.
func (s *Service) Publish(ctx context.Context, id string) {
	if err := s.rdb.Publish(ctx, s.channel, id).Err(); err != nil {
		s.log.WarnContext(ctx, "publish operation change", "op_id", id, "err", err)
		s.hub.Notify(id)
	}
}

func notFound() error { return apierr.NotFound("operation not found") }

// Get returns an operation the viewer may see.
func (s *Service) Get(ctx context.Context, v Viewer, id string) (store.Operation, error) {
	var op store.Operation
	if uuid.Validate(id) != nil {
		return op, notFound()
	}
	q := s.db.WithContext(ctx).Table("operations").Select("operations.*").Where("operations.id = ?", id)
	if cond, args := v.ServerVisible("servers"); cond != "" {
		q = q.Joins("JOIN servers ON servers.id = operations.server_id").Where(cond, args...)
	}
	err := q.Take(&op).Error
	if store.IsNotFound(err) {
		return op, notFound()
	}
	if err != nil {
		return op, fmt.Errorf("read operation: %w", err)
	}
	return op, nil
}

// ListFilter selects operations.
type ListFilter struct {
	ServerID string
	Status   string
	Page     int
	PerPage  int
}

// List returns one page of operations, newest first, and the total.
func (s *Service) List(ctx context.Context, f ListFilter) ([]store.Operation, int64, error) {
	q := s.db.WithContext(ctx).Model(&store.Operation{})
	if f.ServerID != "" {
		q = q.Where("server_id = ?", f.ServerID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count operations: %w", err)
	}
	var rows []store.Operation
	if err := q.Order("created_at DESC, id DESC").Limit(f.PerPage).Offset((f.Page - 1) * f.PerPage).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list operations: %w", err)
	}
	return rows, total, nil
}

// pollFallback bounds how long a waiter trusts pub/sub alone before re-reading the database.
const pollFallback = 5 * time.Second

// Wait returns the operation once it is finished, or as it is when timeout passes or done
// is closed (shutdown).
func (s *Service) Wait(ctx context.Context, v Viewer, id string, timeout time.Duration, done <-chan struct{}) (store.Operation, error) {
	op, err := s.Get(ctx, v, id)
	if err != nil || op.Finished() {
		return op, err
	}
	ch, cancel := s.hub.Subscribe(id)
	defer cancel()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		// Re-read after subscribing so a change published in between is not lost.
		if op, err = s.Get(ctx, v, id); err != nil || op.Finished() {
			return op, err
		}
		poll := time.NewTimer(pollFallback)
		select {
		case <-ch:
		case <-poll.C:
		case <-deadline.C:
			poll.Stop()
			return s.Get(ctx, v, id)
		case <-done:
			poll.Stop()
			return s.Get(ctx, v, id)
		case <-ctx.Done():
			poll.Stop()
			return op, ctx.Err()
		}
		poll.Stop()
	}
}

// NodeOperation returns an operation of nodeID (not_found for anybody else's).
func (s *Service) NodeOperation(ctx context.Context, nodeID, id string) (store.Operation, error) {
	return takeNodeOp(s.db.WithContext(ctx), nodeID, id)
}

// lockNodeOp reads an operation of nodeID inside tx, locking its row where the database can.
func (s *Service) lockNodeOp(tx *gorm.DB, nodeID, id string) (store.Operation, error) {
	return takeNodeOp(s.db.ForUpdate(tx), nodeID, id)
}

func takeNodeOp(q *gorm.DB, nodeID, id string) (store.Operation, error) {
	var op store.Operation
	if uuid.Validate(id) != nil {
		return op, notFound()
	}
	err := q.Where("id = ? AND node_id = ?", id, nodeID).Take(&op).Error
	if store.IsNotFound(err) {
		return op, notFound()
	}
	if err != nil {
		return op, fmt.Errorf("read operation: %w", err)
	}
	return op, nil
}

// Progress records a node's progress on its operation; a pending operation becomes running.
// Progress on a finished operation changes nothing.
func (s *Service) Progress(ctx context.Context, nodeID, id string, p dapi.Progress) (store.Operation, error) {
	if p.Progress < 0 || p.Progress > 100 {
		return store.Operation{}, apierr.Validation(map[string]string{"progress": "must be between 0 and 100"})
	}
	var op store.Operation
	changed := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if op, err = s.lockNodeOp(tx, nodeID, id); err != nil || op.Finished() {
			return err
		}
		op.Status = api.OpRunning
		if p.Progress > op.Progress {
			op.Progress = p.Progress
		}
		op.Message = truncate(p.Message, 500)
		op.UpdatedAt = store.Now()
		changed = true
		return tx.Model(&store.Operation{}).Where("id = ?", op.ID).Updates(map[string]any{
			"status": op.Status, "progress": op.Progress, "message": op.Message, "updated_at": op.UpdatedAt,
		}).Error
	})
	if err != nil {
		return op, err
	}
	if changed {
		s.Publish(ctx, op.ID)
	}
	return op, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// successStatus is the server status after a successful operation.
func successStatus(kind, state string) string {
	if st := node.ServerStatus(state); st != "" {
		return st
	}
	if kind == api.OpInstanceStop {
		return api.StatusStopped
	}
	return api.StatusRunning
}

// Finish ends nodeID's operation with r and applies its effects on the server. Finishing a
// finished operation changes nothing and is not an error.
func (s *Service) Finish(ctx context.Context, nodeID, id string, r dapi.Result) (store.Operation, error) {
	if r.Status != api.OpSuccess && r.Status != api.OpFailure {
		return store.Operation{}, apierr.Validation(map[string]string{"status": "must be success or failure"})
	}
	var op store.Operation
	changed := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if op, err = s.lockNodeOp(tx, nodeID, id); err != nil || op.Finished() {
			return err
		}
		now := store.Now()
		op.Status, op.UpdatedAt, op.FinishedAt = r.Status, now, &now
		srvUpdate := map[string]any{"updated_at": now}
		if r.Status == api.OpSuccess {
			op.Progress, op.Error = 100, ""
			if op.Kind == api.OpInstanceDelete {
				srvUpdate["deleted_at"] = now
			} else {
				srvUpdate["status"] = successStatus(op.Kind, r.State)
				if !r.ObservedAt.IsZero() {
					srvUpdate["state_observed_at"] = r.ObservedAt.UTC()
				}
			}
		} else {
			op.Error = truncate(r.Error, 2000)
			if op.Error == "" {
				op.Error = "operation failed"
			}
			switch {
			case op.Kind == api.OpInstanceCreate || op.PrevStatus == "":
				srvUpdate["status"] = api.StatusError
			default:
				srvUpdate["status"] = op.PrevStatus
			}
		}
		err = tx.Model(&store.Operation{}).Where("id = ?", op.ID).Updates(map[string]any{
			"status": op.Status, "progress": op.Progress, "error": op.Error, "updated_at": now, "finished_at": now,
		}).Error
		if err != nil {
			return fmt.Errorf("finish operation: %w", err)
		}
		if op.ServerID != nil {
			if err := tx.Model(&store.Server{}).Where("id = ?", *op.ServerID).Updates(srvUpdate).Error; err != nil {
				return fmt.Errorf("update server: %w", err)
			}
		}
		for _, h := range s.hooks {
			if err := h(ctx, tx, op); err != nil {
				return fmt.Errorf("finish hook: %w", err)
			}
		}
		changed = true
		return nil
	})
	if err != nil {
		return op, err
	}
	if changed {
		s.log.InfoContext(ctx, "operation finished", "op_id", op.ID, "kind", op.Kind, "status", op.Status,
			"node_id", op.NodeID, "error", op.Error)
		s.Publish(ctx, op.ID)
	}
	return op, nil
}

// LostAfter is how old an enqueued, unfinished operation must be before the sweeper asks
// asynq whether its task still exists.
const LostAfter = 15 * time.Second

const sweepBatch = 100

// Sweep enqueues operations that were never enqueued (Redis was down), re-enqueues tasks
// Redis lost, and fails operations whose task asynq archived after its retries.
func (s *Service) Sweep(ctx context.Context) error {
	var errs []error
	var pending []store.Operation
	if err := s.db.WithContext(ctx).Where("enqueued = ? AND status = ?", false, api.OpPending).
		Order("created_at").Limit(sweepBatch).Find(&pending).Error; err != nil {
		return fmt.Errorf("list unqueued operations: %w", err)
	}
	for _, op := range pending {
		if err := s.enqueue(ctx, op); err != nil {
			errs = append(errs, err)
		}
	}
	var stale []store.Operation
	if err := s.db.WithContext(ctx).Where("enqueued = ? AND status IN ? AND created_at < ?", true, store.InFlightStatuses, store.Now().Add(-LostAfter)).
		Order("created_at").Limit(sweepBatch).Find(&stale).Error; err != nil {
		return fmt.Errorf("list in-flight operations: %w", err)
	}
	for _, op := range stale {
		info, err := s.q.TaskInfo(op.NodeID, op.ID)
		switch {
		case queue.Lost(err):
			s.log.WarnContext(ctx, "task lost by redis, enqueueing again", "op_id", op.ID, "node_id", op.NodeID)
			if err := s.enqueue(ctx, op); err != nil {
				errs = append(errs, err)
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("task info %s: %w", op.ID, err))
		case info.State == asynq.TaskStateArchived:
			_, err := s.Finish(ctx, op.NodeID, op.ID, dapi.Result{Status: api.OpFailure, Error: "gave up after retries: " + info.LastErr})
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) enqueue(ctx context.Context, op store.Operation) error {
	if op.ServerID == nil {
		return fmt.Errorf("operation %s has no server", op.ID)
	}
	var srv store.Server
	if err := s.db.WithContext(ctx).Where("id = ?", *op.ServerID).Take(&srv).Error; err != nil {
		return fmt.Errorf("read server of operation %s: %w", op.ID, err)
	}
	return s.q.Enqueue(ctx, op, srv)
}
