package metrics

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
)

var t0 = time.Date(2030, 5, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestRateBetween(t *testing.T) {
	base := Sample{At: t0, CPUNs: 10e9, NetRxBytes: 1000, NetTxBytes: 5000}
	for _, tc := range []struct {
		name string
		cur  Sample
		gap  time.Duration
		want Rate
	}{
		{"half a core and traffic", Sample{At: at(10 * time.Second), CPUNs: 15e9, NetRxBytes: 11000, NetTxBytes: 5500}, 0,
			Rate{CPUPercent: 50, NetRxBps: 1000, NetTxBps: 50, HasCPU: true, HasRx: true, HasTx: true}},
		{"four cores busy reads 400", Sample{At: at(10 * time.Second), CPUNs: 50e9, NetRxBytes: 1000, NetTxBytes: 5000}, 0,
			Rate{CPUPercent: 400, HasCPU: true, HasRx: true, HasTx: true}},
		{"idle", Sample{At: at(time.Minute), CPUNs: 10e9, NetRxBytes: 1000, NetTxBytes: 5000}, 0,
			Rate{HasCPU: true, HasRx: true, HasTx: true}},
		{"restart resets every counter: no rate", Sample{At: at(10 * time.Second), CPUNs: 1e9, NetRxBytes: 10, NetTxBytes: 10}, 0,
			Rate{}},
		{"only the network counters reset", Sample{At: at(10 * time.Second), CPUNs: 11e9, NetRxBytes: 0, NetTxBytes: 6000}, 0,
			Rate{CPUPercent: 10, NetTxBps: 100, HasCPU: true, HasTx: true}},
		{"same instant", Sample{At: t0, CPUNs: 20e9}, 0, Rate{}},
		{"out of order", Sample{At: at(-10 * time.Second), CPUNs: 20e9}, 0, Rate{}},
		{"within the gap limit", Sample{At: at(5 * time.Minute), CPUNs: 40e9, NetRxBytes: 1000, NetTxBytes: 5000}, 5 * time.Minute,
			Rate{CPUPercent: 10, HasCPU: true, HasRx: true, HasTx: true}},
		{"beyond the gap limit: data missing", Sample{At: at(5*time.Minute + time.Millisecond), CPUNs: 40e9}, 5 * time.Minute, Rate{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RateBetween(base, tc.cur, tc.gap)
			if got.HasCPU != tc.want.HasCPU || got.HasRx != tc.want.HasRx || got.HasTx != tc.want.HasTx ||
				!near(got.CPUPercent, tc.want.CPUPercent) || !near(got.NetRxBps, tc.want.NetRxBps) || !near(got.NetTxBps, tc.want.NetTxBps) {
				t.Fatalf("RateBetween = %+v, want %+v", got, tc.want)
			}
			if got.CPUPercent < 0 || got.NetRxBps < 0 || got.NetTxBps < 0 {
				t.Fatalf("negative rate %+v", got)
			}
		})
	}
}

func TestBucketize(t *testing.T) {
	s := func(d time.Duration, cpuS float64, mem, rx int64) Sample {
		return Sample{At: at(d), CPUNs: int64(cpuS * 1e9), MemoryBytes: mem, DiskBytes: 2 * mem, NetRxBytes: rx, NetTxBytes: rx / 2}
	}
	for _, tc := range []struct {
		name    string
		samples []Sample
		from    time.Time
		step    time.Duration
		gap     time.Duration
		want    []Bucket
	}{
		{name: "no samples", from: t0, step: time.Minute, want: []Bucket{}},
		{
			name:    "one sample: gauges, no rate",
			samples: []Sample{s(10*time.Second, 5, 100, 0)},
			from:    t0, step: time.Minute,
			want: []Bucket{{Start: t0, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1}},
		},
		{
			name: "rates are time-weighted within a bucket",
			// 0→10 s: 1 core busy; 10→40 s: idle. Bucket [0, 60): 10 s of CPU over 40 s = 25 %.
			samples: []Sample{s(0, 0, 100, 0), s(10*time.Second, 10, 300, 1000), s(40*time.Second, 10, 200, 4000)},
			from:    t0, step: time.Minute,
			want: []Bucket{{Start: t0, CPUPercent: 25, NetRxBps: 100, NetTxBps: 50, MemoryAvg: 200, MemoryMax: 300, DiskAvg: 400, Samples: 3}},
		},
		{
			name: "an interval belongs to the bucket of its later sample; empty buckets are left out",
			samples: []Sample{s(50*time.Second, 0, 100, 0), s(70*time.Second, 10, 100, 2000),
				s(190*time.Second, 22, 100, 2000)},
			from: t0, step: time.Minute,
			want: []Bucket{
				{Start: t0, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1},
				{Start: at(time.Minute), CPUPercent: 50, NetRxBps: 100, NetTxBps: 50, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1},
				{Start: at(3 * time.Minute), CPUPercent: 10, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1},
			},
		},
		{
			name: "a counter reset adds no rate, the next interval does",
			samples: []Sample{s(0, 100, 100, 9000), s(20*time.Second, 2, 100, 100),
				s(40*time.Second, 12, 100, 2100)},
			from: t0, step: time.Minute,
			want: []Bucket{{Start: t0, CPUPercent: 50, NetRxBps: 100, NetTxBps: 50, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 3}},
		},
		{
			name:    "a sample before from is only the first one's predecessor",
			samples: []Sample{s(-30*time.Second, 0, 999, 0), s(30*time.Second, 30, 100, 6000)},
			from:    t0, step: time.Minute,
			want: []Bucket{{Start: t0, CPUPercent: 50, NetRxBps: 100, NetTxBps: 50, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1}},
		},
		{
			name:    "intervals longer than the gap limit add no rate",
			samples: []Sample{s(0, 0, 100, 0), s(10*time.Minute, 600, 100, 6000)},
			from:    t0, step: time.Minute, gap: 5 * time.Minute,
			want: []Bucket{
				{Start: t0, MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1},
				{Start: at(10 * time.Minute), MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1},
			},
		},
		{
			name:    "buckets are aligned on the epoch, not on from",
			samples: []Sample{s(90*time.Second, 0, 100, 0)},
			from:    at(75 * time.Second), step: time.Minute,
			want: []Bucket{{Start: at(time.Minute), MemoryAvg: 100, MemoryMax: 100, DiskAvg: 200, Samples: 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Bucketize(tc.samples, tc.from, tc.step, tc.gap)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d buckets %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if !g.Start.Equal(w.Start) || g.Samples != w.Samples || g.MemoryMax != w.MemoryMax ||
					!near(g.CPUPercent, w.CPUPercent) || !near(g.NetRxBps, w.NetRxBps) || !near(g.NetTxBps, w.NetTxBps) ||
					!near(g.MemoryAvg, w.MemoryAvg) || !near(g.DiskAvg, w.DiskAvg) {
					t.Errorf("bucket %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		span, interval time.Duration
		want           time.Duration
	}{
		{time.Hour, 2 * time.Second, 10 * time.Second},
		{time.Hour, time.Minute, time.Minute},
		{6 * time.Hour, 2 * time.Second, time.Minute},
		{24 * time.Hour, time.Minute, 4 * time.Minute},
		{time.Hour, 1500 * time.Millisecond, 10 * time.Second},
		{time.Hour, 12500 * time.Millisecond, 13 * time.Second},
	} {
		if got := Step(tc.span, tc.interval, MaxPoints); got != tc.want {
			t.Errorf("Step(%s, %s) = %s, want %s", tc.span, tc.interval, got, tc.want)
		}
		if n := tc.span / Step(tc.span, tc.interval, MaxPoints); n > MaxPoints {
			t.Errorf("Step(%s, %s) gives %d points", tc.span, tc.interval, n)
		}
	}
}

func TestParseRange(t *testing.T) {
	s := New(nil, Options{Interval: time.Minute}, nil)
	for _, tc := range []struct {
		in     string
		name   string
		hourly bool
		step   time.Duration
	}{
		{"", api.MetricRange1h, false, time.Minute},
		{"1h", api.MetricRange1h, false, time.Minute},
		{"6h", api.MetricRange6h, false, time.Minute},
		{"24h", api.MetricRange24h, false, 4 * time.Minute},
		{"7d", api.MetricRange7d, true, time.Hour},
		{"30d", api.MetricRange30d, true, time.Hour},
	} {
		r, err := ParseRange(tc.in)
		if err != nil || r.Name != tc.name || r.Hourly != tc.hourly || s.Step(r) != tc.step {
			t.Errorf("ParseRange(%q) = %+v (step %s), %v", tc.in, r, s.Step(r), err)
		}
	}
	for _, bad := range []string{"2h", "1H", "1d", "60m", "7d ", "all", "-1h"} {
		_, err := ParseRange(bad)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != api.CodeValidation || ae.Fields["range"] == "" {
			t.Errorf("ParseRange(%q) = %v, want a validation error on range", bad, err)
		}
	}
}

func TestMaxGap(t *testing.T) {
	for _, tc := range []struct {
		interval, heartbeat, want time.Duration
	}{
		{time.Minute, 10 * time.Second, 5 * time.Minute},
		{2 * time.Second, 10 * time.Second, 50 * time.Second},
		{2 * time.Second, time.Second, 10 * time.Second},
		{0, 0, 5 * time.Second},
		{10 * time.Minute, 30 * time.Minute, time.Hour},
	} {
		s := New(nil, Options{Interval: tc.interval, HeartbeatInterval: tc.heartbeat}, nil)
		if got := s.MaxGap(); got != tc.want {
			t.Errorf("MaxGap(interval %s, heartbeat %s) = %s, want %s", tc.interval, tc.heartbeat, got, tc.want)
		}
	}
}
