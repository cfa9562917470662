// Command nimbo-panel is Nimbo's control panel: the REST API, the node API and the
// operation machinery.
//
//	nimbo-panel [serve] [--config FILE]
//	nimbo-panel migrate [--config FILE]
//	nimbo-panel admin create --email E [--password P] [--if-missing] [--credentials-file F]
//	nimbo-panel node create --name N [--if-missing]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/app"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  nimbo-panel [serve] [--config FILE]
  nimbo-panel migrate [--config FILE]
  nimbo-panel admin create --email E [--password P] [--if-missing] [--credentials-file F] [--config FILE]
  nimbo-panel node create --name N [--if-missing] [--config FILE]
`

// run executes one command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if (cmd == "admin" || cmd == "node") && len(args) > 0 && args[0] == "create" {
		cmd, args = cmd+" create", args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr)
	case "migrate":
		err = migrate(ctx, args, stdout, stderr)
	case "admin create":
		err = adminCreate(ctx, args, stdout, stderr)
	case "node create":
		err = nodeCreate(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		_, _ = io.WriteString(stdout, usage)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "unknown command %q\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "nimbo-panel %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func load(fs *flag.FlagSet, args []string) (config.Config, error) {
	path := fs.String("config", "", "YAML config file (default $NIMBO_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return config.Load(*path, os.LookupEnv)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := load(newFlagSet("serve", stderr), args)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, cfg.NewLogger(stderr))
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	if cfg.PprofListen != "" {
		stop, err := servePprof(ctx, cfg.PprofListen)
		if err != nil {
			return err
		}
		defer stop()
	}
	return a.Run(ctx)
}

// servePprof serves net/http/pprof on addr until the returned stop is called.
func servePprof(ctx context.Context, addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := load(newFlagSet("migrate", stderr), args)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN, cfg.NewLogger(stderr))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		_, _ = fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		_, _ = fmt.Fprintf(stdout, "applied %s\n", v)
	}
	return nil
}

func adminCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin create", stderr)
	email := fs.String("email", "", "admin email (required)")
	password := fs.String("password", "", "password (generated when empty)")
	ifMissing := fs.Bool("if-missing", false, "succeed without change when the user exists")
	credFile := fs.String("credentials-file", "", "also write the email and password to this file (0600)")
	cfg, err := load(fs, args)
	if err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	a, err := app.New(ctx, cfg, cfg.NewLogger(stderr))
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	if *ifMissing {
		if _, err := a.Auth().UserByEmail(ctx, *email); err == nil {
			_, _ = fmt.Fprintf(stdout, "admin %s already exists\n", auth.NormalizeEmail(*email))
			return nil
		}
	}
	pw := *password
	if pw == "" {
		pw = auth.NewSecret("")[:24]
	}
	u, err := a.Auth().CreateUser(ctx, *email, pw, api.RoleAdmin)
	if err != nil {
		return describe(err)
	}
	out := fmt.Sprintf("email: %s\npassword: %s\n", u.Email, pw)
	if *credFile != "" {
		if err := os.WriteFile(*credFile, []byte(out), 0o600); err != nil {
			return fmt.Errorf("write credentials file: %w", err)
		}
		if err := os.Chmod(*credFile, 0o600); err != nil {
			return fmt.Errorf("chmod credentials file: %w", err)
		}
	}
	_, _ = io.WriteString(stdout, out)
	return nil
}

func nodeCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("node create", stderr)
	name := fs.String("name", "", "node name (required)")
	ifMissing := fs.Bool("if-missing", false, "reuse the node of this name")
	cfg, err := load(fs, args)
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	a, err := app.New(ctx, cfg, cfg.NewLogger(stderr))
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	if *ifMissing {
		n, err := a.Nodes().ByName(ctx, *name)
		if err == nil {
			if n.CredentialHash != nil {
				_, _ = fmt.Fprintf(stdout, "node_id: %s\n", n.ID)
				_, _ = fmt.Fprintf(stderr, "node %s has already joined; no join token issued\n", n.Name)
				return nil
			}
			token, _, err := a.Nodes().IssueJoinToken(ctx, n.ID)
			if err != nil {
				return describe(err)
			}
			printNode(stdout, cfg, n.ID, token)
			return nil
		}
	}
	n, token, _, err := a.Nodes().Create(ctx, *name)
	if err != nil {
		return describe(err)
	}
	printNode(stdout, cfg, n.ID, token)
	return nil
}

func printNode(w io.Writer, cfg config.Config, id, token string) {
	_, _ = fmt.Fprintf(w, "node_id: %s\njoin_token: %s\njoin_command: nimbo-daemon join --panel %s --token %s\n",
		id, token, strings.TrimRight(cfg.PublicURL, "/"), token)
}

// describe makes a typed service error readable on a terminal.
func describe(err error) error {
	var e *apierr.Error
	if errors.As(err, &e) {
		msg := e.Message
		for k, v := range e.Fields {
			msg += fmt.Sprintf("; %s %s", k, v)
		}
		return errors.New(msg)
	}
	return err
}
