package app_test

import (
	"net/http"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// TestAdminQueues: GET /api/v1/admin/queues reads the real asynq queues in Redis — the
// panel's billing queue first, then each node's queue with what is waiting on it — and only
// admins may read it.
func TestAdminQueues(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("aq-admin@example.com", api.RoleAdmin)
		cust := e.login("aq-cust@example.com", api.RoleCustomer)
		busy := e.addNode(admin, "aq-busy", defaultHeartbeat())
		idle := e.addNode(admin, "aq-idle", defaultHeartbeat())
		for _, n := range []string{"aq-1", "aq-2"} {
			req := validServer(n)
			req.NodeID = busy.id
			admin.must(http.StatusAccepted, http.MethodPost, "/api/v1/servers", req, nil)
		}

		var l api.List[api.QueueStats]
		admin.must(http.StatusOK, http.MethodGet, "/api/v1/admin/queues", nil, &l)
		if len(l.Items) != 3 || l.Total != 3 {
			t.Fatalf("want the panel queue and 2 node queues, got %+v", l.Items)
		}
		if l.Items[0].NodeID != "" || l.Items[0].Queue != e.cfg.Redis.Prefix+"panel" {
			t.Fatalf("first item should be the panel's queue: %+v", l.Items[0])
		}
		byNode := map[string]api.QueueStats{}
		for _, q := range l.Items[1:] {
			byNode[q.NodeID] = q
		}
		b, i := byNode[busy.id], byNode[idle.id]
		if b.NodeName != "aq-busy" || b.Queue != "node:"+busy.id || b.Pending != 2 || b.Active != 0 || b.NodeStatus != api.NodeOnline {
			t.Fatalf("busy node's queue: %+v", b)
		}
		if i.NodeName != "aq-idle" || i.Pending != 0 || i.Archived != 0 {
			t.Fatalf("idle node's queue (unknown to Redis) should read as zeros: %+v", i)
		}
		if b.LatencySeconds < 0 {
			t.Fatalf("latency %v", b.LatencySeconds)
		}
		if st, _ := cust.errCode(http.MethodGet, "/api/v1/admin/queues", nil); st != http.StatusForbidden {
			t.Fatalf("customer: %d", st)
		}
	})
}
