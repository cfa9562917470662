package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// rsSignIn logs an existing account in with its password.
func rsSignIn(e *env, email, password string) *client {
	e.t.Helper()
	c := &client{e: e}
	st, h, b := c.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: password}, &c.user)
	if st != 200 {
		e.t.Fatalf("login %s: %d %s", email, st, b)
	}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "nimbo_session" {
			c.cookie = ck.Value
		}
	}
	if c.cookie == "" {
		e.t.Fatal("no session cookie")
	}
	return c
}

// rsReseller creates a reseller through the admin API (fields merged into a valid body) and
// logs it in.
func rsReseller(e *env, admin *client, email string, fields map[string]any) (api.Reseller, *client) {
	e.t.Helper()
	body := map[string]any{"email": email, "password": "password-" + email, "brand_name": "Brand " + email}
	for k, v := range fields {
		body[k] = v
	}
	var r api.Reseller
	admin.must(201, "POST", "/api/v1/admin/resellers", body, &r)
	return r, rsSignIn(e, email, "password-"+email)
}

// rsCustomer creates a customer of the reseller r through the reseller API and logs it in.
func rsCustomer(e *env, r *client, email string) *client {
	e.t.Helper()
	var u api.User
	r.must(201, "POST", "/api/v1/reseller/customers", api.CreateCustomerRequest{Email: email, Password: "password-" + email}, &u)
	if u.Role != api.RoleCustomer || u.ResellerID != r.user.ID || !u.EmailVerified {
		e.t.Fatalf("reseller customer %+v", u)
	}
	return rsSignIn(e, email, "password-"+email)
}

// rsPlan creates an active plan.
func rsPlan(admin *client, name string, month, hour, setup int64, currency string) api.Plan {
	var p api.Plan
	admin.must(201, "POST", "/api/v1/admin/plans", map[string]any{"name": name, "type": "container", "cpu": 1,
		"memory_mib": 256, "disk_mib": 1024, "price_month": month, "price_hour": hour, "setup_fee": setup,
		"currency": currency}, &p)
	return p
}

// rsHostGet sends an anonymous GET with the given Host header.
func rsHostGet(e *env, host, path string, out any) int {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		e.t.Fatalf("GET %s (Host %s): %s: %v", path, host, b, err)
	}
	return resp.StatusCode
}

// rsSteadyNodes keeps fake nodes online between their heartbeats for the whole test (the
// many argon2id logins of these tests take longer than three 1 s heartbeat intervals).
func rsSteadyNodes(c *config.Config) { c.Nodes.OfflineAfter = 3600 }

func rsPanelURL(c *config.Config) {
	c.PublicURL = "https://panel.nimbo-test.example"
	c.Billing.SellerName = "Provider Hosting"
	c.Billing.SellerEmail = "support@provider.example"
}

func TestResellerAdminManage(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsPanelURL)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("plain@example.com", api.RoleCustomer)

		r, rc := rsReseller(e, admin, "acme@example.com", map[string]any{"brand_name": "Acme Cloud",
			"domain": "portal.acme.example", "support_email": "help@acme.example", "logo_url": "https://cdn.acme.example/logo.svg",
			"markup_bp": 2500, "quota_servers": 10, "quota_memory_mib": 4096})
		if r.ID == "" || r.Email != "acme@example.com" || r.BrandName != "Acme Cloud" || r.Domain != "portal.acme.example" ||
			r.SupportEmail != "help@acme.example" || r.LogoURL != "https://cdn.acme.example/logo.svg" || r.MarkupBP != 2500 ||
			r.Quota.Servers == nil || *r.Quota.Servers != 10 || r.Quota.CPU != nil || r.Quota.MemoryMiB == nil ||
			*r.Quota.MemoryMiB != 4096 || r.Quota.DiskMiB != nil || r.Usage != (api.ResellerResources{}) || r.Customers != 0 {
			t.Fatalf("created %+v", r)
		}
		if rc.user.Role != api.RoleReseller || !rc.user.EmailVerified || rc.user.ID != r.ID {
			t.Fatalf("reseller account %+v", rc.user)
		}
		rsCustomer(e, rc, "acme-c1@example.com")

		var got api.Reseller
		admin.must(200, "GET", "/api/v1/admin/resellers/"+r.ID, nil, &got)
		if got.BrandName != "Acme Cloud" || got.Customers != 1 || got.Domain != r.Domain {
			t.Fatalf("read back %+v", got)
		}
		r2, _ := rsReseller(e, admin, "beta@example.com", nil)
		var list api.List[api.Reseller]
		admin.must(200, "GET", "/api/v1/admin/resellers", nil, &list)
		if list.Total != 2 || len(list.Items) != 2 || list.Items[0].ID != r2.ID || list.Items[1].ID != r.ID || list.Items[1].Customers != 1 {
			t.Fatalf("list %+v", list)
		}
		admin.must(200, "GET", "/api/v1/admin/resellers?q=acme&per_page=1", nil, &list)
		if list.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != r.ID {
			t.Fatalf("filtered list %+v", list)
		}
		admin.must(200, "GET", "/api/v1/admin/resellers?q="+url.QueryEscape("Brand beta"), nil, &list)
		if list.Total != 1 || list.Items[0].ID != r2.ID {
			t.Fatalf("brand filter %+v", list)
		}

		// PATCH changes markup and quotas; null is unlimited; absent fields stay.
		admin.must(200, "PATCH", "/api/v1/admin/resellers/"+r.ID, `{"markup_bp":1000,"quota_servers":null,"quota_cpu":4}`, &got)
		if got.MarkupBP != 1000 || got.Quota.Servers != nil || got.Quota.CPU == nil || *got.Quota.CPU != 4 ||
			got.Quota.MemoryMiB == nil || *got.Quota.MemoryMiB != 4096 || got.BrandName != "Acme Cloud" {
			t.Fatalf("patched %+v", got)
		}
		admin.must(200, "GET", "/api/v1/admin/resellers/"+r.ID, nil, &got)
		if got.MarkupBP != 1000 || got.Quota.Servers != nil || *got.Quota.CPU != 4 {
			t.Fatalf("patch not stored %+v", got)
		}

		// Conflicts: a taken e-mail, a taken domain; nothing is written.
		users, profiles := e.count("users"), e.count("reseller_profiles")
		if st, body := admin.errCode("POST", "/api/v1/admin/resellers", map[string]any{"email": "acme@example.com",
			"password": "long-enough-1", "brand_name": "Again"}); st != 409 {
			t.Fatalf("duplicate email: %d %+v", st, body)
		}
		if st, body := admin.errCode("POST", "/api/v1/admin/resellers", map[string]any{"email": "gamma@example.com",
			"password": "long-enough-1", "brand_name": "Gamma", "domain": "portal.acme.example"}); st != 409 {
			t.Fatalf("duplicate domain: %d %+v", st, body)
		}
		if e.count("users") != users || e.count("reseller_profiles") != profiles {
			t.Fatal("a refused reseller left rows behind")
		}

		// Not a reseller, unknown, malformed: 404. Non-admins: 403.
		for _, id := range []string{cust.user.ID, "5d0c6c1a-3f3e-4a53-9d8e-000000000000", "abc"} {
			if st, _ := admin.errCode("GET", "/api/v1/admin/resellers/"+id, nil); st != 404 {
				t.Fatalf("GET reseller %s: %d", id, st)
			}
			if st, _ := admin.errCode("PATCH", "/api/v1/admin/resellers/"+id, `{"markup_bp":1}`); st != 404 {
				t.Fatalf("PATCH reseller %s: %d", id, st)
			}
		}
		for _, c := range []*client{cust, rc} {
			if st, _ := c.errCode("GET", "/api/v1/admin/resellers", nil); st != 403 {
				t.Fatalf("non-admin lists resellers: %d", st)
			}
			if st, _ := c.errCode("PATCH", "/api/v1/admin/resellers/"+r.ID, `{"markup_bp":0}`); st != 403 {
				t.Fatalf("non-admin patches a reseller: %d", st)
			}
		}
	})
}

func TestResellerBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsPanelURL)
		admin := e.login("admin@example.com", api.RoleAdmin)
		r, rc := rsReseller(e, admin, "acme@example.com", map[string]any{"domain": "portal.acme.example"})
		_, other := rsReseller(e, admin, "other@example.com", map[string]any{"domain": "portal.other.example"})
		plan := rsPlan(admin, "Basic", 1000, 2, 500, "USD")
		var hidden api.Plan
		admin.must(201, "POST", "/api/v1/admin/plans", map[string]any{"name": "Hidden", "type": "container", "cpu": 1,
			"memory_mib": 256, "disk_mib": 1024, "price_month": 100, "currency": "USD", "active": false}, &hidden)

		valid := func(extra string) string {
			b := `{"email":"new@example.com","password":"long-enough-1","brand_name":"New"`
			if extra != "" {
				b += "," + extra
			}
			return b + "}"
		}
		creates := []struct {
			name, body string
			status     int
			field      string
		}{
			{"bad email", `{"email":"nope","password":"long-enough-1","brand_name":"New"}`, 422, "email"},
			{"short password", `{"email":"new@example.com","password":"short","brand_name":"New"}`, 422, "password"},
			{"no brand", `{"email":"new@example.com","password":"long-enough-1"}`, 422, "brand_name"},
			{"blank brand", valid(`"brand_name":"  "`), 422, "brand_name"},
			{"long brand", valid(`"brand_name":"` + strings.Repeat("x", 65) + `"`), 422, "brand_name"},
			{"upper-case domain", valid(`"domain":"Portal.Example.com"`), 422, "domain"},
			{"domain with scheme", valid(`"domain":"https://portal.example.com"`), 422, "domain"},
			{"domain with port", valid(`"domain":"portal.example.com:8443"`), 422, "domain"},
			{"domain with path", valid(`"domain":"portal.example.com/x"`), 422, "domain"},
			{"single-label domain", valid(`"domain":"localhost"`), 422, "domain"},
			{"ip domain", valid(`"domain":"10.0.0.1"`), 422, "domain"},
			{"label with dash", valid(`"domain":"-x.example.com"`), 422, "domain"},
			{"panel's own host", valid(`"domain":"panel.nimbo-test.example"`), 422, "domain"},
			{"taken domain", valid(`"domain":"portal.acme.example"`), 409, ""},
			{"http logo", valid(`"logo_url":"http://cdn.example.com/logo.png"`), 422, "logo_url"},
			{"javascript logo", valid(`"logo_url":"javascript:alert(1)"`), 422, "logo_url"},
			{"relative logo", valid(`"logo_url":"/logo.png"`), 422, "logo_url"},
			{"bad support email", valid(`"support_email":"help"`), 422, "support_email"},
			{"negative markup", valid(`"markup_bp":-1`), 422, "markup_bp"},
			{"huge markup", valid(`"markup_bp":100001`), 422, "markup_bp"},
			{"negative quota", valid(`"quota_servers":-1`), 422, "quota_servers"},
			{"negative cpu quota", valid(`"quota_cpu":-5`), 422, "quota_cpu"},
			{"fractional quota", valid(`"quota_disk_mib":1.5`), 400, ""},
			{"unknown field", valid(`"role":"admin"`), 400, ""},
			{"string markup", valid(`"markup_bp":"10"`), 400, ""},
			{"not an object", `[]`, 400, ""},
		}
		users, profiles := e.count("users"), e.count("reseller_profiles")
		for _, tc := range creates {
			st, body := admin.errCode("POST", "/api/v1/admin/resellers", tc.body)
			if st != tc.status || (tc.field != "" && body.Error.Fields[tc.field] == "") {
				t.Errorf("%s: %d %+v, want %d on %q", tc.name, st, body, tc.status, tc.field)
			}
		}
		if e.count("users") != users || e.count("reseller_profiles") != profiles {
			t.Fatal("refused creates left rows behind")
		}
		// http logos are fine for localhost.
		var ok api.Reseller
		admin.must(201, "POST", "/api/v1/admin/resellers", valid(`"logo_url":"http://localhost:8080/logo.png"`), &ok)

		before := r
		admin.must(200, "GET", "/api/v1/admin/resellers/"+r.ID, nil, &before)
		patches := []struct {
			name, body string
			status     int
		}{
			{"huge markup", `{"markup_bp":100001}`, 422},
			{"negative quota", `{"markup_bp":5,"quota_memory_mib":-1}`, 422},
			{"brand is not the admin's here", `{"brand_name":"X"}`, 400},
			{"empty body", ``, 400},
			{"string quota", `{"quota_cpu":"1"}`, 400},
		}
		for _, tc := range patches {
			if st, body := admin.errCode("PATCH", "/api/v1/admin/resellers/"+r.ID, tc.body); st != tc.status {
				t.Errorf("admin patch %s: %d %+v, want %d", tc.name, st, body, tc.status)
			}
		}
		var after api.Reseller
		admin.must(200, "GET", "/api/v1/admin/resellers/"+r.ID, nil, &after)
		if after.MarkupBP != before.MarkupBP || after.Quota != before.Quota || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("refused patches changed the reseller: %+v, was %+v", after, before)
		}

		// The reseller's own profile.
		own := []struct {
			name, body string
			status     int
		}{
			{"markup is read-only", `{"markup_bp":0}`, 400},
			{"quota is read-only", `{"quota_servers":100}`, 400},
			{"empty brand", `{"brand_name":""}`, 422},
			{"taken domain", `{"domain":"portal.other.example"}`, 409},
			{"panel host", `{"domain":"panel.nimbo-test.example"}`, 422},
			{"bad domain", `{"domain":"portal..example"}`, 422},
			{"bad logo", `{"logo_url":"ftp://x.example/logo.png"}`, 422},
			{"bad support email", `{"support_email":"a@"}`, 422},
		}
		for _, tc := range own {
			if st, body := rc.errCode("PATCH", "/api/v1/reseller/profile", tc.body); st != tc.status {
				t.Errorf("own patch %s: %d %+v, want %d", tc.name, st, body, tc.status)
			}
		}
		var prof api.Reseller
		rc.must(200, "GET", "/api/v1/reseller/profile", nil, &prof)
		if prof.Domain != "portal.acme.example" || prof.BrandName != before.BrandName || !prof.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("refused own patches changed the profile: %+v", prof)
		}

		// Customers.
		users = e.count("users")
		rsCustomer(e, rc, "dup@example.com")
		for _, tc := range []struct {
			name   string
			body   any
			status int
		}{
			{"bad email", map[string]any{"email": "x", "password": "long-enough-1"}, 422},
			{"short password", map[string]any{"email": "c2@example.com", "password": "1234567"}, 422},
			{"duplicate", map[string]any{"email": "DUP@example.com", "password": "long-enough-1"}, 409},
			{"role smuggled", map[string]any{"email": "c3@example.com", "password": "long-enough-1", "role": "admin"}, 400},
			{"reseller smuggled", map[string]any{"email": "c4@example.com", "password": "long-enough-1", "reseller_id": other.user.ID}, 400},
		} {
			if st, body := rc.errCode("POST", "/api/v1/reseller/customers", tc.body); st != tc.status {
				t.Errorf("customer %s: %d %+v, want %d", tc.name, st, body, tc.status)
			}
		}
		if n := e.count("users"); n != users+1 {
			t.Fatalf("%d users, want %d", n, users+1)
		}
		for _, q := range []string{"?q=" + strings.Repeat("a", 255), "?page=0", "?per_page=101", "?page=x"} {
			if st, _ := rc.errCode("GET", "/api/v1/reseller/customers"+q, nil); st != 422 {
				t.Errorf("customers%s: %d", q, st)
			}
		}
		for _, id := range []string{"x", "5d0c6c1a-3f3e-4a53-9d8e-000000000000"} {
			if st, _ := rc.errCode("GET", "/api/v1/reseller/customers/"+id, nil); st != 404 {
				t.Errorf("customer %s: %d", id, st)
			}
		}

		// Prices.
		for _, tc := range []struct {
			name, plan, body string
			status           int
			field            string
		}{
			{"missing field", plan.ID, `{"price_month":2000,"price_hour":3}`, 422, "setup_fee"},
			{"negative", plan.ID, `{"price_month":-1,"price_hour":3,"setup_fee":600}`, 422, "price_month"},
			{"over the maximum", plan.ID, fmt.Sprintf(`{"price_month":%d,"price_hour":3,"setup_fee":600}`, billing.MaxAmount+1), 422, "price_month"},
			{"below wholesale month", plan.ID, `{"price_month":999,"price_hour":3,"setup_fee":600}`, 422, "price_month"},
			{"below wholesale hour", plan.ID, `{"price_month":1000,"price_hour":1,"setup_fee":600}`, 422, "price_hour"},
			{"below wholesale setup", plan.ID, `{"price_month":1000,"price_hour":2,"setup_fee":0}`, 422, "setup_fee"},
			{"float", plan.ID, `{"price_month":1000.5,"price_hour":2,"setup_fee":500}`, 400, ""},
			{"unknown field", plan.ID, `{"price_month":1000,"price_hour":2,"setup_fee":500,"currency":"EUR"}`, 400, ""},
			{"inactive plan", hidden.ID, `{"price_month":1000,"price_hour":2,"setup_fee":500}`, 404, ""},
			{"unknown plan", "5d0c6c1a-3f3e-4a53-9d8e-000000000000", `{"price_month":1000,"price_hour":2,"setup_fee":500}`, 404, ""},
			{"malformed plan", "nope", `{"price_month":1000,"price_hour":2,"setup_fee":500}`, 404, ""},
		} {
			st, body := rc.errCode("PUT", "/api/v1/reseller/prices/"+tc.plan, tc.body)
			if st != tc.status || (tc.field != "" && body.Error.Fields[tc.field] == "") {
				t.Errorf("price %s: %d %+v, want %d on %q", tc.name, st, body, tc.status, tc.field)
			}
		}
		if n := e.count("reseller_prices"); n != 0 {
			t.Fatalf("refused prices wrote %d rows", n)
		}
		if st, _ := rc.errCode("DELETE", "/api/v1/reseller/prices/nope", nil); st != 404 {
			t.Fatalf("delete price of a malformed plan: %d", st)
		}
		for _, q := range []string{"?page=0", "?per_page=1000"} {
			if st, _ := rc.errCode("GET", "/api/v1/reseller/prices"+q, nil); st != 422 {
				t.Errorf("prices%s: %d", q, st)
			}
		}

		// Revenue.
		for _, q := range []string{"?from=yesterday", "?to=2025-13-01T00:00:00Z", "?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
			"?from=2025-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", "?from=2025-01-01"} {
			if st, _ := rc.errCode("GET", "/api/v1/reseller/revenue"+q, nil); st != 422 {
				t.Errorf("revenue%s: %d", q, st)
			}
		}
		// Admin list filters.
		for _, q := range []string{"?q=" + strings.Repeat("a", 255), "?per_page=0"} {
			if st, _ := admin.errCode("GET", "/api/v1/admin/resellers"+q, nil); st != 422 {
				t.Errorf("admin resellers%s: %d", q, st)
			}
		}
	})
}

func TestResellerIsolation(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsSteadyNodes)
		admin := e.login("admin@example.com", api.RoleAdmin)
		plainCust := e.login("plain@example.com", api.RoleCustomer)
		n := e.addNode(admin, "node-a", defaultHeartbeat())
		ra, a := rsReseller(e, admin, "ra@example.com", map[string]any{"markup_bp": 1000, "quota_servers": 5})
		rb, b := rsReseller(e, admin, "rb@example.com", map[string]any{"quota_cpu": 7})
		ca := rsCustomer(e, a, "ca@example.com")
		cb := rsCustomer(e, b, "cb@example.com")
		plan := rsPlan(admin, "Basic", 1000, 2, 0, "USD")

		var accA, accB, accAdmin, accPlain api.ServerAccepted
		ca.must(202, "POST", "/api/v1/servers", validServer("web-a"), &accA)
		cb.must(202, "POST", "/api/v1/servers", validServer("web-b"), &accB)
		admin.must(202, "POST", "/api/v1/servers", validServer("web-admin"), &accAdmin)
		plainCust.must(202, "POST", "/api/v1/servers", validServer("web-plain"), &accPlain)
		n.result(accA.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})

		// Customers: each reseller lists and reads only its own.
		var cl api.List[api.User]
		a.must(200, "GET", "/api/v1/reseller/customers", nil, &cl)
		if cl.Total != 1 || cl.Items[0].ID != ca.user.ID {
			t.Fatalf("A's customers %+v", cl)
		}
		a.must(200, "GET", "/api/v1/reseller/customers?q=CA@", nil, &cl)
		if cl.Total != 1 {
			t.Fatalf("A's customers by q %+v", cl)
		}
		a.must(200, "GET", "/api/v1/reseller/customers?q=cb", nil, &cl)
		if cl.Total != 0 || len(cl.Items) != 0 {
			t.Fatalf("A sees B's customer by q %+v", cl)
		}
		var cu api.User
		a.must(200, "GET", "/api/v1/reseller/customers/"+ca.user.ID, nil, &cu)
		if cu.Email != "ca@example.com" || cu.ResellerID != ra.ID {
			t.Fatalf("A's customer %+v", cu)
		}
		for _, id := range []string{cb.user.ID, admin.user.ID, plainCust.user.ID, rb.ID} {
			if st, _ := a.errCode("GET", "/api/v1/reseller/customers/"+id, nil); st != 404 {
				t.Fatalf("A reads another's account %s: %d", id, st)
			}
		}

		// Prices: B's override does not show up for A or A's customers.
		b.must(200, "PUT", "/api/v1/reseller/prices/"+plan.ID, `{"price_month":5000,"price_hour":9,"setup_fee":1}`, nil)
		var pl api.List[api.ResellerPrice]
		a.must(200, "GET", "/api/v1/reseller/prices", nil, &pl)
		if pl.Total != 1 || pl.Items[0].Override || pl.Items[0].Retail.PriceMonth != 1100 {
			t.Fatalf("A's prices %+v", pl)
		}
		var cp api.Plan
		ca.must(200, "GET", "/api/v1/plans/"+plan.ID, nil, &cp)
		if cp.PriceMonth != 1100 {
			t.Fatalf("A's customer pays %d", cp.PriceMonth)
		}
		cb.must(200, "GET", "/api/v1/plans/"+plan.ID, nil, &cp)
		if cp.PriceMonth != 5000 || cp.PriceHour != 9 || cp.SetupFee != 1 {
			t.Fatalf("B's customer sees %+v", cp)
		}
		// A removing "its" price for the plan does not touch B's.
		a.must(200, "DELETE", "/api/v1/reseller/prices/"+plan.ID, nil, nil)
		if n := e.count("reseller_prices"); n != 1 {
			t.Fatalf("%d reseller prices after A's delete", n)
		}

		// Quota and usage: each its own.
		var qa, qb api.ResellerQuotaUsage
		a.must(200, "GET", "/api/v1/reseller/quota", nil, &qa)
		b.must(200, "GET", "/api/v1/reseller/quota", nil, &qb)
		if qa.Quota.Servers == nil || *qa.Quota.Servers != 5 || qa.Quota.CPU != nil || qa.Usage.Servers != 1 || qa.Usage.MemoryMiB != 128 ||
			qb.Quota.CPU == nil || *qb.Quota.CPU != 7 || qb.Quota.Servers != nil || qb.Usage.Servers != 1 {
			t.Fatalf("quotas A %+v B %+v", qa, qb)
		}

		// Revenue: only A's customers' charges count for A.
		for i, u := range []string{ca.user.ID, cb.user.ID} {
			rsPost(t, e, u, api.EntryTopup, 10_000, "USD", fmt.Sprintf("iso-top-%d", i))
			rsPost(t, e, u, api.EntryCharge, -1_000*int64(i+1), "USD", fmt.Sprintf("iso-charge-%d", i))
		}
		var rev api.Revenue
		a.must(200, "GET", "/api/v1/reseller/revenue", nil, &rev)
		if len(rev.Items) != 1 || rev.Items[0].Retail != 1000 {
			t.Fatalf("A's revenue %+v", rev)
		}
		b.must(200, "GET", "/api/v1/reseller/revenue", nil, &rev)
		if len(rev.Items) != 1 || rev.Items[0].Retail != 2000 {
			t.Fatalf("B's revenue %+v", rev)
		}

		// Servers: a reseller sees and manages its customers' servers only.
		var sl api.List[api.Server]
		a.must(200, "GET", "/api/v1/servers", nil, &sl)
		if sl.Total != 1 || sl.Items[0].ID != accA.Server.ID {
			t.Fatalf("A's servers %+v", sl)
		}
		var srv api.Server
		a.must(200, "GET", "/api/v1/servers/"+accA.Server.ID, nil, &srv)
		if len(srv.Permissions) != len(api.Permissions())+1 || srv.Permissions[len(srv.Permissions)-1] != "manage" {
			t.Fatalf("reseller's permissions on its customer's server: %v", srv.Permissions)
		}
		a.must(202, "POST", "/api/v1/servers/"+accA.Server.ID+"/stop", nil, nil)
		for _, id := range []string{accB.Server.ID, accAdmin.Server.ID, accPlain.Server.ID} {
			if st, _ := a.errCode("GET", "/api/v1/servers/"+id, nil); st != 404 {
				t.Fatalf("A reads server %s: %d", id, st)
			}
			if st, _ := a.errCode("POST", "/api/v1/servers/"+id+"/stop", nil); st != 404 {
				t.Fatalf("A stops server %s: %d", id, st)
			}
			if st, _ := a.errCode("GET", "/api/v1/servers/"+id+"/members", nil); st != 404 {
				t.Fatalf("A lists members of server %s: %d", id, st)
			}
		}
		if st, _ := b.errCode("DELETE", "/api/v1/servers/"+accA.Server.ID, nil); st != 404 {
			t.Fatalf("B deletes A's customer's server: %d", st)
		}
		// The customer's own view of its server: every permission and manage.
		ca.must(200, "GET", "/api/v1/servers/"+accA.Server.ID, nil, &srv)
		if len(srv.Permissions) != len(api.Permissions())+1 {
			t.Fatalf("owner's permissions %v", srv.Permissions)
		}

		// Reseller routes are for resellers only: customers and admins get 403.
		for _, c := range []*client{ca, plainCust, admin} {
			for _, r := range []struct{ method, path string }{
				{"GET", "/api/v1/reseller/profile"}, {"GET", "/api/v1/reseller/customers"}, {"GET", "/api/v1/reseller/prices"},
				{"GET", "/api/v1/reseller/quota"}, {"GET", "/api/v1/reseller/revenue"}, {"GET", "/api/v1/reseller/customers/" + ca.user.ID},
			} {
				if st, _ := c.errCode(r.method, r.path, nil); st != 403 {
					t.Fatalf("%s %s as %s: %d", r.method, r.path, c.user.Role, st)
				}
			}
			if st, _ := c.errCode("POST", "/api/v1/reseller/customers", map[string]any{"email": "sneaky@example.com", "password": "long-enough-1"}); st != 403 {
				t.Fatalf("create customer as %s: %d", c.user.Role, st)
			}
			if st, _ := c.errCode("PUT", "/api/v1/reseller/prices/"+plan.ID, `{"price_month":5000,"price_hour":9,"setup_fee":1}`); st != 403 {
				t.Fatalf("set price as %s: %d", c.user.Role, st)
			}
		}
		// A reseller token without reseller scopes is refused too.
		var tok api.Token
		a.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "servers-only", Scopes: []string{api.ScopeServersRead}}, &tok)
		bare := &client{e: e, bearer: tok.Secret}
		if st, _ := bare.errCode("GET", "/api/v1/reseller/customers", nil); st != 403 {
			t.Fatalf("token without reseller:read: %d", st)
		}
	})
}

// rsPost writes a ledger entry through the billing service.
func rsPost(t *testing.T, e *env, userID, kind string, amount int64, currency, key string) {
	t.Helper()
	if _, err := e.app.Billing().Post(context.Background(), billing.PostRequest{UserID: userID, Currency: currency, Kind: kind,
		Amount: amount, IdempotencyKey: key, Reason: "test", ActorID: "system"}); err != nil {
		t.Fatalf("post %s %d: %v", kind, amount, err)
	}
}

func TestResellerRetailPrices(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		direct := e.login("direct@example.com", api.RoleCustomer)
		_, r := rsReseller(e, admin, "shop@example.com", map[string]any{"markup_bp": 2500})
		cust := rsCustomer(e, r, "buyer@example.com")
		big := rsPlan(admin, "Big", 1000, 2, 500, "USD")
		small := rsPlan(admin, "Small", 333, 1, 0, "EUR")

		retail := func(c *client) map[string]api.Plan {
			t.Helper()
			var l api.List[api.Plan]
			c.must(200, "GET", "/api/v1/plans", nil, &l)
			out := map[string]api.Plan{}
			for _, p := range l.Items {
				var one api.Plan
				c.must(200, "GET", "/api/v1/plans/"+p.ID, nil, &one)
				if one.PriceMonth != p.PriceMonth || one.PriceHour != p.PriceHour || one.SetupFee != p.SetupFee {
					t.Fatalf("plan %s: list %+v, one %+v", p.Name, p, one)
				}
				out[p.Name] = p
			}
			return out
		}
		type prices struct{ month, hour, setup int64 }
		of := func(p api.Plan) prices { return prices{p.PriceMonth, p.PriceHour, p.SetupFee} }
		check := func(step string, c *client, want map[string]prices) {
			t.Helper()
			got := retail(c)
			for name, w := range want {
				if of(got[name]) != w {
					t.Fatalf("%s: %s costs %+v, want %+v", step, name, of(got[name]), w)
				}
			}
		}
		// Markup +25 %, rounded half up: 2 → 2.5 → 3, 333 → 416.25 → 416, 1 → 1.25 → 1.
		check("markup", cust, map[string]prices{"Big": {1250, 3, 625}, "Small": {416, 1, 0}})
		check("direct customer", direct, map[string]prices{"Big": {1000, 2, 500}, "Small": {333, 1, 0}})
		check("reseller itself", r, map[string]prices{"Big": {1000, 2, 500}, "Small": {333, 1, 0}})

		var rp api.ResellerPrice
		r.must(200, "PUT", "/api/v1/reseller/prices/"+big.ID, `{"price_month":2000,"price_hour":2,"setup_fee":500}`, &rp)
		if !rp.Override || rp.Retail != (api.PlanPrices{PriceMonth: 2000, PriceHour: 2, SetupFee: 500}) ||
			rp.Wholesale != (api.PlanPrices{PriceMonth: 1000, PriceHour: 2, SetupFee: 500}) || rp.Currency != "USD" || rp.Exponent != 2 {
			t.Fatalf("set price %+v", rp)
		}
		check("override", cust, map[string]prices{"Big": {2000, 2, 500}, "Small": {416, 1, 0}})
		// Setting it again replaces it.
		r.must(200, "PUT", "/api/v1/reseller/prices/"+big.ID, `{"price_month":1500,"price_hour":4,"setup_fee":700}`, nil)
		check("override replaced", cust, map[string]prices{"Big": {1500, 4, 700}})
		var pl api.List[api.ResellerPrice]
		r.must(200, "GET", "/api/v1/reseller/prices", nil, &pl)
		if pl.Total != 2 || pl.Items[0].Name != "Big" || !pl.Items[0].Override || pl.Items[0].Retail.PriceMonth != 1500 ||
			pl.Items[1].Name != "Small" || pl.Items[1].Override || pl.Items[1].Retail != (api.PlanPrices{PriceMonth: 416, PriceHour: 1}) ||
			pl.Items[1].Wholesale.PriceMonth != 333 || pl.Items[1].BelowWholesale {
			t.Fatalf("reseller prices %+v", pl)
		}
		// The provider raises the wholesale price over the override: flagged for the reseller.
		admin.must(200, "PATCH", "/api/v1/admin/plans/"+big.ID, `{"price_month":1600}`, nil)
		r.must(200, "GET", "/api/v1/reseller/prices", nil, &pl)
		if !pl.Items[0].BelowWholesale {
			t.Fatalf("override under the new wholesale price not flagged: %+v", pl.Items[0])
		}
		// The admin changes the markup: customers see it at once.
		admin.must(200, "PATCH", "/api/v1/admin/resellers/"+r.user.ID, `{"markup_bp":10000}`, nil)
		check("markup doubled", cust, map[string]prices{"Small": {666, 2, 0}})
		// DELETE goes back to the markup.
		r.must(200, "DELETE", "/api/v1/reseller/prices/"+big.ID, nil, &rp)
		if rp.Override || rp.Retail != (api.PlanPrices{PriceMonth: 3200, PriceHour: 4, SetupFee: 1000}) {
			t.Fatalf("after delete %+v", rp)
		}
		check("back to markup", cust, map[string]prices{"Big": {3200, 4, 1000}})
		if n := e.count("reseller_prices"); n != 0 {
			t.Fatalf("%d reseller prices after delete", n)
		}
		// Deleting again is harmless.
		r.must(200, "DELETE", "/api/v1/reseller/prices/"+big.ID, nil, nil)
		// The admin's own catalogue keeps wholesale prices.
		var ap api.Plan
		admin.must(200, "GET", "/api/v1/admin/plans/"+small.ID, nil, &ap)
		if ap.PriceMonth != 333 {
			t.Fatalf("admin sees %d", ap.PriceMonth)
		}
	})
}

func TestResellerRevenue(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		rr, r := rsReseller(e, admin, "seller@example.com", nil)
		_, other := rsReseller(e, admin, "other@example.com", nil)
		c1 := rsCustomer(e, r, "c1@example.com")
		c2 := rsCustomer(e, r, "c2@example.com")
		oc := rsCustomer(e, other, "oc@example.com")
		direct := e.login("direct@example.com", api.RoleCustomer)

		// Customers: top-ups do not count; charges do; refunds reduce.
		rsPost(t, e, c1.user.ID, api.EntryTopup, 50_000, "USD", "rev-1")
		rsPost(t, e, c1.user.ID, api.EntryCharge, -1_000, "USD", "rev-2")
		rsPost(t, e, c1.user.ID, api.EntryRefund, 300, "USD", "rev-3")
		rsPost(t, e, c2.user.ID, api.EntryTopup, 50_000, "USD", "rev-4")
		rsPost(t, e, c2.user.ID, api.EntryCharge, -2_500, "USD", "rev-5")
		rsPost(t, e, c2.user.ID, api.EntryTopup, 900, "EUR", "rev-6")
		rsPost(t, e, c2.user.ID, api.EntryCharge, -200, "EUR", "rev-7")
		rsPost(t, e, c2.user.ID, api.EntryAdjustment, -50, "EUR", "rev-8")
		// Not the reseller's: another reseller's customer, a direct customer.
		rsPost(t, e, oc.user.ID, api.EntryTopup, 50_000, "USD", "rev-9")
		rsPost(t, e, oc.user.ID, api.EntryCharge, -7_000, "USD", "rev-10")
		rsPost(t, e, direct.user.ID, api.EntryTopup, 50_000, "USD", "rev-11")
		rsPost(t, e, direct.user.ID, api.EntryCharge, -9_000, "USD", "rev-12")
		// The reseller's settlements with the provider (and one credited back).
		rsPost(t, e, rr.ID, api.EntryTopup, 10_000, "USD", "rev-13")
		rsPost(t, e, rr.ID, api.EntrySettlement, -2_000, "USD", "rev-14")
		rsPost(t, e, rr.ID, api.EntrySettlement, 100, "USD", "rev-15")
		rsPost(t, e, rr.ID, api.EntryCharge, -400, "USD", "rev-16")

		var rev api.Revenue
		r.must(200, "GET", "/api/v1/reseller/revenue", nil, &rev)
		from, to := rev.From, rev.To
		now := time.Now().UTC()
		if from.Day() != 1 || from.Hour() != 0 || from.After(now) || !to.After(now) || to.Month() == from.Month() {
			t.Fatalf("default period %s – %s", from, to)
		}
		want := []api.RevenueLine{
			{Currency: "EUR", Exponent: 2, Retail: 200, Wholesale: 0, Margin: 200},
			{Currency: "USD", Exponent: 2, Retail: 1_000 - 300 + 2_500, Wholesale: 1_900, Margin: 3_200 - 1_900},
		}
		if len(rev.Items) != len(want) || rev.Items[0] != want[0] || rev.Items[1] != want[1] {
			t.Fatalf("revenue %+v, want %+v", rev.Items, want)
		}
		// An explicit range around now agrees; a range in the past is empty.
		q := url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Hour).Format(time.RFC3339)}}
		r.must(200, "GET", "/api/v1/reseller/revenue?"+q.Encode(), nil, &rev)
		if len(rev.Items) != 2 || rev.Items[1] != want[1] {
			t.Fatalf("explicit range %+v", rev)
		}
		q = url.Values{"from": {"2020-01-01T00:00:00Z"}, "to": {"2020-02-01T00:00:00+01:00"}}
		r.must(200, "GET", "/api/v1/reseller/revenue?"+q.Encode(), nil, &rev)
		if len(rev.Items) != 0 || !rev.To.Equal(time.Date(2020, 1, 31, 23, 0, 0, 0, time.UTC)) {
			t.Fatalf("past range %+v", rev)
		}
		other.must(200, "GET", "/api/v1/reseller/revenue", nil, &rev)
		if len(rev.Items) != 1 || rev.Items[0].Retail != 7_000 || rev.Items[0].Wholesale != 0 {
			t.Fatalf("other reseller's revenue %+v", rev)
		}
	})
}

func TestResellerBranding(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsPanelURL)
		admin := e.login("admin@example.com", api.RoleAdmin)
		_, r := rsReseller(e, admin, "brand@example.com", map[string]any{"brand_name": "Brandy Hosting",
			"domain": "panel.brandy.example", "logo_url": "https://brandy.example/logo.png", "support_email": "help@brandy.example"})

		provider := api.Branding{Name: "Provider Hosting", SupportEmail: "support@provider.example"}
		brandy := api.Branding{Name: "Brandy Hosting", LogoURL: "https://brandy.example/logo.png", SupportEmail: "help@brandy.example", Reseller: true}
		check := func(step, host string, want api.Branding) {
			t.Helper()
			var got api.Branding
			if st := rsHostGet(e, host, "/api/v1/branding", &got); st != 200 || got != want {
				t.Fatalf("%s: Host %q: %d %+v, want %+v", step, host, st, got, want)
			}
		}
		check("reseller domain", "panel.brandy.example", brandy)
		check("with a port", "panel.brandy.example:8443", brandy)
		check("upper case", "PANEL.Brandy.Example", brandy)
		check("trailing dot", "panel.brandy.example.", brandy)
		check("panel host", "panel.nimbo-test.example", provider)
		check("loopback", strings.TrimPrefix(e.base, "http://"), provider)
		check("other domain", "brandy.example", provider)

		// The reseller moves its portal and renames its brand; then removes the domain.
		r.must(200, "PATCH", "/api/v1/reseller/profile", `{"domain":"cloud.brandy.example","brand_name":"Brandy Cloud","logo_url":""}`, nil)
		check("old domain", "panel.brandy.example", provider)
		check("new domain", "cloud.brandy.example", api.Branding{Name: "Brandy Cloud", SupportEmail: "help@brandy.example", Reseller: true})
		var prof api.Reseller
		r.must(200, "PATCH", "/api/v1/reseller/profile", `{"domain":""}`, &prof)
		if prof.Domain != "" || prof.BrandName != "Brandy Cloud" || prof.MarkupBP != 0 {
			t.Fatalf("profile %+v", prof)
		}
		check("no domain", "cloud.brandy.example", provider)
		// Another reseller may take the freed domain.
		rsReseller(e, admin, "next@example.com", map[string]any{"domain": "panel.brandy.example"})
		check("domain reused", "panel.brandy.example", api.Branding{Name: "Brand next@example.com", Reseller: true})
	})
}

func TestResellerQuotaEnforced(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsSteadyNodes)
		admin := e.login("admin@example.com", api.RoleAdmin)
		e.addNode(admin, "node-a", defaultHeartbeat())
		rr, r := rsReseller(e, admin, "quota@example.com", map[string]any{"quota_servers": 1})
		c := rsCustomer(e, r, "qc@example.com")

		c.must(202, "POST", "/api/v1/servers", validServer("first"), nil)
		refused := func(step string, cl *client, req api.CreateServerRequest, field string) {
			t.Helper()
			servers, ops := e.count("servers"), e.count("operations")
			st, body := cl.errCode("POST", "/api/v1/servers", req)
			if st != 409 || body.Error.Code != api.CodeQuotaExceeded || body.Error.Fields[field] == "" {
				t.Fatalf("%s: %d %+v", step, st, body)
			}
			if e.count("servers") != servers || e.count("operations") != ops {
				t.Fatalf("%s: a refused create wrote rows", step)
			}
		}
		refused("second server", c, validServer("second"), "servers")
		// The reseller's own servers count against the same quota.
		refused("reseller's own server", r, validServer("own"), "servers")

		admin.must(200, "PATCH", "/api/v1/admin/resellers/"+rr.ID, `{"quota_servers":null,"quota_cpu":2}`, nil)
		big := validServer("big-cpu")
		big.CPU = 2
		refused("cpu", c, big, "cpu")
		big.CPU = 1
		c.must(202, "POST", "/api/v1/servers", big, nil)

		admin.must(200, "PATCH", "/api/v1/admin/resellers/"+rr.ID, `{"quota_cpu":null,"quota_memory_mib":300}`, nil)
		mem := validServer("big-mem")
		mem.MemoryMiB = 256
		refused("memory", c, mem, "memory_mib")

		admin.must(200, "PATCH", "/api/v1/admin/resellers/"+rr.ID, `{"quota_memory_mib":null,"quota_disk_mib":1000}`, nil)
		disk := validServer("big-disk")
		disk.DiskMiB = 512
		refused("disk", c, disk, "disk_mib")
		disk.DiskMiB = 256
		c.must(202, "POST", "/api/v1/servers", disk, nil)

		var q api.ResellerQuotaUsage
		r.must(200, "GET", "/api/v1/reseller/quota", nil, &q)
		if q.Usage != (api.ResellerResources{Servers: 3, CPU: 3, MemoryMiB: 384, DiskMiB: 768}) || q.Quota.DiskMiB == nil || *q.Quota.DiskMiB != 1000 {
			t.Fatalf("quota %+v", q)
		}
		// A direct customer is not limited by any reseller quota.
		direct := e.login("direct@example.com", api.RoleCustomer)
		direct.must(202, "POST", "/api/v1/servers", disk, nil)
	})
}

func TestResellerQuotaConcurrent(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsSteadyNodes)
		admin := e.login("admin@example.com", api.RoleAdmin)
		e.addNode(admin, "node-a", defaultHeartbeat())
		_, r := rsReseller(e, admin, "race@example.com", map[string]any{"quota_servers": 2})
		custs := []*client{rsCustomer(e, r, "race1@example.com"), rsCustomer(e, r, "race2@example.com")}

		const n = 5
		statuses := make([]int, n)
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var body api.Error
				st, _, b := custs[i%2].do("POST", "/api/v1/servers", validServer(fmt.Sprintf("race-%d", i)), nil)
				if st >= 400 {
					_ = json.Unmarshal(b, &body)
				}
				statuses[i], codes[i] = st, body.Error.Code
			}()
		}
		wg.Wait()
		accepted, refused := 0, 0
		for i, st := range statuses {
			switch {
			case st == 202:
				accepted++
			case st == 409 && codes[i] == api.CodeQuotaExceeded:
				refused++
			default:
				t.Errorf("create %d: %d %s", i, st, codes[i])
			}
		}
		if accepted != 2 || refused != 3 {
			t.Fatalf("%d accepted, %d refused; want 2 and 3", accepted, refused)
		}
		var live int64
		if err := e.app.DB().Model(&store.Server{}).Where("deleted_at IS NULL").Count(&live).Error; err != nil {
			t.Fatal(err)
		}
		if live != 2 || e.count("operations") != 2 {
			t.Fatalf("%d servers, %d operations", live, e.count("operations"))
		}
	})
}
