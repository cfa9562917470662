// Package e2e runs the real nimbo-panel and nimbo-daemon, as separate processes, against real
// Redis, real LXD and both databases (SQLite and PostgreSQL).
package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	incus "github.com/lxc/incus/v6/client"
	incusapi "github.com/lxc/incus/v6/shared/api"
	"github.com/redis/go-redis/v9"

	daemonapi "github.com/nimbo-panel/nimbo/daemon/api"

	"github.com/nimbo-panel/nimbo/backend/internal/stack"
)

// suite holds what every test in this package shares: the built binaries and the services.
type suite struct {
	env    stack.Env
	binDir string
	// missing says which service could not be reached; empty when all are there.
	missing string
}

var st suite

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	st.env = stack.EnvFromOS()
	st.missing = probe(st.env)
	if st.missing == "" {
		dir, err := os.MkdirTemp("", "nimbo-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		err = stack.Build(ctx, dir, true)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		st.binDir = dir
	}
	return m.Run()
}

// probe returns a description of the first unreachable service, or "".
func probe(env stack.Env) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opt, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		return "Redis (bad NIMBO_TEST_REDIS_URL: " + err.Error() + ")"
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return "Redis at " + env.RedisURL + ": " + err.Error()
	}
	conn, err := pgx.Connect(ctx, env.PostgresDSN)
	if err != nil {
		return "PostgreSQL at " + redactDSN(env.PostgresDSN) + ": " + err.Error()
	}
	conn.Close(ctx)
	c, err := incus.ConnectIncusUnix(env.IncusSocket, nil)
	if err != nil {
		return "LXD/Incus at " + env.IncusSocket + ": " + err.Error()
	}
	defer c.Disconnect()
	if _, _, err := c.GetImageAlias(env.Image); err != nil {
		return "image alias " + env.Image + " in LXD: " + err.Error()
	}
	return ""
}

func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable dsn)"
	}
	return u.Redacted()
}

// need fails the test when a service is missing in CI and skips it otherwise.
func need(t *testing.T) {
	t.Helper()
	if st.missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("end-to-end test needs %s (run `make test`, which starts the services)", st.missing)
	}
	t.Skipf("end-to-end test skipped: cannot reach %s (run `make test`, which starts the services)", st.missing)
}

// drivers are the databases every end-to-end test runs against.
var drivers = []string{"sqlite", "postgres"}

// newStack starts a panel and a joined daemon on driver, stopped when the test ends.
func newStack(t *testing.T, driver string, opts ...func(*stack.Options)) *stack.Stack {
	t.Helper()
	return newStackEnv(t, driver, st.env, opts...)
}

// newStackEnv is newStack with the services of env.
func newStackEnv(t *testing.T, driver string, env stack.Env, opts ...func(*stack.Options)) *stack.Stack {
	t.Helper()
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := stack.Options{
		Driver: driver,
		Env:    env,
		BinDir: st.binDir,
		Dir:    t.TempDir(),
	}
	for _, f := range opts {
		f(&o)
	}
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("panel log:\n%s", s.Log("nimbo-panel"))
			t.Logf("daemon log:\n%s", s.Log("nimbo-daemon"))
		}
		s.Close()
		for _, r := range s.RaceReports() {
			t.Errorf("data race in a stack process:\n%s", r)
		}
	})
	return s
}

// lxd connects to the LXD/Incus the stacks use.
func lxd(t *testing.T) incus.InstanceServer {
	t.Helper()
	c, err := incus.ConnectIncusUnix(st.env.IncusSocket, nil)
	if err != nil {
		t.Fatalf("connect LXD: %v", err)
	}
	t.Cleanup(c.Disconnect)
	return c
}

// instancesFor returns the names of the LXD instances labelled with the server id.
func instancesFor(t *testing.T, c incus.InstanceServer, serverID string) []string {
	t.Helper()
	all, err := c.GetInstances("")
	if err != nil {
		t.Fatalf("list LXD instances: %v", err)
	}
	var names []string
	for _, in := range all {
		if in.Config[daemonapi.InstanceLabel] == serverID {
			names = append(names, in.Name)
		}
	}
	return names
}

// removeInstance force-deletes an LXD instance if it still exists (test cleanup).
func removeInstance(c incus.InstanceServer, name string) {
	if in, _, err := c.GetInstance(name); err == nil {
		if in.StatusCode != incusapi.Stopped {
			op, err := c.UpdateInstanceState(name, incusapi.InstanceStatePut{Action: "stop", Force: true, Timeout: -1}, "")
			if err == nil {
				_ = op.Wait()
			}
		}
		if op, err := c.DeleteInstance(name); err == nil {
			_ = op.Wait()
		}
	}
}

// inspector opens an asynq inspector on the test Redis.
func inspector(t *testing.T) *asynq.Inspector {
	t.Helper()
	opt, err := asynq.ParseRedisURI(st.env.RedisURL)
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	in := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// asynqClient opens an asynq client on the test Redis.
func asynqClient(t *testing.T) *asynq.Client {
	t.Helper()
	opt, err := asynq.ParseRedisURI(st.env.RedisURL)
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	c := asynq.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// tempName returns a valid, unique server name.
func tempName(prefix string) string {
	return prefix + "-" + stack.RandomSuffix(6)
}
