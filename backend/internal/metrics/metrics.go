// Package metrics keeps the servers' usage history, as Proxmox keeps RRD graphs: raw samples
// taken from the nodes' heartbeats (at most one per server per interval), rolled up into
// hourly rows by a compaction job that also applies the retentions, and read back as chart
// series with CPU and network rates computed from the cumulative counters. It also reports the
// images the online nodes offer.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// MaxPoints bounds the points of a range drawn from raw samples.
const MaxPoints = 360

// CompactEvery is how often Run compacts.
const CompactEvery = 5 * time.Minute

// Options are the service's settings (config.Metrics and the nodes' heartbeat interval).
type Options struct {
	// Interval is the least time between two recorded samples of a server.
	Interval time.Duration
	// RawRetention and HourlyRetention are how long raw samples and hourly rows are kept.
	RawRetention, HourlyRetention time.Duration
	// HeartbeatInterval is how often nodes report: samples are at most this much more than
	// Interval apart while data flows.
	HeartbeatInterval time.Duration
}

// Service records, compacts and reads the usage history.
type Service struct {
	db  *store.DB
	opt Options
	log *slog.Logger
}

// New returns a Service.
func New(db *store.DB, opt Options, log *slog.Logger) *Service {
	return &Service{db: db, opt: opt, log: log}
}

// MaxGap is the longest interval between two samples that still yields a rate: five times
// the time samples are normally apart, at most an hour. Longer ones mean data is missing (the
// node or the panel was down) and are drawn as gaps.
func (s *Service) MaxGap() time.Duration {
	return min(5*max(s.opt.Interval, s.opt.HeartbeatInterval, time.Second), time.Hour)
}

// Range is one chart range.
type Range struct {
	// Name is the api.MetricRange* value.
	Name string
	// Span is how far back it reaches.
	Span time.Duration
	// Hourly ranges are drawn from the hourly rollups.
	Hourly bool
}

var ranges = []Range{
	{Name: api.MetricRange1h, Span: time.Hour},
	{Name: api.MetricRange6h, Span: 6 * time.Hour},
	{Name: api.MetricRange24h, Span: 24 * time.Hour},
	{Name: api.MetricRange7d, Span: 7 * 24 * time.Hour, Hourly: true},
	{Name: api.MetricRange30d, Span: 30 * 24 * time.Hour, Hourly: true},
}

// ParseRange returns the range named name ("" is 1h); anything else is a validation error.
func ParseRange(name string) (Range, error) {
	if name == "" {
		name = api.MetricRange1h
	}
	for _, r := range ranges {
		if r.Name == name {
			return r, nil
		}
	}
	return Range{}, apierr.Validation(map[string]string{"range": "must be 1h, 6h, 24h, 7d or 30d"})
}

// Step is the bucket width of r: an hour for the hourly ranges, else Span/MaxPoints but no
// finer than the sampling interval, in whole seconds.
func (s *Service) Step(r Range) time.Duration {
	if r.Hourly {
		return time.Hour
	}
	return Step(r.Span, s.opt.Interval, MaxPoints)
}

// Series returns the usage history of srv (which the caller is allowed to see) over r,
// ending at now.
func (s *Service) Series(ctx context.Context, srv store.Server, r Range, now time.Time) (api.ServerMetrics, error) {
	now = now.UTC().Truncate(time.Millisecond)
	from := now.Add(-r.Span)
	step := s.Step(r)
	out := api.ServerMetrics{
		ServerID: srv.ID, Range: r.Name, StepSeconds: int(step / time.Second), From: from, To: now,
		CPUs: srv.CPU, MemoryLimitBytes: srv.MemoryMiB << 20, DiskLimitBytes: srv.DiskMiB << 20,
		Points: []api.MetricPoint{},
	}
	tail := from
	if r.Hourly {
		hours, err := s.hourlyRows(ctx, srv.ID, from.Truncate(time.Hour), now)
		if err != nil {
			return out, err
		}
		for _, h := range hours {
			out.Points = append(out.Points, point(h))
			tail = h.Start.Add(time.Hour)
		}
	}
	// The raw ranges, and the hours not rolled up yet of the hourly ones.
	samples, err := s.samples(ctx, srv.ID, tail.Add(-s.MaxGap()), now)
	if err != nil {
		return out, err
	}
	for _, b := range Bucketize(samples, tail, step, s.MaxGap()) {
		out.Points = append(out.Points, point(b))
	}
	return out, nil
}

func point(b Bucket) api.MetricPoint {
	return api.MetricPoint{At: b.Start, CPUPercent: b.CPUPercent, MemoryBytes: int64(math.Round(b.MemoryAvg)),
		DiskBytes: int64(math.Round(b.DiskAvg)), NetRxBps: b.NetRxBps, NetTxBps: b.NetTxBps}
}

// sampleRow is one row of server_metrics.
type sampleRow struct {
	ServerID    string `gorm:"column:server_id"`
	At          int64  `gorm:"column:at"`
	CPUNs       int64  `gorm:"column:cpu_ns"`
	MemoryBytes int64  `gorm:"column:memory_bytes"`
	DiskBytes   int64  `gorm:"column:disk_bytes"`
	NetRxBytes  int64  `gorm:"column:net_rx_bytes"`
	NetTxBytes  int64  `gorm:"column:net_tx_bytes"`
}

func (r sampleRow) sample() Sample {
	return Sample{At: time.UnixMilli(r.At).UTC(), CPUNs: r.CPUNs, MemoryBytes: r.MemoryBytes, DiskBytes: r.DiskBytes,
		NetRxBytes: r.NetRxBytes, NetTxBytes: r.NetTxBytes}
}

const sampleColumns = "server_id, at, cpu_ns, memory_bytes, disk_bytes, net_rx_bytes, net_tx_bytes"

// samples reads a server's raw samples in [from, to], ascending.
func (s *Service) samples(ctx context.Context, serverID string, from, to time.Time) ([]Sample, error) {
	var rows []sampleRow
	err := s.db.WithContext(ctx).Raw("SELECT "+sampleColumns+" FROM server_metrics WHERE server_id = ? AND at >= ? AND at <= ? ORDER BY at",
		serverID, from.UnixMilli(), to.UnixMilli()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	out := make([]Sample, len(rows))
	for i, r := range rows {
		out[i] = r.sample()
	}
	return out, nil
}

// hourlyRow is one row of server_metrics_hourly.
type hourlyRow struct {
	ServerID       string  `gorm:"column:server_id"`
	Hour           int64   `gorm:"column:hour"`
	CPUPercent     float64 `gorm:"column:cpu_percent"`
	MemoryAvgBytes int64   `gorm:"column:memory_avg_bytes"`
	MemoryMaxBytes int64   `gorm:"column:memory_max_bytes"`
	DiskAvgBytes   int64   `gorm:"column:disk_avg_bytes"`
	NetRxBps       float64 `gorm:"column:net_rx_bps"`
	NetTxBps       float64 `gorm:"column:net_tx_bps"`
	Samples        int     `gorm:"column:samples"`
}

const hourlyColumns = "server_id, hour, cpu_percent, memory_avg_bytes, memory_max_bytes, disk_avg_bytes, net_rx_bps, net_tx_bps, samples"

func (r hourlyRow) bucket() Bucket {
	return Bucket{Start: time.UnixMilli(r.Hour).UTC(), CPUPercent: r.CPUPercent, NetRxBps: r.NetRxBps, NetTxBps: r.NetTxBps,
		MemoryAvg: float64(r.MemoryAvgBytes), MemoryMax: r.MemoryMaxBytes, DiskAvg: float64(r.DiskAvgBytes), Samples: r.Samples}
}

// hourlyRows reads a server's hourly rows of the hours starting in [from, to], ascending.
func (s *Service) hourlyRows(ctx context.Context, serverID string, from, to time.Time) ([]Bucket, error) {
	var rows []hourlyRow
	err := s.db.WithContext(ctx).Raw("SELECT "+hourlyColumns+" FROM server_metrics_hourly WHERE server_id = ? AND hour >= ? AND hour <= ? ORDER BY hour",
		serverID, from.UnixMilli(), to.UnixMilli()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read hourly rows: %w", err)
	}
	out := make([]Bucket, len(rows))
	for i, r := range rows {
		out[i] = r.bucket()
	}
	return out, nil
}

// Run compacts every CompactEvery until ctx ends. Every panel process may run it: compaction
// gives the same rows however many run it at once.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(CompactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.Compact(ctx, time.Now())
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "metrics compaction", "err", err)
			}
			continue
		}
		if res != (CompactResult{}) {
			s.log.DebugContext(ctx, "metrics compacted", "hours", res.Hours, "hourly_rows", res.HourlyRows,
				"raw_deleted", res.RawDeleted, "hourly_deleted", res.HourlyDeleted)
		}
	}
}
