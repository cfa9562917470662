package metrics

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Grace is how long after an hour ends its samples are rolled up: a heartbeat's transaction
// that read the clock in the hour may still be committing, and panel processes' clocks may
// differ a little.
const Grace = 5 * time.Minute

// hourlyChunk is how many hourly rows one upsert writes (9 bind parameters each);
// deleteChunk how many deleted servers one DELETE names.
const (
	hourlyChunk = 500
	deleteChunk = 500
)

// CompactResult says what one compaction did.
type CompactResult struct {
	// Hours is how many hours were rolled up, HourlyRows how many hourly rows they wrote.
	Hours      int
	HourlyRows int
	// RawDeleted and HourlyDeleted are the rows removed: aged out, or of deleted servers.
	RawDeleted, HourlyDeleted int64
}

// Compact rolls the finished hours of raw samples (those that ended Grace before now) that
// have no hourly rows yet into hourly rows, then deletes raw samples older than RawRetention,
// hourly rows older than HourlyRetention, and the history of deleted servers. Each hour is
// rolled up in one transaction, with upserts computed from the raw samples alone, so running
// Compact again, or in several panel processes at once, gives the same rows.
func (s *Service) Compact(ctx context.Context, now time.Time) (CompactResult, error) {
	var res CompactResult
	now = now.UTC()
	end := now.Add(-Grace).Truncate(time.Hour)
	// The oldest hour whose samples, and those just before it that give its first rate, are
	// all still kept (and not being deleted by a compaction running at the same time).
	start := now.Add(-s.opt.RawRetention + s.MaxGap()).Truncate(time.Hour).Add(time.Hour)
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		done, err := s.rolledUp(ctx, h)
		if err != nil {
			return res, err
		}
		if done {
			continue
		}
		n, err := s.rollup(ctx, h)
		if err != nil {
			return res, err
		}
		if n > 0 {
			res.Hours++
			res.HourlyRows += n
		}
	}
	db := s.db.WithContext(ctx)
	del := db.Exec("DELETE FROM server_metrics WHERE at < ?", now.Add(-s.opt.RawRetention).UnixMilli())
	if del.Error != nil {
		return res, fmt.Errorf("delete old samples: %w", del.Error)
	}
	res.RawDeleted += del.RowsAffected
	del = db.Exec("DELETE FROM server_metrics_hourly WHERE hour < ?", now.Add(-s.opt.HourlyRetention).UnixMilli())
	if del.Error != nil {
		return res, fmt.Errorf("delete old hourly rows: %w", del.Error)
	}
	res.HourlyDeleted += del.RowsAffected
	raw, hourly, err := s.forgetDeleted(ctx)
	res.RawDeleted += raw
	res.HourlyDeleted += hourly
	return res, err
}

// rolledUp reports whether hour h has hourly rows: they are written in one transaction.
func (s *Service) rolledUp(ctx context.Context, h time.Time) (bool, error) {
	var n int
	if err := s.db.WithContext(ctx).Raw("SELECT 1 FROM server_metrics_hourly WHERE hour = ? LIMIT 1", h.UnixMilli()).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("read hourly rows: %w", err)
	}
	return n == 1, nil
}

// rollup writes the hourly rows of hour h from every server's raw samples and returns how
// many it wrote.
func (s *Service) rollup(ctx context.Context, h time.Time) (int, error) {
	var rows []sampleRow
	err := s.db.WithContext(ctx).Raw("SELECT "+sampleColumns+" FROM server_metrics WHERE at >= ? AND at < ? ORDER BY server_id, at",
		h.Add(-s.MaxGap()).UnixMilli(), h.Add(time.Hour).UnixMilli()).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("read samples of %s: %w", h.Format(time.RFC3339), err)
	}
	var out []hourlyRow
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].ServerID == rows[i].ServerID {
			j++
		}
		samples := make([]Sample, 0, j-i)
		for _, r := range rows[i:j] {
			samples = append(samples, r.sample())
		}
		for _, b := range Bucketize(samples, h, time.Hour, s.MaxGap()) {
			if b.Start.Equal(h) {
				out = append(out, hourlyRow{ServerID: rows[i].ServerID, Hour: h.UnixMilli(), CPUPercent: b.CPUPercent,
					MemoryAvgBytes: int64(math.Round(b.MemoryAvg)), MemoryMaxBytes: b.MemoryMax,
					DiskAvgBytes: int64(math.Round(b.DiskAvg)), NetRxBps: b.NetRxBps, NetTxBps: b.NetTxBps, Samples: b.Samples})
			}
		}
		i = j
	}
	if len(out) == 0 {
		return 0, nil
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for k := 0; k < len(out); k += hourlyChunk {
			if err := upsertHourly(tx, out[k:min(k+hourlyChunk, len(out))]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("roll up %s: %w", h.Format(time.RFC3339), err)
	}
	return len(out), nil
}

// upsertHourly writes rows (ordered by server, so concurrent compactions lock in the same
// order), replacing rows already there with the same values computed again.
func upsertHourly(tx *gorm.DB, rows []hourlyRow) error {
	var q strings.Builder
	q.WriteString("INSERT INTO server_metrics_hourly (" + hourlyColumns + ") VALUES ")
	args := make([]any, 0, len(rows)*9)
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.ServerID, r.Hour, r.CPUPercent, r.MemoryAvgBytes, r.MemoryMaxBytes, r.DiskAvgBytes,
			r.NetRxBps, r.NetTxBps, r.Samples)
	}
	q.WriteString(` ON CONFLICT (server_id, hour) DO UPDATE SET cpu_percent = excluded.cpu_percent,
		memory_avg_bytes = excluded.memory_avg_bytes, memory_max_bytes = excluded.memory_max_bytes,
		disk_avg_bytes = excluded.disk_avg_bytes, net_rx_bps = excluded.net_rx_bps, net_tx_bps = excluded.net_tx_bps,
		samples = excluded.samples`)
	if err := tx.Exec(q.String(), args...).Error; err != nil {
		return fmt.Errorf("upsert hourly rows: %w", err)
	}
	return nil
}

// forgetDeleted removes the history of deleted servers (rows of servers removed from the
// table go with them by ON DELETE CASCADE).
func (s *Service) forgetDeleted(ctx context.Context) (raw, hourly int64, err error) {
	var ids []string
	err = s.db.WithContext(ctx).Raw(`SELECT s.id FROM servers s WHERE s.deleted_at IS NOT NULL AND (
		EXISTS (SELECT 1 FROM server_metrics m WHERE m.server_id = s.id) OR
		EXISTS (SELECT 1 FROM server_metrics_hourly h WHERE h.server_id = s.id)) ORDER BY s.id`).Scan(&ids).Error
	if err != nil {
		return 0, 0, fmt.Errorf("find deleted servers' metrics: %w", err)
	}
	for k := 0; k < len(ids); k += deleteChunk {
		chunk := ids[k:min(k+deleteChunk, len(ids))]
		del := s.db.WithContext(ctx).Exec("DELETE FROM server_metrics WHERE server_id IN ?", chunk)
		if del.Error != nil {
			return raw, hourly, fmt.Errorf("delete deleted servers' samples: %w", del.Error)
		}
		raw += del.RowsAffected
		del = s.db.WithContext(ctx).Exec("DELETE FROM server_metrics_hourly WHERE server_id IN ?", chunk)
		if del.Error != nil {
			return raw, hourly, fmt.Errorf("delete deleted servers' hourly rows: %w", del.Error)
		}
		hourly += del.RowsAffected
	}
	return raw, hourly, nil
}
