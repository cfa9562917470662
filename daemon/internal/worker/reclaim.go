package worker

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// leaseKey is asynq's sorted set of the leases of a queue's active tasks, member = task id,
// score = lease expiry (unix seconds). It is the layout of asynq v0.25
// (internal/base.LeaseKey).
func leaseKey(qname string) string { return "asynq:{" + qname + "}:lease" }

// ReclaimOrphans makes the tasks left active in queue qname by a previous process of this
// daemon recoverable at once and returns how many there were.
//
// Why: a daemon killed mid-task leaves the task in asynq's active list with a lease that
// only expires 30 s later; asynq's recoverer then only picks up leases expired for 30 s
// more and runs every minute, so the orphan would sit for 60–90 s before being retried.
// Each node's queue is consumed by exactly one daemon (that node's), so when this daemon
// starts, before its asynq server does, every active task of the queue is an orphan: no
// live worker holds it. Setting each lease's score to 0 makes it look long expired, and
// the recoverer's first pass, which runs as soon as the asynq server starts, moves it to
// the retry set; RetryDelay answers 0 for asynq.ErrLeaseExpired and the forwarder makes
// it pending within DelayedTaskCheckInterval. The handlers are idempotent, so re-running
// a task that may have half-finished is safe.
//
// It must run before the asynq server of this process starts: after that, the leases of
// the queue belong to live workers.
func ReclaimOrphans(ctx context.Context, rdb redis.UniversalClient, qname string) (int, error) {
	key := leaseKey(qname)
	ids, err := rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("list leases of %s: %w", qname, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	members := make([]redis.Z, len(ids))
	for i, id := range ids {
		members[i] = redis.Z{Score: 0, Member: id}
	}
	// XX: only update leases still present; a task finished meanwhile is left alone.
	if err := rdb.ZAddXX(ctx, key, members...).Err(); err != nil {
		return 0, fmt.Errorf("expire leases of %s: %w", qname, err)
	}
	return len(ids), nil
}
