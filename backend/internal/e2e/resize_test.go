package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	incus "github.com/lxc/incus/v6/client"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
)

// TestResizeEndToEnd resizes a running container through the real panel, queue, daemon and
// LXD, on each database, and reads the limits back from LXD.
func TestResizeEndToEnd(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, driver)
			c := lxd(t)
			testResizeRunning(t, s, c)
		})
	}
}

// resizeServer posts an admin resize and waits for its operation.
func resizeServer(t *testing.T, s *stack.Stack, id string, req api.ResizeServerRequest) api.Operation {
	t.Helper()
	ctx := context.Background()
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/servers/"+id+"/resize", s.AdminToken, req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("resize: %d %s", r.Status, r.Body)
	}
	var op api.Operation
	if err := r.Decode(&op); err != nil {
		t.Fatal(err)
	}
	if op.Kind != api.OpInstanceResize {
		t.Fatalf("resize answered operation kind %q", op.Kind)
	}
	op, err = s.WaitOperation(ctx, s.AdminToken, op.ID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func testResizeRunning(t *testing.T, s *stack.Stack, c incus.InstanceServer) {
	srv := createServer(t, s, c, s.AdminToken, api.CreateServerRequest{
		Name: tempName("rsz"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 128, DiskMiB: 512,
	})
	if srv.Status != api.StatusRunning {
		t.Fatalf("after create: status %q", srv.Status)
	}
	before, _, err := c.GetInstanceState(srv.IncusName)
	if err != nil {
		t.Fatal(err)
	}

	op := resizeServer(t, s, srv.ID, api.ResizeServerRequest{CPU: 2, MemoryMiB: 256, DiskMiB: 1024})
	if op.Status != api.OpSuccess {
		t.Fatalf("resize operation %s: %s", op.Status, op.Error)
	}
	in, _, err := c.GetInstance(srv.IncusName)
	if err != nil {
		t.Fatal(err)
	}
	if in.Config["limits.cpu"] != "2" || in.Config["limits.memory"] != "256MiB" {
		t.Errorf("LXD limits = cpu %q memory %q, want 2 and 256MiB", in.Config["limits.cpu"], in.Config["limits.memory"])
	}
	if root := in.Devices["root"]; root["size"] != "1024MiB" || root["path"] != "/" {
		t.Errorf("LXD root disk = %v, want size 1024MiB at /", root)
	}
	// Resized in place: the container kept running, with the same init process.
	after, _, err := c.GetInstanceState(srv.IncusName)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != "Running" || after.Pid != before.Pid {
		t.Errorf("after resize: status %q pid %d (before %d), want still running, same pid", after.Status, after.Pid, before.Pid)
	}
	got := getServer(t, s, s.AdminToken, srv.ID)
	if got.CPU != 2 || got.MemoryMiB != 256 || got.DiskMiB != 1024 || got.Status != api.StatusRunning {
		t.Errorf("panel server after resize = cpu %d memory %d disk %d status %s", got.CPU, got.MemoryMiB, got.DiskMiB, got.Status)
	}
	// The node advertises the job type in its heartbeat.
	n, err := s.Node(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, jt := range n.JobTypes {
		found = found || jt == "instance:resize"
	}
	if !found {
		t.Errorf("node job types %v lack instance:resize", n.JobTypes)
	}
}
