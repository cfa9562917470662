package app_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

func TestLoginRateLimit(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		u := e.login("user@example.com", api.RoleCustomer)
		var me api.User
		u.must(200, "GET", "/api/v1/me", nil, &me)
		if me.Email != "user@example.com" || me.Role != api.RoleCustomer {
			t.Fatalf("me: %+v", me)
		}
		anon := e.anon()
		// Emails are case-insensitive.
		anon.must(200, "POST", "/api/v1/auth/login", `{"email":"USER@example.com","password":"password-user@example.com"}`, nil)
		bad := api.LoginRequest{Email: "user@example.com", Password: "wrong-password"}
		for i := range 10 {
			if st, body := anon.errCode("POST", "/api/v1/auth/login", bad); st != 401 || body.Error.Code != api.CodeUnauthorized {
				t.Fatalf("failure %d: %d %+v", i, st, body)
			}
		}
		st, h, _ := anon.do("POST", "/api/v1/auth/login", bad, nil)
		if st != 429 {
			t.Fatalf("11th failure: %d", st)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 900 {
			t.Fatalf("Retry-After %q", h.Get("Retry-After"))
		}
		// Even the right password is refused while limited.
		good := api.LoginRequest{Email: "user@example.com", Password: "password-user@example.com"}
		if st, body := anon.errCode("POST", "/api/v1/auth/login", good); st != 429 || body.Error.Code != api.CodeRateLimited {
			t.Fatalf("limited good login: %d %+v", st, body)
		}
		// Logout ends the session.
		u.must(204, "POST", "/api/v1/auth/logout", nil, nil)
		if st, _ := u.errCode("GET", "/api/v1/me", nil); st != 401 {
			t.Fatalf("me after logout: %d", st)
		}
	})
}

func TestLoginSuccessClearsEmailCounter(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	e.login("user@example.com", api.RoleCustomer)
	anon := e.anon()
	for range 9 {
		anon.errCode("POST", "/api/v1/auth/login", api.LoginRequest{Email: "user@example.com", Password: "nope-nope"})
	}
	anon.must(200, "POST", "/api/v1/auth/login", api.LoginRequest{Email: "user@example.com", Password: "password-user@example.com"}, nil)
	// The email counter is clear; the IP counter (9) still allows one more failure.
	if st, _ := anon.errCode("POST", "/api/v1/auth/login", api.LoginRequest{Email: "user@example.com", Password: "nope-nope"}); st != 401 {
		t.Fatalf("after success: %d", st)
	}
	if st, _ := anon.errCode("POST", "/api/v1/auth/login", api.LoginRequest{Email: "other@example.com", Password: "nope-nope"}); st != 429 {
		t.Fatalf("ip limit: %d", st)
	}
}

func TestLoginCookie(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		secure    bool
	}{{"http://127.0.0.1:8080", false}, {"https://panel.example.com", true}} {
		t.Run(tc.publicURL, func(t *testing.T) {
			e := newEnv(t, testenv.SQLite(t), func(c *config.Config) { c.PublicURL = tc.publicURL })
			if _, err := e.app.Auth().CreateUser(t.Context(), "u@example.com", "password-123", api.RoleCustomer); err != nil {
				t.Fatal(err)
			}
			_, h, _ := e.anon().do("POST", "/api/v1/auth/login", api.LoginRequest{Email: "u@example.com", Password: "password-123"}, nil)
			cookies := (&http.Response{Header: h}).Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies: %v", cookies)
			}
			ck := cookies[0]
			if ck.Name != "nimbo_session" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tc.secure || len(ck.Value) < 40 {
				t.Fatalf("cookie: %+v", ck)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)

		for _, tc := range []struct {
			name string
			c    *client
			req  api.CreateTokenRequest
			want int
		}{
			{"customer admin scope", cust, api.CreateTokenRequest{Name: "x", Scopes: []string{api.ScopeAdminRead}}, 422},
			{"unknown scope", cust, api.CreateTokenRequest{Name: "x", Scopes: []string{"servers:everything"}}, 422},
			{"no scopes", cust, api.CreateTokenRequest{Name: "x"}, 422},
			{"no name", cust, api.CreateTokenRequest{Scopes: []string{api.ScopeServersRead}}, 422},
			{"negative expiry", cust, api.CreateTokenRequest{Name: "x", Scopes: []string{api.ScopeServersRead}, ExpiresInDays: -1}, 422},
			{"customer read", cust, api.CreateTokenRequest{Name: "ro", Scopes: []string{api.ScopeServersRead}}, 201},
			{"admin admin", admin, api.CreateTokenRequest{Name: "adm", Scopes: []string{api.ScopeAdminRead}, ExpiresInDays: 30}, 201},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if st, body := tc.c.errCode("POST", "/api/v1/tokens", tc.req); st != tc.want {
					t.Fatalf("status %d, want %d: %+v", st, tc.want, body)
				}
			})
		}
		var tok api.Token
		cust.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "reader", Scopes: []string{api.ScopeServersRead}}, &tok)
		if len(tok.Secret) < 40 || tok.Secret[:6] != "nimbo_" || tok.Prefix != tok.Secret[:len(tok.Prefix)] {
			t.Fatalf("token: %+v", tok)
		}
		reader := &client{e: e, bearer: tok.Secret}
		reader.must(200, "GET", "/api/v1/servers", nil, nil)
		if st, body := reader.errCode("POST", "/api/v1/servers", validServer("x1")); st != 403 || body.Error.Code != api.CodeForbidden {
			t.Fatalf("read token writes: %d %+v", st, body)
		}
		var list api.List[api.Token]
		cust.must(200, "GET", "/api/v1/tokens", nil, &list)
		if len(list.Items) != 2 || list.Items[0].Secret != "" {
			t.Fatalf("list: %+v", list)
		}
		// last_used_at was recorded on first use.
		found := false
		for _, it := range list.Items {
			if it.ID == tok.ID && it.LastUsedAt != nil {
				found = true
			}
		}
		if !found {
			t.Fatalf("last_used_at not set: %+v", list.Items)
		}
		// Another user cannot delete it; deleting revokes at once (cache included).
		if st, _ := admin.errCode("DELETE", "/api/v1/tokens/"+tok.ID, nil); st != 404 {
			t.Fatalf("foreign delete: %d", st)
		}
		cust.must(204, "DELETE", "/api/v1/tokens/"+tok.ID, nil, nil)
		if st, _ := reader.errCode("GET", "/api/v1/servers", nil); st != 401 {
			t.Fatalf("revoked token: %d", st)
		}
		// An admin token without admin:write may read admin routes but not write them.
		var at api.Token
		admin.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "adm-ro", Scopes: []string{api.ScopeAdminRead}}, &at)
		ar := &client{e: e, bearer: at.Secret}
		ar.must(200, "GET", "/api/v1/admin/nodes", nil, nil)
		if st, _ := ar.errCode("POST", "/api/v1/admin/nodes", api.CreateNodeRequest{Name: "n"}); st != 403 {
			t.Fatalf("admin:read token writes: %d", st)
		}
		if st, _ := (&client{e: e, bearer: "nimbo_bogus"}).errCode("GET", "/api/v1/me", nil); st != 401 {
			t.Fatalf("bogus token: %d", st)
		}
	})
}

func TestAuthorization(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		a := e.login("a@example.com", api.RoleCustomer)
		b := e.login("b@example.com", api.RoleCustomer)
		n := e.addNode(admin, "node-a", defaultHeartbeat())
		var acc api.ServerAccepted
		a.must(202, "POST", "/api/v1/servers", validServer("mine"), &acc)
		n.result(acc.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		id, opID := acc.Server.ID, acc.Operation.ID

		serverRoutes := []struct{ method, path string }{
			{"GET", "/api/v1/servers/" + id},
			{"POST", "/api/v1/servers/" + id + "/start"},
			{"POST", "/api/v1/servers/" + id + "/stop"},
			{"POST", "/api/v1/servers/" + id + "/restart"},
			{"DELETE", "/api/v1/servers/" + id},
			{"GET", "/api/v1/servers/" + id + "/operations"},
			{"GET", "/api/v1/operations/" + opID},
			{"GET", "/api/v1/operations/" + opID + "/wait?timeout=1"},
			{"GET", "/api/v1/servers/not-a-uuid"},
			{"GET", "/api/v1/operations/not-a-uuid"},
		}
		for _, r := range serverRoutes {
			if st, body := b.errCode(r.method, r.path, nil); st != 404 || body.Error.Code != api.CodeNotFound {
				t.Errorf("customer B %s %s: %d %+v", r.method, r.path, st, body)
			}
			if st, body := e.anon().errCode(r.method, r.path, nil); st != 401 || body.Error.Code != api.CodeUnauthorized {
				t.Errorf("anonymous %s %s: %d %+v", r.method, r.path, st, body)
			}
		}
		adminRoutes := []struct{ method, path string }{
			{"POST", "/api/v1/admin/users"}, {"GET", "/api/v1/admin/users"}, {"GET", "/api/v1/admin/users/" + a.user.ID},
			{"POST", "/api/v1/admin/nodes"}, {"GET", "/api/v1/admin/nodes"}, {"GET", "/api/v1/admin/nodes/" + n.id},
			{"DELETE", "/api/v1/admin/nodes/" + n.id}, {"GET", "/api/v1/admin/operations"},
		}
		for _, r := range adminRoutes {
			if st, body := b.errCode(r.method, r.path, nil); st != 403 || body.Error.Code != api.CodeForbidden {
				t.Errorf("customer %s %s: %d %+v", r.method, r.path, st, body)
			}
			if st, _ := e.anon().errCode(r.method, r.path, nil); st != 401 {
				t.Errorf("anonymous %s %s: %d", r.method, r.path, st)
			}
		}
		for _, p := range []string{"/api/v1/me", "/api/v1/tokens", "/api/v1/servers"} {
			if st, _ := e.anon().errCode("GET", p, nil); st != 401 {
				t.Errorf("anonymous %s: %d", p, st)
			}
		}
		// The owner and the admin see it.
		a.must(200, "GET", "/api/v1/servers/"+id, nil, nil)
		admin.must(200, "GET", "/api/v1/servers/"+id, nil, nil)
		admin.must(200, "GET", "/api/v1/operations/"+opID, nil, nil)
		// Admin user management.
		var u api.User
		admin.must(201, "POST", "/api/v1/admin/users", api.CreateUserRequest{Email: "New@Example.com", Password: "longenough", Role: api.RoleCustomer}, &u)
		if u.Email != "new@example.com" {
			t.Fatalf("email not lowercased: %q", u.Email)
		}
		if st, _ := admin.errCode("POST", "/api/v1/admin/users", api.CreateUserRequest{Email: "new@example.com", Password: "longenough", Role: api.RoleCustomer}); st != 409 {
			t.Fatalf("duplicate user: %d", st)
		}
		if st, body := admin.errCode("POST", "/api/v1/admin/users", api.CreateUserRequest{Email: "bad", Password: "short", Role: "root"}); st != 422 || len(body.Error.Fields) != 3 {
			t.Fatalf("invalid user: %d %+v", st, body)
		}
		admin.must(200, "GET", "/api/v1/admin/users/"+u.ID, nil, nil)
		var users api.List[api.User]
		admin.must(200, "GET", "/api/v1/admin/users", nil, &users)
		if users.Total != 4 {
			t.Fatalf("users: %+v", users)
		}
	})
}
