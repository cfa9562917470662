package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/mail/smtptest"
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

// mailbox is a real SMTP server the panel sends to, readable by the browser flows over a
// loopback HTTP endpoint: GET ?to=<address> answers the messages to it as [{subject, text}].
type mailbox struct {
	smtp *smtptest.Server
	url  string
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	m := &mailbox{smtp: smtptest.Start(t, smtptest.Options{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		type msg struct {
			Subject string `json:"subject"`
			Text    string `json:"text"`
		}
		out := []msg{}
		for _, x := range m.smtp.To(r.URL.Query().Get("to")) {
			out = append(out, msg{Subject: x.Header("Subject"), Text: x.Text()})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

// panelEnv points the panel's mail at the mailbox and requires verified e-mail for orders.
func (m *mailbox) panelEnv() []string {
	return []string{
		"NIMBO_MAIL_HOST=" + m.smtp.Host,
		fmt.Sprintf("NIMBO_MAIL_PORT=%d", m.smtp.Port),
		"NIMBO_MAIL_TLS=none",
		"NIMBO_MAIL_FROM=panel@example.test",
		"NIMBO_MAIL_REQUIRE_VERIFICATION=true",
	}
}

// uiDo calls the API as the stack's admin and decodes a wantStatus answer into out.
func uiDo(ctx context.Context, t *testing.T, s *stack.Stack, method, path string, body any, wantStatus int, out any) {
	t.Helper()
	r, err := s.Do(ctx, method, path, s.AdminToken, body)
	if err != nil || r.Status != wantStatus {
		t.Fatalf("%s %s: %v %d %s", method, path, err, r.Status, r.Body)
	}
	if out != nil {
		if err := r.Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestUIBrowser drives the embedded web portal in headless Chromium (frontend/e2e/run.mjs)
// against the real panel, daemon, Redis, LXD and a real SMTP server, then checks through the
// API and LXD that what the browser did happened:
//   - the admin's tour: a server created through the form and deleted, a wallet credited,
//     two-factor enrolled and used to sign in again;
//   - the acceptance flow: a visitor signs up, verifies the e-mail from the mail the panel
//     sent, the admin credits the wallet, the customer orders a plan, and the server goes
//     RUNNING → stopped → RUNNING → deleted;
//   - a reseller brands its portal on its own domain, and a visitor of that domain sees the
//     brand and signs up as the reseller's customer;
//   - a customer opening another customer's server URL sees "not found".
func TestUIBrowser(t *testing.T) {
	root, node, chromium := uiPrereqs(t)
	mb := startMailbox(t)
	// The portal is the same on both databases; the API tests cover both. One stack keeps
	// the browser run short.
	s := newStack(t, "sqlite", func(o *stack.Options) {
		o.PanelEnv = append(o.PanelEnv, mb.panelEnv()...)
		o.PanelEnv = append(o.PanelEnv, "NIMBO_METRICS_INTERVAL=1s")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
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

	// A plan on the stack's node, 5.00 USD a month.
	var plan api.Plan
	uiDo(ctx, t, s, http.MethodPost, "/api/v1/admin/plans", api.CreatePlanRequest{
		Name: "Small " + stack.RandomSuffix(4), Type: api.TypeContainer, CPU: 1, MemoryMiB: 128, DiskMiB: 512,
		PriceMonth: 500, Currency: "USD", NodeIDs: []string{s.NodeID},
	}, http.StatusCreated, &plan)

	// A reseller with its own domain; the browser resolves *.example.test to loopback.
	panelURL, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	domain := "shop-" + stack.RandomSuffix(6) + ".example.test"
	resellerEmail := "ui-reseller-" + stack.RandomSuffix(8) + "@example.test"
	resellerPW := "Ui-" + stack.RandomSuffix(16)
	var rs api.Reseller
	uiDo(ctx, t, s, http.MethodPost, "/api/v1/admin/resellers", api.CreateResellerRequest{
		Email: resellerEmail, Password: resellerPW, BrandName: "Acme Starter", Domain: domain, MarkupBP: 2000,
	}, http.StatusCreated, &rs)
	resellerURL := "http://" + domain + ":" + panelURL.Port()

	signupEmail := "ui-signup-" + stack.RandomSuffix(8) + "@example.test"
	brandSignupEmail := "ui-brand-" + stack.RandomSuffix(8) + "@example.test"
	serverName := tempName("ui-web")
	orderName := tempName("ui-order")
	t.Cleanup(func() {
		all, err := c.GetInstances("")
		if err != nil {
			return
		}
		for _, in := range all {
			if strings.HasPrefix(in.Name, serverName) || strings.HasPrefix(in.Name, orderName) {
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
		"NIMBO_E2E_MAILBOX="+mb.url,
		"NIMBO_E2E_PLAN_NAME="+plan.Name,
		"NIMBO_E2E_SIGNUP_EMAIL="+signupEmail,
		"NIMBO_E2E_ORDER_SERVER_NAME="+orderName,
		"NIMBO_E2E_RESELLER_URL="+resellerURL,
		"NIMBO_E2E_RESELLER_EMAIL="+resellerEmail,
		"NIMBO_E2E_RESELLER_PASSWORD="+resellerPW,
		"NIMBO_E2E_BRAND_SIGNUP_EMAIL="+brandSignupEmail,
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
	for _, name := range []string{serverName, orderName} {
		var list api.List[api.Server]
		uiDo(ctx, t, s, http.MethodGet, "/api/v1/servers?q="+name, nil, http.StatusOK, &list)
		if list.Total != 0 {
			t.Fatalf("the server %s deleted in the browser is still listed: %+v", name, list.Items)
		}
	}
	all, err := c.GetInstances("")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		if strings.HasPrefix(in.Name, serverName) || strings.HasPrefix(in.Name, orderName) {
			t.Fatalf("LXD still has %s after the delete in the browser", in.Name)
		}
	}
	var me api.User
	uiDo(ctx, t, s, http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if !me.TwoFactorEnabled {
		t.Fatalf("admin two-factor not on after the browser enrolled it: %+v", me)
	}
	var entries api.List[api.LedgerEntry]
	uiDo(ctx, t, s, http.MethodGet, fmt.Sprintf("/api/v1/admin/users/%s/wallets/USD/entries", cust.ID), nil, http.StatusOK, &entries)
	if entries.Total != 1 || entries.Items[0].Amount != 2500 || entries.Items[0].Kind != api.EntryTopup ||
		entries.Items[0].ActorID != me.ID {
		t.Fatalf("want one 25.00 USD top-up by the admin, got %+v", entries.Items)
	}

	// The signed-up customer: verified, credited 25.00, charged 5.00 for one order.
	signedUp := findUser(ctx, t, s, signupEmail)
	if !signedUp.EmailVerified || signedUp.Role != api.RoleCustomer || signedUp.ResellerID != "" {
		t.Fatalf("signed-up customer: %+v", signedUp)
	}
	var wallets api.List[api.Wallet]
	uiDo(ctx, t, s, http.MethodGet, "/api/v1/admin/users/"+signedUp.ID+"/wallets", nil, http.StatusOK, &wallets)
	if len(wallets.Items) != 1 || wallets.Items[0].Balance != 2000 {
		t.Fatalf("want 20.00 USD left after a 25.00 credit and a 5.00 order, got %+v", wallets.Items)
	}
	// The reseller's branding as its domain serves it, and the visitor who signed up there.
	r, err = s.RawHost(ctx, http.MethodGet, "/api/v1/branding", domain)
	var b api.Branding
	if err != nil || r.Status != http.StatusOK || r.Decode(&b) != nil || !b.Reseller || b.Name != "Acme Cloud" {
		t.Fatalf("branding on %s: %v %d %s", domain, err, r.Status, r.Body)
	}
	brandUser := findUser(ctx, t, s, brandSignupEmail)
	if brandUser.ResellerID != rs.ID {
		t.Fatalf("a sign-up on %s should make a customer of reseller %s: %+v", domain, rs.ID, brandUser)
	}
}

// findUser finds the account with email through the admin API.
func findUser(ctx context.Context, t *testing.T, s *stack.Stack, email string) api.User {
	t.Helper()
	var list api.List[api.User]
	uiDo(ctx, t, s, http.MethodGet, "/api/v1/admin/users?q="+url.QueryEscape(email), nil, http.StatusOK, &list)
	for _, u := range list.Items {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no account %s: %+v", email, list.Items)
	return api.User{}
}
