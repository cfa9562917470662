// Package testenv gives the daemon's tests the real services of the machine they run on
// (LXD/Incus and Redis) and a small recording fake of the panel's node API. A test that
// cannot reach a service fails when CI=true and is skipped with a message otherwise.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/internal/panel"
)

// Env returns the environment variable key or def.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// IncusSocket is the socket tests use (NIMBO_TEST_INCUS_SOCKET).
func IncusSocket() string { return Env("NIMBO_TEST_INCUS_SOCKET", "/var/lib/lxd/unix.socket") }

// Image is the local image alias tests create instances from (NIMBO_TEST_IMAGE).
func Image() string { return Env("NIMBO_TEST_IMAGE", "busybox") }

// Pool is the storage pool tests use (NIMBO_TEST_STORAGE_POOL).
func Pool() string { return Env("NIMBO_TEST_STORAGE_POOL", "default") }

// RedisURL is the Redis tests use (NIMBO_TEST_REDIS_URL).
func RedisURL() string { return Env("NIMBO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0") }

// Unavailable fails the test in CI and skips it elsewhere.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI: %v", what, err)
	}
	t.Skipf("%s unavailable (set it up or run with CI=true to fail): %v", what, err)
}

// Incus connects to the test LXD/Incus and closes the client at the end of the test.
func Incus(t testing.TB) *incus.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := incus.Connect(ctx, IncusSocket(), Pool())
	if err != nil {
		Unavailable(t, "LXD/Incus at "+IncusSocket(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// Redis connects to the test Redis and closes the client at the end of the test.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("NIMBO_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		Unavailable(t, "Redis at "+RedisURL(), err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// CleanupQueue removes every asynq key of queue qname when the test ends.
func CleanupQueue(t testing.TB, rdb *redis.Client, qname string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, err := rdb.Keys(ctx, "asynq:{"+qname+"}:*").Result()
		if err == nil && len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.SRem(ctx, "asynq:queues", qname)
	})
}

// RandomHex returns n random bytes, hex encoded.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// InstanceName returns a unique Incus name for a test instance ("t-" + 10 hex) and deletes
// the instance of that name, forcibly, when the test ends.
func InstanceName(t testing.TB, c *incus.Client) string {
	t.Helper()
	name := "t-" + RandomHex(5)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.Delete(ctx, name, time.Second, true); err != nil {
			t.Errorf("cleanup instance %s: %v", name, err)
		}
	})
	return name
}

// Call is one request the fake panel received.
type Call struct {
	Method, Path string
	Body         json.RawMessage
}

// Panel is a recording fake of the panel's node API, for unit-level tests of daemon parts
// that report to the panel. Its answers can be tuned per path.
type Panel struct {
	// Server is the running httptest server; Server.URL is the panel URL.
	Server *httptest.Server
	// Credential is the bearer credential it accepts.
	Credential string

	mu       sync.Mutex
	calls    []Call
	fail     map[string]int // path -> status to answer
	desired  api.DesiredState
	interval int
}

// NewPanel starts a fake panel that accepts credential and stops it at the end of the test.
func NewPanel(t testing.TB, credential string) *Panel {
	p := &Panel{Credential: credential, fail: map[string]int{}, interval: 10}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Server.Close)
	return p
}

// Client returns a panel client of the fake with short retries.
func (p *Panel) Client(t testing.TB) *panel.Client {
	t.Helper()
	c, err := panel.New(p.Server.URL, p.Credential, panel.WithRetry(3, 10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FailPath makes every request to path answer status (0 restores success).
func (p *Panel) FailPath(path string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == 0 {
		delete(p.fail, path)
		return
	}
	p.fail[path] = status
}

// SetDesired sets the answer of GET /node/v1/instances.
func (p *Panel) SetDesired(d api.DesiredState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.desired = d
}

// SetHeartbeatInterval sets the interval the heartbeat answer carries.
func (p *Panel) SetHeartbeatInterval(seconds int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.interval = seconds
}

// Calls returns the requests received so far whose path has the given prefix.
func (p *Panel) Calls(prefix string) []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Call
	for _, c := range p.calls {
		if strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// Results returns the results reported for operation opID.
func (p *Panel) Results(opID string) []api.Result {
	var out []api.Result
	for _, c := range p.Calls(strings.Replace(api.PathResult, "{id}", opID, 1)) {
		var r api.Result
		if json.Unmarshal(c.Body, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// Progress returns the progress reported for operation opID.
func (p *Panel) Progress(opID string) []api.Progress {
	var out []api.Progress
	for _, c := range p.Calls(strings.Replace(api.PathProgress, "{id}", opID, 1)) {
		var r api.Progress
		if json.Unmarshal(c.Body, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// WaitResult waits up to timeout for a result of opID and returns the first one.
func (p *Panel) WaitResult(t testing.TB, opID string, timeout time.Duration) api.Result {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if rs := p.Results(opID); len(rs) > 0 {
			return rs[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no result for operation %s within %s", opID, timeout)
	return api.Result{}
}

func (p *Panel) serve(w http.ResponseWriter, r *http.Request) {
	var body json.RawMessage
	_ = json.NewDecoder(r.Body).Decode(&body)
	p.mu.Lock()
	status := p.fail[r.URL.Path]
	desired := p.desired
	interval := p.interval
	if r.URL.Path != api.PathJoin && r.Header.Get(api.HeaderAuth) != api.AuthScheme+" "+p.Credential {
		status = http.StatusUnauthorized
	}
	if status == 0 {
		p.calls = append(p.calls, Call{Method: r.Method, Path: r.URL.Path, Body: body})
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(api.Error{
			Error:     api.ErrorBody{Code: strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_")), Message: "fake panel says " + http.StatusText(status)},
			RequestID: "req-" + RandomHex(4),
		})
		return
	}
	switch {
	case r.URL.Path == api.PathJoin:
		_ = json.NewEncoder(w).Encode(api.JoinResponse{NodeID: "node-" + RandomHex(8), NodeName: "fake", Credential: p.Credential, RedisURL: RedisURL(), HeartbeatIntervalSeconds: interval})
	case r.URL.Path == api.PathHeartbeat:
		_ = json.NewEncoder(w).Encode(api.HeartbeatResponse{HeartbeatIntervalSeconds: interval})
	case r.URL.Path == api.PathInstances:
		_ = json.NewEncoder(w).Encode(desired)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
