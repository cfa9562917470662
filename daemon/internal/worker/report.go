package worker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nimbo-panel/nimbo/daemon/api"
)

// progressTimeout bounds one progress report, retries included. A result waiting for a
// progress report of its operation that is still being sent waits at most this long.
const progressTimeout = 5 * time.Second

// maxPendingProgress bounds how many operations may have a progress report waiting. A
// report of an operation already waiting replaces the older one; one that does not fit is
// dropped: progress is advisory.
const maxPendingProgress = 256

// progressQueue sends progress reports in the background, so that a handler never waits on
// the panel for them, and keeps them ordered with the results of the same operation: at most
// one report per operation waits (the newest), at most one is being sent at a time, and
// settle, called before a result, delivers or ends every report of the operation first.
type progressQueue struct {
	send func(ctx context.Context, opID string, p api.Progress) error
	log  *slog.Logger

	mu       sync.Mutex
	pending  map[string]api.Progress
	order    []string      // operations with a pending report, oldest first
	inflight string        // operation whose report is being sent, or ""
	sent     chan struct{} // closed when the report of inflight has been sent
	wake     chan struct{}
}

func newProgressQueue(send func(ctx context.Context, opID string, p api.Progress) error, log *slog.Logger) *progressQueue {
	return &progressQueue{send: send, log: log, pending: map[string]api.Progress{}, wake: make(chan struct{}, 1)}
}

// enqueue queues p for opID and returns at once.
func (q *progressQueue) enqueue(opID string, p api.Progress) {
	q.mu.Lock()
	if _, ok := q.pending[opID]; !ok {
		if len(q.order) >= maxPendingProgress {
			q.mu.Unlock()
			q.log.Warn("progress queue full, dropping a report", "op_id", opID, "progress", p.Progress)
			return
		}
		q.order = append(q.order, opID)
	}
	q.pending[opID] = p
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run sends queued reports until ctx ends. Reports still queued then are left for settle.
func (q *progressQueue) run(ctx context.Context) {
	for {
		opID, p, sent, ok := q.next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		q.deliver(ctx, opID, p)
		q.mu.Lock()
		q.inflight, q.sent = "", nil
		q.mu.Unlock()
		close(sent)
		if ctx.Err() != nil {
			return
		}
	}
}

// next takes the oldest pending report and marks it in flight.
func (q *progressQueue) next() (string, api.Progress, chan struct{}, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return "", api.Progress{}, nil, false
	}
	opID := q.order[0]
	q.order = q.order[1:]
	p := q.pending[opID]
	delete(q.pending, opID)
	q.inflight, q.sent = opID, make(chan struct{})
	return opID, p, q.sent, true
}

// deliver sends one report, logging (not returning) its error.
func (q *progressQueue) deliver(ctx context.Context, opID string, p api.Progress) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), progressTimeout)
	defer cancel()
	if err := q.send(ctx, opID, p); err != nil {
		q.log.Warn("report progress", "err", err, "op_id", opID, "progress", p.Progress)
	}
}

// settle returns once no report of opID is queued or being sent, so that a result sent
// next is the last thing the panel hears about the operation. It waits for a report in
// flight and sends a queued one itself, in the caller's goroutine (reports queued while run
// is not serving, e.g. during shutdown, are thus still delivered). When ctx ends first it
// drops the queued report and returns ctx's error: the result cannot be sent with ctx
// either.
func (q *progressQueue) settle(ctx context.Context, opID string) error {
	for {
		q.mu.Lock()
		if q.inflight == opID {
			sent := q.sent
			q.mu.Unlock()
			select {
			case <-sent:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		p, ok := q.pending[opID]
		if ok {
			delete(q.pending, opID)
			q.order = slices.DeleteFunc(q.order, func(id string) bool { return id == opID })
		}
		q.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
		if ok {
			q.deliver(ctx, opID, p)
		}
		return ctx.Err()
	}
}
