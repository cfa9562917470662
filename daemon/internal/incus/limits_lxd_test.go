package incus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

func TestSetLimits(t *testing.T) {
	t.Parallel()
	c := testenv.Incus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := testenv.InstanceName(t, c)
	if _, err := c.SetLimits(ctx, name, incus.Limits{CPU: 1, MemoryMiB: 64, DiskMiB: 128}); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("SetLimits of a missing instance: %v, want ErrNotFound", err)
	}
	spec := incus.CreateSpec{Name: name, Type: jobs.InstanceContainer, Image: testenv.Image(), CPU: 1, MemoryMiB: 64, DiskMiB: 128,
		InstanceID: uuid.NewString(), NodeID: uuid.NewString(), OperationID: uuid.NewString()}
	if err := c.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		limits      incus.Limits
		wantChanged bool
		cpu, mem    string
		size        string
	}{
		{incus.Limits{CPU: 2, MemoryMiB: 100, DiskMiB: 300}, true, "2", "100MiB", "300MiB"},
		{incus.Limits{CPU: 2, MemoryMiB: 100, DiskMiB: 300}, false, "2", "100MiB", "300MiB"},
		{incus.Limits{CPU: 2, MemoryMiB: 100, DiskMiB: 200}, true, "2", "100MiB", "200MiB"},
	}
	for i, s := range steps {
		changed, err := c.SetLimits(ctx, name, s.limits)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if changed != s.wantChanged {
			t.Errorf("step %d: changed = %v, want %v", i, changed, s.wantChanged)
		}
		inst, err := c.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Config["limits.cpu"] != s.cpu || inst.Config["limits.memory"] != s.mem || inst.Devices["root"]["size"] != s.size {
			t.Errorf("step %d: cpu %q memory %q root %v", i, inst.Config["limits.cpu"], inst.Config["limits.memory"], inst.Devices["root"])
		}
		if inst.InstanceID != spec.InstanceID {
			t.Errorf("step %d: label lost: %+v", i, inst.Config)
		}
	}
}
