package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
)

// uiTools are what the portal benchmark needs besides the stack: the repository (its
// frontend/dist is embedded into the panel built after findUITools), node, the browser script
// and Chromium.
type uiTools struct {
	root     string
	node     string
	script   string
	chromium string
}

// findUITools checks, before the panel is built, that the portal is built and that node,
// playwright-core and Chromium are there; it names everything missing. The browser is
// NIMBO_BENCH_CHROMIUM, or Debian's /usr/bin/chromium.
func findUITools(ctx context.Context) (uiTools, error) {
	root, err := stack.RepoRoot(ctx)
	if err != nil {
		return uiTools{}, err
	}
	t := uiTools{
		root:     root,
		script:   filepath.Join(root, "frontend", "scripts", "ui-bench.mjs"),
		chromium: os.Getenv("NIMBO_BENCH_CHROMIUM"),
	}
	if t.chromium == "" {
		t.chromium = "/usr/bin/chromium"
	}
	var missing []string
	index, err := os.ReadFile(filepath.Join(root, "frontend", "dist", "index.html"))
	if err != nil || !strings.Contains(string(index), "/assets/") {
		missing = append(missing, "the portal build frontend/dist (make frontend-build)")
	}
	if _, err := os.Stat(filepath.Join(root, "frontend", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core in frontend/node_modules (make frontend-deps)")
	}
	if _, err := os.Stat(t.chromium); err != nil {
		missing = append(missing, "Chromium at "+t.chromium+" (apt-get install chromium, or set NIMBO_BENCH_CHROMIUM)")
	}
	if t.node, err = exec.LookPath("node"); err != nil {
		missing = append(missing, "node in PATH (Node.js 20 or newer)")
	}
	if len(missing) > 0 {
		return uiTools{}, errors.New("needs " + strings.Join(missing, "; "))
	}
	return t, nil
}

// benchUI starts a panel serving the embedded portal on driver, gives one customer with a
// known password f.servers servers (seedList, as the list benchmark does), checks the
// customer's list through the API, then runs frontend/scripts/ui-bench.mjs, which signs the
// customer in in headless Chromium and prints the navigation → rendered list figures. The
// script exits non-zero when the rows never render; so does benchUI then.
func benchUI(ctx context.Context, env stack.Env, bin, driver string, t uiTools, f flags) error {
	s, done, err := startStack(ctx, env, bin, driver, false)
	if err != nil {
		return err
	}
	defer done()
	email := "bench-ui-" + stack.RandomSuffix(8) + "@example.test"
	password := "Bench-" + stack.RandomSuffix(16)
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/admin/users", s.AdminToken,
		api.CreateUserRequest{Email: email, Password: password, Role: api.RoleCustomer})
	if err != nil {
		return err
	}
	if r.Status != http.StatusCreated {
		return fmt.Errorf("create the customer: %d %s", r.Status, r.Body)
	}
	var customer api.User
	if err := r.Decode(&customer); err != nil {
		return err
	}
	if err := seedList(ctx, env, s, driver, f.servers, customer.ID); err != nil {
		return err
	}
	token, err := s.LoginToken(ctx, email, password, []string{api.ScopeServersRead})
	if err != nil {
		return err
	}
	var list api.List[api.Server]
	if r, err = s.Do(ctx, http.MethodGet, "/api/v1/servers?per_page=1", token, nil); err != nil {
		return err
	}
	if err := r.Decode(&list); err != nil {
		return err
	}
	if list.Total != int64(f.servers) {
		return fmt.Errorf("seeded %d servers for the customer, their list total is %d", f.servers, list.Total)
	}

	cmd := exec.CommandContext(ctx, t.node, t.script)
	cmd.Dir = filepath.Join(t.root, "frontend")
	cmd.Env = append(os.Environ(),
		"NIMBO_BENCH_URL="+s.URL,
		"NIMBO_BENCH_EMAIL="+email,
		"NIMBO_BENCH_PASSWORD="+password,
		"NIMBO_BENCH_SERVERS="+strconv.Itoa(f.servers),
		"NIMBO_BENCH_LABEL="+driver,
		"NIMBO_BENCH_N="+strconv.Itoa(f.uiN),
		"NIMBO_BENCH_CHROMIUM="+t.chromium,
	)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("node %s: %w\npanel log:\n%s", t.script, err, s.Log("nimbo-panel"))
	}
	return nil
}
