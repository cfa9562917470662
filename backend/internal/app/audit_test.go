package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// auditPage reads one audit list as c.
func auditPage(c *client, path string) api.List[api.AuditEntry] {
	c.e.t.Helper()
	var l api.List[api.AuditEntry]
	c.must(200, "GET", path, nil, &l)
	return l
}

// find returns the entries of l with action and object id.
func find(l api.List[api.AuditEntry], action, objectID string) []api.AuditEntry {
	var out []api.AuditEntry
	for _, e := range l.Items {
		if e.Action == action && (objectID == "" || e.ObjectID == objectID) {
			out = append(out, e)
		}
	}
	return out
}

func TestAuditTrailAndReaders(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("audit-admin@example.com", api.RoleAdmin)
		ann := e.login("audit-ann@example.com", api.RoleCustomer)
		bob := e.login("audit-bob@example.com", api.RoleCustomer)
		n := e.addNode(admin, "audit-node", defaultHeartbeat())

		// A sequence of changes by two customers and an admin.
		var annSrv, bobSrv api.ServerAccepted
		ann.must(202, "POST", "/api/v1/servers", validServer("audit-ann-web"), &annSrv)
		bob.must(202, "POST", "/api/v1/servers", validServer("audit-bob-web"), &bobSrv)
		n.result(annSrv.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		var stop api.Operation
		ann.must(202, "POST", "/api/v1/servers/"+annSrv.Server.ID+"/stop", nil, &stop)
		var tok api.Token
		ann.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "audit-cli", Scopes: []string{api.ScopeServersRead}}, &tok)
		// The token revokes itself: the entry names the token that made the change.
		(&client{e: e, bearer: tok.Secret}).must(204, "DELETE", "/api/v1/tokens/"+tok.ID, nil, nil)
		req, _ := http.NewRequest("POST", e.base+"/api/v1/admin/users/"+bob.user.ID+"/wallet/entries",
			strings.NewReader(`{"currency":"USD","kind":"topup","amount":1500,"reason":"audit test"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(api.HeaderIdempotencyKey, "audit-topup-1")
		req.AddCookie(&http.Cookie{Name: "nimbo_session", Value: admin.cookie})
		resp, err := e.hc.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("top-up: %v %v", resp, err)
		}
		_ = resp.Body.Close()

		// Failed requests and reads write nothing.
		total := e.count("audit_log")
		if st, _ := bob.errCode("POST", "/api/v1/servers", `{"name":"X"}`); st != 422 {
			t.Fatalf("bad create: %d", st)
		}
		if st, _ := bob.errCode("POST", "/api/v1/servers/"+annSrv.Server.ID+"/stop", nil); st != 404 {
			t.Fatalf("bob stops ann's server: %d", st)
		}
		if st, _ := e.anon().errCode("POST", "/api/v1/auth/login", api.LoginRequest{Email: "audit-ann@example.com", Password: "wrong password"}); st != 401 {
			t.Fatalf("wrong login: %d", st)
		}
		ann.must(200, "GET", "/api/v1/servers", nil, nil)
		ann.must(200, "GET", "/api/v1/audit", nil, nil)
		admin.must(200, "GET", "/api/v1/admin/audit", nil, nil)
		if got := e.count("audit_log"); got != total {
			t.Fatalf("failed requests and GETs wrote %d entries", got-total)
		}

		// Each customer reads only its own.
		annLog := auditPage(ann, "/api/v1/audit?per_page=100")
		for _, x := range annLog.Items {
			if x.OwnerID != ann.user.ID && x.ActorID != ann.user.ID {
				t.Errorf("ann reads someone else's entry: %+v", x)
			}
		}
		login := find(annLog, "POST /api/v1/auth/login", ann.user.ID)
		if len(login) != 1 || login[0].ActorID != ann.user.ID || login[0].IP != "127.0.0.1" || login[0].RequestID == "" {
			t.Errorf("ann's login entry: %+v", login)
		}
		create := find(annLog, "POST /api/v1/servers", annSrv.Server.ID)
		if len(create) != 1 || create[0].ObjectType != "server" || create[0].OwnerID != ann.user.ID {
			t.Errorf("ann's create entry: %+v", create)
		}
		stops := find(annLog, "POST /api/v1/servers/:id/stop", annSrv.Server.ID)
		if len(stops) != 1 || stops[0].ObjectType != "server" || !strings.Contains(string(stops[0].Details), stop.ID) {
			t.Errorf("ann's stop entry (the route pattern, the server, the operation): %+v", stops)
		}
		del := find(annLog, "DELETE /api/v1/tokens/:id", tok.ID)
		if len(find(annLog, "POST /api/v1/tokens", tok.ID)) != 1 || len(del) != 1 || del[0].ActorID != ann.user.ID ||
			!strings.Contains(string(del[0].Details), `"token_id":"`+tok.ID+`"`) {
			t.Errorf("ann's token entries: %+v", annLog.Items)
		}
		if annLog.Total != int64(len(annLog.Items)) || annLog.Total < 5 {
			t.Errorf("ann's total %d, items %d", annLog.Total, len(annLog.Items))
		}
		for i := 1; i < len(annLog.Items); i++ {
			if annLog.Items[i].CreatedAt.After(annLog.Items[i-1].CreatedAt) {
				t.Fatalf("not newest first at %d", i)
			}
		}
		bobLog := auditPage(bob, "/api/v1/audit?per_page=100")
		for _, x := range bobLog.Items {
			if x.OwnerID != bob.user.ID && x.ActorID != bob.user.ID {
				t.Errorf("bob reads someone else's entry: %+v", x)
			}
		}
		topup := find(bobLog, "POST /api/v1/admin/users/:id/wallet/entries", "")
		if len(topup) != 1 || topup[0].ActorID != admin.user.ID || topup[0].OwnerID != bob.user.ID || topup[0].ObjectType != "wallet" {
			t.Errorf("bob does not see the admin's top-up as his: %+v", topup)
		}
		if len(find(bobLog, "POST /api/v1/servers", annSrv.Server.ID)) != 0 {
			t.Error("bob sees ann's server")
		}

		// The admin reads everything, with filters.
		all := auditPage(admin, "/api/v1/admin/audit?per_page=100")
		if all.Total != e.count("audit_log") || len(all.Items) != int(all.Total) {
			t.Fatalf("admin total %d, table %d", all.Total, e.count("audit_log"))
		}
		nodeEntries := find(all, "POST /api/v1/admin/nodes", n.id)
		if len(nodeEntries) != 1 || nodeEntries[0].ObjectType != "node" {
			t.Errorf("node entry: %+v", nodeEntries)
		}
		filters := []struct {
			query string
			check func(api.AuditEntry) bool
			min   int
		}{
			{"actor_id=" + ann.user.ID, func(x api.AuditEntry) bool { return x.ActorID == ann.user.ID }, 5},
			{"owner_id=" + bob.user.ID, func(x api.AuditEntry) bool { return x.OwnerID == bob.user.ID }, 3},
			{"object_type=server", func(x api.AuditEntry) bool { return x.ObjectType == "server" }, 3},
			{"object_type=server&object_id=" + annSrv.Server.ID, func(x api.AuditEntry) bool { return x.ObjectID == annSrv.Server.ID }, 2},
			{"action=" + url.QueryEscape("POST /api/v1/servers"), func(x api.AuditEntry) bool { return strings.HasPrefix(x.Action, "POST /api/v1/servers") }, 3},
			{"action=" + url.QueryEscape("POST /api/v1/admin/"), func(x api.AuditEntry) bool { return strings.HasPrefix(x.Action, "POST /api/v1/admin/") }, 2},
		}
		for _, f := range filters {
			l := auditPage(admin, "/api/v1/admin/audit?per_page=100&"+f.query)
			if len(l.Items) < f.min || l.Total != int64(len(l.Items)) {
				t.Errorf("%s: %d items (total %d), want at least %d", f.query, len(l.Items), l.Total, f.min)
			}
			for _, x := range l.Items {
				if !f.check(x) {
					t.Errorf("%s matched %+v", f.query, x)
				}
			}
		}
		mid := all.Items[len(all.Items)/2].CreatedAt
		from := auditPage(admin, "/api/v1/admin/audit?per_page=100&from="+url.QueryEscape(mid.Format(time.RFC3339Nano)))
		to := auditPage(admin, "/api/v1/admin/audit?per_page=100&to="+url.QueryEscape(mid.Format(time.RFC3339Nano)))
		if from.Total+to.Total != all.Total || from.Total == 0 || to.Total == 0 {
			t.Errorf("from %d + to %d != %d", from.Total, to.Total, all.Total)
		}
		p2 := auditPage(admin, "/api/v1/admin/audit?per_page=2&page=2")
		if len(p2.Items) != 2 || p2.Items[0].ID != all.Items[2].ID || p2.Total != all.Total {
			t.Errorf("page 2: %+v", p2)
		}

		// Customers may not read the whole log; bad parameters are refused.
		if st, _ := ann.errCode("GET", "/api/v1/admin/audit", nil); st != 403 {
			t.Errorf("customer reads the admin log: %d", st)
		}
		if st, _ := e.anon().errCode("GET", "/api/v1/audit", nil); st != 401 {
			t.Errorf("anonymous audit: %d", st)
		}
		for _, q := range []string{"per_page=101", "page=0", "from=yesterday", "to=2025-13-01T00:00:00Z", "object_type=Server",
			"actor_id=" + url.QueryEscape("a b"), "object_id=" + strings.Repeat("x", 200), "action=%01", "sort=asc",
			"from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z"} {
			if st, body := admin.errCode("GET", "/api/v1/admin/audit?"+q, nil); st != 422 || body.Error.Code != api.CodeValidation {
				t.Errorf("%s: %d %+v", q, st, body)
			}
		}

		// A reseller reads the entries of its customers, not others'.
		rid := e.insertReseller("audit-reseller@example.com", "portal.audit-reseller.test", "Audit Resale")
		now := store.Now()
		cust := store.User{ID: uuid.NewString(), Email: "audit-cust@example.com", Role: api.RoleCustomer, ResellerID: &rid,
			EmailVerifiedAt: &now, CreatedAt: now, UpdatedAt: now}
		hash, err := auth.HashPassword("password-audit-cust@example.com", auth.DefaultPasswordParams())
		if err != nil {
			t.Fatal(err)
		}
		cust.PasswordHash = hash
		if err := e.app.DB().Create(&cust).Error; err != nil {
			t.Fatal(err)
		}
		e.loginAs("audit-cust@example.com", "audit-test")
		res := e.loginAs("audit-reseller@example.com", "audit-test")
		rl := auditPage(res, "/api/v1/audit?per_page=100")
		if len(find(rl, "POST /api/v1/auth/login", cust.ID)) != 1 {
			t.Errorf("reseller does not see its customer's login: %+v", rl.Items)
		}
		for _, x := range rl.Items {
			if x.OwnerID != cust.ID && x.OwnerID != rid && x.ActorID != rid {
				t.Errorf("reseller reads a stranger's entry: %+v", x)
			}
		}

		// The database refuses to change or delete entries.
		if err := e.app.DB().Exec("UPDATE audit_log SET actor_id = 'forged'").Error; err == nil {
			t.Error("UPDATE audit_log succeeded")
		}
		if err := e.app.DB().Exec("DELETE FROM audit_log").Error; err == nil {
			t.Error("DELETE FROM audit_log succeeded")
		}
		if e.count("audit_log") < all.Total {
			t.Error("entries disappeared")
		}
	})
}

func TestAuditSignupAndResetEntries(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		c := e.signup("audit-signup@example.com", "correct horse battery")
		e.anon().must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "audit-signup@example.com"}, nil)
		e.anon().must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "audit-nobody@example.com"}, nil)
		l := auditPage(c, "/api/v1/audit")
		signup := find(l, "POST /api/v1/auth/signup", c.user.ID)
		if len(signup) != 1 || signup[0].ActorID != c.user.ID || signup[0].OwnerID != c.user.ID || signup[0].ObjectType != "user" {
			t.Fatalf("sign-up entry: %+v", l.Items)
		}
		reset := find(l, "POST /api/v1/auth/password-reset", c.user.ID)
		if len(reset) != 1 || reset[0].ActorID != "anonymous" || reset[0].OwnerID != c.user.ID {
			t.Fatalf("reset request entry: %+v", l.Items)
		}
		// The request for an address without an account is logged without naming anyone.
		admin := e.login("audit-signup-admin@example.com", api.RoleAdmin)
		anon := auditPage(admin, "/api/v1/admin/audit?actor_id=anonymous")
		if anon.Total != 2 {
			t.Fatalf("anonymous entries: %+v", anon.Items)
		}
		for _, x := range anon.Items {
			if x.OwnerID != "" && x.OwnerID != c.user.ID {
				t.Errorf("anonymous entry owned by %q", x.OwnerID)
			}
			if strings.Contains(string(x.Details), "audit-nobody") {
				t.Errorf("entry reveals the address: %s", x.Details)
			}
		}
	})
}
