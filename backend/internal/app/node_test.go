package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

func TestNodeAPI(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, func(c *config.Config) {
			c.Nodes.HeartbeatInterval = time.Second
			c.Nodes.OfflineAfter = 1
			c.SweepInterval = 100 * time.Millisecond
		})
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)

		var cr api.CreateNodeResponse
		admin.must(201, "POST", "/api/v1/admin/nodes", api.CreateNodeRequest{Name: "n1"}, &cr)
		if !strings.HasPrefix(cr.JoinToken, "nimbo_join_") || cr.JoinCommand != "nimbo-daemon join --panel "+e.cfg.PublicURL+" --token "+cr.JoinToken ||
			cr.Node.Status != api.NodePending || cr.ExpiresAt.Before(time.Now().Add(23*time.Hour)) {
			t.Fatalf("create node: %+v", cr)
		}
		if st, _ := admin.errCode("POST", "/api/v1/admin/nodes", api.CreateNodeRequest{Name: "n1"}); st != 409 {
			t.Fatalf("duplicate node name: %d", st)
		}
		n := &fakeNode{e: e, id: cr.Node.ID, hb: defaultHeartbeat()}
		t.Cleanup(func() { _ = e.insp.DeleteQueue(jobs.Queue(n.id), true) })
		// Unauthenticated calls are refused.
		for _, p := range []struct{ m, p string }{{"POST", dapi.PathHeartbeat}, {"GET", dapi.PathInstances}, {"POST", dapi.PathDrift},
			{"GET", opPath(dapi.PathOperation, cr.Node.ID)}} {
			if st, _ := n.call(p.m, p.p, nil, nil); st != 401 {
				t.Errorf("%s %s without credential: %d", p.m, p.p, st)
			}
		}
		var jr dapi.JoinResponse
		if st, b := n.call("POST", dapi.PathJoin, dapi.JoinRequest{Token: cr.JoinToken, Hostname: "h1", Version: "v1"}, &jr); st != 200 {
			t.Fatalf("join: %d %s", st, b)
		}
		if jr.NodeID != n.id || jr.NodeName != "n1" || !strings.HasPrefix(jr.Credential, "nimbo_node_") ||
			jr.RedisURL != e.cfg.Nodes.RedisURL || jr.HeartbeatIntervalSeconds != 1 {
			t.Fatalf("join response: %+v", jr)
		}
		// The token is single use.
		if st, _ := n.call("POST", dapi.PathJoin, dapi.JoinRequest{Token: cr.JoinToken}, nil); st != 401 {
			t.Fatalf("second join: %d", st)
		}
		if st, _ := n.call("POST", dapi.PathJoin, dapi.JoinRequest{Token: "nimbo_join_nope"}, nil); st != 401 {
			t.Fatalf("bogus join: %d", st)
		}
		n.credential = jr.Credential
		n.heartbeat()
		var node api.Node
		admin.must(200, "GET", "/api/v1/admin/nodes/"+n.id, nil, &node)
		if node.Status != api.NodeOnline || node.Version != "test" || node.Hostname != "h1" || len(node.Images) != 1 ||
			!node.Capabilities.Containers || node.Resources.CPUs != 4 || len(node.JobTypes) != len(jobs.AllTypes) {
			t.Fatalf("node after heartbeat: %+v", node)
		}
		// An expired token is refused too.
		var cr2 api.CreateNodeResponse
		admin.must(201, "POST", "/api/v1/admin/nodes", api.CreateNodeRequest{Name: "n2"}, &cr2)
		if err := e.app.DB().Model(&store.Node{}).Where("id = ?", cr2.Node.ID).Update("join_token_expires_at", time.Now().Add(-time.Minute).UTC()).Error; err != nil {
			t.Fatal(err)
		}
		if st, _ := n.call("POST", dapi.PathJoin, dapi.JoinRequest{Token: cr2.JoinToken}, nil); st != 401 {
			t.Fatalf("expired join: %d", st)
		}
		other := e.addNode(admin, "n3", defaultHeartbeat())

		// A node cannot touch another node's operation.
		var acc api.ServerAccepted
		req := validServer("web")
		req.NodeID = n.id
		admin.must(202, "POST", "/api/v1/servers", req, &acc)
		opID := acc.Operation.ID
		for _, c := range []struct {
			m, p string
			body any
		}{
			{"GET", opPath(dapi.PathOperation, opID), nil},
			{"POST", opPath(dapi.PathProgress, opID), dapi.Progress{Progress: 5}},
			{"POST", opPath(dapi.PathResult, opID), dapi.Result{Status: api.OpSuccess}},
		} {
			if st, _ := other.call(c.m, c.p, c.body, nil); st != 404 {
				t.Errorf("foreign %s %s: %d", c.m, c.p, st)
			}
		}
		var desired dapi.DesiredState
		other.call("GET", dapi.PathInstances, nil, &desired)
		if len(desired.Instances) != 0 {
			t.Fatalf("foreign desired: %+v", desired)
		}
		// Drift from another node does not touch this server.
		other.call("POST", dapi.PathDrift, dapi.DriftReport{MissingInIncus: []string{acc.Server.ID}}, nil)
		n.result(opID, dapi.Result{Status: api.OpSuccess, State: dapi.StateStopped})
		var srv api.Server
		cust.must(404, "GET", "/api/v1/servers/"+acc.Server.ID, nil, nil)
		admin.must(200, "GET", "/api/v1/servers/"+acc.Server.ID, nil, &srv)
		if srv.Status != api.StatusStopped {
			t.Fatalf("status: %s", srv.Status)
		}
		if st, _ := n.call("POST", opPath(dapi.PathResult, opID), dapi.Result{Status: "done"}, nil); st != 200 {
			// finished op: any report is answered 200 unchanged — but an invalid status is 422 first
			if st != 422 {
				t.Fatalf("invalid result status: %d", st)
			}
		}
		// Heartbeats set status from state when nothing is in flight.
		n.hb.Instances = []dapi.InstanceState{{InstanceID: acc.Server.ID, State: dapi.StateFrozen}}
		n.heartbeat()
		admin.must(200, "GET", "/api/v1/servers/"+acc.Server.ID, nil, &srv)
		if srv.Status != api.StatusFrozen {
			t.Fatalf("status from heartbeat: %s", srv.Status)
		}
		// A heartbeat whose states were read before an operation result observed the
		// server (node clock) is older news and does not overwrite the result's status.
		var startOp api.Operation
		admin.must(202, "POST", "/api/v1/servers/"+acc.Server.ID+"/restart", nil, &startOp)
		observed := time.Now().UTC()
		n.result(startOp.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning, ObservedAt: observed})
		n.hb.Instances = []dapi.InstanceState{{InstanceID: acc.Server.ID, State: dapi.StateStopped}}
		n.hb.CollectedAt = observed.Add(-time.Second)
		n.heartbeat()
		admin.must(200, "GET", "/api/v1/servers/"+acc.Server.ID, nil, &srv)
		if srv.Status != api.StatusRunning {
			t.Fatalf("a heartbeat collected before the result overwrote its status: %s", srv.Status)
		}
		// A heartbeat collected after the result applies.
		n.hb.CollectedAt = observed.Add(time.Second)
		n.heartbeat()
		admin.must(200, "GET", "/api/v1/servers/"+acc.Server.ID, nil, &srv)
		if srv.Status != api.StatusStopped {
			t.Fatalf("a heartbeat collected after the result was ignored: %s", srv.Status)
		}
		n.hb.CollectedAt = time.Time{}
		// Offline after missed heartbeats (1 × 1 s), back online with the next heartbeat.
		deadline := time.Now().Add(5 * time.Second)
		for {
			admin.must(200, "GET", "/api/v1/admin/nodes/"+n.id, nil, &node)
			if node.Status == api.NodeOffline {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node still %s", node.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		n.heartbeat()
		admin.must(200, "GET", "/api/v1/admin/nodes/"+n.id, nil, &node)
		if node.Status != api.NodeOnline {
			t.Fatalf("node after heartbeat: %s", node.Status)
		}
		// Deleting: busy node 409, empty node 204.
		if st, _ := admin.errCode("DELETE", "/api/v1/admin/nodes/"+n.id, nil); st != 409 {
			t.Fatalf("delete busy: %d", st)
		}
		admin.must(204, "DELETE", "/api/v1/admin/nodes/"+cr2.Node.ID, nil, nil)
		admin.must(404, "GET", "/api/v1/admin/nodes/"+cr2.Node.ID, nil, nil)
	})
}

func TestWaitWakesOnChange(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)
		n := e.addNode(admin, "n1", defaultHeartbeat())
		var acc api.ServerAccepted
		cust.must(202, "POST", "/api/v1/servers", validServer("web"), &acc)

		// Timeout answers the current op.
		start := time.Now()
		var op api.Operation
		cust.must(200, "GET", "/api/v1/operations/"+acc.Operation.ID+"/wait?timeout=1", nil, &op)
		if op.Status != api.OpPending || time.Since(start) < time.Second {
			t.Fatalf("wait timeout: %+v after %s", op, time.Since(start))
		}
		for _, q := range []string{"0", "121", "x"} {
			if st, _ := cust.errCode("GET", "/api/v1/operations/"+acc.Operation.ID+"/wait?timeout="+q, nil); st != 422 {
				t.Errorf("timeout=%s: %d", q, st)
			}
		}
		type res struct {
			op  api.Operation
			dur time.Duration
		}
		got := make(chan res, 1)
		go func() {
			var op api.Operation
			start := time.Now()
			c := &client{e: e, cookie: cust.cookie}
			st, _, b := c.do("GET", "/api/v1/operations/"+acc.Operation.ID+"/wait?timeout=60", nil, &op)
			if st != 200 {
				t.Errorf("wait: %d %s", st, b)
			}
			got <- res{op, time.Since(start)}
		}()
		time.Sleep(300 * time.Millisecond)
		n.result(acc.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		select {
		case r := <-got:
			if r.op.Status != api.OpSuccess || r.dur > 3*time.Second {
				t.Fatalf("woken with %+v after %s", r.op, r.dur)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("waiter not woken")
		}
		// A finished op answers at once.
		start = time.Now()
		cust.must(200, "GET", "/api/v1/operations/"+acc.Operation.ID+"/wait", nil, &op)
		if time.Since(start) > time.Second {
			t.Fatal("finished op waited")
		}
	})
}

// A change published by another panel process wakes this process's waiter.
func TestWaitWakesAcrossProcesses(t *testing.T) {
	db := testenv.Postgres(t)
	e1 := newEnv(t, db)
	e2 := newEnv(t, db, func(c *config.Config) { c.Redis.Prefix = e1.cfg.Redis.Prefix })
	admin := e1.login("admin@example.com", api.RoleAdmin)
	n := e1.addNode(admin, "n1", defaultHeartbeat())
	var acc api.ServerAccepted
	admin.must(202, "POST", "/api/v1/servers", validServer("web"), &acc)
	got := make(chan api.Operation, 1)
	go func() {
		var op api.Operation
		c := &client{e: e2, cookie: admin.cookie}
		c.do("GET", "/api/v1/operations/"+acc.Operation.ID+"/wait?timeout=60", nil, &op)
		got <- op
	}()
	time.Sleep(300 * time.Millisecond)
	n.result(acc.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
	select {
	case op := <-got:
		if op.Status != api.OpSuccess {
			t.Fatalf("op: %+v", op)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("waiter in the other process not woken")
	}
}

func TestSweeperOutbox(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, func(c *config.Config) { c.SweepInterval = time.Hour })
		ctx := context.Background()
		admin := e.login("admin@example.com", api.RoleAdmin)
		n := e.addNode(admin, "n1", defaultHeartbeat())
		var acc api.ServerAccepted
		admin.must(202, "POST", "/api/v1/servers", validServer("web"), &acc)
		opID := acc.Operation.ID
		q := jobs.Queue(n.id)

		// Never enqueued (Redis was down): the sweeper enqueues it.
		if err := e.insp.DeleteTask(q, opID); err != nil {
			t.Fatal(err)
		}
		setOp := func(updates map[string]any) {
			t.Helper()
			if err := e.app.DB().Model(&store.Operation{}).Where("id = ?", opID).Updates(updates).Error; err != nil {
				t.Fatal(err)
			}
		}
		setOp(map[string]any{"enqueued": false})
		if err := e.app.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if ids := e.tasks(n.id); len(ids) != 1 || ids[0] != opID {
			t.Fatalf("outbox: tasks %v", ids)
		}
		var row store.Operation
		e.app.DB().Where("id = ?", opID).Take(&row)
		if !row.Enqueued {
			t.Fatal("not marked enqueued")
		}
		// Lost by Redis after enqueue: re-enqueued once old enough.
		if err := e.insp.DeleteTask(q, opID); err != nil {
			t.Fatal(err)
		}
		if err := e.app.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if ids := e.tasks(n.id); len(ids) != 0 {
			t.Fatalf("young op re-enqueued: %v", ids)
		}
		setOp(map[string]any{"created_at": time.Now().Add(-time.Minute).UTC()})
		if err := e.app.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if ids := e.tasks(n.id); len(ids) != 1 {
			t.Fatalf("lost task not re-enqueued: %v", ids)
		}
		// Archived after retries: the op fails with the task's last error.
		if err := e.insp.ArchiveTask(q, opID); err != nil {
			t.Fatal(err)
		}
		if err := e.app.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		var op api.Operation
		admin.must(200, "GET", "/api/v1/operations/"+opID, nil, &op)
		if op.Status != api.OpFailure || !strings.HasPrefix(op.Error, "gave up after retries") {
			t.Fatalf("archived op: %+v", op)
		}
		var srv api.Server
		admin.must(200, "GET", "/api/v1/servers/"+acc.Server.ID, nil, &srv)
		if srv.Status != api.StatusError {
			t.Fatalf("server after archived create: %s", srv.Status)
		}
	})
}
