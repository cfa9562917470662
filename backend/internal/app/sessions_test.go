package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// loginAs opens another session for an existing account created by env.login, sending
// userAgent as the User-Agent header.
func (e *env) loginAs(email, userAgent string) *client {
	e.t.Helper()
	body, err := json.Marshal(api.LoginRequest{Email: email, Password: "password-" + email})
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.base+"/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	c := &client{e: e}
	if resp.StatusCode != 200 {
		e.t.Fatalf("login %s: %d", email, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&c.user); err != nil {
		e.t.Fatal(err)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "nimbo_session" {
			c.cookie = ck.Value
		}
	}
	if c.cookie == "" {
		e.t.Fatal("no session cookie")
	}
	return c
}

// sessions lists c's sessions and returns them with the id of the one marked current ("" if
// none is).
func (c *client) sessions() ([]api.Session, string) {
	c.e.t.Helper()
	var l api.List[api.Session]
	c.must(200, "GET", "/api/v1/me/sessions", nil, &l)
	cur := ""
	for _, s := range l.Items {
		if s.Current {
			if cur != "" {
				c.e.t.Fatalf("two current sessions: %+v", l.Items)
			}
			cur = s.ID
		}
	}
	return l.Items, cur
}

func wantStatus(t *testing.T, c *client, want int, method, path string) {
	t.Helper()
	if st, body := c.errCode(method, path, nil); st != want {
		t.Fatalf("%s %s: %d, want %d: %+v", method, path, st, want, body)
	}
}

func TestSessions(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		a1 := e.login("a@example.com", api.RoleCustomer)
		longUA := "Mozilla/5.0 " + strings.Repeat("é", 200)
		a2 := e.loginAs("a@example.com", longUA)

		// Both sessions are listed, each client sees its own as current, no token leaks.
		list1, cur1 := a1.sessions()
		list2, cur2 := a2.sessions()
		if len(list1) != 2 || len(list2) != 2 || cur1 == "" || cur2 == "" || cur1 == cur2 {
			t.Fatalf("lists: %+v (current %q) / %+v (current %q)", list1, cur1, list2, cur2)
		}
		for _, s := range list1 {
			if uuid.Validate(s.ID) != nil || s.IP != "127.0.0.1" || s.CreatedAt.IsZero() || s.LastSeenAt.IsZero() ||
				!s.ExpiresAt.After(time.Now()) {
				t.Fatalf("session %+v", s)
			}
			switch s.ID {
			case cur1:
				if s.UserAgent != "Go-http-client/1.1" {
					t.Fatalf("user agent %q", s.UserAgent)
				}
			case cur2:
				if len(s.UserAgent) > 256 || len(s.UserAgent) < 250 || !strings.HasPrefix(longUA, s.UserAgent) {
					t.Fatalf("long user agent stored as %q (%d bytes)", s.UserAgent, len(s.UserAgent))
				}
			}
		}
		_, _, raw := a1.do("GET", "/api/v1/me/sessions", nil, nil)
		if bytes.Contains(raw, []byte(a1.cookie)) || bytes.Contains(raw, []byte(a2.cookie)) || bytes.Contains(raw, []byte("token")) {
			t.Fatalf("session list leaks a token: %s", raw)
		}

		// Revoking the other session ends it at once, though its principal is cached.
		a2.must(200, "GET", "/api/v1/me", nil, nil)
		a1.must(204, "DELETE", "/api/v1/me/sessions/"+cur2, nil, nil)
		wantStatus(t, a2, 401, "GET", "/api/v1/me")
		wantStatus(t, a2, 401, "GET", "/api/v1/servers")
		a1.must(200, "GET", "/api/v1/me", nil, nil)
		if l, _ := a1.sessions(); len(l) != 1 || l[0].ID != cur1 {
			t.Fatalf("after revoke: %+v", l)
		}

		// Another customer can neither see nor revoke A's sessions.
		b := e.login("b@example.com", api.RoleCustomer)
		bl, bcur := b.sessions()
		if len(bl) != 1 || bl[0].ID == cur1 || bcur != bl[0].ID {
			t.Fatalf("b sessions: %+v", bl)
		}
		for _, id := range []string{cur1, cur2, uuid.NewString(), "not-a-uuid", "%20", strings.Repeat("a", 300)} {
			wantStatus(t, b, 404, "DELETE", "/api/v1/me/sessions/"+id)
		}
		var res api.RevokeSessionsResult
		b.must(200, "DELETE", "/api/v1/me/sessions", nil, &res)
		if res.Revoked != 0 {
			t.Fatalf("b revoked %d", res.Revoked)
		}
		a1.must(200, "GET", "/api/v1/me", nil, nil)
		b.must(200, "GET", "/api/v1/me", nil, nil)

		// Anonymous callers are refused.
		anon := e.anon()
		for _, m := range []struct{ method, path string }{
			{"GET", "/api/v1/me/sessions"}, {"DELETE", "/api/v1/me/sessions"}, {"DELETE", "/api/v1/me/sessions/" + cur1},
		} {
			wantStatus(t, anon, 401, m.method, m.path)
		}

		// Revoke all others: the current session stays, the rest end at once.
		a3 := e.loginAs("a@example.com", "third")
		a4 := e.loginAs("a@example.com", "fourth")
		a3.must(200, "GET", "/api/v1/me", nil, nil)
		a4.must(200, "GET", "/api/v1/me", nil, nil)
		a1.must(200, "DELETE", "/api/v1/me/sessions", nil, &res)
		if res.Revoked != 2 {
			t.Fatalf("revoked %d, want 2", res.Revoked)
		}
		wantStatus(t, a3, 401, "GET", "/api/v1/me")
		wantStatus(t, a4, 401, "GET", "/api/v1/me")
		if l, cur := a1.sessions(); len(l) != 1 || cur != cur1 {
			t.Fatalf("after revoke all others: %+v", l)
		}
		b.must(200, "GET", "/api/v1/me", nil, nil)

		// With an API token there is no current session: all of them end; the token keeps working.
		var tok api.Token
		a1.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "t", Scopes: []string{api.ScopeServersRead}}, &tok)
		a5 := e.loginAs("a@example.com", "fifth")
		bearer := &client{e: e, bearer: tok.Secret}
		if l, cur := bearer.sessions(); len(l) != 2 || cur != "" {
			t.Fatalf("bearer sessions: %+v (current %q)", l, cur)
		}
		bearer.must(200, "DELETE", "/api/v1/me/sessions", nil, &res)
		if res.Revoked != 2 {
			t.Fatalf("bearer revoked %d, want 2", res.Revoked)
		}
		wantStatus(t, a1, 401, "GET", "/api/v1/me")
		wantStatus(t, a5, 401, "GET", "/api/v1/me")
		bearer.must(200, "GET", "/api/v1/me", nil, nil)
		b.must(200, "GET", "/api/v1/me", nil, nil)

		// Revoking the current session ends it and clears the cookie.
		b2 := e.loginAs("b@example.com", "b2")
		_, b2cur := b2.sessions()
		st, h, body := b2.do("DELETE", "/api/v1/me/sessions/"+b2cur, nil, nil)
		if st != 204 || !strings.Contains(h.Get("Set-Cookie"), "nimbo_session=;") {
			t.Fatalf("revoke current: %d %q %s", st, h.Get("Set-Cookie"), body)
		}
		wantStatus(t, b2, 401, "GET", "/api/v1/me")
		b.must(200, "GET", "/api/v1/me", nil, nil)
	})
}

// sessionRow reads a session row by its id.
func (e *env) sessionRow(id string) store.Session {
	e.t.Helper()
	var s store.Session
	if err := e.app.DB().Where("id = ?", id).Take(&s).Error; err != nil {
		e.t.Fatalf("read session %s: %v", id, err)
	}
	return s
}

func TestSessionLastSeen(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		c := e.login("a@example.com", api.RoleCustomer)
		_, id := c.sessions()
		before := e.sessionRow(id)
		if !before.LastSeenAt.Equal(before.CreatedAt) {
			t.Fatalf("fresh session: last_seen_at %v, created_at %v", before.LastSeenAt, before.CreatedAt)
		}
		// Several requests, some after the credential cache expired: no write within a minute.
		for i := range 6 {
			if i == 3 {
				time.Sleep(2200 * time.Millisecond)
			}
			c.must(200, "GET", "/api/v1/me", nil, nil)
		}
		if after := e.sessionRow(id); !after.LastSeenAt.Equal(before.LastSeenAt) {
			t.Fatalf("last_seen_at written within a minute: %v -> %v", before.LastSeenAt, after.LastSeenAt)
		}

		// A session last seen over a minute ago is refreshed by its next (uncached) request.
		c2 := e.loginAs("a@example.com", "second")
		var id2 string
		for _, s := range func() []api.Session { l, _ := c.sessions(); return l }() {
			if s.ID != id {
				id2 = s.ID
			}
		}
		stale := store.Now().Add(-2 * time.Minute)
		if err := e.app.DB().Model(&store.Session{}).Where("id = ?", id2).Update("last_seen_at", stale).Error; err != nil {
			t.Fatal(err)
		}
		c2.must(200, "GET", "/api/v1/me", nil, nil)
		if got := e.sessionRow(id2).LastSeenAt; !got.After(stale.Add(time.Minute)) {
			t.Fatalf("stale last_seen_at not refreshed: %v", got)
		}
		if got := e.sessionRow(id).LastSeenAt; !got.Equal(before.LastSeenAt) {
			t.Fatalf("other session touched: %v", got)
		}
	})
}
