package worker

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker run: %v", err)
		}
	})
}

// TestWorkerServesNodeQueue goes through real Redis and a real asynq server: a create task
// reports success quickly, an invalid one reports a failure without retries.
func TestWorkerServesNodeQueue(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	f := newFixture(t)
	testenv.CleanupQueue(t, rdb, jobs.Queue(f.nodeID))
	w, err := New(Config{NodeID: f.nodeID, TaskCheckInterval: 50 * time.Millisecond}, rdb, f.incus, f.panel.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	client := asynq.NewClientFromRedisClient(rdb)

	p := f.createPayload(t)
	task, err := jobs.NewInstanceCreate(f.nodeID, p)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	r := f.panel.WaitResult(t, p.OperationID, 20*time.Second)
	if r.Status != api.OpSuccess || r.State != api.StateRunning {
		t.Fatalf("result %+v", r)
	}
	t.Logf("create through the queue took %s", time.Since(start))

	// A payload that passes nothing but the queue: the panel hears a failure at once.
	badOp := uuid.NewString()
	bad := asynq.NewTask(jobs.TypeInstanceStart, []byte(`{"v":1,"operation_id":"`+badOp+`"}`), jobs.Options(f.nodeID, badOp)...)
	if _, err := client.Enqueue(bad); err != nil {
		t.Fatal(err)
	}
	r = f.panel.WaitResult(t, badOp, 10*time.Second)
	if r.Status != api.OpFailure || !strings.Contains(r.Error, "invalid payload") {
		t.Fatalf("result %+v", r)
	}
}

// TestReclaimOrphans leaves a task active with a live lease, as a daemon killed mid-task
// does, then checks that ReclaimOrphans plus a new asynq server run it within seconds
// rather than after asynq's own 60–90 s recovery.
func TestReclaimOrphans(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	fake := testenv.NewPanel(t, "cred")
	inc := testenv.Incus(t)
	nodeID := uuid.NewString()
	qname := jobs.Queue(nodeID)
	testenv.CleanupQueue(t, rdb, qname)

	opID := uuid.NewString()
	task, err := jobs.NewInstanceAction(nodeID, jobs.TypeInstanceDelete, jobs.InstanceAction{
		OperationID: opID, InstanceID: uuid.NewString(), IncusName: "t-" + testenv.RandomHex(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}

	// The previous daemon: this test binary re-run as a process whose handler blocks
	// forever; it is killed with SIGKILL once it holds the task.
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+qname)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	activeKey := "asynq:{" + qname + "}:active"
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, _ := rdb.ZCard(context.Background(), leaseKey(qname)).Result()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper daemon never took the task")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true

	ctx := context.Background()
	lease, err := rdb.ZScore(ctx, leaseKey(qname), opID).Result()
	if err != nil {
		t.Fatalf("lease of the orphan: %v", err)
	}
	if lease <= float64(time.Now().Unix()) {
		t.Fatalf("lease %v already expired; the test needs a live one", lease)
	}
	if n, _ := rdb.LLen(ctx, activeKey).Result(); n != 1 {
		t.Fatalf("active tasks = %d, want 1", n)
	}

	w, err := New(Config{NodeID: nodeID, TaskCheckInterval: 50 * time.Millisecond}, rdb, inc, fake.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runWorker(t, w) // Run calls ReclaimOrphans before starting its server.
	r := fake.WaitResult(t, opID, 10*time.Second)
	if r.Status != api.OpSuccess {
		t.Fatalf("result %+v", r)
	}
	t.Logf("orphan processed %s after restart", time.Since(start))
}

// helperEnv, when set to a queue name, turns TestOrphanHelperProcess into the "previous
// daemon" of TestReclaimOrphans.
const helperEnv = "NIMBO_TEST_ORPHAN_HELPER_QUEUE"

// TestOrphanHelperProcess is not a test of its own: run by TestReclaimOrphans with
// helperEnv set, it serves the queue with a handler that never returns, until killed.
// Without helperEnv it returns at once.
func TestOrphanHelperProcess(t *testing.T) {
	qname := os.Getenv(helperEnv)
	if qname == "" {
		return
	}
	rdb := testenv.Redis(t)
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Queues:            map[string]int{qname: 1},
		TaskCheckInterval: 20 * time.Millisecond,
		LogLevel:          asynq.ErrorLevel,
	})
	block := make(chan struct{})
	if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		<-block
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	<-block
}

func TestReclaimOrphansEmptyQueue(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	n, err := ReclaimOrphans(context.Background(), rdb, jobs.Queue(uuid.NewString()))
	if err != nil || n != 0 {
		t.Fatalf("ReclaimOrphans on an empty queue = %d, %v", n, err)
	}
}
