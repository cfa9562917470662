package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// fixture is one worker on a fresh node id, against the real LXD and a fake panel.
type fixture struct {
	w      *Worker
	incus  *incus.Client
	panel  *testenv.Panel
	nodeID string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	inc := testenv.Incus(t)
	fake := testenv.NewPanel(t, "cred-"+testenv.RandomHex(8))
	nodeID := uuid.NewString()
	w, err := New(Config{NodeID: nodeID, StopTimeout: 10 * time.Second}, nil, inc, fake.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	startReporter(t, w) // as Run does
	return &fixture{w: w, incus: inc, panel: fake, nodeID: nodeID}
}

func (f *fixture) createPayload(t *testing.T) jobs.InstanceCreate {
	t.Helper()
	return jobs.InstanceCreate{
		Version:     jobs.PayloadVersion,
		OperationID: uuid.NewString(),
		InstanceID:  uuid.NewString(),
		IncusName:   testenv.InstanceName(t, f.incus),
		Type:        jobs.InstanceContainer,
		Image:       testenv.Image(),
		CPU:         1,
		MemoryMiB:   64,
		DiskMiB:     128,
	}
}

func createTask(t *testing.T, p jobs.InstanceCreate) *asynq.Task {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.NewTask(jobs.TypeInstanceCreate, b)
}

func actionTask(t *testing.T, typ string, p jobs.InstanceAction) *asynq.Task {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.NewTask(typ, b)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestCreateAppliesLimitsAndRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	p := f.createPayload(t)
	p.CPU, p.MemoryMiB, p.DiskMiB = 2, 96, 256

	if err := f.w.ProcessTask(ctx, createTask(t, p)); err != nil {
		t.Fatal(err)
	}
	inst, err := f.incus.Get(ctx, p.IncusName)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"limits.cpu":       "2",
		"limits.memory":    "96MiB",
		api.InstanceLabel:  p.InstanceID,
		api.NodeLabel:      f.nodeID,
		api.OperationLabel: p.OperationID,
	}
	for k, v := range want {
		if inst.Config[k] != v {
			t.Errorf("config %s = %q, want %q", k, inst.Config[k], v)
		}
	}
	root := inst.Devices["root"]
	if root["type"] != "disk" || root["path"] != "/" || root["pool"] != testenv.Pool() || root["size"] != "256MiB" {
		t.Errorf("root device = %v", root)
	}
	if inst.State != api.StateRunning || inst.Type != "container" {
		t.Errorf("state %q type %q, want running container", inst.State, inst.Type)
	}
	// Progress is sent in the background (a lagging reporter keeps only the newest report),
	// but all of it arrives before the result, which sets 100.
	var seen []string
	for _, c := range f.panel.Calls(strings.Replace(api.PathOperation, "{id}", p.OperationID, 1)) {
		switch {
		case strings.HasSuffix(c.Path, "/progress"):
			var pr api.Progress
			if err := json.Unmarshal(c.Body, &pr); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, fmt.Sprintf("progress %d %s", pr.Progress, pr.Message))
		case strings.HasSuffix(c.Path, "/result"):
			seen = append(seen, "result")
		}
	}
	wantCalls := []string{"progress 10 creating instance", "progress 60 starting", "result"}
	if !slices.Equal(seen, wantCalls) && !slices.Equal(seen, wantCalls[1:]) {
		t.Errorf("calls = %q, want %q (or without the first)", seen, wantCalls)
	}
	rs := f.panel.Results(p.OperationID)
	if len(rs) != 1 || rs[0].Status != api.OpSuccess || rs[0].State != api.StateRunning || rs[0].ObservedAt.IsZero() {
		t.Errorf("results = %+v, want one success, running, with the time it was observed", rs)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *fixture, p jobs.InstanceCreate)
	}{
		{"delivered twice", func(t *testing.T, f *fixture, p jobs.InstanceCreate) {
			if err := f.w.ProcessTask(ctxT(t), createTask(t, p)); err != nil {
				t.Fatal(err)
			}
		}},
		{"retried after a crash left it stopped", func(t *testing.T, f *fixture, p jobs.InstanceCreate) {
			err := f.incus.Create(ctxT(t), incus.CreateSpec{Name: p.IncusName, Type: p.Type, Image: p.Image, CPU: p.CPU,
				MemoryMiB: p.MemoryMiB, DiskMiB: p.DiskMiB, InstanceID: p.InstanceID, NodeID: f.nodeID, OperationID: p.OperationID})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"concurrent deliveries", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := ctxT(t)
			p := f.createPayload(t)
			if tt.prepare != nil {
				tt.prepare(t, f, p)
				if err := f.w.ProcessTask(ctx, createTask(t, p)); err != nil {
					t.Fatal(err)
				}
			} else {
				var wg sync.WaitGroup
				errs := make([]error, 3)
				for i := range errs {
					wg.Go(func() { errs[i] = f.w.ProcessTask(ctx, createTask(t, p)) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("delivery %d: %v", i, err)
					}
				}
			}
			managed, err := f.incus.ListManaged(ctx, f.nodeID)
			if err != nil {
				t.Fatal(err)
			}
			if len(managed) != 1 || managed[0].Name != p.IncusName || managed[0].State != api.StateRunning {
				t.Fatalf("managed = %+v, want exactly %s running", managed, p.IncusName)
			}
			for _, r := range f.panel.Results(p.OperationID) {
				if r.Status != api.OpSuccess || r.State != api.StateRunning {
					t.Fatalf("result %+v", r)
				}
			}
		})
	}
}

func TestCreateFailsPermanently(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(t *testing.T, f *fixture, p *jobs.InstanceCreate)
		wantMsg string
		// keep says the pre-existing instance must survive.
		keep bool
	}{
		{"vm without kvm", func(t *testing.T, f *fixture, p *jobs.InstanceCreate) {
			caps, err := f.incus.Capabilities(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if caps.VirtualMachines {
				t.Skip("this node can run virtual machines; the no-KVM path needs a node without /dev/kvm")
			}
			p.Type = jobs.InstanceVM
		}, "KVM is not available on this node (/dev/kvm missing)", false},
		{"unknown image", func(t *testing.T, f *fixture, p *jobs.InstanceCreate) {
			p.Image = "no-such-image-" + testenv.RandomHex(4)
		}, "is not available on this node", false},
		{"name used by another instance", func(t *testing.T, f *fixture, p *jobs.InstanceCreate) {
			err := f.incus.Create(ctxT(t), incus.CreateSpec{Name: p.IncusName, Type: p.Type, Image: p.Image, CPU: 1,
				MemoryMiB: 64, DiskMiB: 128, InstanceID: uuid.NewString(), NodeID: f.nodeID, OperationID: uuid.NewString()})
			if err != nil {
				t.Fatal(err)
			}
		}, "already used by another instance", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := ctxT(t)
			p := f.createPayload(t)
			tt.mutate(t, f, &p)
			start := time.Now()
			err := f.w.ProcessTask(ctx, createTask(t, p))
			if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want SkipRetry containing %q", err, tt.wantMsg)
			}
			if tt.name == "vm without kvm" && time.Since(start) > 2*time.Second {
				t.Errorf("VM refusal took %s, want fast", time.Since(start))
			}
			_, gerr := f.incus.Get(ctx, p.IncusName)
			if tt.keep != (gerr == nil) {
				t.Fatalf("instance exists = %v, want %v", gerr == nil, tt.keep)
			}
			if !strings.Contains(FailureMessage(err), tt.wantMsg) || strings.Contains(FailureMessage(err), asynq.SkipRetry.Error()) {
				t.Errorf("failure message %q", FailureMessage(err))
			}
		})
	}
}

// TestCreateRollsBackWhenStartFails runs the two steps of handleCreate, the second with the
// task context cancelled (a daemon shutting down between creating and starting).
func TestCreateRollsBackWhenStartFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.createPayload(t)
	created, err := f.w.ensureInstance(ctxT(t), f.w.log, p)
	if err != nil || !created {
		t.Fatalf("ensureInstance = %v, %v; want created", created, err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	err = f.w.startEnsured(ctx, f.w.log, p.IncusName, created)
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if _, err := f.incus.Get(context.Background(), p.IncusName); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("instance after rollback: %v, want ErrNotFound", err)
	}
}

func TestCreateRetriesWhenResultCannotBeReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	p := f.createPayload(t)
	resultPath := strings.Replace(api.PathResult, "{id}", p.OperationID, 1)

	f.panel.FailPath(resultPath, http.StatusServiceUnavailable)
	err := f.w.ProcessTask(ctx, createTask(t, p))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	f.panel.FailPath(resultPath, 0)
	if err := f.w.ProcessTask(ctx, createTask(t, p)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	rs := f.panel.Results(p.OperationID)
	if len(rs) != 1 || rs[0].Status != api.OpSuccess {
		t.Fatalf("results = %+v", rs)
	}
	if managed, _ := f.incus.ListManaged(ctx, f.nodeID); len(managed) != 1 {
		t.Fatalf("managed = %+v, want one instance", managed)
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	p := f.createPayload(t)
	if err := f.w.ProcessTask(ctx, createTask(t, p)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		typ   string
		force bool
		want  string // resulting state; "" after delete
	}{
		{jobs.TypeInstanceStart, false, api.StateRunning}, // already running
		{jobs.TypeInstanceStop, false, api.StateStopped},  // clean stop
		{jobs.TypeInstanceStop, false, api.StateStopped},  // already stopped
		{jobs.TypeInstanceStart, false, api.StateRunning},
		{jobs.TypeInstanceRestart, true, api.StateRunning},
		{jobs.TypeInstanceDelete, true, ""},
		{jobs.TypeInstanceDelete, false, ""}, // already gone
	}
	for i, s := range steps {
		a := jobs.InstanceAction{Version: 1, OperationID: uuid.NewString(), InstanceID: p.InstanceID, IncusName: p.IncusName, Force: s.force}
		if err := f.w.ProcessTask(ctx, actionTask(t, s.typ, a)); err != nil {
			t.Fatalf("step %d %s: %v", i, s.typ, err)
		}
		rs := f.panel.Results(a.OperationID)
		if len(rs) != 1 || rs[0].Status != api.OpSuccess || rs[0].State != s.want || rs[0].ObservedAt.IsZero() {
			t.Fatalf("step %d %s: results %+v, want state %q", i, s.typ, rs, s.want)
		}
		if s.want != "" {
			inst, err := f.incus.Get(ctx, p.IncusName)
			if err != nil || inst.State != s.want {
				t.Fatalf("step %d %s: incus state %q (%v), want %q", i, s.typ, inst.State, err, s.want)
			}
		}
	}
	if _, err := f.incus.Get(ctx, p.IncusName); !errors.Is(err, incus.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	a := jobs.InstanceAction{Version: 1, OperationID: uuid.NewString(), InstanceID: p.InstanceID, IncusName: p.IncusName}
	if err := f.w.ProcessTask(ctx, actionTask(t, jobs.TypeInstanceStart, a)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("start of a missing instance: %v, want SkipRetry", err)
	}
}

func TestActionRefusesAnotherInstance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	p := f.createPayload(t)
	if err := f.w.ProcessTask(ctx, createTask(t, p)); err != nil {
		t.Fatal(err)
	}
	a := jobs.InstanceAction{Version: 1, OperationID: uuid.NewString(), InstanceID: uuid.NewString(), IncusName: p.IncusName, Force: true}
	if err := f.w.ProcessTask(ctx, actionTask(t, jobs.TypeInstanceDelete, a)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("delete with a foreign instance id: %v, want SkipRetry", err)
	}
	if inst, err := f.incus.Get(ctx, p.IncusName); err != nil || inst.State != api.StateRunning {
		t.Fatalf("instance touched: %+v %v", inst, err)
	}
}
