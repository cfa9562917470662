package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// privateRedis runs a redis-server without persistence on a free loopback port, so that a
// test can kill it and bring it back empty without disturbing the shared one.
type privateRedis struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startPrivateRedis(t *testing.T, port int, dir string) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not installed: %v", err)
	}
	r := &privateRedis{port: port, dir: dir, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("private redis on %d did not answer", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

func (r *privateRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *privateRedis) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// TestRedisRestart loses Redis (killed, back empty: no persistence) while a job waits in the
// queue; the panel's sweeper enqueues the operation again and it finishes with one container.
func TestRedisRestart(t *testing.T) {
	need(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	rd := startPrivateRedis(t, port, dir)
	t.Cleanup(func() { rd.kill() })

	env := st.env
	env.RedisURL = "redis://" + rd.addr() + "/0"
	ctx := context.Background()
	s := newStackEnv(t, "sqlite", env)
	c := lxd(t)

	s.StopDaemon()
	acc := postServer(t, s, c, s.AdminToken, api.CreateServerRequest{
		Name: tempName("redis"), Image: env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 64, DiskMiB: 256, NodeID: s.NodeID,
	})

	queue := jobs.Queue(s.NodeID)
	taskKey := "asynq:{" + queue + "}:t:" + acc.Operation.ID
	before := redis.NewClient(&redis.Options{Addr: rd.addr()})
	n, err := before.Exists(ctx, taskKey).Result()
	before.Close()
	if err != nil || n != 1 {
		t.Fatalf("the create task is not queued before the restart (%d, %v)", n, err)
	}

	// Redis dies and comes back empty: the queued task is gone.
	rd.kill()
	rd = startPrivateRedis(t, port, dir)
	// The panel reconnects at once (its billing scheduler writes its own keys), so look for
	// the lost task itself, not for an empty database.
	rc := redis.NewClient(&redis.Options{Addr: rd.addr()})
	n, err = rc.Exists(ctx, taskKey, "asynq:{"+queue+"}:pending").Result()
	rc.Close()
	if err != nil || n != 0 {
		t.Fatalf("restarted redis still holds the task (%d keys, %v), want it lost", n, err)
	}
	lost := time.Now()

	resume(t, s, acc.Operation.ID, 2*time.Minute)
	t.Logf("operation finished %s after Redis lost its task", time.Since(lost).Round(time.Millisecond))
	oneInstance(t, c, acc.Server.ID)
	// The panel works on the new Redis: another action runs end to end.
	act(t, s, s.AdminToken, acc.Server.ID, "delete")
}
