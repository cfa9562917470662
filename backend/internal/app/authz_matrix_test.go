package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// who is one principal of the authorization matrix.
type who int

const (
	anonymous     who = iota
	customer          // owns the objects probed; a customer of reseller
	otherCustomer     // a customer of otherReseller
	subWith           // sub-user of customer's server holding every permission
	subWithout        // sub-user of customer's server holding none
	reseller          // customer's reseller
	otherReseller
	admin
	nWho
)

var whoNames = [nWho]string{"anonymous", "customer", "other customer", "sub-user with permission",
	"sub-user without permission", "reseller", "other reseller", "admin"}

// ok is the expectation "allowed": any answer that is not 401, 403, 404 or a 5xx.
const ok = 0

// rule is the expected status per principal: ok, or the exact denial status.
type rule [nWho]int

// Rules shared by many routes.
var (
	// public routes answer everyone.
	public = rule{ok, ok, ok, ok, ok, ok, ok, ok}
	// signedIn routes act on the caller's own data.
	signedIn = rule{401, ok, ok, ok, ok, ok, ok, ok}
	// adminOnly routes.
	adminOnly = rule{401, 403, 403, 403, 403, 403, 403, ok}
	// resellerOnly routes act on the calling reseller's own data.
	resellerOnly = rule{401, 403, 403, 403, 403, ok, ok, 403}
	// resellerObject routes act on one object of reseller (its customer, coupon, price).
	resellerObject = rule{401, 403, 403, 403, 403, ok, 404, 403}
	// serverRead routes read customer's server: visible to its sub-users, its reseller, admins.
	serverRead = rule{401, ok, 404, ok, ok, ok, 404, ok}
	// serverPerm routes need a sub-user permission on customer's server.
	serverPerm = rule{401, ok, 404, ok, 403, ok, 404, ok}
	// serverManage routes are for the owner, its reseller and admins only.
	serverManage = rule{401, ok, 404, 403, 403, ok, 404, ok}
	// ownerObject routes act on an object of customer that only it, its reseller and admins see.
	ownerObject = rule{401, ok, 404, 404, 404, ok, 404, ok}
	// ownOnly routes act on an object of the caller's own account (a token, a session): only
	// customer, whose object is probed, finds it.
	ownOnly = rule{401, ok, 404, 404, 404, 404, 404, 404}
	// nodeOnly routes take a node credential: every user is unauthorized.
	nodeOnly = rule{401, 401, 401, 401, 401, 401, 401, 401}
)

// routeCase says how to call one route and who may.
type routeCase struct {
	rule rule
	// params maps a path parameter to the fixture object filling it.
	params map[string]string
	// body builds a valid request body from the fixture and the caller's password; nil
	// sends none.
	body func(f *fixture, password string) any
	// freshSession probes with a new session of the caller: the route ends the session.
	freshSession bool
	// query is appended to the path.
	query string
}

func params(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// matrix is every route of the panel. TestAuthorizationMatrix fails on a route missing here
// and on an entry that is no longer a route.
var matrix = map[string]routeCase{
	"GET /healthz": {rule: public},
	"GET /readyz":  {rule: public},

	"POST /api/v1/auth/login": {rule: rule{401, 401, 401, 401, 401, 401, 401, 401}, body: func(*fixture, string) any {
		return api.LoginRequest{Email: "nobody@example.com", Password: "wrong-password"}
	}},
	"POST /api/v1/auth/logout": {rule: public, freshSession: true},

	"GET /api/v1/me":                     {rule: signedIn},
	"POST /api/v1/me/2fa/enroll":         {rule: signedIn, body: func(_ *fixture, pw string) any { return api.TwoFactorEnrollRequest{Password: pw} }},
	"POST /api/v1/me/2fa/confirm":        {rule: signedIn, body: func(*fixture, string) any { return api.TwoFactorCodeRequest{Code: "000000"} }},
	"DELETE /api/v1/me/2fa":              {rule: signedIn, body: func(_ *fixture, pw string) any { return api.TwoFactorDisableRequest{Password: pw, Code: "000000"} }},
	"POST /api/v1/me/2fa/recovery-codes": {rule: signedIn, body: func(*fixture, string) any { return api.TwoFactorCodeRequest{Code: "000000"} }},
	"GET /api/v1/me/sessions":            {rule: signedIn},
	"DELETE /api/v1/me/sessions":         {rule: signedIn},
	"DELETE /api/v1/me/sessions/:id":     {rule: ownOnly, params: params("id", "session")},
	"POST /api/v1/tokens": {rule: signedIn, body: func(*fixture, string) any {
		return api.CreateTokenRequest{Name: "probe", Scopes: []string{api.ScopeServersRead}}
	}},
	"GET /api/v1/tokens":                    {rule: signedIn},
	"DELETE /api/v1/tokens/:id":             {rule: ownOnly, params: params("id", "token")},
	"GET /api/v1/wallets":                   {rule: signedIn},
	"GET /api/v1/wallets/:currency/entries": {rule: signedIn, params: params("currency", "USD")},
	"GET /api/v1/plans":                     {rule: signedIn},
	"GET /api/v1/plans/:id":                 {rule: signedIn, params: params("id", "plan")},

	"GET /api/v1/servers":                {rule: signedIn},
	"POST /api/v1/servers":               {rule: signedIn, body: func(f *fixture, _ string) any { return validServer("probe-" + testenv.Random(6)) }},
	"GET /api/v1/servers/:id":            {rule: serverRead, params: params("id", "server")},
	"DELETE /api/v1/servers/:id":         {rule: serverManage, params: params("id", "server")},
	"POST /api/v1/servers/:id/start":     {rule: serverPerm, params: params("id", "stopped_server")},
	"POST /api/v1/servers/:id/stop":      {rule: serverPerm, params: params("id", "server")},
	"POST /api/v1/servers/:id/restart":   {rule: serverPerm, params: params("id", "server")},
	"GET /api/v1/servers/:id/operations": {rule: serverRead, params: params("id", "server")},
	"GET /api/v1/operations/:id":         {rule: serverRead, params: params("id", "operation")},
	"GET /api/v1/operations/:id/wait":    {rule: serverRead, params: params("id", "operation"), query: "?timeout=1"},
	// Usage history (charts) and the images servers can be made of.
	"GET /api/v1/servers/:id/metrics": {rule: serverRead, params: params("id", "server"), query: "?range=24h"},
	"GET /api/v1/images":              {rule: signedIn},

	"POST /api/v1/admin/users": {rule: adminOnly, body: func(*fixture, string) any {
		return api.CreateUserRequest{Email: "probe-" + testenv.Random(8) + "@example.com", Password: "probe-password-1", Role: api.RoleCustomer}
	}},
	"GET /api/v1/admin/users":     {rule: adminOnly},
	"GET /api/v1/admin/users/:id": {rule: adminOnly, params: params("id", "customer")},
	"POST /api/v1/admin/nodes":    {rule: adminOnly, body: func(*fixture, string) any { return api.CreateNodeRequest{Name: "probe-" + testenv.Random(6)} }},
	"GET /api/v1/admin/nodes":     {rule: adminOnly},
	"GET /api/v1/admin/nodes/:id": {rule: adminOnly, params: params("id", "node")},
	// A node with servers cannot be deleted (409): the admin is allowed, nothing is lost.
	"DELETE /api/v1/admin/nodes/:id": {rule: adminOnly, params: params("id", "node")},
	"GET /api/v1/admin/operations":   {rule: adminOnly},
	"GET /api/v1/admin/queues":       {rule: adminOnly},
	"GET /api/v1/admin/settings":     {rule: adminOnly},

	"GET /api/v1/admin/users/:id/wallets":                   {rule: adminOnly, params: params("id", "customer")},
	"GET /api/v1/admin/users/:id/wallets/:currency/entries": {rule: adminOnly, params: params("id", "customer", "currency", "USD")},
	"PATCH /api/v1/admin/users/:id/wallets/:currency":       {rule: adminOnly, params: params("id", "customer", "currency", "USD"), body: func(*fixture, string) any { return map[string]any{"credit_limit": 0} }},
	"POST /api/v1/admin/users/:id/wallet/entries": {rule: adminOnly, params: params("id", "customer"), body: func(*fixture, string) any {
		return map[string]any{"kind": api.EntryTopup, "amount": 100, "currency": "USD", "reason": "probe"}
	}},

	"POST /api/v1/admin/plans": {rule: adminOnly, body: func(*fixture, string) any {
		return map[string]any{"name": "probe-" + testenv.Random(6), "type": "container", "cpu": 1, "memory_mib": 128, "disk_mib": 256, "price_month": 100, "currency": "USD"}
	}},
	"GET /api/v1/admin/plans":        {rule: adminOnly},
	"GET /api/v1/admin/plans/:id":    {rule: adminOnly, params: params("id", "plan")},
	"PATCH /api/v1/admin/plans/:id":  {rule: adminOnly, params: params("id", "plan"), body: func(*fixture, string) any { return map[string]any{"price_month": 200} }},
	"DELETE /api/v1/admin/plans/:id": {rule: adminOnly, params: params("id", "plan")},

	"POST /node/v1/join": {rule: nodeOnly, body: func(*fixture, string) any {
		return map[string]any{"token": "not-a-token", "hostname": "x", "version": "x"}
	}},
	"POST /node/v1/heartbeat":               {rule: nodeOnly, body: func(*fixture, string) any { return defaultHeartbeat() }},
	"GET /node/v1/operations/:id":           {rule: nodeOnly, params: params("id", "operation")},
	"POST /node/v1/operations/:id/progress": {rule: nodeOnly, params: params("id", "operation"), body: func(*fixture, string) any { return map[string]any{"progress": 1} }},
	"POST /node/v1/operations/:id/result":   {rule: nodeOnly, params: params("id", "operation"), body: func(*fixture, string) any { return map[string]any{"status": "success"} }},
	"GET /node/v1/instances":                {rule: nodeOnly},
	"POST /node/v1/drift":                   {rule: nodeOnly, body: func(*fixture, string) any { return map[string]any{} }},
}

// principals are the callers of the matrix, with their users.
type principals struct {
	c  [nWho]*client
	u  [nWho]store.User
	pw [nWho]string
}

// fixture is one fresh set of objects owned by customer, named by matrix params.
type fixture struct {
	objects map[string]string
}

type matrixEnv struct {
	e    *env
	p    principals
	node *fakeNode
}

func setupMatrix(t *testing.T, db testenv.Database) *matrixEnv {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// The payment gateways are configured so their notifications are checked by signature.
	e := newEnv(t, db, func(c *config.Config) {
		c.Payments.Stripe.SecretKey, c.Payments.Stripe.WebhookSecret = "sk_test_matrix", "whsec_matrix"
		c.Payments.Alipay.AppID = "2021000000000000"
		c.Payments.Alipay.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
		c.Payments.Alipay.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	})
	m := &matrixEnv{e: e}
	ctx := context.Background()
	m.p.c[anonymous] = e.anon()
	for w := customer; w < nWho; w++ {
		role := api.RoleCustomer
		if w == admin {
			role = api.RoleAdmin
		}
		email := fmt.Sprintf("w%d-%s@example.com", w, testenv.Random(6))
		m.p.c[w] = e.login(email, role)
		m.p.pw[w] = "password-" + email // what e.login sets
	}
	db2 := e.app.DB()
	now := store.Now()
	for _, w := range []who{reseller, otherReseller} {
		id := m.p.c[w].user.ID
		if err := db2.Model(&store.User{}).Where("id = ?", id).Update("role", api.RoleReseller).Error; err != nil {
			t.Fatal(err)
		}
		if err := db2.Create(&store.ResellerProfile{UserID: id, BrandName: whoNames[w], CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			t.Fatal(err)
		}
		e.app.Auth().DropCachedUser(id)
	}
	for c, r := range map[who]who{customer: reseller, otherCustomer: otherReseller} {
		if err := db2.Model(&store.User{}).Where("id = ?", m.p.c[c].user.ID).Update("reseller_id", m.p.c[r].user.ID).Error; err != nil {
			t.Fatal(err)
		}
		e.app.Auth().DropCachedUser(m.p.c[c].user.ID)
	}
	for w := who(0); w < nWho; w++ {
		if m.p.c[w].user.ID == "" {
			continue
		}
		if err := db2.Where("id = ?", m.p.c[w].user.ID).Take(&m.p.u[w]).Error; err != nil {
			t.Fatal(err)
		}
	}
	m.node = e.addNode(m.p.c[admin], "matrix-node", defaultHeartbeat())
	for w := customer; w < nWho; w++ {
		_, err := e.app.Billing().Post(ctx, billing.PostRequest{UserID: m.p.u[w].ID, Currency: "USD", Kind: api.EntryTopup,
			Amount: 100_000, IdempotencyKey: "matrix-setup", Reason: "matrix", ActorID: billing.ActorSystem})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// newFixture inserts a fresh set of customer's objects.
func (m *matrixEnv) newFixture(t *testing.T) *fixture {
	t.Helper()
	db := m.e.app.DB()
	now := store.Now()
	plan := store.Plan{ID: uuid.NewString(), Name: "matrix-" + testenv.Random(8), Type: api.TypeContainer, CPU: 1, MemoryMiB: 128,
		DiskMiB: 256, PriceMonth: 1000, PriceHour: 2, Currency: "USD", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&plan).Error; err != nil {
		t.Fatal(err)
	}
	f := &fixture{objects: map[string]string{
		"random": uuid.NewString(), "USD": "USD", "plan": plan.ID, "node": m.node.id,
		"customer": m.p.u[customer].ID,
	}}
	owner := m.p.u[customer].ID
	for _, name := range []string{"server", "stopped_server"} {
		id := uuid.NewString()
		status := api.StatusRunning
		if name == "stopped_server" {
			status = api.StatusStopped
		}
		srv := store.Server{ID: id, OwnerID: owner, NodeID: m.node.id, Name: "m-" + id[:8], IncusName: "m-" + strings.ReplaceAll(id, "-", ""),
			Type: api.TypeContainer, Image: "busybox", CPU: 1, MemoryMiB: 128, DiskMiB: 256, Status: status, CreatedAt: now, UpdatedAt: now}
		if err := db.Create(&srv).Error; err != nil {
			t.Fatal(err)
		}
		for _, sub := range []struct {
			w     who
			perms []string
		}{{subWith, api.Permissions()}, {subWithout, nil}} {
			mem := store.ServerMember{ServerID: id, UserID: m.p.u[sub.w].ID, Permissions: strings.Join(sub.perms, " "),
				CreatedBy: owner, CreatedAt: now, UpdatedAt: now}
			if err := db.Create(&mem).Error; err != nil {
				t.Fatal(err)
			}
		}
		f.objects[name] = id
	}
	sid := f.objects["server"]
	op := store.Operation{ID: uuid.NewString(), Kind: api.OpInstanceStart, Status: api.OpSuccess, ServerID: &sid, NodeID: m.node.id,
		UserID: &owner, Progress: 100, CreatedAt: now, UpdatedAt: now, FinishedAt: &now}
	if err := db.Create(&op).Error; err != nil {
		t.Fatal(err)
	}
	f.objects["operation"] = op.ID
	tok := store.APIToken{ID: uuid.NewString(), UserID: owner, Name: "matrix", Prefix: "nmb_x", TokenHash: uuid.NewString(),
		Scopes: api.ScopeServersRead, CreatedAt: now}
	if err := db.Create(&tok).Error; err != nil {
		t.Fatal(err)
	}
	f.objects["token"] = tok.ID
	sess := store.Session{TokenHash: uuid.NewString(), ID: uuid.NewString(), UserID: owner, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour)}
	if err := db.Create(&sess).Error; err != nil {
		t.Fatal(err)
	}
	f.objects["session"] = sess.ID
	for _, extra := range fixtureExtras {
		extra(t, m, f)
	}
	return f
}

// fixtureExtras add objects of other areas to a fixture.
var fixtureExtras []func(t *testing.T, m *matrixEnv, f *fixture)

func (m *matrixEnv) path(t *testing.T, route string, rc routeCase, f *fixture) string {
	t.Helper()
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, ":") {
			continue
		}
		name := strings.TrimPrefix(p, ":")
		obj, ok := rc.params[name]
		if !ok {
			t.Fatalf("%s: no fixture object for parameter %q", route, name)
		}
		v, ok := f.objects[obj]
		if !ok {
			t.Fatalf("%s: fixture has no object %q", route, obj)
		}
		parts[i] = v
	}
	return strings.Join(parts, "/") + rc.query
}

// probe calls the route as w and returns the status and body.
func (m *matrixEnv) probe(t *testing.T, w who, method, path string, body any, fresh bool) (int, []byte) {
	t.Helper()
	var (
		rd io.Reader
		ct string
	)
	switch b := body.(type) {
	case nil:
	case raw:
		rd, ct = strings.NewReader(b.body), b.ct
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, m.e.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set(api.HeaderIdempotencyKey, "matrix-"+uuid.NewString())
	cookie := m.p.c[w].cookie
	if fresh && w != anonymous {
		cookie = m.session(t, w)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "nimbo_session", Value: cookie})
	}
	resp, err := m.e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// session logs w in again and returns the new session cookie.
func (m *matrixEnv) session(t *testing.T, w who) string {
	t.Helper()
	c := &client{e: m.e}
	st, h, b := c.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: m.p.u[w].Email, Password: m.p.pw[w]}, nil)
	if st != 200 {
		t.Fatalf("login %s: %d %s", whoNames[w], st, b)
	}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "nimbo_session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestAuthorizationMatrix calls every route of the panel's route table as each principal —
// anonymous, customer, other customer, sub-user with and without the permission, reseller,
// other reseller, admin — against a fresh fixture of customer's objects, and checks the
// answer: the exact denial status, or, where allowed, anything but 401/403/404/5xx. Denied
// probes run first; each allowed probe of a state-changing route gets its own fixture.
func TestAuthorizationMatrix(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		m := setupMatrix(t, db)
		routes := map[string]bool{}
		for _, r := range m.e.app.Handler().GetRoutes(true) {
			if r.Method == http.MethodHead || r.Method == http.MethodOptions || r.Method == "USE" || r.Method == "CONNECT" || r.Method == "TRACE" {
				continue
			}
			if r.Path == "/" || r.Path == "" {
				continue
			}
			routes[r.Method+" "+r.Path] = true
		}
		var missing, stale []string
		for r := range routes {
			if _, ok := matrix[r]; !ok {
				missing = append(missing, r)
			}
		}
		for r := range matrix {
			if !routes[r] {
				stale = append(stale, r)
			}
		}
		sort.Strings(missing)
		sort.Strings(stale)
		if len(missing) > 0 || len(stale) > 0 {
			t.Fatalf("the matrix must list every route exactly:\nmissing: %s\nnot routes: %s",
				strings.Join(missing, "\n  "), strings.Join(stale, "\n  "))
		}
		names := make([]string, 0, len(matrix))
		for r := range matrix {
			names = append(names, r)
		}
		sort.Strings(names)
		probes := 0
		shared := m.newFixture(t)
		for _, route := range names {
			rc := matrix[route]
			method, pattern, _ := strings.Cut(route, " ")
			mutating := method != http.MethodGet
			// Denied principals first, on the shared fixture: they must change nothing.
			for w := who(0); w < nWho; w++ {
				want := rc.rule[w]
				if want == ok {
					continue
				}
				var body any
				if rc.body != nil {
					body = rc.body(shared, m.p.pw[w])
				}
				st, b := m.probe(t, w, method, m.path(t, pattern, rc, shared), body, rc.freshSession)
				probes++
				if st != want {
					t.Errorf("%s as %s: %d, want %d: %s", route, whoNames[w], st, want, b)
				}
			}
			for w := who(0); w < nWho; w++ {
				if rc.rule[w] != ok {
					continue
				}
				f := shared
				if mutating {
					f = m.newFixture(t)
				}
				var body any
				if rc.body != nil {
					body = rc.body(f, m.p.pw[w])
				}
				st, b := m.probe(t, w, method, m.path(t, pattern, rc, f), body, rc.freshSession)
				probes++
				if st == 401 || st == 403 || st == 404 || st >= 500 {
					t.Errorf("%s as %s: %d, want allowed: %s", route, whoNames[w], st, b)
				}
			}
		}
		t.Logf("%d routes × %d principals: %d probes", len(names), nWho, probes)
	})
}
