package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

func resizeTask(t *testing.T, p jobs.InstanceResize) *asynq.Task {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.NewTask(jobs.TypeInstanceResize, b)
}

// wantLimits reads the instance back through the Incus client and checks its limits.
func wantLimits(t *testing.T, f *fixture, name string, cpu string, mem, size string) incus.Instance {
	t.Helper()
	inst, err := f.incus.Get(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Config["limits.cpu"] != cpu || inst.Config["limits.memory"] != mem {
		t.Errorf("limits = cpu %q memory %q, want %q %q", inst.Config["limits.cpu"], inst.Config["limits.memory"], cpu, mem)
	}
	root := inst.Devices["root"]
	if root["size"] != size || root["path"] != "/" || root["type"] != "disk" || root["pool"] != testenv.Pool() {
		t.Errorf("root device = %v, want size %s", root, size)
	}
	return inst
}

func TestResizeRunningThenStoppedContainer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	cp := f.createPayload(t)
	if err := f.w.ProcessTask(ctx, createTask(t, cp)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		stopFirst bool
		cpu       int
		mem, disk int64
		wantState string
	}{
		{"grow while running", false, 2, 160, 384, api.StateRunning},
		{"same again (a redelivery) changes nothing", false, 2, 160, 384, api.StateRunning},
		{"shrink while stopped", true, 1, 96, 256, api.StateStopped},
	}
	for _, s := range steps {
		if s.stopFirst {
			if err := f.incus.Stop(ctx, cp.IncusName, 0, true); err != nil {
				t.Fatal(err)
			}
		}
		before, err := f.incus.Get(ctx, cp.IncusName)
		if err != nil {
			t.Fatal(err)
		}
		p := jobs.InstanceResize{Version: 1, OperationID: uuid.NewString(), InstanceID: cp.InstanceID, IncusName: cp.IncusName,
			CPU: s.cpu, MemoryMiB: s.mem, DiskMiB: s.disk}
		if err := f.w.ProcessTask(ctx, resizeTask(t, p)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		inst := wantLimits(t, f, cp.IncusName, strconv.Itoa(s.cpu), fmt.Sprintf("%dMiB", s.mem), fmt.Sprintf("%dMiB", s.disk))
		if inst.State != s.wantState {
			t.Errorf("%s: state %q, want %q", s.name, inst.State, s.wantState)
		}
		// The labels survive the update.
		if inst.InstanceID != cp.InstanceID || inst.NodeID != f.nodeID {
			t.Errorf("%s: labels %q/%q lost", s.name, inst.InstanceID, inst.NodeID)
		}
		rs := f.panel.Results(p.OperationID)
		if len(rs) != 1 || rs[0].Status != api.OpSuccess || rs[0].State != s.wantState || rs[0].ObservedAt.IsZero() {
			t.Fatalf("%s: results %+v, want one success in state %s", s.name, rs, s.wantState)
		}
		same := reflect.DeepEqual(before.Config, inst.Config) && reflect.DeepEqual(before.Devices, inst.Devices)
		if same != strings.HasPrefix(s.name, "same again") {
			t.Errorf("%s: configuration unchanged = %v", s.name, same)
		}
	}
}

func TestResizeFailsPermanently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	cp := f.createPayload(t)
	if err := f.w.ProcessTask(ctx, createTask(t, cp)); err != nil {
		t.Fatal(err)
	}
	valid := func() jobs.InstanceResize {
		return jobs.InstanceResize{Version: 1, OperationID: uuid.NewString(), InstanceID: cp.InstanceID,
			IncusName: cp.IncusName, CPU: 3, MemoryMiB: 200, DiskMiB: 400}
	}
	tests := []struct {
		name    string
		mutate  func(p *jobs.InstanceResize)
		wantMsg string
	}{
		{"zero cpu", func(p *jobs.InstanceResize) { p.CPU = 0 }, "cpu 0 out of range"},
		{"tiny memory", func(p *jobs.InstanceResize) { p.MemoryMiB = 1 }, "memory_mib 1 out of range"},
		{"huge disk", func(p *jobs.InstanceResize) { p.DiskMiB = jobs.MaxDiskMiB + 1 }, "disk_mib"},
		{"bad name", func(p *jobs.InstanceResize) { p.IncusName = "Bad_Name" }, "incus_name"},
		{"missing instance", func(p *jobs.InstanceResize) { p.IncusName = testenv.InstanceName(t, f.incus) }, "does not exist on this node"},
		{"another instance's name", func(p *jobs.InstanceResize) { p.InstanceID = uuid.NewString() }, "already used by another instance"},
	}
	for _, tt := range tests {
		p := valid()
		tt.mutate(&p)
		err := f.w.ProcessTask(ctx, resizeTask(t, p))
		if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: err = %v, want SkipRetry containing %q", tt.name, err, tt.wantMsg)
		}
	}
	// Nothing was changed by any of them.
	wantLimits(t, f, cp.IncusName, "1", "64MiB", "128MiB")
	if err := f.w.ProcessTask(ctx, asynq.NewTask(jobs.TypeInstanceResize, []byte("{not json"))); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("malformed payload: %v, want SkipRetry", err)
	}
}
