package incus_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

func TestCapabilitiesResourcesImages(t *testing.T) {
	t.Parallel()
	c := testenv.Incus(t)
	ctx := context.Background()

	caps, err := c.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Containers || caps.ServerVersion == "" || caps.StoragePool != testenv.Pool() || caps.StorageDriver == "" {
		t.Fatalf("capabilities: %+v", caps)
	}
	if _, err := os.Stat(incus.KVMDevice); err != nil {
		if caps.VirtualMachines || !strings.Contains(caps.VMReason, "/dev/kvm missing") {
			t.Fatalf("without /dev/kvm: VirtualMachines=%v VMReason=%q", caps.VirtualMachines, caps.VMReason)
		}
	}

	res, err := c.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.CPUs < 1 || res.MemoryTotal <= 0 || res.MemoryUsed <= 0 || res.DiskTotal <= 0 {
		t.Fatalf("resources: %+v", res)
	}

	imgs, err := c.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(imgs, testenv.Image()) {
		t.Fatalf("images %v lack %q", imgs, testenv.Image())
	}
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	c := testenv.Incus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := testenv.InstanceName(t, c)
	nodeID, instID, opID := uuid.NewString(), uuid.NewString(), uuid.NewString()

	if _, err := c.Get(ctx, name); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("Get before create: %v, want ErrNotFound", err)
	}
	spec := incus.CreateSpec{Name: name, Type: jobs.InstanceContainer, Image: testenv.Image(), CPU: 1, MemoryMiB: 64, DiskMiB: 128,
		InstanceID: instID, NodeID: nodeID, OperationID: opID}
	if err := c.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, spec); !errors.Is(err, incus.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	inst, err := c.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if inst.State != api.StateStopped || inst.InstanceID != instID || inst.NodeID != nodeID || inst.OperationID != opID {
		t.Fatalf("created instance: %+v", inst)
	}
	if inst.Config["limits.cpu"] != "1" || inst.Config["limits.memory"] != "64MiB" || inst.Devices["root"]["size"] != "128MiB" {
		t.Fatalf("limits: config %v devices %v", inst.Config, inst.Devices)
	}

	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"start stopped", func() error { return c.StartStopped(ctx, name) }, api.StateRunning},
		{"start stopped when running", func() error { return c.StartStopped(ctx, name) }, api.StateRunning},
		{"start again", func() error { return c.Start(ctx, name) }, api.StateRunning},
		{"restart forced", func() error { return c.Restart(ctx, name, time.Second, true) }, api.StateRunning},
		{"stop forced", func() error { return c.Stop(ctx, name, time.Second, true) }, api.StateStopped},
		{"stop again", func() error { return c.Stop(ctx, name, time.Second, false) }, api.StateStopped},
		{"restart stopped starts", func() error { return c.Restart(ctx, name, time.Second, false) }, api.StateRunning},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := c.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != s.want {
			t.Fatalf("%s: state %q, want %q", s.name, got.State, s.want)
		}
	}

	managed, err := c.ListManaged(ctx, nodeID)
	if err != nil {
		t.Fatal(err)
	}
	if len(managed) != 1 || managed[0].Name != name || managed[0].State != api.StateRunning || managed[0].Usage.MemoryBytes <= 0 {
		t.Fatalf("ListManaged: %+v", managed)
	}
	if other, err := c.ListManaged(ctx, uuid.NewString()); err != nil || len(other) != 0 {
		t.Fatalf("ListManaged of another node: %v %+v", err, other)
	}

	if err := c.Delete(ctx, name, time.Second, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, name); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	if err := c.Delete(ctx, name, time.Second, true); err != nil {
		t.Fatalf("Delete of a missing instance: %v", err)
	}
	if err := c.Start(ctx, name); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("Start of a missing instance: %v", err)
	}
	if err := c.StartStopped(ctx, name); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("StartStopped of a missing instance: %v", err)
	}
}

func TestStopGracefulThenForced(t *testing.T) {
	t.Parallel()
	c := testenv.Incus(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := testenv.InstanceName(t, c)
	spec := incus.CreateSpec{Name: name, Type: jobs.InstanceContainer, Image: testenv.Image(), CPU: 1, MemoryMiB: 64, DiskMiB: 128,
		InstanceID: uuid.NewString(), NodeID: uuid.NewString(), OperationID: uuid.NewString()}
	if err := c.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	// A 1 s timeout is shorter than busybox's clean shutdown: Stop must fall back to force.
	start := time.Now()
	if err := c.Stop(ctx, name, time.Second, false); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != api.StateStopped {
		t.Fatalf("state %q after stop", got.State)
	}
	t.Logf("graceful-then-forced stop took %s", time.Since(start))
}
