package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// fixture is a migrated database with a customer and two nodes.
type fixture struct {
	t           testing.TB
	db          *store.DB
	s           *Service
	owner       string
	node, other string
}

func newFixture(t testing.TB, tdb testenv.Database, opt Options) *fixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, tdb.Driver, tdb.DSN, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := store.Now()
	f := &fixture{t: t, db: db, s: New(db, opt, log), owner: uuid.NewString()}
	u := store.User{ID: f.owner, Email: "m-" + testenv.Random(8) + "@example.com", PasswordHash: "x", Role: api.RoleCustomer,
		CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	f.node = f.addNode("n-"+testenv.Random(6), api.NodeOnline, `["busybox"]`)
	f.other = f.addNode("n-"+testenv.Random(6), api.NodeOnline, `["busybox"]`)
	return f
}

func (f *fixture) addNode(name, status, images string) string {
	f.t.Helper()
	now := store.Now()
	n := store.Node{ID: uuid.NewString(), Name: name, Status: status, Images: images, JobTypes: "[]", CreatedAt: now, UpdatedAt: now}
	if err := f.db.Create(&n).Error; err != nil {
		f.t.Fatal(err)
	}
	return n.ID
}

// server creates a live server on nodeID.
func (f *fixture) server(nodeID string) string {
	f.t.Helper()
	now := store.Now()
	id := uuid.NewString()
	srv := store.Server{ID: id, OwnerID: f.owner, NodeID: nodeID, Name: "s-" + id[:8], IncusName: "s-" + id, Type: api.TypeContainer,
		Image: "busybox", CPU: 2, MemoryMiB: 512, DiskMiB: 1024, Status: api.StatusRunning, CreatedAt: now, UpdatedAt: now}
	if err := f.db.Create(&srv).Error; err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) serverRow(id string) store.Server {
	f.t.Helper()
	var srv store.Server
	if err := f.db.Where("id = ?", id).Take(&srv).Error; err != nil {
		f.t.Fatal(err)
	}
	return srv
}

// record sends a heartbeat of nodeID carrying instances at at through Record, in a
// transaction as the node service does.
func (f *fixture) record(nodeID string, at time.Time, instances ...dapi.InstanceState) {
	f.t.Helper()
	err := f.db.Transaction(func(tx *gorm.DB) error {
		return f.s.Record(context.Background(), tx, nodeID, at, dapi.Heartbeat{Instances: instances})
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func inst(id string, u dapi.Usage) dapi.InstanceState {
	return dapi.InstanceState{InstanceID: id, State: dapi.StateRunning, Usage: u}
}

// samples returns every raw row, by server and time.
func (f *fixture) samples() []sampleRow {
	f.t.Helper()
	var rows []sampleRow
	if err := f.db.Raw("SELECT " + sampleColumns + " FROM server_metrics ORDER BY server_id, at").Scan(&rows).Error; err != nil {
		f.t.Fatal(err)
	}
	return rows
}

// hourly returns every hourly row, by server and hour.
func (f *fixture) hourly() []hourlyRow {
	f.t.Helper()
	var rows []hourlyRow
	if err := f.db.Raw("SELECT " + hourlyColumns + " FROM server_metrics_hourly ORDER BY server_id, hour").Scan(&rows).Error; err != nil {
		f.t.Fatal(err)
	}
	return rows
}

func TestRecordHonoursInterval(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		f := newFixture(t, tdb, Options{Interval: time.Minute, RawRetention: 48 * time.Hour, HourlyRetention: 720 * time.Hour,
			HeartbeatInterval: 10 * time.Second})
		a, b := f.server(f.node), f.server(f.node)
		elsewhere := f.server(f.other)
		deleted := f.server(f.node)
		if err := f.db.Model(&store.Server{}).Where("id = ?", deleted).Update("deleted_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		u := func(n int64) dapi.Usage {
			return dapi.Usage{CPUNanoseconds: n * 1e9, MemoryBytes: n << 20, DiskBytes: n << 21, NetRxBytes: n * 100, NetTxBytes: n * 10}
		}
		type rec struct {
			id string
			at time.Duration
			n  int64
		}
		var want []rec
		for _, step := range []struct {
			name      string
			at        time.Duration
			instances []dapi.InstanceState
			recorded  map[string]int64 // server → usage n recorded at this step
		}{
			{
				name: "first heartbeat: live servers of this node only, first of duplicates",
				at:   0,
				instances: []dapi.InstanceState{inst(a, u(1)), inst(b, u(2)), inst(a, u(99)), inst(elsewhere, u(3)), inst(deleted, u(4)),
					inst(uuid.NewString(), u(5)), inst("not-a-uuid", u(6))},
				recorded: map[string]int64{a: 1, b: 2},
			},
			{name: "30 s later: within the interval", at: 30 * time.Second,
				instances: []dapi.InstanceState{inst(a, u(7)), inst(b, u(7))}, recorded: map[string]int64{}},
			{name: "59.999 s later: still within", at: time.Minute - time.Millisecond,
				instances: []dapi.InstanceState{inst(a, u(8)), inst(b, u(8))}, recorded: map[string]int64{}},
			{name: "a full interval later", at: time.Minute,
				instances: []dapi.InstanceState{inst(a, u(9))}, recorded: map[string]int64{a: 9}},
			{name: "b's latest sample is older: it is recorded, a is not", at: 90 * time.Second,
				instances: []dapi.InstanceState{inst(a, u(10)), inst(b, u(10))}, recorded: map[string]int64{b: 10}},
			{name: "the other node reports its own server", at: 100 * time.Second,
				instances: []dapi.InstanceState{inst(elsewhere, u(11))}, recorded: map[string]int64{elsewhere: 11}},
		} {
			node := f.node
			if step.name == "the other node reports its own server" {
				node = f.other
			}
			f.record(node, t0.Add(step.at), step.instances...)
			for id, n := range step.recorded {
				want = append(want, rec{id, step.at, n})
			}
			sort.Slice(want, func(i, j int) bool {
				if want[i].id != want[j].id {
					return want[i].id < want[j].id
				}
				return want[i].at < want[j].at
			})
			got := f.samples()
			if len(got) != len(want) {
				t.Fatalf("%s: %d samples %+v, want %d %+v", step.name, len(got), got, len(want), want)
			}
			for i, w := range want {
				uw := u(w.n)
				exp := sampleRow{ServerID: w.id, At: t0.Add(w.at).UnixMilli(), CPUNs: uw.CPUNanoseconds, MemoryBytes: uw.MemoryBytes,
					DiskBytes: uw.DiskBytes, NetRxBytes: uw.NetRxBytes, NetTxBytes: uw.NetTxBytes}
				if got[i] != exp {
					t.Fatalf("%s: sample %d = %+v, want %+v", step.name, i, got[i], exp)
				}
			}
		}
		// Nonsense from a node: negative usage is stored as 0.
		c := f.server(f.node)
		f.record(f.node, t0, inst(c, dapi.Usage{CPUNanoseconds: -1, MemoryBytes: -5, DiskBytes: 7, NetRxBytes: -3, NetTxBytes: 2}))
		var row sampleRow
		if err := f.db.Raw("SELECT "+sampleColumns+" FROM server_metrics WHERE server_id = ?", c).Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row != (sampleRow{ServerID: c, At: t0.UnixMilli(), DiskBytes: 7, NetTxBytes: 2}) {
			t.Fatalf("clamped sample = %+v", row)
		}
	})
}

// steady records samples of srv every 10 s from start for n samples: half a core busy,
// 1000 B/s received and 100 B/s sent, 100 MiB of memory, 1 GiB of disk; at resetAt (> 0)
// the counters start again from zero (the instance restarted).
func (f *fixture) steady(srv string, start time.Time, n, resetAt int) []Sample {
	f.t.Helper()
	var out []Sample
	var base int
	for i := range n {
		if resetAt > 0 && i == resetAt {
			base = i
		}
		k := int64(i - base)
		s := Sample{At: start.Add(time.Duration(i) * 10 * time.Second), CPUNs: k * 5e9, MemoryBytes: 100 << 20, DiskBytes: 1 << 30,
			NetRxBytes: k * 10000, NetTxBytes: k * 1000}
		f.record(f.node, s.At, inst(srv, dapi.Usage{CPUNanoseconds: s.CPUNs, MemoryBytes: s.MemoryBytes, DiskBytes: s.DiskBytes,
			NetRxBytes: s.NetRxBytes, NetTxBytes: s.NetTxBytes}))
		out = append(out, s)
	}
	return out
}

func TestSeries(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		f := newFixture(t, tdb, Options{Interval: 10 * time.Second, RawRetention: 48 * time.Hour, HourlyRetention: 720 * time.Hour,
			HeartbeatInterval: 10 * time.Second})
		srv := f.server(f.node)
		// 09:10:00 … 10:00:00 every 10 s; the counters reset at 09:35:00.
		f.steady(srv, t0.Add(-50*time.Minute), 301, 150)
		row := f.serverRow(srv)

		r, _ := ParseRange("1h")
		m, err := f.s.Series(ctx, row, r, t0)
		if err != nil {
			t.Fatal(err)
		}
		if m.ServerID != srv || m.Range != "1h" || m.StepSeconds != 10 || !m.From.Equal(t0.Add(-time.Hour)) || !m.To.Equal(t0) ||
			m.CPUs != 2 || m.MemoryLimitBytes != 512<<20 || m.DiskLimitBytes != 1024<<20 {
			t.Fatalf("series header %+v", m)
		}
		if len(m.Points) != 301 {
			t.Fatalf("%d points, want 301", len(m.Points))
		}
		for i, p := range m.Points {
			if !p.At.Equal(t0.Add(-50*time.Minute + time.Duration(i)*10*time.Second)) {
				t.Fatalf("point %d at %s", i, p.At)
			}
			want := api.MetricPoint{At: p.At, CPUPercent: 50, MemoryBytes: 100 << 20, DiskBytes: 1 << 30, NetRxBps: 1000, NetTxBps: 100}
			if i == 0 || i == 150 { // the first sample, and the one after the reset: no rate
				want.CPUPercent, want.NetRxBps, want.NetTxBps = 0, 0, 0
			}
			if p.MemoryBytes != want.MemoryBytes || p.DiskBytes != want.DiskBytes || !near(p.CPUPercent, want.CPUPercent) ||
				!near(p.NetRxBps, want.NetRxBps) || !near(p.NetTxBps, want.NetTxBps) {
				t.Fatalf("point %d = %+v, want %+v", i, p, want)
			}
		}

		// 24h: 240 s buckets of 24 samples; the one holding the reset averages the rest.
		r, _ = ParseRange("24h")
		m, err = f.s.Series(ctx, row, r, t0)
		if err != nil {
			t.Fatal(err)
		}
		if m.StepSeconds != 240 || len(m.Points) != 14 {
			t.Fatalf("24h: step %d, %d points", m.StepSeconds, len(m.Points))
		}
		for _, p := range m.Points {
			if p.CPUPercent < 0 || p.CPUPercent > 50+1e-9 || p.NetRxBps < 0 || p.NetRxBps > 1000+1e-9 {
				t.Fatalf("24h point %+v out of bounds", p)
			}
			if p.At.Unix()%240 != 0 {
				t.Fatalf("24h point at %s is not on a bucket boundary", p.At)
			}
		}

		// 7d before any compaction: hourly buckets computed from the raw samples.
		r, _ = ParseRange("7d")
		before, err := f.s.Series(ctx, row, r, t0.Add(6*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if before.StepSeconds != 3600 || len(before.Points) != 2 || !before.Points[0].At.Equal(t0.Add(-time.Hour)) ||
			!before.Points[1].At.Equal(t0) {
			t.Fatalf("7d from raw: %+v", before)
		}
		// After it: the finished hour from its hourly row, the current one from raw samples;
		// the same answer.
		res, err := f.s.Compact(ctx, t0.Add(6*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if res.Hours != 1 || res.HourlyRows != 1 {
			t.Fatalf("compaction %+v", res)
		}
		after, err := f.s.Series(ctx, row, r, t0.Add(6*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Points) != 2 {
			t.Fatalf("7d after compaction: %+v", after.Points)
		}
		for i := range after.Points {
			a, b := after.Points[i], before.Points[i]
			if !a.At.Equal(b.At) || a.MemoryBytes != b.MemoryBytes || a.DiskBytes != b.DiskBytes || !near(a.CPUPercent, b.CPUPercent) ||
				!near(a.NetRxBps, b.NetRxBps) || !near(a.NetTxBps, b.NetTxBps) {
				t.Fatalf("point %d: %+v from the hourly row, %+v from raw samples", i, a, b)
			}
		}
		if p := after.Points[0]; !near(p.CPUPercent, 50) || !near(p.NetRxBps, 1000) || !near(p.NetTxBps, 100) {
			t.Fatalf("09:00 hour %+v: the reset must not skew the averages", p)
		}

		// A server without history: points is [], not null.
		empty, err := f.s.Series(ctx, f.serverRow(f.server(f.node)), r, t0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(empty)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil || string(raw["points"]) != "[]" {
			t.Fatalf("empty series points = %s (%v)", raw["points"], err)
		}
	})
}

// mixed records two servers over three hours with uneven load, gaps and a reset.
func (f *fixture) mixed(a, b string) {
	f.t.Helper()
	start := t0.Add(-3 * time.Hour)
	var cpuA, cpuB, rx int64
	for i := range 180 {
		at := start.Add(time.Duration(i) * time.Minute)
		cpuA += int64(i%7) * 1e9
		cpuB += int64(i%3) * 3e9
		rx += int64(i * i)
		if i == 95 {
			cpuB = 0
		}
		ins := []dapi.InstanceState{inst(a, dapi.Usage{CPUNanoseconds: cpuA, MemoryBytes: int64(i%11) << 20, DiskBytes: int64(i) << 20,
			NetRxBytes: rx, NetTxBytes: rx / 3})}
		if i%13 != 0 { // b misses some heartbeats
			ins = append(ins, inst(b, dapi.Usage{CPUNanoseconds: cpuB, MemoryBytes: int64(i%5) << 20, DiskBytes: 1 << 30,
				NetRxBytes: rx * 2, NetTxBytes: rx}))
		}
		f.record(f.node, at, ins...)
	}
}

func TestCompactIdempotent(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		f := newFixture(t, tdb, Options{Interval: time.Minute, RawRetention: 48 * time.Hour, HourlyRetention: 720 * time.Hour,
			HeartbeatInterval: 10 * time.Second})
		a, b := f.server(f.node), f.server(f.node)
		f.mixed(a, b)
		now := t0.Add(Grace + time.Second)

		first, err := f.s.Compact(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if first.Hours != 3 || first.HourlyRows != 6 {
			t.Fatalf("first compaction %+v, want 3 hours and 6 rows", first)
		}
		want := f.hourly()
		// The rows are the raw samples' hourly buckets.
		samples := map[string][]Sample{}
		for _, r := range f.samples() {
			samples[r.ServerID] = append(samples[r.ServerID], r.sample())
		}
		for _, h := range want {
			var found bool
			for _, bk := range Bucketize(samples[h.ServerID], time.UnixMilli(h.Hour), time.Hour, f.s.MaxGap()) {
				if bk.Start.Equal(time.UnixMilli(h.Hour)) {
					found = true
					if !near(bk.CPUPercent, h.CPUPercent) || bk.MemoryMax != h.MemoryMaxBytes || bk.Samples != h.Samples {
						t.Fatalf("hourly row %+v, bucket %+v", h, bk)
					}
				}
			}
			if !found {
				t.Fatalf("hourly row %+v has no bucket", h)
			}
		}

		// Again: nothing to do, same rows.
		second, err := f.s.Compact(ctx, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if second != (CompactResult{}) {
			t.Fatalf("second compaction %+v, want nothing", second)
		}
		if got := f.hourly(); !reflect.DeepEqual(got, want) {
			t.Fatalf("rows after a second compaction:\n%+v\nwant\n%+v", got, want)
		}

		// Two panel processes at once, from scratch: the same rows.
		if err := f.db.Exec("DELETE FROM server_metrics_hourly").Error; err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.s.Compact(ctx, now)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := f.hourly(); !reflect.DeepEqual(got, want) {
			t.Fatalf("rows after concurrent compactions:\n%+v\nwant\n%+v", got, want)
		}
		// An hour with rows is not rolled up again; the upsert rewrites what a compaction
		// that raced with another computes again, with the same values.
		if err := f.db.Transaction(func(tx *gorm.DB) error { return upsertHourly(tx, want) }); err != nil {
			t.Fatal(err)
		}
		if got := f.hourly(); !reflect.DeepEqual(got, want) {
			t.Fatalf("rows after an upsert of the same rows:\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestCompactRetention(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		f := newFixture(t, tdb, Options{Interval: time.Minute, RawRetention: 3 * time.Hour, HourlyRetention: 24 * time.Hour,
			HeartbeatInterval: 10 * time.Second})
		keep, gone, dropped := f.server(f.node), f.server(f.node), f.server(f.node)
		now := t0.Add(30 * time.Minute)
		// Samples every 10 minutes from 5 h ago.
		for i := range 31 {
			at := now.Add(-5*time.Hour + time.Duration(i)*10*time.Minute)
			u := dapi.Usage{CPUNanoseconds: int64(i) * 60e9, MemoryBytes: 1 << 20, DiskBytes: 1 << 20}
			f.record(f.node, at, inst(keep, u), inst(gone, u), inst(dropped, u))
		}
		// Hourly rows from older compactions: two days and 23 hours ago.
		for _, srv := range []string{keep, gone, dropped} {
			for _, age := range []time.Duration{48 * time.Hour, 23 * time.Hour} {
				h := now.Add(-age).Truncate(time.Hour).UnixMilli()
				if err := f.db.Exec("INSERT INTO server_metrics_hourly ("+hourlyColumns+") VALUES (?, ?, 1, 1, 1, 1, 0, 0, 6)", srv, h).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		res, err := f.s.Compact(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		// Raw samples older than 3 h go; the hours whose samples are all kept are rolled up
		// (08:00 and 09:00 UTC; 10:00 is not finished).
		cut := now.Add(-3 * time.Hour).UnixMilli()
		perServer := map[string]int{}
		for _, r := range f.samples() {
			if r.At < cut {
				t.Fatalf("sample %+v is older than the raw retention", r)
			}
			perServer[r.ServerID]++
		}
		if perServer[keep] != 19 || res.RawDeleted != 3*12 {
			t.Fatalf("kept %v samples, deleted %d", perServer, res.RawDeleted)
		}
		hours := map[int64]int{}
		for _, h := range f.hourly() {
			if h.Hour < now.Add(-24*time.Hour).UnixMilli() {
				t.Fatalf("hourly row %+v is older than the hourly retention", h)
			}
			hours[h.Hour]++
		}
		want := map[int64]int{now.Add(-23 * time.Hour).Truncate(time.Hour).UnixMilli(): 3,
			t0.Add(-2 * time.Hour).UnixMilli(): 3, t0.Add(-time.Hour).UnixMilli(): 3}
		if !reflect.DeepEqual(hours, want) || res.HourlyDeleted != 3 || res.Hours != 2 {
			t.Fatalf("hourly rows per hour %v, want %v; %+v", hours, want, res)
		}

		// A deleted server's history goes with the next compaction; a server removed from the
		// table takes it along at once.
		if err := f.db.Model(&store.Server{}).Where("id = ?", gone).Update("deleted_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		if err := f.db.Exec("DELETE FROM servers WHERE id = ?", dropped).Error; err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"server_metrics", "server_metrics_hourly"} {
			var n int64
			if err := f.db.Table(table).Where("server_id = ?", dropped).Count(&n).Error; err != nil || n != 0 {
				t.Fatalf("%s keeps %d rows of a removed server (%v)", table, n, err)
			}
		}
		res, err = f.s.Compact(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.RawDeleted != 19 || res.HourlyDeleted != 3 {
			t.Fatalf("compaction after the deletion %+v", res)
		}
		for _, r := range f.samples() {
			if r.ServerID != keep {
				t.Fatalf("sample of a deleted server left: %+v", r)
			}
		}
		for _, h := range f.hourly() {
			if h.ServerID != keep {
				t.Fatalf("hourly row of a deleted server left: %+v", h)
			}
		}
	})
}

func TestImages(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		f := newFixture(t, tdb, Options{Interval: time.Minute})
		// f.node and f.other are online with busybox.
		deb := f.addNode("deb-"+testenv.Random(4), api.NodeOnline, `["debian-12","busybox","debian-12"]`)
		off := f.addNode("off-"+testenv.Random(4), api.NodeOffline, `["alpine"]`)
		f.addNode("bad-"+testenv.Random(4), api.NodeOnline, `not json`)
		pending := f.addNode("new-"+testenv.Random(4), api.NodePending, `["alpine"]`)
		for _, tc := range []struct {
			name  string
			nodes []string
			want  []api.Image
		}{
			{"every online node", nil, []api.Image{{Alias: "busybox", Nodes: 3}, {Alias: "debian-12", Nodes: 1}}},
			{"a plan's nodes", []string{deb, off}, []api.Image{{Alias: "busybox", Nodes: 1}, {Alias: "debian-12", Nodes: 1}}},
			{"one node", []string{f.other}, []api.Image{{Alias: "busybox", Nodes: 1}}},
			{"nodes that are not online", []string{off, pending}, []api.Image{}},
		} {
			got, err := f.s.Images(ctx, tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %#v, want %#v", tc.name, got, tc.want)
			}
		}
	})
}

// BenchmarkRecordHeartbeat measures what metrics add to a heartbeat of 1,000 instances on
// SQLite: Record alone when every server is due for a sample (insert) and when none is
// (skip), and the node service's whole heartbeat without and with it.
func BenchmarkRecordHeartbeat(b *testing.B) {
	f := newFixture(b, testenv.SQLite(b), Options{Interval: time.Minute, RawRetention: 48 * time.Hour, HourlyRetention: 720 * time.Hour,
		HeartbeatInterval: 10 * time.Second})
	hb := dapi.Heartbeat{}
	for i := range 1000 {
		hb.Instances = append(hb.Instances, inst(f.server(f.node), dapi.Usage{CPUNanoseconds: int64(i) * 1e9, MemoryBytes: 1 << 28,
			DiskBytes: 1 << 30, NetRxBytes: int64(i) << 10, NetTxBytes: int64(i) << 8}))
	}
	ctx := context.Background()
	run := func(b *testing.B, at func(i int) time.Time) {
		for i := 0; b.Loop(); i++ {
			err := f.db.Transaction(func(tx *gorm.DB) error { return f.s.Record(ctx, tx, f.node, at(i), hb) })
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	base := time.Now().Add(-24 * time.Hour)
	b.Run("insert", func(b *testing.B) {
		run(b, func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) })
		if n := len(f.samples()); n < 1000 {
			b.Fatalf("%d samples", n)
		}
	})
	b.Run("skip", func(b *testing.B) {
		last := base.Add(1000 * 24 * time.Hour) // after every sample "insert" wrote
		f.record(f.node, last, hb.Instances...)
		before := len(f.samples())
		run(b, func(i int) time.Time { return last.Add(time.Duration(i%50+1) * time.Millisecond) })
		if n := len(f.samples()); n != before {
			b.Fatalf("skip recorded %d samples", n-before)
		}
	})
	// The whole heartbeat (node row, 1,000 server rows), without and with a sample of every
	// server each time.
	for _, withMetrics := range []bool{false, true} {
		name := "heartbeat-without-metrics"
		nodes := node.New(f.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if withMetrics {
			name = "heartbeat-with-metrics"
			every := New(f.db, Options{Interval: time.Millisecond, HeartbeatInterval: time.Millisecond}, nil)
			nodes.OnHeartbeat(every.Record)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := nodes.Heartbeat(ctx, f.node, hb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Example of the JSON a portal reads.
func ExampleService_Series() {
	b, _ := json.Marshal(api.ServerMetrics{ServerID: "s", Range: "1h", StepSeconds: 10, Points: []api.MetricPoint{}})
	fmt.Println(string(b))
	// Output: {"server_id":"s","range":"1h","step_seconds":10,"from":"0001-01-01T00:00:00Z","to":"0001-01-01T00:00:00Z","cpus":0,"memory_limit_bytes":0,"disk_limit_bytes":0,"points":[]}
}
