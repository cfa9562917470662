// Command nimbo-bench measures the spine on this machine against real services:
//
//   - create→RUNNING latency through panel + Redis queue + daemon + LXD, and the same
//     create+start through the Incus client directly (median of -n each, interleaved);
//   - GET /api/v1/servers requests/s and p99 with -servers rows in the database, on SQLite and on
//     PostgreSQL, driven by wrk in another process;
//   - one billing pass over -billing-subs active monthly subscriptions all due for renewal, on
//     PostgreSQL (time and renewals/s);
//   - with -ui (only that): the web portal in headless Chromium, navigation → rendered server
//     list with -servers servers of one customer, per database (see ui.go).
//
// It reads the services from NIMBO_TEST_* like the end-to-end tests; `make bench` starts them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	incus "github.com/lxc/incus/v6/client"
	incusapi "github.com/lxc/incus/v6/shared/api"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

type flags struct {
	n           int
	servers     int
	duration    time.Duration
	connections int
	skipCreate  bool
	skipList    bool
	drivers     []string
	skipBilling bool
	billing     billingFlags
	ui          bool
	uiN         int
}

func main() {
	var f flags
	flag.IntVar(&f.n, "n", 20, "create→RUNNING samples per path")
	flag.IntVar(&f.servers, "servers", 1000, "servers in the database for the list benchmark")
	flag.DurationVar(&f.duration, "duration", 10*time.Second, "wrk duration per database")
	flag.IntVar(&f.connections, "connections", 32, "wrk connections")
	flag.BoolVar(&f.skipCreate, "skip-create", false, "skip the create latency benchmark")
	flag.BoolVar(&f.skipList, "skip-list", false, "skip the list throughput benchmark")
	drivers := flag.String("drivers", "sqlite,postgres", "databases for the list benchmark")
	flag.BoolVar(&f.skipBilling, "skip-billing", false, "skip the billing pass benchmark")
	flag.IntVar(&f.billing.subs, "billing-subs", 100_000, "due monthly subscriptions for the billing pass benchmark")
	flag.IntVar(&f.billing.batch, "billing-batch", 500, "subscriptions renewed per transaction")
	flag.IntVar(&f.billing.workers, "billing-workers", 2, "renewal transactions run side by side")
	flag.StringVar(&f.billing.cpuProfile, "billing-cpuprofile", "", "write the billing pass's CPU profile to this file")
	flag.Float64Var(&f.billing.resellerShare, "billing-reseller-share", 0.1, "share of the subscriptions sold through a reseller")
	flag.BoolVar(&f.ui, "ui", false, "run only the web portal benchmark (navigation → rendered server list in headless Chromium; needs frontend/dist built)")
	flag.IntVar(&f.uiN, "ui-n", 20, "navigation samples per kind for -ui")
	flag.Parse()
	f.drivers = strings.Split(*drivers, ",")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "nimbo-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	env := stack.EnvFromOS()
	var ui uiTools
	if f.ui {
		// Before the build: the panel must embed the portal that is there now.
		t, err := findUITools(ctx)
		if err != nil {
			return fmt.Errorf("portal navigation: %w", err)
		}
		ui = t
	}
	bin, err := os.MkdirTemp("", "nimbo-bench-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	fmt.Println("building nimbo-panel and nimbo-daemon (no race detector)…")
	if err := stack.Build(ctx, bin, false); err != nil {
		return err
	}
	if f.ui {
		for _, driver := range f.drivers {
			if err := benchUI(ctx, env, bin, driver, ui, f); err != nil {
				return fmt.Errorf("portal navigation on %s: %w", driver, err)
			}
		}
		return nil
	}
	if !f.skipCreate {
		if err := benchCreate(ctx, env, bin, f.n); err != nil {
			return fmt.Errorf("create latency: %w", err)
		}
	}
	if !f.skipList {
		for _, driver := range f.drivers {
			if err := benchList(ctx, env, bin, driver, f); err != nil {
				return fmt.Errorf("list throughput on %s: %w", driver, err)
			}
		}
	}
	if !f.skipBilling {
		if err := benchBilling(ctx, env, f.billing); err != nil {
			return fmt.Errorf("billing pass: %w", err)
		}
	}
	return nil
}

func startStack(ctx context.Context, env stack.Env, bin, driver string, noDaemon bool) (*stack.Stack, func(), error) {
	dir, err := os.MkdirTemp("", "nimbo-bench-")
	if err != nil {
		return nil, nil, err
	}
	s, err := stack.Start(ctx, stack.Options{
		Driver: driver, Env: env, BinDir: bin, Dir: dir, LogLevel: "warn", NoDaemon: noDaemon,
		HeartbeatInterval: 10 * time.Second,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return s, func() { s.Close(); os.RemoveAll(dir) }, nil
}

// benchCreate measures create→RUNNING through the panel and directly through Incus.
func benchCreate(ctx context.Context, env stack.Env, bin string, n int) error {
	s, done, err := startStack(ctx, env, bin, "sqlite", false)
	if err != nil {
		return err
	}
	defer done()
	c, err := incus.ConnectIncusUnix(env.IncusSocket, nil)
	if err != nil {
		return fmt.Errorf("connect incus: %w", err)
	}
	defer c.Disconnect()
	pool := "default"

	var viaPanel, direct []time.Duration
	const cpu, mem, disk = 1, 64, 256
	for i := 0; i < n; i++ {
		// Through the panel: POST, then long-poll the operation until it succeeds.
		t0 := time.Now()
		r, err := s.Do(ctx, http.MethodPost, "/api/v1/servers", s.AdminToken, api.CreateServerRequest{
			Name: "bench-" + stack.RandomSuffix(6), Image: env.Image, Type: api.TypeContainer, CPU: cpu, MemoryMiB: mem, DiskMiB: disk,
		})
		if err != nil {
			return err
		}
		if r.Status != http.StatusAccepted {
			return fmt.Errorf("create: %d %s", r.Status, r.Body)
		}
		var acc api.ServerAccepted
		if err := r.Decode(&acc); err != nil {
			return err
		}
		op, err := s.WaitOperation(ctx, s.AdminToken, acc.Operation.ID, 2*time.Minute)
		if err != nil {
			return err
		}
		if op.Status != api.OpSuccess {
			return fmt.Errorf("create operation failed: %s", op.Error)
		}
		viaPanel = append(viaPanel, time.Since(t0))
		if err := deleteViaPanel(ctx, s, acc.Server.ID); err != nil {
			return err
		}

		// Directly: create, then start, waiting on each Incus operation.
		name := "bench-direct-" + stack.RandomSuffix(6)
		t0 = time.Now()
		op1, err := c.CreateInstance(incusapi.InstancesPost{
			Name:   name,
			Type:   incusapi.InstanceTypeContainer,
			Source: incusapi.InstanceSource{Type: "image", Alias: env.Image},
			InstancePut: incusapi.InstancePut{
				Config: map[string]string{"limits.cpu": strconv.Itoa(cpu), "limits.memory": fmt.Sprintf("%dMiB", mem)},
				Devices: map[string]map[string]string{
					"root": {"type": "disk", "path": "/", "pool": pool, "size": fmt.Sprintf("%dMiB", disk)},
				},
			},
		})
		if err == nil {
			err = op1.WaitContext(ctx)
		}
		if err != nil {
			return fmt.Errorf("direct create: %w", err)
		}
		op2, err := c.UpdateInstanceState(name, incusapi.InstanceStatePut{Action: "start", Timeout: -1}, "")
		if err == nil {
			err = op2.WaitContext(ctx)
		}
		if err != nil {
			return fmt.Errorf("direct start: %w", err)
		}
		direct = append(direct, time.Since(t0))
		if op, err := c.UpdateInstanceState(name, incusapi.InstanceStatePut{Action: "stop", Force: true, Timeout: -1}, ""); err == nil {
			_ = op.Wait()
		}
		if op, err := c.DeleteInstance(name); err == nil {
			_ = op.Wait()
		}
	}
	mp, md := median(viaPanel), median(direct)
	fmt.Printf("\n== create → RUNNING (container %d CPU, %d MiB, %d MiB disk, image %s, n=%d each)\n", cpu, mem, disk, env.Image, n)
	fmt.Printf("  panel+queue+daemon: median %s  min %s  max %s\n", ms(mp), ms(slices.Min(viaPanel)), ms(slices.Max(viaPanel)))
	fmt.Printf("  incus client direct: median %s  min %s  max %s\n", ms(md), ms(slices.Min(direct)), ms(slices.Max(direct)))
	fmt.Printf("  ratio (panel/direct): %.3f  overhead %s\n", float64(mp)/float64(md), ms(mp-md))
	return nil
}

func deleteViaPanel(ctx context.Context, s *stack.Stack, id string) error {
	r, err := s.Do(ctx, http.MethodDelete, "/api/v1/servers/"+id, s.AdminToken, nil)
	if err != nil {
		return err
	}
	if r.Status != http.StatusAccepted {
		return fmt.Errorf("delete: %d %s", r.Status, r.Body)
	}
	var op api.Operation
	if err := r.Decode(&op); err != nil {
		return err
	}
	op, err = s.WaitOperation(ctx, s.AdminToken, op.ID, 2*time.Minute)
	if err != nil {
		return err
	}
	if op.Status != api.OpSuccess {
		return fmt.Errorf("delete failed: %s", op.Error)
	}
	return nil
}

// benchList seeds servers and drives GET /api/v1/servers with wrk.
func benchList(ctx context.Context, env stack.Env, bin, driver string, f flags) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk; `make bench` does this)")
	}
	// The stack's own (idle) daemon reports the image; the seed server goes to a second node
	// that never runs a daemon, so its job only waits in the queue until it is cleared.
	s, done, err := startStack(ctx, env, bin, driver, false)
	if err != nil {
		return err
	}
	defer done()
	if err := seedList(ctx, env, s, driver, f.servers, ""); err != nil {
		return err
	}
	var list api.List[api.Server]
	r, err := s.Do(ctx, http.MethodGet, "/api/v1/servers", s.AdminToken, nil)
	if err != nil {
		return err
	}
	if err := r.Decode(&list); err != nil {
		return err
	}
	if list.Total != int64(f.servers) {
		return fmt.Errorf("seeded %d servers, list total %d", f.servers, list.Total)
	}
	fmt.Printf("\n== GET /api/v1/servers on %s (%d servers, admin token, per_page=%d, wrk -t2 -c%d -d%s)\n",
		driver, list.Total, list.PerPage, f.connections, f.duration)
	for _, path := range []string{"/api/v1/servers", "/api/v1/servers?per_page=100"} {
		// Warm up (connection pools, prepared statements, caches); not reported.
		warm := f
		warm.duration = 2 * time.Second
		if _, _, _, err := runWrk(ctx, s.URL+path, s.AdminToken, warm); err != nil {
			return err
		}
		rps, p50, p99, err := runWrk(ctx, s.URL+path, s.AdminToken, f)
		if err != nil {
			return err
		}
		fmt.Printf("  %-32s %9.0f req/s  p50 %-9s p99 %s\n", path, rps, p50, p99)
	}
	return nil
}

// seedList puts n servers into the stack's database: one created through the API on a second
// node that never runs a daemon (its job cleared from the queue), then copies of its row, so
// the list reads exactly what the panel writes. A non-empty owner (a user id) owns them all;
// otherwise the admin does.
func seedList(ctx context.Context, env stack.Env, s *stack.Stack, driver string, n int, owner string) error {
	nodeID, _, err := s.CreateNode(ctx, "bench-"+stack.RandomSuffix(6))
	if err != nil {
		return err
	}
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/servers", s.AdminToken, api.CreateServerRequest{
		Name: "seed", Image: env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256, NodeID: nodeID,
	})
	if err != nil {
		return err
	}
	if r.Status != http.StatusAccepted {
		return fmt.Errorf("seed create: %d %s", r.Status, r.Body)
	}
	var acc api.ServerAccepted
	if err := r.Decode(&acc); err != nil {
		return err
	}
	if err := clearQueue(env, nodeID); err != nil {
		return err
	}
	return seedServers(ctx, driver, s.DatabaseDSN, acc.Server.ID, n-1, owner)
}

func clearQueue(env stack.Env, nodeID string) error {
	opt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		return err
	}
	in := asynq.NewInspector(opt)
	defer in.Close()
	if err := in.DeleteQueue(jobs.Queue(nodeID), true); err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("clear bench queue: %w", err)
	}
	return nil
}

func seedServers(ctx context.Context, driver, dsn, templateID string, n int, owner string) error {
	var dial gorm.Dialector
	if driver == "postgres" {
		dial = postgres.Open(dsn)
	} else {
		dial = sqlite.Open(dsn + "?_pragma=busy_timeout(10000)")
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return fmt.Errorf("open %s: %w", driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if owner != "" {
		if err := db.WithContext(ctx).Table("servers").Where("id = ?", templateID).Update("owner_id", owner).Error; err != nil {
			return fmt.Errorf("give the template server to %s: %w", owner, err)
		}
	}
	row := map[string]any{}
	if err := db.WithContext(ctx).Table("servers").Where("id = ?", templateID).Take(&row).Error; err != nil {
		return fmt.Errorf("read template server: %w", err)
	}
	batch := make([]map[string]any, 0, 200)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := db.WithContext(ctx).Table("servers").Create(&batch).Error
		batch = batch[:0]
		return err
	}
	for i := 0; i < n; i++ {
		id := uuid.NewString()
		r := make(map[string]any, len(row))
		for k, v := range row {
			r[k] = v
		}
		r["id"] = id
		r["name"] = fmt.Sprintf("seed-%05d", i)
		r["incus_name"] = fmt.Sprintf("seed-%05d-%s", i, id[:8])
		r["status"] = api.StatusRunning
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return fmt.Errorf("seed servers: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("seed servers: %w", err)
	}
	// Measure the steady state autovacuum reaches within a minute of a bulk insert: fresh
	// statistics, and on PostgreSQL a visibility map that allows index-only counts.
	maint := "ANALYZE"
	if driver == "postgres" {
		maint = "VACUUM ANALYZE servers"
	}
	if err := db.WithContext(ctx).Exec(maint).Error; err != nil {
		return fmt.Errorf("%s: %w", maint, err)
	}
	slog.Debug("seeded", "servers", n+1)
	return nil
}

var (
	rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctLine = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func runWrk(ctx context.Context, url, token string, f flags) (rps float64, p50, p99 time.Duration, err error) {
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c"+strconv.Itoa(f.connections), "-d"+f.duration.String(),
		"--latency", "-H", "Authorization: Bearer "+token, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "Non-2xx") {
		return 0, 0, 0, fmt.Errorf("wrk saw non-2xx answers:\n%s", text)
	}
	m := rpsLine.FindStringSubmatch(text)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("no Requests/sec in wrk output:\n%s", text)
	}
	rps, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range pctLine.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[pm[3]]
		d := time.Duration(v * float64(unit))
		if pm[1] == "50" {
			p50 = d
		} else {
			p99 = d
		}
	}
	return rps, p50, p99, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
