// Package stack starts a real Nimbo stack — nimbo-panel and nimbo-daemon as separate processes
// against real Redis, a real database and a real LXD/Incus — for end-to-end tests and benchmarks.
package stack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// Env names the services a stack uses, read from the NIMBO_TEST_* environment.
type Env struct {
	RedisURL    string
	PostgresDSN string
	IncusSocket string
	Image       string
}

// EnvFromOS reads NIMBO_TEST_REDIS_URL, NIMBO_TEST_POSTGRES_DSN, NIMBO_TEST_INCUS_SOCKET and
// NIMBO_TEST_IMAGE, with this project's defaults.
func EnvFromOS() Env {
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	return Env{
		RedisURL:    get("NIMBO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		PostgresDSN: get("NIMBO_TEST_POSTGRES_DSN", "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		IncusSocket: get("NIMBO_TEST_INCUS_SOCKET", "/var/lib/lxd/unix.socket"),
		Image:       get("NIMBO_TEST_IMAGE", "busybox"),
	}
}

// Build compiles nimbo-panel and nimbo-daemon into dir. race builds them with the race
// detector.
func Build(ctx context.Context, dir string, race bool) error {
	root, err := RepoRoot(ctx)
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./backend/cmd/nimbo-panel", "./daemon/cmd/nimbo-daemon")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the nimbo module")
	}
	return filepath.Dir(mod), nil
}

// Options configure one stack.
type Options struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	Env    Env
	// BinDir holds the binaries built by Build.
	BinDir string
	// Dir is a fresh directory for data, configs and logs.
	Dir string
	// HeartbeatInterval is the panel's node heartbeat interval (default 1s).
	HeartbeatInterval time.Duration
	// TaskCheckInterval is the daemon's idle queue poll interval (default: the daemon's
	// own default, so that tests and benchmarks measure what ships).
	TaskCheckInterval time.Duration
	// LogLevel of both processes (default "info").
	LogLevel string
	// NoDaemon starts the panel only.
	NoDaemon bool
	// PanelEnv holds extra NIMBO_* settings for the panel (KEY=value), applied last.
	PanelEnv []string
}

// Stack is a running panel with one joined node.
type Stack struct {
	Opts          Options
	URL           string
	AdminEmail    string
	AdminPassword string
	// AdminToken is an API token with every scope of the admin.
	AdminToken string
	NodeID     string
	NodeName   string
	// DatabaseDSN is the panel's database (a file path for SQLite).
	DatabaseDSN string
	// RedisPrefix namespaces the panel's own Redis keys (rate limits, sessions' cache, the
	// billing queue): stacks sharing one Redis, at once or one after another, do not see each
	// other's counters or take each other's billing tasks.
	RedisPrefix string

	pgAdminDSN string
	pgDatabase string
	client     *http.Client

	mu     sync.Mutex
	panel  *exec.Cmd
	daemon *exec.Cmd
	waits  map[*exec.Cmd]chan error
}

// RandomSuffix returns n random lowercase hex characters.
func RandomSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// Start launches the panel (and a daemon joined as a fresh node unless NoDaemon) and
// returns once the panel is ready and the node online.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = time.Second
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	s = &Stack{Opts: o, client: &http.Client{Timeout: 150 * time.Second}, waits: map[*exec.Cmd]chan error{},
		RedisPrefix: "nimbo-stack-" + RandomSuffix(8) + ":"}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	switch o.Driver {
	case "sqlite":
		s.DatabaseDSN = filepath.Join(o.Dir, "nimbo.db")
	case "postgres":
		if err := s.createPostgres(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown driver %q", o.Driver)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)

	s.AdminEmail = "admin-" + RandomSuffix(8) + "@example.test"
	s.AdminPassword = "Adm1n-" + RandomSuffix(16)
	if _, err := s.panelCLI(ctx, "migrate"); err != nil {
		return nil, err
	}
	if _, err := s.panelCLI(ctx, "admin", "create", "--email", s.AdminEmail, "--password", s.AdminPassword); err != nil {
		return nil, err
	}
	if err := s.StartPanel(ctx); err != nil {
		return nil, err
	}
	tok, err := s.LoginToken(ctx, s.AdminEmail, s.AdminPassword,
		[]string{api.ScopeServersRead, api.ScopeServersWrite, api.ScopeAdminRead, api.ScopeAdminWrite})
	if err != nil {
		return nil, err
	}
	s.AdminToken = tok
	if o.NoDaemon {
		return s, nil
	}
	s.NodeName = "e2e-" + RandomSuffix(8)
	var token string
	s.NodeID, token, err = s.CreateNode(ctx, s.NodeName)
	if err != nil {
		return nil, err
	}
	join := exec.CommandContext(ctx, filepath.Join(o.BinDir, "nimbo-daemon"), "join",
		"--panel", s.URL, "--token", token, "--config", s.daemonConfig())
	join.Env = s.daemonEnv()
	if b, err := join.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nimbo-daemon join: %w\n%s", err, b)
	}
	if err := s.StartDaemon(ctx); err != nil {
		return nil, err
	}
	if err := s.WaitNodeStatus(ctx, api.NodeOnline, 60*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stack) createPostgres(ctx context.Context) error {
	s.pgAdminDSN = s.Opts.Env.PostgresDSN
	s.pgDatabase = "nimbo_e2e_" + RandomSuffix(10)
	conn, err := pgx.Connect(ctx, s.pgAdminDSN)
	if err != nil {
		return fmt.Errorf("connect postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+s.pgDatabase); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(s.pgAdminDSN)
	if err != nil {
		return fmt.Errorf("parse postgres dsn: %w", err)
	}
	u.Path = "/" + s.pgDatabase
	s.DatabaseDSN = u.String()
	return nil
}

func (s *Stack) daemonConfig() string { return filepath.Join(s.Opts.Dir, "daemon.yaml") }

func (s *Stack) panelEnv() []string {
	return append(append(os.Environ(),
		"NIMBO_LISTEN="+strings.TrimPrefix(s.URL, "http://"),
		"NIMBO_PUBLIC_URL="+s.URL,
		"NIMBO_DATA_DIR="+s.Opts.Dir,
		"NIMBO_DATABASE_DRIVER="+s.Opts.Driver,
		"NIMBO_DATABASE_DSN="+s.DatabaseDSN,
		"NIMBO_REDIS_URL="+s.Opts.Env.RedisURL,
		"NIMBO_REDIS_PREFIX="+s.RedisPrefix,
		"NIMBO_NODES_HEARTBEAT_INTERVAL="+s.Opts.HeartbeatInterval.String(),
		"NIMBO_SWEEP_INTERVAL=500ms",
		// The spine tests create servers directly, as customers, without orders.
		"NIMBO_BILLING_FREE_SERVERS=true",
		// Usage charts get a point every couple of seconds instead of every minute.
		"NIMBO_METRICS_INTERVAL=2s",
		"NIMBO_LOG_LEVEL="+s.Opts.LogLevel,
		"NIMBO_LOG_FORMAT=text",
	), s.Opts.PanelEnv...)
}

func (s *Stack) daemonEnv() []string {
	env := append(os.Environ(),
		"NIMBO_DAEMON_INCUS_SOCKET="+s.Opts.Env.IncusSocket,
		"NIMBO_DAEMON_RECONCILE_INTERVAL=2s",
		"NIMBO_DAEMON_STOP_TIMEOUT=10s",
	)
	if s.Opts.TaskCheckInterval > 0 {
		env = append(env, "NIMBO_DAEMON_TASK_CHECK_INTERVAL="+s.Opts.TaskCheckInterval.String())
	}
	return env
}

func (s *Stack) panelCLI(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.Opts.BinDir, "nimbo-panel"), args...)
	cmd.Env = s.panelEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("nimbo-panel %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// CreateNode registers a node with `nimbo-panel node create` and returns its id and join token.
func (s *Stack) CreateNode(ctx context.Context, name string) (id, joinToken string, err error) {
	out, err := s.panelCLI(ctx, "node", "create", "--name", name)
	if err != nil {
		return "", "", err
	}
	fields := parseFields(out)
	id, joinToken = fields["node_id"], fields["join_token"]
	if id == "" || joinToken == "" {
		return "", "", fmt.Errorf("node create printed no node_id/join_token:\n%s", out)
	}
	return id, joinToken, nil
}

func parseFields(out string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func (s *Stack) start(ctx context.Context, name string, env []string, args ...string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(filepath.Join(s.Opts.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// Not CommandContext: the process must outlive the start call and is stopped explicitly.
	cmd := exec.Command(filepath.Join(s.Opts.BinDir, name), args...)
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		logf.Close()
	}()
	s.mu.Lock()
	s.waits[cmd] = done
	s.mu.Unlock()
	return cmd, nil
}

// StartPanel starts nimbo-panel serve and waits until /readyz answers 200.
func (s *Stack) StartPanel(ctx context.Context) error {
	cmd, err := s.start(ctx, "nimbo-panel", s.panelEnv(), "serve")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.panel = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if exited := s.exited(cmd); exited != nil {
			return fmt.Errorf("panel exited: %v\n%s", exited, s.Log("nimbo-panel"))
		}
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("panel not ready after 60s\n%s", s.Log("nimbo-panel"))
}

// StartDaemon starts nimbo-daemon run with the joined config.
func (s *Stack) StartDaemon(ctx context.Context) error {
	cmd, err := s.start(ctx, "nimbo-daemon", s.daemonEnv(), "run", "--config", s.daemonConfig())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.daemon = cmd
	s.mu.Unlock()
	return nil
}

func (s *Stack) exited(cmd *exec.Cmd) error {
	s.mu.Lock()
	done := s.waits[cmd]
	s.mu.Unlock()
	select {
	case err := <-done:
		if err == nil {
			err = errors.New("exit status 0")
		}
		done <- err
		return err
	default:
		return nil
	}
}

// stop signals cmd and waits up to 30 s for it to exit, then kills it.
func (s *Stack) stop(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	s.mu.Lock()
	done := s.waits[cmd]
	delete(s.waits, cmd)
	s.mu.Unlock()
	if done == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// StopDaemon stops the daemon gracefully (SIGTERM).
func (s *Stack) StopDaemon() {
	s.mu.Lock()
	d := s.daemon
	s.daemon = nil
	s.mu.Unlock()
	s.stop(d, syscall.SIGTERM)
}

// KillDaemon kills the daemon with SIGKILL, as a crash would.
func (s *Stack) KillDaemon() {
	s.mu.Lock()
	d := s.daemon
	s.daemon = nil
	s.mu.Unlock()
	s.stop(d, syscall.SIGKILL)
}

// Log returns the tail of a process log ("nimbo-panel" or "nimbo-daemon").
func (s *Stack) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.Opts.Dir, name+".log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// RaceReports returns the data race reports the race-built processes wrote to their logs.
func (s *Stack) RaceReports() []string {
	var out []string
	for _, name := range []string{"nimbo-panel", "nimbo-daemon"} {
		b, _ := os.ReadFile(filepath.Join(s.Opts.Dir, name+".log"))
		for rest := string(b); ; {
			i := strings.Index(rest, "WARNING: DATA RACE")
			if i < 0 {
				break
			}
			rest = rest[i:]
			end := strings.Index(rest, "==================")
			if end < 0 {
				end = len(rest)
			}
			out = append(out, name+": "+rest[:end])
			rest = rest[end:]
		}
	}
	return out
}

// Close stops both processes and drops the PostgreSQL database.
func (s *Stack) Close() {
	s.StopDaemon()
	s.mu.Lock()
	p := s.panel
	s.panel = nil
	s.mu.Unlock()
	s.stop(p, syscall.SIGTERM)
	if s.pgDatabase != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, s.pgAdminDSN); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+s.pgDatabase+" WITH (FORCE)")
			conn.Close(ctx)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Response is one HTTP answer.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// Decode unmarshals the body into v.
func (r Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d %s: %w", r.Status, r.Body, err)
	}
	return nil
}

// ErrorCode returns the error code of an error answer, or "".
func (r Response) ErrorCode() string {
	var e api.Error
	if json.Unmarshal(r.Body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// Raw sends a request with a raw body and content type; token may be empty.
func (s *Stack) Raw(ctx context.Context, method, path, token, contentType string, body []byte) (Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return Response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.send(req)
}

// send does req and reads the whole answer.
func (s *Stack) send(req *http.Request) (Response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Body: b, Header: resp.Header}, nil
}

// RawHost sends a request without a body or credentials to the panel with the Host header
// set to host (a reseller's domain, say), the way a browser visiting that domain would.
func (s *Stack) RawHost(ctx context.Context, method, path, host string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, nil)
	if err != nil {
		return Response{}, err
	}
	req.Host = host
	return s.send(req)
}

// Do sends body (marshalled as JSON unless nil) with a bearer token.
func (s *Stack) Do(ctx context.Context, method, path, token string, body any) (Response, error) {
	if body == nil {
		return s.Raw(ctx, method, path, token, "", nil)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Response{}, err
	}
	return s.Raw(ctx, method, path, token, "application/json", b)
}

// LoginToken logs in with a password and creates an API token with the given scopes.
func (s *Stack) LoginToken(ctx context.Context, email, password string, scopes []string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{Timeout: 30 * time.Second, Jar: jar}
	post := func(path string, body any) (Response, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return Response{}, err
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		return Response{Status: resp.StatusCode, Body: rb, Header: resp.Header}, nil
	}
	r, err := post("/api/v1/auth/login", api.LoginRequest{Email: email, Password: password})
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("login: %d %s", r.Status, r.Body)
	}
	r, err = post("/api/v1/tokens", api.CreateTokenRequest{Name: "e2e", Scopes: scopes})
	if err != nil {
		return "", err
	}
	var tok api.Token
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		return "", fmt.Errorf("create token: %d %s", r.Status, r.Body)
	}
	if err := r.Decode(&tok); err != nil {
		return "", err
	}
	if tok.Secret == "" {
		return "", fmt.Errorf("create token: no secret in %s", r.Body)
	}
	return tok.Secret, nil
}

// CreateCustomer creates a customer through the admin API and returns its id and a token
// with the server scopes.
func (s *Stack) CreateCustomer(ctx context.Context) (id, token string, err error) {
	email := "cust-" + RandomSuffix(8) + "@example.test"
	pw := "Cust-" + RandomSuffix(16)
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/admin/users", s.AdminToken,
		api.CreateUserRequest{Email: email, Password: pw, Role: api.RoleCustomer})
	if err != nil {
		return "", "", err
	}
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		return "", "", fmt.Errorf("create user: %d %s", r.Status, r.Body)
	}
	var u api.User
	if err := r.Decode(&u); err != nil {
		return "", "", err
	}
	tok, err := s.LoginToken(ctx, email, pw, []string{api.ScopeServersRead, api.ScopeServersWrite})
	return u.ID, tok, err
}

// Node returns the stack's node as the admin API shows it.
func (s *Stack) Node(ctx context.Context) (api.Node, error) {
	var n api.Node
	r, err := s.Do(ctx, http.MethodGet, "/api/v1/admin/nodes/"+s.NodeID, s.AdminToken, nil)
	if err != nil {
		return n, err
	}
	if r.Status != http.StatusOK {
		return n, fmt.Errorf("get node: %d %s", r.Status, r.Body)
	}
	return n, r.Decode(&n)
}

// WaitNodeStatus polls until the node has the status or the timeout passes.
func (s *Stack) WaitNodeStatus(ctx context.Context, status string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last api.Node
	for time.Now().Before(deadline) {
		n, err := s.Node(ctx)
		if err == nil && n.Status == status {
			return nil
		}
		last = n
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s not %s after %s (last %q)\npanel:\n%s\ndaemon:\n%s", s.NodeID, status, timeout,
		last.Status, s.Log("nimbo-panel"), s.Log("nimbo-daemon"))
}

// Operation fetches an operation.
func (s *Stack) Operation(ctx context.Context, token, id string) (api.Operation, error) {
	var op api.Operation
	r, err := s.Do(ctx, http.MethodGet, "/api/v1/operations/"+id, token, nil)
	if err != nil {
		return op, err
	}
	if r.Status != http.StatusOK {
		return op, fmt.Errorf("get operation: %d %s", r.Status, r.Body)
	}
	return op, r.Decode(&op)
}

// WaitOperation long-polls until the operation is finished or timeout passes.
func (s *Stack) WaitOperation(ctx context.Context, token, id string, timeout time.Duration) (api.Operation, error) {
	deadline := time.Now().Add(timeout)
	var op api.Operation
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return op, fmt.Errorf("operation %s not finished after %s (status %q, progress %d)\npanel:\n%s\ndaemon:\n%s",
				id, timeout, op.Status, op.Progress, s.Log("nimbo-panel"), s.Log("nimbo-daemon"))
		}
		secs := int(left.Seconds())
		if secs < 1 {
			secs = 1
		}
		if secs > 30 {
			secs = 30
		}
		r, err := s.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/operations/%s/wait?timeout=%d", id, secs), token, nil)
		if err != nil {
			return op, err
		}
		if r.Status != http.StatusOK {
			return op, fmt.Errorf("wait operation: %d %s", r.Status, r.Body)
		}
		if err := r.Decode(&op); err != nil {
			return op, err
		}
		if op.Status == api.OpSuccess || op.Status == api.OpFailure {
			return op, nil
		}
	}
}
