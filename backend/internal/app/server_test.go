package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

func TestHTTPBasics(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	c := e.anon()
	c.must(200, "GET", "/healthz", nil, nil)
	c.must(200, "GET", "/readyz", nil, nil)

	req, _ := http.NewRequest("GET", e.base+"/api/nowhere", nil)
	req.Header.Set("X-Request-ID", "my-request-1")
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Request-ID") != "my-request-1" {
		t.Fatalf("unknown route: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
	}
	st, body := c.errCode("GET", "/api/v1/nothing-here", nil)
	if st != 404 || body.Error.Code != api.CodeNotFound || body.RequestID == "" {
		t.Fatalf("unknown api route: %d %+v", st, body)
	}
	// An oversized body is refused from its Content-Length, before it is read.
	// The server answers and closes at once, so the test writes only the
	// headers on a raw connection: a client still streaming the body could see
	// the close as a reset instead of the answer.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("oversized body: %v", err)
	}
	var eb api.Error
	derr := json.NewDecoder(resp.Body).Decode(&eb)
	_ = resp.Body.Close()
	if resp.StatusCode != 413 || derr != nil || eb.Error.Code != "payload_too_large" {
		t.Fatalf("oversized body: %d %+v %v", resp.StatusCode, eb, derr)
	}
}

func TestServerLifecycle(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)
		n := e.addNode(admin, "node-a", defaultHeartbeat())

		var acc api.ServerAccepted
		cust.must(202, "POST", "/api/v1/servers", validServer("web-1"), &acc)
		srv, op := acc.Server, acc.Operation
		if srv.Status != api.StatusCreating || srv.NodeID != n.id || op.Status != api.OpPending || op.Kind != api.OpInstanceCreate {
			t.Fatalf("accepted: %+v", acc)
		}
		if want := "web-1-" + strings.ReplaceAll(srv.ID, "-", "")[:8]; srv.IncusName != want {
			t.Fatalf("incus name %q, want %q", srv.IncusName, want)
		}
		if ids := e.tasks(n.id); len(ids) != 1 || ids[0] != op.ID {
			t.Fatalf("tasks on node queue: %v, want [%s]", ids, op.ID)
		}
		// Same name again for the same owner is a conflict.
		if st, body := cust.errCode("POST", "/api/v1/servers", validServer("web-1")); st != 409 {
			t.Fatalf("duplicate name: %d %+v", st, body)
		}
		// The node sees the op, and desired state flags it in flight.
		var info dapi.OperationInfo
		if st, b := n.call("GET", opPath(dapi.PathOperation, op.ID), nil, &info); st != 200 || info.InstanceID != srv.ID || info.Kind != api.OpInstanceCreate {
			t.Fatalf("node op: %d %s", st, b)
		}
		var desired dapi.DesiredState
		n.call("GET", dapi.PathInstances, nil, &desired)
		if len(desired.Instances) != 1 || !desired.Instances[0].InFlight || desired.Instances[0].IncusName != srv.IncusName {
			t.Fatalf("desired: %+v", desired)
		}
		// Actions while creating are conflicts.
		if st, _ := cust.errCode("POST", "/api/v1/servers/"+srv.ID+"/stop", nil); st != 409 {
			t.Fatalf("stop while creating: %d", st)
		}
		if st, b := n.call("POST", opPath(dapi.PathProgress, op.ID), dapi.Progress{Progress: 40, Message: "unpacking"}, nil); st != 200 {
			t.Fatalf("progress: %d %s", st, b)
		}
		var got api.Operation
		cust.must(200, "GET", "/api/v1/operations/"+op.ID, nil, &got)
		if got.Status != api.OpRunning || got.Progress != 40 || got.Message != "unpacking" {
			t.Fatalf("after progress: %+v", got)
		}
		n.result(op.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		cust.must(200, "GET", "/api/v1/operations/"+op.ID, nil, &got)
		if got.Status != api.OpSuccess || got.Progress != 100 || got.FinishedAt == nil {
			t.Fatalf("after result: %+v", got)
		}
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Status != api.StatusRunning {
			t.Fatalf("status after create: %s", srv.Status)
		}
		// Result is idempotent: a second, different report changes nothing.
		n.result(op.ID, dapi.Result{Status: api.OpFailure, Error: "late"})
		cust.must(200, "GET", "/api/v1/operations/"+op.ID, nil, &got)
		if got.Status != api.OpSuccess || got.Error != "" {
			t.Fatalf("result not idempotent: %+v", got)
		}
		// Heartbeat usage and state.
		n.hb.Instances = []dapi.InstanceState{{InstanceID: srv.ID, IncusName: srv.IncusName, State: dapi.StateRunning,
			Usage: dapi.Usage{CPUNanoseconds: 5, MemoryBytes: 1 << 20}}}
		n.heartbeat()
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Usage == nil || srv.Usage.MemoryBytes != 1<<20 || srv.Usage.CPUNanoseconds != 5 {
			t.Fatalf("usage: %+v", srv.Usage)
		}
		// start on a running server makes no sense.
		if st, _ := cust.errCode("POST", "/api/v1/servers/"+srv.ID+"/start", nil); st != 409 {
			t.Fatalf("start running: %d", st)
		}
		// Stop (force), a failed result restores the previous status.
		var stop api.Operation
		cust.must(202, "POST", "/api/v1/servers/"+srv.ID+"/stop", `{"force":true}`, &stop)
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Status != api.StatusStopping || stop.Kind != api.OpInstanceStop {
			t.Fatalf("stopping: %s %+v", srv.Status, stop)
		}
		// The heartbeat does not override the status while the op is in flight.
		n.heartbeat()
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Status != api.StatusStopping {
			t.Fatalf("heartbeat overrode in-flight status: %s", srv.Status)
		}
		if st, _ := cust.errCode("POST", "/api/v1/servers/"+srv.ID+"/restart", nil); st != 409 {
			t.Fatalf("restart while stopping: %d", st)
		}
		n.result(stop.ID, dapi.Result{Status: api.OpFailure, Error: "boom"})
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Status != api.StatusRunning {
			t.Fatalf("status after failed stop: %s", srv.Status)
		}
		cust.must(202, "POST", "/api/v1/servers/"+srv.ID+"/stop", nil, &stop)
		n.result(stop.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateStopped})
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Status != api.StatusStopped {
			t.Fatalf("status after stop: %s", srv.Status)
		}
		var ops api.List[api.Operation]
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID+"/operations?per_page=2", nil, &ops)
		if ops.Total != 3 || len(ops.Items) != 2 || ops.Items[0].ID != stop.ID {
			t.Fatalf("server operations: %+v", ops)
		}
		// Delete soft-deletes; the name becomes free again.
		var del api.Operation
		cust.must(202, "DELETE", "/api/v1/servers/"+srv.ID, nil, &del)
		n.result(del.ID, dapi.Result{Status: api.OpSuccess})
		if st, _ := cust.errCode("GET", "/api/v1/servers/"+srv.ID, nil); st != 404 {
			t.Fatalf("deleted server: %d", st)
		}
		n.call("GET", dapi.PathInstances, nil, &desired)
		if len(desired.Instances) != 0 {
			t.Fatalf("desired after delete: %+v", desired)
		}
		cust.must(202, "POST", "/api/v1/servers", validServer("web-1"), &acc)
		// A failed create leaves the server in error.
		n.result(acc.Operation.ID, dapi.Result{Status: api.OpFailure, Error: "image broken"})
		cust.must(200, "GET", "/api/v1/servers/"+acc.Server.ID, nil, &srv)
		if srv.Status != api.StatusError {
			t.Fatalf("status after failed create: %s", srv.Status)
		}
		// Drift: a server missing in Incus and not in flight becomes missing.
		if st, b := n.call("POST", dapi.PathDrift, dapi.DriftReport{MissingInIncus: []string{srv.ID}, UnknownToPanel: []string{"stray-1"}}, nil); st != 200 {
			t.Fatalf("drift: %d %s", st, b)
		}
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &srv)
		if srv.Status != api.StatusMissing {
			t.Fatalf("status after drift: %s", srv.Status)
		}
		var node api.Node
		admin.must(200, "GET", "/api/v1/admin/nodes/"+n.id, nil, &node)
		if node.Drift == nil || len(node.Drift.UnknownToPanel) != 1 || node.Resources.AllocatedCPU != 1 || node.Status != api.NodeOnline {
			t.Fatalf("node: %+v", node)
		}
		// A node with servers cannot be deleted.
		if st, _ := admin.errCode("DELETE", "/api/v1/admin/nodes/"+n.id, nil); st != 409 {
			t.Fatalf("delete busy node: %d", st)
		}
	})
}

func TestListServers(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		a := e.login("a@example.com", api.RoleCustomer)
		b := e.login("b@example.com", api.RoleCustomer)
		n := e.addNode(admin, "node-a", defaultHeartbeat())
		for i := range 5 {
			a.must(202, "POST", "/api/v1/servers", validServer(fmt.Sprintf("app-%d", i)), nil)
		}
		b.must(202, "POST", "/api/v1/servers", validServer("other"), nil)
		var l api.List[api.Server]
		a.must(200, "GET", "/api/v1/servers?per_page=2&page=2", nil, &l)
		if l.Total != 5 || len(l.Items) != 2 || l.Page != 2 || l.PerPage != 2 || l.Items[0].Name != "app-2" {
			t.Fatalf("page 2: %+v", l)
		}
		a.must(200, "GET", "/api/v1/servers?q=app-4", nil, &l)
		if l.Total != 1 || l.Items[0].Name != "app-4" {
			t.Fatalf("q filter: %+v", l)
		}
		a.must(200, "GET", "/api/v1/servers?status=running", nil, &l)
		if l.Total != 0 {
			t.Fatalf("status filter: %+v", l)
		}
		a.must(200, "GET", "/api/v1/servers?type=container&status=creating", nil, &l)
		if l.Total != 5 {
			t.Fatalf("type filter: %+v", l)
		}
		admin.must(200, "GET", "/api/v1/servers?node_id="+n.id, nil, &l)
		if l.Total != 6 {
			t.Fatalf("admin sees all: %+v", l)
		}
		for _, q := range []string{"page=0", "per_page=101", "per_page=x", "status=bogus", "type=lxc"} {
			if st, body := a.errCode("GET", "/api/v1/servers?"+q, nil); st != 422 || body.Error.Code != api.CodeValidation {
				t.Errorf("%s: %d %+v", q, st, body)
			}
		}
		if st, _ := a.errCode("GET", "/api/v1/servers?node_id="+n.id, nil); st != 403 {
			t.Errorf("customer node filter: %d", st)
		}
		var ops api.List[api.Operation]
		admin.must(200, "GET", "/api/v1/admin/operations?status=pending&per_page=100", nil, &ops)
		if ops.Total != 6 {
			t.Fatalf("admin operations: %+v", ops.Total)
		}
	})
}
