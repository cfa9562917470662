package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
)

// uiPrereqs finds what the browser tests need: the built portal embedded in the panel
// binaries (frontend/dist/index.html at build time), node, playwright-core and Chromium.
// It returns the repository root, or fails (CI=true) or skips the test naming what is missing.
func uiPrereqs(t *testing.T) (root, node, chromium string) {
	t.Helper()
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root, err := stack.RepoRoot(ctx)
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	chromium = os.Getenv("NIMBO_E2E_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(filepath.Join(root, "frontend", "dist", "index.html")); err != nil {
		missing = append(missing, "the portal build frontend/dist/index.html (make build, or npm install --no-save && npm run build in frontend/)")
	}
	if _, err := os.Stat(filepath.Join(root, "frontend", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "frontend/node_modules (make frontend-build, or npm install --no-save in frontend/)")
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "Chromium at "+chromium+" (apt-get install chromium, or .ci/services.sh deps-test)")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node in PATH (Node.js 20 or newer)")
	}
	if len(missing) > 0 {
		msg := "browser end-to-end test needs " + strings.Join(missing, "; ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped outside CI)")
	}
	return root, node, chromium
}

// uiAccount creates an account with a known password through the admin API.
func uiAccount(ctx context.Context, t *testing.T, s *stack.Stack, role string) (api.User, string) {
	t.Helper()
	email := "ui-" + role + "-" + stack.RandomSuffix(8) + "@example.test"
	pw := "Ui-" + stack.RandomSuffix(16)
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/admin/users", s.AdminToken,
		api.CreateUserRequest{Email: email, Password: pw, Role: role})
	if err != nil || r.Status != http.StatusCreated {
		t.Fatalf("create %s: %v %d %s", role, err, r.Status, r.Body)
	}
	var u api.User
	if err := r.Decode(&u); err != nil {
		t.Fatal(err)
	}
	return u, pw
}

// TestUIBrowser drives the embedded web portal in headless Chromium (frontend/e2e/run.mjs)
// against the real panel, daemon, Redis and LXD, then checks through the API and LXD that
// what the browser did happened: the server it created is gone from the panel and LXD, the
// admin has two-factor on, and the customer's wallet holds exactly the one top-up.
func TestUIBrowser(t *testing.T) {
	root, node, chromium := uiPrereqs(t)
	// The portal is the same on both databases; the API tests cover both. One stack keeps
	// the browser run short.
	s := newStack(t, "sqlite")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := lxd(t)

	cust, custPW := uiAccount(ctx, t, s, api.RoleCustomer)
	other, otherPW := uiAccount(ctx, t, s, api.RoleCustomer)
	otherToken, err := s.LoginToken(ctx, other.Email, otherPW, []string{api.ScopeServersRead, api.ScopeServersWrite})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Do(ctx, http.MethodPost, "/api/v1/servers", otherToken, api.CreateServerRequest{
		Name: tempName("ui-other"), Image: st.env.Image, Type: api.TypeContainer, CPU: 1, MemoryMiB: 128, DiskMiB: 512,
	})
	if err != nil || r.Status != http.StatusAccepted {
		t.Fatalf("create the other customer's server: %v %d %s", err, r.Status, r.Body)
	}
	var acc api.ServerAccepted
	if err := r.Decode(&acc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range instancesFor(t, c, acc.Server.ID) {
			removeInstance(c, n)
		}
	})
	if op, err := s.WaitOperation(ctx, otherToken, acc.Operation.ID, 2*time.Minute); err != nil || op.Status != api.OpSuccess {
		t.Fatalf("other customer's server: %v %+v", err, op)
	}

	serverName := tempName("ui-web")
	t.Cleanup(func() {
		all, err := c.GetInstances("")
		if err != nil {
			return
		}
		for _, in := range all {
			if strings.HasPrefix(in.Name, serverName) {
				removeInstance(c, in.Name)
			}
		}
	})
	artifacts := filepath.Join(root, "frontend", "e2e", "artifacts")
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "frontend", "e2e", "run.mjs"))
	cmd.Dir = filepath.Join(root, "frontend")
	cmd.Env = append(os.Environ(),
		"NIMBO_E2E_URL="+s.URL,
		"NIMBO_E2E_ADMIN_EMAIL="+s.AdminEmail,
		"NIMBO_E2E_ADMIN_PASSWORD="+s.AdminPassword,
		"NIMBO_E2E_CUSTOMER_EMAIL="+cust.Email,
		"NIMBO_E2E_CUSTOMER_PASSWORD="+custPW,
		"NIMBO_E2E_FOREIGN_SERVER_ID="+acc.Server.ID,
		"NIMBO_E2E_NODE_NAME="+s.NodeName,
		"NIMBO_E2E_IMAGE="+st.env.Image,
		"NIMBO_E2E_SERVER_NAME="+serverName,
		"NIMBO_E2E_ARTIFACTS="+artifacts,
		"NIMBO_E2E_CHROMIUM="+chromium,
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node frontend/e2e/run.mjs (%s, screenshots in %s):\n%s", time.Since(start).Round(time.Second), artifacts, out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}

	// What the browser did, seen from the API and LXD.
	r, err = s.Do(ctx, http.MethodGet, "/api/v1/servers?q="+serverName, s.AdminToken, nil)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("list servers: %v %d %s", err, r.Status, r.Body)
	}
	var list api.List[api.Server]
	if err := r.Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Total != 0 {
		t.Fatalf("the server deleted in the browser is still listed: %s", r.Body)
	}
	all, err := c.GetInstances("")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		if strings.HasPrefix(in.Name, serverName) {
			t.Fatalf("LXD still has %s after the delete in the browser", in.Name)
		}
	}
	r, err = s.Do(ctx, http.MethodGet, "/api/v1/me", s.AdminToken, nil)
	var me api.User
	if err != nil || r.Status != http.StatusOK || r.Decode(&me) != nil || !me.TwoFactorEnabled {
		t.Fatalf("admin two-factor not on after the browser enrolled it: %v %d %s", err, r.Status, r.Body)
	}
	r, err = s.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/admin/users/%s/wallets/USD/entries", cust.ID), s.AdminToken, nil)
	var entries api.List[api.LedgerEntry]
	if err != nil || r.Status != http.StatusOK || r.Decode(&entries) != nil {
		t.Fatalf("customer ledger: %v %d %s", err, r.Status, r.Body)
	}
	if entries.Total != 1 || entries.Items[0].Amount != 2500 || entries.Items[0].Kind != api.EntryTopup ||
		entries.Items[0].ActorID != me.ID {
		t.Fatalf("want one 25.00 USD top-up by the admin, got %s", r.Body)
	}
}
