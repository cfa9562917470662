package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/config"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

func TestComputeDrift(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		desired     []api.DesiredInstance
		managed     []incus.Instance
		missing     []string
		unknownToPn []string
	}{
		{"nothing", nil, nil, []string{}, []string{}},
		{"in sync", []api.DesiredInstance{{InstanceID: "i1", IncusName: "a-1"}},
			[]incus.Instance{{Name: "a-1", InstanceID: "i1"}}, []string{}, []string{}},
		{"missing in incus", []api.DesiredInstance{{InstanceID: "i2", IncusName: "b-2"}, {InstanceID: "i1", IncusName: "a-1"}},
			nil, []string{"i1", "i2"}, []string{}},
		{"in flight is not missing", []api.DesiredInstance{{InstanceID: "i1", IncusName: "a-1", InFlight: true}},
			nil, []string{}, []string{}},
		{"unknown to panel", nil,
			[]incus.Instance{{Name: "z-9", InstanceID: "i9"}, {Name: "y-8", InstanceID: "i8"}}, []string{}, []string{"y-8", "z-9"}},
		{"matched by incus name", []api.DesiredInstance{{InstanceID: "i1", IncusName: "a-1"}},
			[]incus.Instance{{Name: "a-1", InstanceID: ""}}, []string{}, []string{}},
		{"matched by instance id after rename", []api.DesiredInstance{{InstanceID: "i1", IncusName: "new-1"}},
			[]incus.Instance{{Name: "old-1", InstanceID: "i1"}}, []string{}, []string{}},
		{"both", []api.DesiredInstance{{InstanceID: "i1", IncusName: "a-1"}, {InstanceID: "i3", IncusName: "c-3", InFlight: true}},
			[]incus.Instance{{Name: "x-7", InstanceID: "i7"}, {Name: "c-3", InstanceID: "i3"}}, []string{"i1"}, []string{"x-7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ComputeDrift(api.DesiredState{Instances: tt.desired}, tt.managed, now)
			if !reflect.DeepEqual(d.MissingInIncus, tt.missing) || !reflect.DeepEqual(d.UnknownToPanel, tt.unknownToPn) || !d.CheckedAt.Equal(now) {
				t.Fatalf("drift = %+v, want missing %v unknown %v", d, tt.missing, tt.unknownToPn)
			}
			b, _ := json.Marshal(d)
			var back map[string]any
			_ = json.Unmarshal(b, &back)
			if back["missing_in_incus"] == nil || back["unknown_to_panel"] == nil {
				t.Fatalf("lists must encode as [], got %s", b)
			}
		})
	}
}

func testConfig(t *testing.T, fake *testenv.Panel) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.PanelURL = fake.Server.URL
	cfg.NodeID = uuid.NewString()
	cfg.Credential = fake.Credential
	cfg.RedisURL = testenv.RedisURL()
	cfg.IncusSocket = testenv.IncusSocket()
	cfg.StoragePool = testenv.Pool()
	cfg.ReconcileInterval = time.Hour
	cfg.HeartbeatInterval = time.Hour
	cfg.TaskCheckInterval = 50 * time.Millisecond
	return cfg
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestJoin(t *testing.T) {
	t.Parallel()
	fake := testenv.NewPanel(t, "node-cred-"+testenv.RandomHex(4))
	fake.SetHeartbeatInterval(7)
	cfg, resp, err := Join(context.Background(), config.Default(), fake.Server.URL, "join-token")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PanelURL != fake.Server.URL || cfg.NodeID != resp.NodeID || cfg.Credential != fake.Credential ||
		cfg.RedisURL != testenv.RedisURL() || cfg.HeartbeatInterval != 7*time.Second {
		t.Fatalf("config after join: %+v", cfg)
	}
	calls := fake.Calls(api.PathJoin)
	var req api.JoinRequest
	if len(calls) != 1 || json.Unmarshal(calls[0].Body, &req) != nil || req.Token != "join-token" || req.Hostname == "" || req.Version == "" {
		t.Fatalf("join request: %+v", calls)
	}
	if _, _, err := Join(context.Background(), config.Default(), fake.Server.URL, ""); err == nil {
		t.Fatal("join without a token succeeded")
	}
}

// TestAgent runs a whole agent against the real LXD and Redis and a fake panel: the
// heartbeat describes the node and its managed instance, the reconcile loop reports drift,
// a job goes through, and cancelling the context stops everything.
func TestAgent(t *testing.T) {
	t.Parallel()
	fake := testenv.NewPanel(t, "cred-"+testenv.RandomHex(4))
	cfg := testConfig(t, fake)
	inc := testenv.Incus(t)
	rdb := testenv.Redis(t)
	testenv.CleanupQueue(t, rdb, jobs.Queue(cfg.NodeID))

	// One instance of this node the panel knows, one it does not.
	known := testenv.InstanceName(t, inc)
	stray := testenv.InstanceName(t, inc)
	knownID := uuid.NewString()
	ctx := context.Background()
	for name, id := range map[string]string{known: knownID, stray: uuid.NewString()} {
		if err := inc.Create(ctx, incus.CreateSpec{Name: name, Type: jobs.InstanceContainer, Image: testenv.Image(), CPU: 1,
			MemoryMiB: 64, DiskMiB: 128, InstanceID: id, NodeID: cfg.NodeID, OperationID: uuid.NewString()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := inc.Start(ctx, known); err != nil {
		t.Fatal(err)
	}
	fake.SetDesired(api.DesiredState{Instances: []api.DesiredInstance{
		{InstanceID: knownID, IncusName: known},
		{InstanceID: "gone-instance-1", IncusName: "gone-1"},
		{InstanceID: "creating-instance-1", IncusName: "creating-1", InFlight: true},
	}})

	a, err := New(ctx, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()

	waitFor(t, func() bool { return len(fake.Calls(api.PathHeartbeat)) > 0 && len(fake.Calls(api.PathDrift)) > 0 })

	var hb api.Heartbeat
	if err := json.Unmarshal(fake.Calls(api.PathHeartbeat)[0].Body, &hb); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hb.JobTypes, jobs.AllTypes) || hb.Version == "" || !hb.Capabilities.Containers ||
		hb.Resources.CPUs < 1 || !slices.Contains(hb.Images, testenv.Image()) || hb.SentAt.IsZero() {
		t.Fatalf("heartbeat: %+v", hb)
	}
	if len(hb.Instances) != 2 {
		t.Fatalf("heartbeat instances: %+v", hb.Instances)
	}
	for _, is := range hb.Instances {
		if is.IncusName == known && (is.State != api.StateRunning || is.InstanceID != knownID || is.Usage.MemoryBytes <= 0) {
			t.Fatalf("known instance: %+v", is)
		}
		if is.IncusName == stray && is.State != api.StateStopped {
			t.Fatalf("stray instance: %+v", is)
		}
	}

	var drift api.DriftReport
	if err := json.Unmarshal(fake.Calls(api.PathDrift)[0].Body, &drift); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(drift.MissingInIncus, []string{"gone-instance-1"}) || !slices.Equal(drift.UnknownToPanel, []string{stray}) {
		t.Fatalf("drift: %+v", drift)
	}

	// The worker is live: a stop job on the known instance is done and reported.
	opID := uuid.NewString()
	task, err := jobs.NewInstanceAction(cfg.NodeID, jobs.TypeInstanceStop, jobs.InstanceAction{
		OperationID: opID, InstanceID: knownID, IncusName: known, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := enqueue(rdb, task); err != nil {
		t.Fatal(err)
	}
	if r := fake.WaitResult(t, opID, 20*time.Second); r.Status != api.OpSuccess || r.State != api.StateStopped {
		t.Fatalf("stop result: %+v", r)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(context.Background(), config.Default(), quietLogger()); err == nil {
		t.Fatal("New accepted a config without panel, node and credential")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enqueue puts task on its queue the way the panel does.
func enqueue(rdb *redis.Client, task *asynq.Task) error {
	_, err := asynq.NewClientFromRedisClient(rdb).Enqueue(task)
	return err
}
