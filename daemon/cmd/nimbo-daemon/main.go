// Command nimbo-daemon is Nimbo's node daemon: it joins a panel once, then pulls the node's
// jobs from Redis, runs them against the local Incus/LXD and reports to the panel.
//
// Usage:
//
//	nimbo-daemon join --panel URL --token T [--config FILE]
//	nimbo-daemon run [--config FILE]
//	nimbo-daemon version
//
// The config file defaults to $NIMBO_DAEMON_CONFIG, else /etc/nimbo/daemon.yaml.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nimbo-panel/nimbo/daemon/internal/agent"
	"github.com/nimbo-panel/nimbo/daemon/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  nimbo-daemon join --panel URL --token TOKEN [--config FILE]
  nimbo-daemon run [--config FILE]
  nimbo-daemon version
`

// run dispatches a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "join":
		err = cmdJoin(ctx, args[1:], stdout, stderr)
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "nimbo-daemon", agent.Version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "nimbo-daemon:", err)
		return 1
	}
	return 0
}

func cmdJoin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	fs.SetOutput(stderr)
	panelURL := fs.String("panel", "", "panel base URL, e.g. https://panel.example.com")
	token := fs.String("token", "", "one-time join token from `nimbo-panel node create`")
	cfgFlag := fs.String("config", "", "config file to write (default $NIMBO_DAEMON_CONFIG or "+config.DefaultPath+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *panelURL == "" || *token == "" {
		return errors.New("join needs --panel and --token")
	}
	path := config.Path(*cfgFlag, os.LookupEnv)
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cfg, resp, err := agent.Join(ctx, cfg, *panelURL, *token)
	if err != nil {
		return err
	}
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "joined as node %q (node_id: %s)\nconfig written to %s\n", resp.NodeName, resp.NodeID, path)
	return nil
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "config file (default $NIMBO_DAEMON_CONFIG or "+config.DefaultPath+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := config.Path(*cfgFlag, os.LookupEnv)
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	log := newLogger(cfg, stderr)
	a, err := agent.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
