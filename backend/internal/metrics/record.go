package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// Record stores the usage a heartbeat of node nodeID carried, as samples at at (the usage
// time the heartbeat stored on the servers), inside the heartbeat's transaction tx. A server
// gets a sample only when its latest one is not newer than at − Interval, and only when it
// is a live server of that node. It is a node.HeartbeatHook: one INSERT … SELECT whatever the
// number of instances, which travel as one JSON parameter (thousands of bind parameters
// would cost more to bind and parse than the insert itself).
func (s *Service) Record(ctx context.Context, tx *gorm.DB, nodeID string, at time.Time, hb dapi.Heartbeat) error {
	seen := make(map[string]bool, len(hb.Instances))
	rows := make([]recordRow, 0, len(hb.Instances))
	for _, in := range hb.Instances {
		if seen[in.InstanceID] || uuid.Validate(in.InstanceID) != nil {
			continue
		}
		seen[in.InstanceID] = true
		u := in.Usage
		rows = append(rows, recordRow{ID: in.InstanceID, CPU: nonNegative(u.CPUNanoseconds), Mem: nonNegative(u.MemoryBytes),
			Disk: nonNegative(u.DiskBytes), Rx: nonNegative(u.NetRxBytes), Tx: nonNegative(u.NetTxBytes)})
	}
	if len(rows) == 0 {
		return nil
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encode samples: %w", err)
	}
	atMs := at.UnixMilli()
	q := `INSERT INTO server_metrics (` + sampleColumns + `)
SELECT v.id, CAST(? AS BIGINT), v.cpu, v.mem, v.disk, v.rx, v.tx
FROM ` + s.jsonRows() + `
CROSS JOIN servers s
WHERE s.id = v.id AND s.node_id = ? AND s.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM server_metrics m WHERE m.server_id = v.id AND m.at > ?)
ON CONFLICT (server_id, at) DO NOTHING`
	if err := tx.WithContext(ctx).Exec(q, atMs, string(doc), nodeID, atMs-s.opt.Interval.Milliseconds()).Error; err != nil {
		return fmt.Errorf("record samples: %w", err)
	}
	return nil
}

// recordRow is one instance's usage in the JSON parameter of Record.
type recordRow struct {
	ID   string `json:"id"`
	CPU  int64  `json:"cpu"`
	Mem  int64  `json:"mem"`
	Disk int64  `json:"disk"`
	Rx   int64  `json:"rx"`
	Tx   int64  `json:"tx"`
}

// jsonRows is the table expression v turning Record's JSON parameter into rows (id, cpu,
// mem, disk, rx, tx). Record CROSS JOINs it with servers: SQLite then reads it once, in the
// outer loop, and finds each server by its key.
func (s *Service) jsonRows() string {
	if s.db.Driver == store.DriverPostgres {
		return `json_to_recordset(CAST(? AS json)) AS v(id text, cpu bigint, mem bigint, disk bigint, rx bigint, tx bigint)`
	}
	return `(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.cpu') AS cpu, json_extract(value, '$.mem') AS mem,
	json_extract(value, '$.disk') AS disk, json_extract(value, '$.rx') AS rx, json_extract(value, '$.tx') AS tx FROM json_each(?)) AS v`
}

// nonNegative clamps what a node reports: a negative usage is nonsense.
func nonNegative(v int64) int64 { return max(v, 0) }
