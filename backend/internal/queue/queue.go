// Package queue puts operations on the nodes' asynq queues and asks asynq about them.
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// enqueueTimeout bounds one enqueue so a dead Redis does not hold a request for long; the
// sweeper retries operations that were not enqueued.
const enqueueTimeout = 3 * time.Second

// Queue wraps an asynq client and inspector sharing one Redis connection pool.
type Queue struct {
	db     *store.DB
	client *asynq.Client
	insp   *asynq.Inspector
}

// New returns a Queue on rdb (which the caller closes).
func New(db *store.DB, rdb redis.UniversalClient) *Queue {
	return &Queue{db: db, client: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// TaskType maps an operation kind to its asynq task type.
func TaskType(kind string) (string, error) {
	switch kind {
	case api.OpInstanceCreate:
		return jobs.TypeInstanceCreate, nil
	case api.OpInstanceStart:
		return jobs.TypeInstanceStart, nil
	case api.OpInstanceStop:
		return jobs.TypeInstanceStop, nil
	case api.OpInstanceRestart:
		return jobs.TypeInstanceRestart, nil
	case api.OpInstanceDelete:
		return jobs.TypeInstanceDelete, nil
	case api.OpInstanceResize:
		return jobs.TypeInstanceResize, nil
	}
	return "", fmt.Errorf("no task type for operation kind %q", kind)
}

// Resize is the size a resize operation asks for (table server_resizes, one row per
// operation): the payload of its task, and what the server row takes when it succeeds. Prev*
// is the size the server had when the resize was asked.
type Resize struct {
	OperationID   string `gorm:"primaryKey"`
	ServerID      string
	CPU           int       `gorm:"column:cpu"`
	MemoryMiB     int64     `gorm:"column:memory_mib"`
	DiskMiB       int64     `gorm:"column:disk_mib"`
	PrevCPU       int       `gorm:"column:prev_cpu"`
	PrevMemoryMiB int64     `gorm:"column:prev_memory_mib"`
	PrevDiskMiB   int64     `gorm:"column:prev_disk_mib"`
	CreatedAt     time.Time `gorm:"column:created_at"`
}

// TableName names the table of Resize.
func (Resize) TableName() string { return "server_resizes" }

// ResizeTask builds the instance:resize task of a resize operation on a server.
func ResizeTask(op store.Operation, srv store.Server, r Resize) (*asynq.Task, error) {
	return jobs.NewInstanceResize(op.NodeID, jobs.InstanceResize{
		OperationID: op.ID, InstanceID: srv.ID, IncusName: srv.IncusName,
		CPU: r.CPU, MemoryMiB: r.MemoryMiB, DiskMiB: r.DiskMiB,
	})
}

// Task builds the asynq task of an operation on a server. A resize needs its requested size:
// use ResizeTask (Enqueue reads it from server_resizes).
func Task(op store.Operation, srv store.Server) (*asynq.Task, error) {
	typ, err := TaskType(op.Kind)
	if err != nil {
		return nil, err
	}
	if typ == jobs.TypeInstanceResize {
		return nil, fmt.Errorf("operation %s: a resize task is built by ResizeTask", op.ID)
	}
	if typ == jobs.TypeInstanceCreate {
		return jobs.NewInstanceCreate(op.NodeID, jobs.InstanceCreate{
			OperationID: op.ID, InstanceID: srv.ID, IncusName: srv.IncusName, Type: srv.Type,
			Image: srv.Image, CPU: srv.CPU, MemoryMiB: srv.MemoryMiB, DiskMiB: srv.DiskMiB,
		})
	}
	return jobs.NewInstanceAction(op.NodeID, typ, jobs.InstanceAction{
		OperationID: op.ID, InstanceID: srv.ID, IncusName: srv.IncusName, Force: op.ForceStop,
	})
}

// Enqueue puts the operation's task on its node's queue and records that it did. A task id
// conflict means the task is already queued, which counts as success.
func (q *Queue) Enqueue(ctx context.Context, op store.Operation, srv store.Server) error {
	task, err := q.task(ctx, op, srv)
	if err != nil {
		return err
	}
	ectx, cancel := context.WithTimeout(ctx, enqueueTimeout)
	defer cancel()
	if _, err := q.client.EnqueueContext(ectx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue operation %s: %w", op.ID, err)
	}
	if err := q.db.WithContext(ctx).Model(&store.Operation{}).Where("id = ?", op.ID).Update("enqueued", true).Error; err != nil {
		return fmt.Errorf("mark operation %s enqueued: %w", op.ID, err)
	}
	return nil
}

// task builds the task of op, reading the requested size of a resize.
func (q *Queue) task(ctx context.Context, op store.Operation, srv store.Server) (*asynq.Task, error) {
	if op.Kind != api.OpInstanceResize {
		return Task(op, srv)
	}
	var r Resize
	if err := q.db.WithContext(ctx).Where("operation_id = ?", op.ID).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("read resize of operation %s: %w", op.ID, err)
	}
	return ResizeTask(op, srv, r)
}

// TaskInfo asks asynq about an operation's task. It returns asynq.ErrTaskNotFound or
// asynq.ErrQueueNotFound (wrapped) when Redis does not know it.
func (q *Queue) TaskInfo(nodeID, opID string) (*asynq.TaskInfo, error) {
	return q.insp.GetTaskInfo(jobs.Queue(nodeID), opID)
}

// Lost reports whether err from TaskInfo means Redis does not have the task.
func Lost(err error) bool {
	return errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound)
}

// Stats reads the state of the named asynq queues, in order; a queue Redis does not know yet
// (nothing was ever enqueued on it) reads as zeros.
func (q *Queue) Stats(names ...string) ([]api.QueueStats, error) {
	all, err := q.insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	known := make(map[string]bool, len(all))
	for _, n := range all {
		known[n] = true
	}
	out := make([]api.QueueStats, 0, len(names))
	for _, name := range names {
		if !known[name] {
			out = append(out, api.QueueStats{Queue: name})
			continue
		}
		info, err := q.insp.GetQueueInfo(name)
		if err != nil {
			return nil, fmt.Errorf("read queue %s: %w", name, err)
		}
		out = append(out, api.QueueStats{
			Queue: name, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled, Retry: info.Retry,
			Archived: info.Archived, Completed: info.Completed, ProcessedToday: info.Processed, FailedToday: info.Failed,
			LatencySeconds: info.Latency.Seconds(), Paused: info.Paused,
		})
	}
	return out, nil
}
