package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	incus "github.com/lxc/incus/v6/client"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// TestDuplicateDelivery delivers the same create job twice, both waiting in the queue while
// the daemon is down so they may run at the same time, and expects exactly one container.
func TestDuplicateDelivery(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, driver)
			c := lxd(t)
			in := inspector(t)
			ctx := context.Background()

			s.StopDaemon()
			acc := postServer(t, s, c, s.AdminToken, api.CreateServerRequest{
				Name: tempName("dup"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256,
				NodeID: s.NodeID,
			})

			// The panel's task is in the node's queue under the operation id.
			var (
				info *asynq.TaskInfo
				err  error
			)
			deadline := time.Now().Add(20 * time.Second)
			for {
				info, err = in.GetTaskInfo(jobs.Queue(s.NodeID), acc.Operation.ID)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("task %s not in queue: %v", acc.Operation.ID, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if info.Type != jobs.TypeInstanceCreate {
				t.Fatalf("queued task type %q", info.Type)
			}
			// Enqueueing the operation again is refused by its task id...
			cl := asynqClient(t)
			if _, err := cl.Enqueue(asynq.NewTask(info.Type, info.Payload), jobs.Options(s.NodeID, acc.Operation.ID)...); !errors.Is(err, asynq.ErrTaskIDConflict) {
				t.Fatalf("re-enqueue under the same id: %v, want ErrTaskIDConflict", err)
			}
			// ...so deliver a true duplicate: the same payload under another task id.
			dupID := acc.Operation.ID + "-dup"
			opts := append(jobs.Options(s.NodeID, acc.Operation.ID), asynq.TaskID(dupID))
			if _, err := cl.Enqueue(asynq.NewTask(info.Type, info.Payload), opts...); err != nil {
				t.Fatal(err)
			}

			resume(t, s, acc.Operation.ID, 2*time.Minute)
			// Wait for the duplicate to finish too.
			deadline = time.Now().Add(time.Minute)
			for {
				ti, err := in.GetTaskInfo(jobs.Queue(s.NodeID), dupID)
				if err == nil && ti.State == asynq.TaskStateCompleted {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("duplicate task not completed: %+v %v", ti, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			oneInstance(t, c, acc.Server.ID)
			if got := lxdStatus(t, c, acc.Server.IncusName); got != "Running" {
				t.Fatalf("LXD status = %q", got)
			}
			if op2, err := s.Operation(ctx, s.AdminToken, acc.Operation.ID); err != nil || op2.Status != api.OpSuccess {
				t.Fatalf("operation after duplicate: %+v %v", op2, err)
			}
			act(t, s, s.AdminToken, acc.Server.ID, "delete")
		})
	}
}

// TestDaemonKilledMidCreate kills the daemon with SIGKILL while it creates a container,
// restarts it, and expects the operation to finish with exactly one container.
func TestDaemonKilledMidCreate(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, driver)
			c := lxd(t)
			ctx := context.Background()

			acc := postServer(t, s, c, s.AdminToken, api.CreateServerRequest{
				Name: tempName("kill"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256,
			})

			// Kill as soon as the daemon has started working on it.
			deadline := time.Now().Add(30 * time.Second)
			for {
				op, err := s.Operation(ctx, s.AdminToken, acc.Operation.ID)
				if err != nil {
					t.Fatal(err)
				}
				if op.Status == api.OpRunning {
					break
				}
				if op.Status != api.OpPending || time.Now().After(deadline) {
					t.Fatalf("operation never seen running: %+v", op)
				}
				time.Sleep(5 * time.Millisecond)
			}
			s.KillDaemon()
			killedAt := time.Now()
			if op, _ := s.Operation(ctx, s.AdminToken, acc.Operation.ID); op.Status != api.OpRunning {
				t.Logf("note: the operation finished before the kill landed (%s)", op.Status)
			}

			resume(t, s, acc.Operation.ID, 3*time.Minute)
			t.Logf("operation finished %s after the kill", time.Since(killedAt).Round(time.Millisecond))
			oneInstance(t, c, acc.Server.ID)
			if got := lxdStatus(t, c, acc.Server.IncusName); got != "Running" {
				t.Fatalf("LXD status = %q", got)
			}
			if got := getServer(t, s, s.AdminToken, acc.Server.ID); got.Status != api.StatusRunning {
				t.Fatalf("panel status = %q", got.Status)
			}
		})
	}
}

// TestNodeOfflineQueuedJob stops the daemon, expects the node to go offline after three
// missed heartbeats, queues a stop for its server, and expects it to run when the daemon returns.
func TestNodeOfflineQueuedJob(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, driver)
			c := lxd(t)
			ctx := context.Background()
			srv := createServer(t, s, c, s.AdminToken, api.CreateServerRequest{
				Name: tempName("off"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256,
			})

			s.StopDaemon()
			if err := s.WaitNodeStatus(ctx, api.NodeOffline, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			n, err := s.Node(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Offline only after three heartbeats were missed.
			silent := time.Since(*n.LastSeenAt)
			if silent < 3*s.Opts.HeartbeatInterval {
				t.Fatalf("node offline after %s of silence, want at least 3 heartbeats (%s)", silent, 3*s.Opts.HeartbeatInterval)
			}
			t.Logf("node offline, last heartbeat %s ago (heartbeat %s)", silent.Round(time.Millisecond), s.Opts.HeartbeatInterval)

			// An offline node gets no new servers from the scheduler...
			r, err := s.Do(ctx, http.MethodPost, "/api/v1/servers", s.AdminToken, api.CreateServerRequest{
				Name: tempName("none"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256,
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("create with the only node offline: %d %s, want 4xx", r.Status, r.Body)
			}

			// ...but work for its servers is queued and waits.
			r, err = s.Do(ctx, http.MethodPost, "/api/v1/servers/"+srv.ID+"/stop", s.AdminToken, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != http.StatusAccepted {
				t.Fatalf("stop: %d %s", r.Status, r.Body)
			}
			var op api.Operation
			if err := r.Decode(&op); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second)
			if got, err := s.Operation(ctx, s.AdminToken, op.ID); err != nil || got.Status != api.OpPending {
				t.Fatalf("operation while node offline: %+v %v, want pending", got, err)
			}
			if got := lxdStatus(t, c, srv.IncusName); got != "Running" {
				t.Fatalf("LXD status while node offline = %q, want Running", got)
			}

			op = resume(t, s, op.ID, 2*time.Minute)
			if got := lxdStatus(t, c, srv.IncusName); got != "Stopped" {
				t.Fatalf("LXD status after the node returned = %q", got)
			}
			if err := s.WaitNodeStatus(ctx, api.NodeOnline, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			act(t, s, s.AdminToken, srv.ID, "delete")
		})
	}
}

// resume starts the daemon again and waits for the operation it should finish, which must
// succeed.
func resume(t *testing.T, s *stack.Stack, opID string, timeout time.Duration) api.Operation {
	t.Helper()
	ctx := context.Background()
	if err := s.StartDaemon(ctx); err != nil {
		t.Fatal(err)
	}
	op, err := s.WaitOperation(ctx, s.AdminToken, opID, timeout)
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != api.OpSuccess {
		t.Fatalf("operation %s after the daemon returned: %s %s", op.Kind, op.Status, op.Error)
	}
	return op
}

// oneInstance fails unless LXD has exactly one instance labelled with the server id.
func oneInstance(t *testing.T, c incus.InstanceServer, serverID string) {
	t.Helper()
	if names := instancesFor(t, c, serverID); len(names) != 1 {
		t.Fatalf("LXD instances for the server: %v, want exactly one", names)
	}
}
