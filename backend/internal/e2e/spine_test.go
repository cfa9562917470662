package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	incus "github.com/lxc/incus/v6/client"
	incusapi "github.com/lxc/incus/v6/shared/api"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
	daemonapi "github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// TestSpine drives one stack per database through the server lifecycle, limits, a VM on a
// node without KVM, authorization between customers, and bad input.
func TestSpine(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, driver)
			c := lxd(t)
			t.Run("lifecycle", func(t *testing.T) { testLifecycle(t, s, c) })
			t.Run("vm without kvm", func(t *testing.T) { testVMWithoutKVM(t, s) })
			t.Run("authorization", func(t *testing.T) { testAuthorization(t, s, c) })
			t.Run("bad input", func(t *testing.T) { testBadInput(t, s) })
			t.Run("reconcile", func(t *testing.T) { testReconcile(t, s, c) })
		})
	}
}

// postServer asks for a server, expects 202, and removes its container when the test ends.
func postServer(t *testing.T, s *stack.Stack, c incus.InstanceServer, token string, req api.CreateServerRequest) api.ServerAccepted {
	t.Helper()
	r, err := s.Do(context.Background(), http.MethodPost, "/api/v1/servers", token, req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("create server: %d %s", r.Status, r.Body)
	}
	var acc api.ServerAccepted
	if err := r.Decode(&acc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeInstance(c, acc.Server.IncusName) })
	return acc
}

// createServer creates a container for token and waits for its create operation.
func createServer(t *testing.T, s *stack.Stack, c incus.InstanceServer, token string, req api.CreateServerRequest) api.Server {
	t.Helper()
	ctx := context.Background()
	acc := postServer(t, s, c, token, req)
	if acc.Operation.Kind != api.OpInstanceCreate || acc.Server.Status != api.StatusCreating {
		t.Fatalf("create answered operation %q server status %q", acc.Operation.Kind, acc.Server.Status)
	}
	op, err := s.WaitOperation(ctx, token, acc.Operation.ID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != api.OpSuccess {
		t.Fatalf("create operation %s: %s", op.Status, op.Error)
	}
	return getServer(t, s, token, acc.Server.ID)
}

func getServer(t *testing.T, s *stack.Stack, token, id string) api.Server {
	t.Helper()
	r, err := s.Do(context.Background(), http.MethodGet, "/api/v1/servers/"+id, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("get server: %d %s", r.Status, r.Body)
	}
	var srv api.Server
	if err := r.Decode(&srv); err != nil {
		t.Fatal(err)
	}
	return srv
}

// act runs a power action or delete and waits for its operation.
func act(t *testing.T, s *stack.Stack, token, id, action string) api.Operation {
	t.Helper()
	ctx := context.Background()
	method, path := http.MethodPost, "/api/v1/servers/"+id+"/"+action
	if action == "delete" {
		method, path = http.MethodDelete, "/api/v1/servers/"+id
	}
	r, err := s.Do(ctx, method, path, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("%s: %d %s", action, r.Status, r.Body)
	}
	var op api.Operation
	if err := r.Decode(&op); err != nil {
		t.Fatal(err)
	}
	op, err = s.WaitOperation(ctx, token, op.ID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != api.OpSuccess {
		t.Fatalf("%s operation %s: %s", action, op.Status, op.Error)
	}
	return op
}

// lxdStatus returns the LXD status of an instance ("Running", "Stopped"), or "" if absent.
func lxdStatus(t *testing.T, c incus.InstanceServer, name string) string {
	t.Helper()
	in, _, err := c.GetInstance(name)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "not found") {
			return ""
		}
		t.Fatalf("get LXD instance %s: %v", name, err)
	}
	return in.Status
}

func testLifecycle(t *testing.T, s *stack.Stack, c incus.InstanceServer) {
	ctx := context.Background()
	srv := createServer(t, s, c, s.AdminToken, api.CreateServerRequest{
		Name: tempName("life"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 192, DiskMiB: 768,
	})
	if srv.Status != api.StatusRunning || srv.NodeID != s.NodeID {
		t.Fatalf("after create: status %q node %q, want running on %s", srv.Status, srv.NodeID, s.NodeID)
	}
	if got := lxdStatus(t, c, srv.IncusName); got != "Running" {
		t.Fatalf("LXD status after create = %q, want Running", got)
	}

	// Limits are applied in LXD.
	in, _, err := c.GetInstance(srv.IncusName)
	if err != nil {
		t.Fatal(err)
	}
	if in.Config["limits.cpu"] != "1" || in.Config["limits.memory"] != "192MiB" {
		t.Errorf("LXD limits = cpu %q memory %q, want 1 and 192MiB", in.Config["limits.cpu"], in.Config["limits.memory"])
	}
	if root := in.Devices["root"]; root["size"] != "768MiB" || root["path"] != "/" {
		t.Errorf("LXD root disk = %v, want size 768MiB at /", root)
	}
	if in.Config["user.nimbo.instance"] != srv.ID || in.Config["user.nimbo.node"] != s.NodeID {
		t.Errorf("LXD labels = %q/%q, want %s/%s", in.Config["user.nimbo.instance"], in.Config["user.nimbo.node"], srv.ID, s.NodeID)
	}

	// Usage arrives with the heartbeats.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := getServer(t, s, s.AdminToken, srv.ID)
		if got.Usage != nil && got.Usage.MemoryBytes > 0 && got.Usage.CPUNanoseconds > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usage reported for %s after 30s: %+v", srv.ID, got.Usage)
		}
		time.Sleep(300 * time.Millisecond)
	}

	act(t, s, s.AdminToken, srv.ID, "stop")
	if got := lxdStatus(t, c, srv.IncusName); got != "Stopped" {
		t.Fatalf("LXD status after stop = %q", got)
	}
	if got := getServer(t, s, s.AdminToken, srv.ID); got.Status != api.StatusStopped {
		t.Fatalf("panel status after stop = %q", got.Status)
	}
	act(t, s, s.AdminToken, srv.ID, "start")
	if got := lxdStatus(t, c, srv.IncusName); got != "Running" {
		t.Fatalf("LXD status after start = %q", got)
	}
	before, _, err := c.GetInstanceState(srv.IncusName)
	if err != nil {
		t.Fatal(err)
	}
	act(t, s, s.AdminToken, srv.ID, "restart")
	after, _, err := c.GetInstanceState(srv.IncusName)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != "Running" || after.Pid == before.Pid {
		t.Fatalf("after restart: status %q pid %d (before %d), want Running with a new init pid", after.Status, after.Pid, before.Pid)
	}

	// The operations of the server are listed, newest first.
	r, err := s.Do(ctx, http.MethodGet, "/api/v1/servers/"+srv.ID+"/operations", s.AdminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ops api.List[api.Operation]
	if err := r.Decode(&ops); err != nil {
		t.Fatal(err)
	}
	if ops.Total != 4 || len(ops.Items) != 4 || ops.Items[0].Kind != api.OpInstanceRestart {
		t.Fatalf("operations of server: total %d, first %+v", ops.Total, ops.Items)
	}

	act(t, s, s.AdminToken, srv.ID, "delete")
	if got := lxdStatus(t, c, srv.IncusName); got != "" {
		t.Fatalf("LXD status after delete = %q, want gone", got)
	}
	if r, _ := s.Do(ctx, http.MethodGet, "/api/v1/servers/"+srv.ID, s.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Fatalf("get deleted server: %d", r.Status)
	}
}

func testVMWithoutKVM(t *testing.T, s *stack.Stack) {
	ctx := context.Background()
	n, err := s.Node(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Capabilities.VirtualMachines {
		t.Skip("this node reports KVM support; the no-KVM path cannot be exercised here")
	}
	if !n.Capabilities.Containers || n.Capabilities.VMReason == "" {
		t.Fatalf("capabilities = %+v, want containers and a reason for no VMs", n.Capabilities)
	}
	req := api.CreateServerRequest{Name: tempName("vm"), Image: s.Opts.Env.Image, Type: api.TypeVM, CPU: 1, MemoryMiB: 256, DiskMiB: 1024}

	// Scheduled by the panel: refused at once, nothing written.
	_, cust, err := s.CreateCustomer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/servers", cust, req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != api.CodeVMUnsupported {
		t.Fatalf("customer VM: %d %s, want 422 %s", r.Status, r.Body, api.CodeVMUnsupported)
	}

	// Placed by an admin on the node: the daemon fails the operation fast with the reason.
	req.NodeID = s.NodeID
	start := time.Now()
	r, err = s.Do(ctx, http.MethodPost, "/api/v1/servers", s.AdminToken, req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("admin VM on node: %d %s", r.Status, r.Body)
	}
	var acc api.ServerAccepted
	if err := r.Decode(&acc); err != nil {
		t.Fatal(err)
	}
	op, err := s.WaitOperation(ctx, s.AdminToken, acc.Operation.ID, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != api.OpFailure || !strings.Contains(strings.ToLower(op.Error), "kvm") {
		t.Fatalf("VM operation = %s %q, want failure mentioning KVM", op.Status, op.Error)
	}
	t.Logf("VM create failed after %s: %s", time.Since(start).Round(time.Millisecond), op.Error)
	if got := getServer(t, s, s.AdminToken, acc.Server.ID); got.Status != api.StatusError {
		t.Fatalf("VM server status = %q, want error", got.Status)
	}
}

func testAuthorization(t *testing.T, s *stack.Stack, c incus.InstanceServer) {
	ctx := context.Background()
	_, tokA, err := s.CreateCustomer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, tokB, err := s.CreateCustomer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := createServer(t, s, c, tokA, api.CreateServerRequest{
		Name: tempName("own"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256,
	})
	ops, err := s.Do(ctx, http.MethodGet, "/api/v1/servers/"+srv.ID+"/operations", tokA, nil)
	if err != nil || ops.Status != http.StatusOK {
		t.Fatalf("owner lists operations: %v %d", err, ops.Status)
	}
	var opList api.List[api.Operation]
	if err := ops.Decode(&opList); err != nil || len(opList.Items) == 0 {
		t.Fatalf("owner operations: %v %s", err, ops.Body)
	}
	opID := opList.Items[0].ID

	serverRoutes := []struct{ method, path string }{
		{http.MethodGet, "/api/v1/servers/" + srv.ID},
		{http.MethodPost, "/api/v1/servers/" + srv.ID + "/start"},
		{http.MethodPost, "/api/v1/servers/" + srv.ID + "/stop"},
		{http.MethodPost, "/api/v1/servers/" + srv.ID + "/restart"},
		{http.MethodDelete, "/api/v1/servers/" + srv.ID},
		{http.MethodGet, "/api/v1/servers/" + srv.ID + "/operations"},
		{http.MethodGet, "/api/v1/operations/" + opID},
		{http.MethodGet, "/api/v1/operations/" + opID + "/wait?timeout=1"},
	}
	for _, rt := range serverRoutes {
		r, err := s.Do(ctx, rt.method, rt.path, tokB, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusNotFound || r.ErrorCode() != api.CodeNotFound {
			t.Errorf("customer B %s %s = %d %s, want 404 not_found", rt.method, rt.path, r.Status, r.Body)
		}
		r, err = s.Do(ctx, rt.method, rt.path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s = %d, want 401", rt.method, rt.path, r.Status)
		}
	}
	// B's list does not show A's server.
	r, _ := s.Do(ctx, http.MethodGet, "/api/v1/servers?per_page=100", tokB, nil)
	var list api.List[api.Server]
	if err := r.Decode(&list); err != nil || list.Total != 0 {
		t.Errorf("customer B list: total %d, %v", list.Total, err)
	}

	adminRoutes := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/v1/admin/nodes", nil},
		{http.MethodPost, "/api/v1/admin/nodes", api.CreateNodeRequest{Name: "evil"}},
		{http.MethodGet, "/api/v1/admin/nodes/" + s.NodeID, nil},
		{http.MethodDelete, "/api/v1/admin/nodes/" + s.NodeID, nil},
		{http.MethodGet, "/api/v1/admin/users", nil},
		{http.MethodPost, "/api/v1/admin/users", api.CreateUserRequest{Email: "x@example.test", Password: "whatever-123456", Role: api.RoleAdmin}},
		{http.MethodGet, "/api/v1/admin/operations", nil},
	}
	for _, rt := range adminRoutes {
		r, err := s.Do(ctx, rt.method, rt.path, tokB, rt.body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusForbidden || r.ErrorCode() != api.CodeForbidden {
			t.Errorf("customer %s %s = %d %s, want 403 forbidden", rt.method, rt.path, r.Status, r.Body)
		}
	}

	// Nothing B tried changed A's server.
	if got := getServer(t, s, tokA, srv.ID); got.Status != api.StatusRunning {
		t.Errorf("A's server status after B's attempts = %q", got.Status)
	}
	if got := lxdStatus(t, c, srv.IncusName); got != "Running" {
		t.Errorf("A's container in LXD after B's attempts = %q", got)
	}
	act(t, s, tokA, srv.ID, "delete")
}

func testBadInput(t *testing.T, s *stack.Stack) {
	ctx := context.Background()
	_, cust, err := s.CreateCustomer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := inspector(t)
	counts := func() (servers, ops int64, queued int) {
		var l api.List[api.Server]
		r, _ := s.Do(ctx, http.MethodGet, "/api/v1/servers?per_page=1", s.AdminToken, nil)
		if err := r.Decode(&l); err != nil {
			t.Fatal(err)
		}
		var o api.List[api.Operation]
		r, _ = s.Do(ctx, http.MethodGet, "/api/v1/admin/operations?per_page=1", s.AdminToken, nil)
		if err := r.Decode(&o); err != nil {
			t.Fatal(err)
		}
		if qi, err := in.GetQueueInfo(jobs.Queue(s.NodeID)); err == nil {
			queued = qi.Size + qi.Completed
		}
		return l.Total, o.Total, queued
	}
	valid := `{"name":"ok-name","image":"` + s.Opts.Env.Image + `","type":"container","cpu":1,"memory_mib":128,"disk_mib":512}`
	with := func(field, value string) string {
		// replace one field of the valid body
		parts := map[string]string{
			"name": `"ok-name"`, "image": `"` + s.Opts.Env.Image + `"`, "type": `"container"`,
			"cpu": "1", "memory_mib": "128", "disk_mib": "512",
		}
		parts[field] = value
		b := "{"
		for i, k := range []string{"name", "image", "type", "cpu", "memory_mib", "disk_mib"} {
			if i > 0 {
				b += ","
			}
			b += `"` + k + `":` + parts[k]
		}
		return b + "}"
	}
	cases := []struct {
		name        string
		token       string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"malformed json", cust, "application/json", `{"name":`, 400, api.CodeInvalidJSON},
		{"not an object", cust, "application/json", `[1,2]`, 400, api.CodeInvalidJSON},
		{"trailing data", cust, "application/json", valid + `{}`, 400, api.CodeInvalidJSON},
		{"unknown field", cust, "application/json", strings.TrimSuffix(valid, "}") + `,"gpu":1}`, 400, api.CodeInvalidJSON},
		{"wrong type", cust, "application/json", with("cpu", `"two"`), 400, api.CodeInvalidJSON},
		{"wrong content type", cust, "text/plain", valid, 415, ""},
		{"empty body", cust, "application/json", ``, 400, api.CodeInvalidJSON},
		{"unknown image", cust, "application/json", with("image", `"no-such-image"`), 422, api.CodeUnknownImage},
		{"unknown type", cust, "application/json", with("type", `"pod"`), 422, api.CodeValidation},
		{"zero cpu", cust, "application/json", with("cpu", "0"), 422, api.CodeValidation},
		{"negative cpu", cust, "application/json", with("cpu", "-2"), 422, api.CodeValidation},
		{"huge cpu", cust, "application/json", with("cpu", "100000"), 422, api.CodeValidation},
		{"zero memory", cust, "application/json", with("memory_mib", "0"), 422, api.CodeValidation},
		{"negative memory", cust, "application/json", with("memory_mib", "-128"), 422, api.CodeValidation},
		{"huge memory", cust, "application/json", with("memory_mib", "99999999999"), 422, api.CodeValidation},
		{"overflowing memory", cust, "application/json", with("memory_mib", "99999999999999999999999"), 400, api.CodeInvalidJSON},
		{"zero disk", cust, "application/json", with("disk_mib", "0"), 422, api.CodeValidation},
		{"negative disk", cust, "application/json", with("disk_mib", "-1"), 422, api.CodeValidation},
		{"huge disk", cust, "application/json", with("disk_mib", "999999999999"), 422, api.CodeValidation},
		{"over-long name", cust, "application/json", with("name", `"`+strings.Repeat("a", 33)+`"`), 422, api.CodeValidation},
		{"empty name", cust, "application/json", with("name", `""`), 422, api.CodeValidation},
		{"name with capitals", cust, "application/json", with("name", `"Web1"`), 422, api.CodeValidation},
		{"name with dots", cust, "application/json", with("name", `"web.1"`), 422, api.CodeValidation},
		{"name starting with digit", cust, "application/json", with("name", `"1web"`), 422, api.CodeValidation},
		{"name injection", cust, "application/json", with("name", `"a; rm -rf /"`), 422, api.CodeValidation},
		{"unknown node", s.AdminToken, "application/json", strings.TrimSuffix(valid, "}") + `,"node_id":"00000000-0000-4000-8000-000000000000"}`, 422, api.CodeValidation},
		{"node chosen by customer", cust, "application/json", strings.TrimSuffix(valid, "}") + `,"node_id":"` + s.NodeID + `"}`, 403, api.CodeForbidden},
		{"no token", "", "application/json", valid, 401, api.CodeUnauthorized},
		{"bad token", "nimbo_not-a-token", "application/json", valid, 401, api.CodeUnauthorized},
	}
	servers0, ops0, queued0 := counts()
	for _, tc := range cases {
		r, err := s.Raw(ctx, http.MethodPost, "/api/v1/servers", tc.token, tc.contentType, []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tc.status {
			t.Errorf("%s: status %d %s, want %d", tc.name, r.Status, r.Body, tc.status)
			continue
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: content type %q, want JSON", tc.name, r.Header.Get("Content-Type"))
		}
		var e api.Error
		if err := r.Decode(&e); err != nil || e.Error.Message == "" || e.RequestID == "" {
			t.Errorf("%s: error body %s is not a clear JSON error (%v)", tc.name, r.Body, err)
		}
		if tc.code != "" && e.Error.Code != tc.code {
			t.Errorf("%s: code %q, want %q (%s)", tc.name, e.Error.Code, tc.code, e.Error.Message)
		}
	}
	// Bad ids and query parameters.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/api/v1/servers/not-a-uuid", 404},
		{http.MethodPost, "/api/v1/servers/00000000-0000-4000-8000-000000000000/start", 404},
		{http.MethodGet, "/api/v1/operations/%27%20OR%201=1", 404},
		{http.MethodGet, "/api/v1/servers?page=0", 422},
		{http.MethodGet, "/api/v1/servers?per_page=100000", 422},
		{http.MethodGet, "/api/v1/servers?page=abc", 422},
		{http.MethodGet, "/api/v1/servers?status=bogus", 422},
	} {
		r, err := s.Do(ctx, tc.method, tc.path, cust, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tc.status || r.ErrorCode() == "" {
			t.Errorf("%s %s = %d %s, want %d with a JSON error", tc.method, tc.path, r.Status, r.Body, tc.status)
		}
	}
	servers1, ops1, queued1 := counts()
	if servers1 != servers0 || ops1 != ops0 || queued1 != queued0 {
		t.Fatalf("bad input left something behind: servers %d→%d, operations %d→%d, queued tasks %d→%d",
			servers0, servers1, ops0, ops1, queued0, queued1)
	}
}

// testReconcile removes a server's container behind the panel's back and plants a container
// with the node's label that the panel never made; the daemon's reconcile loop reports both.
func testReconcile(t *testing.T, s *stack.Stack, c incus.InstanceServer) {
	ctx := context.Background()
	srv := createServer(t, s, c, s.AdminToken, api.CreateServerRequest{
		Name: tempName("gone"), Image: s.Opts.Env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256,
	})
	removeInstance(c, srv.IncusName)

	stranger := tempName("stranger")
	op, err := c.CreateInstance(incusapi.InstancesPost{
		Name:   stranger,
		Type:   incusapi.InstanceTypeContainer,
		Source: incusapi.InstanceSource{Type: "image", Alias: s.Opts.Env.Image},
		InstancePut: incusapi.InstancePut{Config: map[string]string{
			daemonapi.NodeLabel: s.NodeID, daemonapi.InstanceLabel: "00000000-0000-4000-8000-000000000000",
		}},
	})
	if err == nil {
		err = op.Wait()
	}
	if err != nil {
		t.Fatalf("create stranger: %v", err)
	}
	t.Cleanup(func() { removeInstance(c, stranger) })

	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := s.Node(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := getServer(t, s, s.AdminToken, srv.ID)
		if n.Drift != nil && slices.Contains(n.Drift.MissingInIncus, srv.ID) &&
			slices.Contains(n.Drift.UnknownToPanel, stranger) && got.Status == api.StatusMissing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drift not reported after 60s: node drift %+v, server status %q", n.Drift, got.Status)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The panel decides: deleting the missing server succeeds and clears it.
	act(t, s, s.AdminToken, srv.ID, "delete")
}
