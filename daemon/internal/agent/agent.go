// Package agent is the composition root of nimbo-daemon: it connects Incus, Redis and the
// panel, and runs the heartbeat loop, the reconcile loop and the job worker until its
// context ends.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/config"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/panel"
	"github.com/nimbo-panel/nimbo/daemon/internal/worker"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// Version returns the daemon's version: the module version it was built as, else the VCS
// revision, else "dev".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}

// Agent is one running daemon.
type Agent struct {
	cfg    config.Config
	log    *slog.Logger
	incus  *incus.Client
	rdb    *redis.Client
	panel  *panel.Client
	worker *worker.Worker
}

// New connects to Incus, Redis and the panel described by cfg (which must be valid).
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log = log.With("node_id", cfg.NodeID)
	inc, err := incus.Connect(ctx, cfg.IncusSocket, cfg.StoragePool)
	if err != nil {
		return nil, err
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		inc.Close()
		return nil, fmt.Errorf("redis url: %w", err)
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		inc.Close()
		rdb.Close()
		return nil, fmt.Errorf("ping redis %s: %w", opt.Addr, err)
	}
	pc, err := panel.New(cfg.PanelURL, cfg.Credential, panel.WithUserAgent("nimbo-daemon/"+Version()))
	if err != nil {
		inc.Close()
		rdb.Close()
		return nil, err
	}
	w, err := worker.New(worker.Config{
		NodeID:            cfg.NodeID,
		Concurrency:       cfg.Concurrency,
		TaskCheckInterval: cfg.TaskCheckInterval,
		StopTimeout:       cfg.StopTimeout,
		Logger:            log.With("component", "worker"),
	}, rdb, inc, pc)
	if err != nil {
		inc.Close()
		rdb.Close()
		return nil, err
	}
	return &Agent{cfg: cfg, log: log, incus: inc, rdb: rdb, panel: pc, worker: w}, nil
}

// Close releases the connections.
func (a *Agent) Close() {
	a.incus.Close()
	a.rdb.Close()
}

// Run serves until ctx ends: heartbeats, reconciliation (at start and every
// ReconcileInterval) and the job worker. It returns when all three have stopped; running
// jobs get the worker's shutdown timeout to finish.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.log.Info("daemon starting", "version", Version(), "panel", a.cfg.PanelURL, "queue", jobs.Queue(a.cfg.NodeID))
	var wg sync.WaitGroup
	wg.Go(func() { a.heartbeatLoop(ctx) })
	wg.Go(func() { a.reconcileLoop(ctx) })
	err := a.worker.Run(ctx)
	cancel()
	wg.Wait()
	a.log.Info("daemon stopped")
	return err
}

func (a *Agent) heartbeatLoop(ctx context.Context) {
	interval := a.cfg.HeartbeatInterval
	for {
		if next, err := a.Heartbeat(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("heartbeat failed", "err", err)
		} else if next > 0 && next != interval {
			a.log.Info("heartbeat interval set by panel", "interval", next)
			interval = next
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

func (a *Agent) reconcileLoop(ctx context.Context) {
	for {
		if d, err := a.Reconcile(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("reconcile failed", "err", err)
		} else if len(d.MissingInIncus)+len(d.UnknownToPanel) > 0 {
			a.log.Warn("drift", "missing_in_incus", d.MissingInIncus, "unknown_to_panel", d.UnknownToPanel)
		}
		if !sleep(ctx, a.cfg.ReconcileInterval) {
			return
		}
	}
}

// sleep waits d or until ctx ends, and reports whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// CollectHeartbeat reads everything a heartbeat carries from Incus. Any Incus failure is
// an error: a partial heartbeat would tell the panel that instances vanished.
func (a *Agent) CollectHeartbeat(ctx context.Context) (api.Heartbeat, error) {
	caps, err := a.incus.Capabilities(ctx)
	if err != nil {
		return api.Heartbeat{}, err
	}
	res, err := a.incus.Resources(ctx)
	if err != nil {
		return api.Heartbeat{}, err
	}
	imgs, err := a.incus.Images(ctx)
	if err != nil {
		return api.Heartbeat{}, err
	}
	collected := time.Now().UTC()
	managed, err := a.incus.ListManaged(ctx, a.cfg.NodeID)
	if err != nil {
		return api.Heartbeat{}, err
	}
	states := make([]api.InstanceState, 0, len(managed))
	for _, m := range managed {
		states = append(states, api.InstanceState{InstanceID: m.InstanceID, IncusName: m.Name, State: m.State, Usage: m.Usage})
	}
	return api.Heartbeat{
		Version:      Version(),
		JobTypes:     slices.Clone(jobs.AllTypes),
		Capabilities: caps,
		Resources:    res,
		Images:       imgs,
		Instances:    states,
		SentAt:       time.Now().UTC(),
		CollectedAt:  collected,
	}, nil
}

// Heartbeat sends one heartbeat and returns the interval the panel asks for (0 if none).
func (a *Agent) Heartbeat(ctx context.Context) (time.Duration, error) {
	hb, err := a.CollectHeartbeat(ctx)
	if err != nil {
		return 0, fmt.Errorf("collect heartbeat: %w", err)
	}
	resp, err := a.panel.Heartbeat(ctx, hb)
	if err != nil {
		return 0, err
	}
	return time.Duration(resp.HeartbeatIntervalSeconds) * time.Second, nil
}

// Reconcile compares what the panel expects on this node with what Incus has, reports the
// drift to the panel and returns it.
func (a *Agent) Reconcile(ctx context.Context) (api.DriftReport, error) {
	desired, err := a.panel.DesiredInstances(ctx)
	if err != nil {
		return api.DriftReport{}, fmt.Errorf("desired instances: %w", err)
	}
	managed, err := a.incus.ListManaged(ctx, a.cfg.NodeID)
	if err != nil {
		return api.DriftReport{}, err
	}
	d := ComputeDrift(desired, managed, time.Now().UTC())
	if err := a.panel.Drift(ctx, d); err != nil {
		return d, fmt.Errorf("report drift: %w", err)
	}
	return d, nil
}

// ComputeDrift lists the panel's instances Incus lacks (by instance id or Incus name; those
// with an operation in flight are not drift) and the Incus instances labelled for this
// node that the panel does not list. Both lists are sorted and never nil.
func ComputeDrift(desired api.DesiredState, managed []incus.Instance, now time.Time) api.DriftReport {
	haveID := map[string]bool{}
	haveName := map[string]bool{}
	for _, m := range managed {
		if m.InstanceID != "" {
			haveID[m.InstanceID] = true
		}
		haveName[m.Name] = true
	}
	wantID := map[string]bool{}
	wantName := map[string]bool{}
	d := api.DriftReport{MissingInIncus: []string{}, UnknownToPanel: []string{}, CheckedAt: now}
	for _, w := range desired.Instances {
		wantID[w.InstanceID] = true
		wantName[w.IncusName] = true
		if w.InFlight || haveID[w.InstanceID] || haveName[w.IncusName] {
			continue
		}
		d.MissingInIncus = append(d.MissingInIncus, w.InstanceID)
	}
	for _, m := range managed {
		if (m.InstanceID != "" && wantID[m.InstanceID]) || wantName[m.Name] {
			continue
		}
		d.UnknownToPanel = append(d.UnknownToPanel, m.Name)
	}
	slices.Sort(d.MissingInIncus)
	slices.Sort(d.UnknownToPanel)
	return d
}

// Join exchanges a one-time join token with the panel at panelURL and returns cfg updated
// with the panel URL, node id, credential, Redis URL and heartbeat interval from the
// answer. The caller saves it (config.Save writes it 0600).
func Join(ctx context.Context, cfg config.Config, panelURL, token string) (config.Config, api.JoinResponse, error) {
	if token == "" {
		return cfg, api.JoinResponse{}, fmt.Errorf("join: a join token is required")
	}
	pc, err := panel.New(panelURL, "", panel.WithUserAgent("nimbo-daemon/"+Version()))
	if err != nil {
		return cfg, api.JoinResponse{}, err
	}
	resp, err := pc.Join(ctx, api.JoinRequest{Token: token, Hostname: Hostname(), Version: Version()})
	if err != nil {
		return cfg, resp, fmt.Errorf("join: %w", err)
	}
	if resp.NodeID == "" || resp.Credential == "" {
		return cfg, resp, fmt.Errorf("join: the panel answered without node id or credential")
	}
	cfg.PanelURL = panelURL
	cfg.NodeID = resp.NodeID
	cfg.Credential = resp.Credential
	cfg.CredentialFile = ""
	if resp.RedisURL != "" {
		cfg.RedisURL = resp.RedisURL
	}
	if resp.HeartbeatIntervalSeconds > 0 {
		cfg.HeartbeatInterval = time.Duration(resp.HeartbeatIntervalSeconds) * time.Second
	}
	return cfg, resp, nil
}

// Hostname is the name the daemon gives the panel at join.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
