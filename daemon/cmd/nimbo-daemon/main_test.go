package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/config"
	"github.com/nimbo-panel/nimbo/daemon/internal/testenv"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// mainEnv, when set, makes the test binary act as nimbo-daemon (see TestMain).
const mainEnv = "NIMBO_DAEMON_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// daemon returns a command running this test binary as nimbo-daemon with args.
func daemon(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	return cmd
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "nimbo-daemon "},
		{nil, 2, "usage:"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"join"}, 1, "--panel and --token"},
		{[]string{"run", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 1, "join first"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.contains) {
			t.Errorf("run(%v) = %d, %q %q; want %d containing %q", tt.args, code, out.String(), errOut.String(), tt.code, tt.contains)
		}
	}
}

// TestJoinThenRun joins a fake panel, then runs the daemon as a process against the real
// LXD and Redis until SIGTERM.
func TestJoinThenRun(t *testing.T) {
	t.Parallel()
	testenv.Incus(t)
	rdb := testenv.Redis(t)
	fake := testenv.NewPanel(t, "cred-"+testenv.RandomHex(4))
	path := filepath.Join(t.TempDir(), "etc", "daemon.yaml")

	out, err := daemon("join", "--panel", fake.Server.URL, "--token", "tok", "--config", path).CombinedOutput()
	if err != nil {
		t.Fatalf("join: %v\n%s", err, out)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", st, err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil || cfg.NodeID == "" || cfg.Credential != fake.Credential || cfg.PanelURL != fake.Server.URL {
		t.Fatalf("joined config %+v %v", cfg, err)
	}
	testenv.CleanupQueue(t, rdb, jobs.Queue(cfg.NodeID))

	cmd := daemon("run", "--config", path)
	cmd.Env = append(cmd.Env, "NIMBO_DAEMON_INCUS_SOCKET="+testenv.IncusSocket(), "NIMBO_DAEMON_STORAGE_POOL="+testenv.Pool(),
		"NIMBO_DAEMON_REDIS_URL="+testenv.RedisURL())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(fake.Calls(api.PathHeartbeat)) == 0 || len(fake.Calls(api.PathDrift)) == 0 {
		select {
		case err := <-exited:
			t.Fatalf("daemon exited early: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("no heartbeat and drift within 20s\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("daemon exit: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("daemon did not stop on SIGTERM\n%s", logs.String())
	}
}
