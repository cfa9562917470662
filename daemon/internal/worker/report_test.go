package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// recorder is a Reporter that records what arrives, in order. A progress report of an
// operation listed in hold blocks until the operation's channel is closed; Result fails
// while failResults > 0.
type recorder struct {
	mu          sync.Mutex
	events      []string // "op progress N" or "op result STATUS"
	hold        map[string]chan struct{}
	entered     chan string // receives the op id of every progress report that starts
	failResults int
}

func newRecorder() *recorder {
	return &recorder{hold: map[string]chan struct{}{}, entered: make(chan string, 100)}
}

func (r *recorder) holdProgress(opID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold[opID] = make(chan struct{})
}

func (r *recorder) release(opID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.hold[opID])
	delete(r.hold, opID)
}

func (r *recorder) Progress(ctx context.Context, opID string, p api.Progress) error {
	r.entered <- opID
	r.mu.Lock()
	hold := r.hold[opID]
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.record(fmt.Sprintf("%s progress %d", opID, p.Progress))
	return nil
}

func (r *recorder) Result(_ context.Context, opID string, res api.Result) error {
	r.mu.Lock()
	if r.failResults > 0 {
		r.failResults--
		r.mu.Unlock()
		return errors.New("panel unavailable")
	}
	r.mu.Unlock()
	r.record(fmt.Sprintf("%s result %s", opID, res.Status))
	return nil
}

func (r *recorder) record(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitEvents waits until n events were recorded.
func (r *recorder) waitEvents(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ev := r.Events(); len(ev) >= n {
			return ev
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("events = %q, want %d", r.Events(), n)
	return nil
}

func (r *recorder) waitEntered(t *testing.T, opID string) {
	t.Helper()
	select {
	case got := <-r.entered:
		if got != opID {
			t.Fatalf("progress of %s started, want %s", got, opID)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("progress of %s never started", opID)
	}
}

// startReporter runs w's progress reporter until the test ends and checks that it stops.
func startReporter(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.progressQ.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("progress reporter did not stop")
		}
	})
}

func newReportWorker(t *testing.T, rep Reporter) *Worker {
	t.Helper()
	w, err := New(Config{NodeID: "node-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil, rep)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestProgressDoesNotBlock: progress returns at once even while the panel hangs.
func TestProgressDoesNotBlock(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	w := newReportWorker(t, rec)
	startReporter(t, w)
	rec.holdProgress("a")
	start := time.Now()
	w.progress("a", 10, "creating instance")
	rec.waitEntered(t, "a")
	w.progress("a", 60, "starting")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("progress took %s while the panel hung", d)
	}
	rec.release("a")
	if ev := rec.waitEvents(t, 2); !slices.Equal(ev, []string{"a progress 10", "a progress 60"}) {
		t.Fatalf("events = %q", ev)
	}
}

// TestResultNeverOvertakenByProgress: whatever state an operation's progress reports are in
// (being sent, queued behind another operation's, never picked up), its result arrives
// after all of them, and other operations' reports are unaffected.
func TestResultNeverOvertakenByProgress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, w *Worker, rec *recorder)
		want []string
	}{
		{
			name: "result waits for its progress in flight",
			run: func(t *testing.T, w *Worker, rec *recorder) {
				startReporter(t, w)
				rec.holdProgress("a")
				w.progress("a", 10, "creating instance")
				rec.waitEntered(t, "a")
				done := make(chan error, 1)
				go func() { done <- w.succeed(context.Background(), "a", api.StateRunning) }()
				select {
				case err := <-done:
					t.Fatalf("result sent while its progress was in flight (err %v)", err)
				case <-time.After(50 * time.Millisecond):
				}
				rec.release("a")
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"a progress 10", "a result success"},
		},
		{
			name: "result sends its queued progress first, newest only",
			run: func(t *testing.T, w *Worker, rec *recorder) {
				startReporter(t, w)
				rec.holdProgress("b")
				w.progress("b", 10, "stopping")
				rec.waitEntered(t, "b") // the reporter is stuck on b
				w.progress("a", 10, "creating instance")
				w.progress("a", 60, "starting") // replaces 10: only the newest waits
				if err := w.succeed(context.Background(), "a", api.StateRunning); err != nil {
					t.Fatal(err)
				}
				rec.release("b")
				rec.waitEvents(t, 3)
			},
			want: []string{"a progress 60", "a result success", "b progress 10"},
		},
		{
			name: "failure result of the error handler",
			run: func(t *testing.T, w *Worker, rec *recorder) {
				startReporter(t, w)
				rec.holdProgress("a")
				w.progress("a", 10, "starting")
				rec.waitEntered(t, "a")
				go func() {
					time.Sleep(50 * time.Millisecond)
					rec.release("a")
				}()
				task := asynq.NewTask(jobs.TypeInstanceStart, []byte(`{"operation_id":"a"}`))
				w.HandleError(context.Background(), task, permanent(errors.New("instance is gone")))
			},
			want: []string{"a progress 10", "a result failure"},
		},
		{
			name: "reporter not running",
			run: func(t *testing.T, w *Worker, rec *recorder) {
				w.progress("a", 10, "creating instance")
				if err := w.succeed(context.Background(), "a", api.StateRunning); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"a progress 10", "a result success"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			w := newReportWorker(t, rec)
			tt.run(t, w, rec)
			if ev := rec.Events(); !slices.Equal(ev, tt.want) {
				t.Fatalf("events = %q, want %q", ev, tt.want)
			}
		})
	}
}

// TestResultStaysSynchronous: succeed returns only once the panel has the result, and
// returns the panel's error so that asynq retries the task.
func TestResultStaysSynchronous(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.failResults = 1
	w := newReportWorker(t, rec)
	startReporter(t, w)

	w.progress("a", 10, "creating instance")
	if err := w.succeed(context.Background(), "a", api.StateRunning); err == nil {
		t.Fatal("succeed reported no error while the panel refused the result")
	}
	// The retried attempt reports progress again, then the result.
	w.progress("a", 10, "creating instance")
	if err := w.succeed(context.Background(), "a", api.StateRunning); err != nil {
		t.Fatal(err)
	}
	want := []string{"a progress 10", "a progress 10", "a result success"}
	if ev := rec.Events(); !slices.Equal(ev, want) {
		t.Fatalf("events = %q, want %q", ev, want)
	}
}

// TestResultGivesUpWithContext: a result whose context ends while its progress is stuck
// returns the context's error and sends nothing.
func TestResultGivesUpWithContext(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	w := newReportWorker(t, rec)
	startReporter(t, w)
	rec.holdProgress("a")
	w.progress("a", 10, "starting")
	rec.waitEntered(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.succeed(ctx, "a", api.StateRunning); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("succeed = %v, want DeadlineExceeded", err)
	}
	rec.release("a")
	if ev := rec.waitEvents(t, 1); !slices.Equal(ev, []string{"a progress 10"}) {
		t.Fatalf("events = %q", ev)
	}
}

// TestProgressQueueBounded: past maxPendingProgress waiting operations, new ones are
// dropped, never blocking.
func TestProgressQueueBounded(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	w := newReportWorker(t, rec)
	for i := range maxPendingProgress + 10 {
		w.progress(fmt.Sprintf("op-%d", i), 10, "x")
	}
	w.progressQ.mu.Lock()
	n, o := len(w.progressQ.pending), len(w.progressQ.order)
	w.progressQ.mu.Unlock()
	if n != maxPendingProgress || o != maxPendingProgress {
		t.Fatalf("pending %d, order %d, want %d", n, o, maxPendingProgress)
	}
}
