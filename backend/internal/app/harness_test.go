package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/app"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// env is one panel process serving on a loopback listener, against a fresh database.
type env struct {
	t    testing.TB
	app  *app.App
	cfg  config.Config
	base string
	rdb  *redis.Client
	insp *asynq.Inspector
	hc   *http.Client
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newEnv(t testing.TB, db testenv.Database, mut ...func(*config.Config)) *env {
	t.Helper()
	cfg := testenv.Config(t, db)
	for _, m := range mut {
		m(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	select {
	case <-a.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("operation subscription not ready")
	}
	rdb := testenv.Redis(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	return &env{t: t, app: a, cfg: cfg, base: "http://" + ln.Addr().String(), rdb: rdb, insp: insp,
		hc: &http.Client{Timeout: 2 * time.Minute}}
}

// client calls the REST API with a session cookie or a bearer token.
type client struct {
	e      *env
	cookie string
	bearer string
	user   api.User
}

// raw is a request body sent as is with its content type.
type raw struct {
	ct   string
	body string
}

func (c *client) do(method, path string, body any, out any) (int, http.Header, []byte) {
	c.e.t.Helper()
	var (
		rd io.Reader
		ct string
	)
	switch b := body.(type) {
	case nil:
	case raw:
		rd, ct = strings.NewReader(b.body), b.ct
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.e.base+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "nimbo_session", Value: c.cookie})
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.e.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, resp.Header, b
}

// must calls do and fails unless the status is want.
func (c *client) must(want int, method, path string, body any, out any) []byte {
	c.e.t.Helper()
	st, _, b := c.do(method, path, body, out)
	if st != want {
		c.e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, b)
	}
	return b
}

// errCode calls do and returns the status and error code of the answer.
func (c *client) errCode(method, path string, body any) (int, api.Error) {
	c.e.t.Helper()
	var e api.Error
	st, _, b := c.do(method, path, body, nil)
	if st >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			c.e.t.Fatalf("%s %s: error body %q is not JSON: %v", method, path, b, err)
		}
	}
	return st, e
}

func (e *env) anon() *client { return &client{e: e} }

// login creates a user with role and logs it in.
func (e *env) login(email, role string) *client {
	e.t.Helper()
	if _, err := e.app.Auth().CreateUser(context.Background(), email, "password-"+email, role); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	c := &client{e: e}
	st, h, b := c.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: "password-" + email}, &c.user)
	if st != 200 {
		e.t.Fatalf("login %s: %d %s", email, st, b)
	}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "nimbo_session" {
			c.cookie = ck.Value
		}
	}
	if c.cookie == "" {
		e.t.Fatal("no session cookie")
	}
	return c
}

// fakeNode drives the real node API over HTTP as a daemon would.
type fakeNode struct {
	e          *env
	id, name   string
	credential string
	hb         dapi.Heartbeat
}

func defaultHeartbeat() dapi.Heartbeat {
	return dapi.Heartbeat{
		Version:  "test",
		JobTypes: jobs.AllTypes,
		Capabilities: dapi.Capabilities{Containers: true, VMReason: "no /dev/kvm", ServerName: "lxd",
			ServerVersion: "5.0.2", StorageDriver: "dir", StoragePool: "default"},
		Resources: dapi.Resources{CPUs: 4, MemoryTotal: 8 << 30, DiskTotal: 100 << 30},
		Images:    []string{"busybox"},
	}
}

// addNode registers a node as admin, joins it and sends one heartbeat.
func (e *env) addNode(admin *client, name string, hb dapi.Heartbeat) *fakeNode {
	e.t.Helper()
	var cr api.CreateNodeResponse
	admin.must(201, "POST", "/api/v1/admin/nodes", api.CreateNodeRequest{Name: name}, &cr)
	n := &fakeNode{e: e, id: cr.Node.ID, name: name, hb: hb}
	e.t.Cleanup(func() { _ = e.insp.DeleteQueue(jobs.Queue(n.id), true) })
	var jr dapi.JoinResponse
	if st, b := n.call("POST", dapi.PathJoin, dapi.JoinRequest{Token: cr.JoinToken, Hostname: name, Version: "test"}, &jr); st != 200 {
		e.t.Fatalf("join: %d %s", st, b)
	}
	n.credential = jr.Credential
	n.heartbeat()
	return n
}

func (n *fakeNode) call(method, path string, body any, out any) (int, []byte) {
	n.e.t.Helper()
	c := &client{e: n.e, bearer: n.credential}
	st, _, b := c.do(method, path, body, out)
	return st, b
}

func (n *fakeNode) heartbeat() {
	n.e.t.Helper()
	n.hb.SentAt = time.Now()
	if st, b := n.call("POST", dapi.PathHeartbeat, n.hb, nil); st != 200 {
		n.e.t.Fatalf("heartbeat: %d %s", st, b)
	}
}

func opPath(tmpl, id string) string { return strings.Replace(tmpl, "{id}", id, 1) }

func (n *fakeNode) result(opID string, r dapi.Result) {
	n.e.t.Helper()
	if st, b := n.call("POST", opPath(dapi.PathResult, opID), r, nil); st != 200 {
		n.e.t.Fatalf("result: %d %s", st, b)
	}
}

// tasks returns the ids of the tasks in any state on a node's queue.
func (e *env) tasks(nodeID string) []string {
	e.t.Helper()
	q := jobs.Queue(nodeID)
	var ids []string
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		e.insp.ListPendingTasks, e.insp.ListActiveTasks, e.insp.ListScheduledTasks,
		e.insp.ListRetryTasks, e.insp.ListArchivedTasks, e.insp.ListCompletedTasks,
	}
	for _, l := range lists {
		infos, err := l(q)
		if err != nil {
			if strings.Contains(err.Error(), "queue not found") {
				return nil
			}
			e.t.Fatalf("list tasks: %v", err)
		}
		for _, in := range infos {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

// count returns the number of rows of a table.
func (e *env) count(table string) int64 {
	e.t.Helper()
	var n int64
	if err := e.app.DB().Table(table).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

func validServer(name string) api.CreateServerRequest {
	return api.CreateServerRequest{Name: name, Image: "busybox", Type: "container", CPU: 1, MemoryMiB: 128, DiskMiB: 256}
}
