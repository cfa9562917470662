package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

func init() {
	// Coupon and invoice routes in the authorization matrix. Admins manage every coupon, a
	// reseller only its own (another reseller gets 404), everyone else is refused. The probed
	// invoice is issued by reseller to customer for customer's server (see invoiceRead).
	couponBody := func(*fixture, string) any {
		return map[string]any{"code": "M" + strings.ToUpper(testenv.Random(10)), "kind": "percent", "value": 1000}
	}
	patch := func(*fixture, string) any { return map[string]any{"active": true} }
	id := params("id", "reseller_coupon")
	for path, rc := range map[string]routeCase{
		"POST /api/v1/admin/coupons":                   {rule: adminOnly, body: couponBody},
		"GET /api/v1/admin/coupons":                    {rule: adminOnly},
		"GET /api/v1/admin/coupons/:id":                {rule: adminOnly, params: id},
		"PATCH /api/v1/admin/coupons/:id":              {rule: adminOnly, params: id, body: patch},
		"DELETE /api/v1/admin/coupons/:id":             {rule: adminOnly, params: id},
		"GET /api/v1/admin/coupons/:id/redemptions":    {rule: adminOnly, params: id},
		"POST /api/v1/reseller/coupons":                {rule: resellerOnly, body: couponBody},
		"GET /api/v1/reseller/coupons":                 {rule: resellerOnly},
		"GET /api/v1/reseller/coupons/:id":             {rule: resellerObject, params: id},
		"PATCH /api/v1/reseller/coupons/:id":           {rule: resellerObject, params: id, body: patch},
		"DELETE /api/v1/reseller/coupons/:id":          {rule: resellerObject, params: id},
		"GET /api/v1/reseller/coupons/:id/redemptions": {rule: resellerObject, params: id},
		"GET /api/v1/invoices":                         {rule: signedIn},
		"GET /api/v1/invoices/:id":                     {rule: invoiceRead, params: params("id", "reseller_invoice")},
		"GET /api/v1/invoices/:id/html":                {rule: invoiceRead, params: params("id", "reseller_invoice")},
		"GET /api/v1/invoices/:id/pdf":                 {rule: invoiceRead, params: params("id", "reseller_invoice")},
		"GET /api/v1/servers/:id/invoices":             {rule: serverPerm, params: params("id", "server")},
		"GET /api/v1/reseller/invoices":                {rule: resellerOnly},
		"GET /api/v1/admin/invoices":                   {rule: adminOnly},
	} {
		matrix[path] = rc
	}
	fixtureExtras = append(fixtureExtras, func(t *testing.T, m *matrixEnv, f *fixture) {
		t.Helper()
		now := store.Now()
		rid := m.p.u[reseller].ID
		c := store.Coupon{ID: uuid.NewString(), Code: "R" + strings.ToUpper(testenv.Random(12)), OwnerID: &rid, Kind: api.CouponPercent,
			Value: 500, OncePerCustomer: true, PlanIDs: "[]", Active: true, CreatedAt: now, UpdatedAt: now}
		if err := m.e.app.DB().Create(&c).Error; err != nil {
			t.Fatal(err)
		}
		f.objects["reseller_coupon"] = c.ID
		inv := issueTestInvoice(t, m.e, invoiceSpec{issuer: rid, user: m.p.u[customer], plan: f.objects["plan"],
			server: f.objects["server"], lines: 1})
		f.objects["reseller_invoice"] = inv.ID
	})
}

// invoiceRead is who may read an invoice issued by reseller to customer for customer's
// server: customer, billing sub-users of the server, reseller, admins.
var invoiceRead = rule{401, ok, 404, ok, 404, ok, 404, ok}

// couponActors is an admin, two resellers, and a customer of the first reseller.
type couponActors struct {
	e                    *env
	admin, r1, r2, cust1 *client
}

// promoteReseller turns c's user into a reseller with a profile.
func promoteReseller(t *testing.T, e *env, c *client) {
	t.Helper()
	db := e.app.DB()
	now := store.Now()
	if err := db.Model(&store.User{}).Where("id = ?", c.user.ID).Update("role", api.RoleReseller).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&store.ResellerProfile{UserID: c.user.ID, BrandName: "Brand " + c.user.Email, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	e.app.Auth().DropCachedUser(c.user.ID)
	c.user.Role = api.RoleReseller
}

// attachCustomer makes c a customer of reseller r.
func attachCustomer(t *testing.T, e *env, c, r *client) {
	t.Helper()
	if err := e.app.DB().Model(&store.User{}).Where("id = ?", c.user.ID).Update("reseller_id", r.user.ID).Error; err != nil {
		t.Fatal(err)
	}
	e.app.Auth().DropCachedUser(c.user.ID)
	c.user.ResellerID = r.user.ID
}

func newCouponActors(t *testing.T, db testenv.Database) couponActors {
	t.Helper()
	e := newEnv(t, db)
	a := couponActors{e: e, admin: e.login("cpn-admin@example.com", api.RoleAdmin),
		r1: e.login("cpn-r1@example.com", api.RoleCustomer), r2: e.login("cpn-r2@example.com", api.RoleCustomer),
		cust1: e.login("cpn-c1@example.com", api.RoleCustomer)}
	promoteReseller(t, e, a.r1)
	promoteReseller(t, e, a.r2)
	attachCustomer(t, e, a.cust1, a.r1)
	return a
}

func couponPlan(t *testing.T, admin *client, name string) api.Plan {
	t.Helper()
	var p api.Plan
	admin.must(201, "POST", "/api/v1/admin/plans", map[string]any{"name": name, "type": "container", "cpu": 1,
		"memory_mib": 128, "disk_mib": 256, "price_month": 1000, "currency": "USD"}, &p)
	return p
}

// TestCouponAdminLifecycle creates, lists, reads, changes and deactivates a provider coupon
// as admin; reads its redemptions; and checks that max_uses cannot drop below the uses.
func TestCouponAdminLifecycle(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		a := newCouponActors(t, db)
		plan := couponPlan(t, a.admin, "cpn-life-plan")
		expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		var c api.Coupon
		a.admin.must(201, "POST", "/api/v1/admin/coupons", map[string]any{"code": " spring-25 ", "kind": "percent",
			"value": 2500, "expires_at": expires, "max_uses": 10, "plan_ids": []string{plan.ID, plan.ID}}, &c)
		if c.Code != "SPRING-25" || c.Kind != api.CouponPercent || c.Value != 2500 || c.OwnerID != "" || !c.Active ||
			!c.OncePerCustomer || c.Uses != 0 || c.MaxUses == nil || *c.MaxUses != 10 || c.ExpiresAt == nil ||
			!c.ExpiresAt.Equal(expires) || len(c.PlanIDs) != 1 || c.PlanIDs[0] != plan.ID || c.Currency != "" {
			t.Fatalf("created coupon: %+v", c)
		}
		var fixed api.Coupon
		a.admin.must(201, "POST", "/api/v1/admin/coupons", map[string]any{"code": "FIVE_OFF", "kind": "fixed", "value": 500,
			"currency": "EUR", "once_per_customer": false, "active": false}, &fixed)
		if fixed.Currency != "EUR" || fixed.OncePerCustomer || fixed.Active || fixed.MaxUses != nil || len(fixed.PlanIDs) != 0 {
			t.Fatalf("created fixed coupon: %+v", fixed)
		}

		var got api.Coupon
		a.admin.must(200, "GET", "/api/v1/admin/coupons/"+c.ID, nil, &got)
		if got.Code != c.Code || got.Value != c.Value || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("read coupon %+v, created %+v", got, c)
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{fixed.ID, c.ID}},
			{"?active=true", []string{c.ID}},
			{"?active=false", []string{fixed.ID}},
			{"?code=spr", []string{c.ID}},
			{"?code=five_", []string{fixed.ID}},
			{"?owner_id=provider", []string{fixed.ID, c.ID}},
			{"?owner_id=" + a.r1.user.ID, nil},
			{"?per_page=1&page=2", []string{c.ID}},
		} {
			var l api.List[api.Coupon]
			a.admin.must(200, "GET", "/api/v1/admin/coupons"+tc.query, nil, &l)
			var ids []string
			for _, it := range l.Items {
				ids = append(ids, it.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Fatalf("list%s: %v, want %v", tc.query, ids, tc.want)
			}
		}

		// PATCH changes only what it carries; null clears expiry and the use limit.
		a.admin.must(200, "PATCH", "/api/v1/admin/coupons/"+c.ID, map[string]any{"expires_at": nil, "max_uses": nil,
			"once_per_customer": false, "value": 3000, "plan_ids": []string{}}, &got)
		if got.ExpiresAt != nil || got.MaxUses != nil || got.OncePerCustomer || got.Value != 3000 || len(got.PlanIDs) != 0 ||
			got.Code != "SPRING-25" || !got.Active || !got.UpdatedAt.After(c.UpdatedAt) {
			t.Fatalf("patched coupon: %+v", got)
		}
		// Switching kind to fixed needs a currency.
		if st, er := a.admin.errCode("PATCH", "/api/v1/admin/coupons/"+c.ID, map[string]any{"kind": "fixed"}); st != 422 || er.Error.Fields["currency"] == "" {
			t.Fatalf("kind fixed without currency: %d %+v", st, er)
		}
		a.admin.must(200, "PATCH", "/api/v1/admin/coupons/"+c.ID, map[string]any{"kind": "fixed", "currency": "USD", "value": 700}, &got)
		if got.Kind != api.CouponFixed || got.Currency != "USD" || got.Value != 700 {
			t.Fatalf("patched to fixed: %+v", got)
		}

		// Two redemptions by the reseller's customer.
		d := a.e.app.DB()
		for i := 0; i < 2; i++ {
			r := store.CouponRedemption{ID: uuid.NewString(), CouponID: c.ID, UserID: a.cust1.user.ID, OrderID: uuid.NewString(),
				Discount: int64(100 + i), CreatedAt: store.Now().Add(time.Duration(i) * time.Second)}
			if err := d.Create(&r).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Model(&store.Coupon{}).Where("id = ?", c.ID).Update("uses", 2).Error; err != nil {
			t.Fatal(err)
		}
		var rl api.List[api.CouponRedemption]
		a.admin.must(200, "GET", "/api/v1/admin/coupons/"+c.ID+"/redemptions?per_page=1", nil, &rl)
		if rl.Total != 2 || len(rl.Items) != 1 || rl.Items[0].Discount != 101 || rl.Items[0].UserEmail != "cpn-c1@example.com" ||
			rl.Items[0].UserID != a.cust1.user.ID {
			t.Fatalf("redemptions: %+v", rl)
		}
		a.admin.must(200, "GET", "/api/v1/admin/coupons/"+c.ID, nil, &got)
		if got.Uses != 2 {
			t.Fatalf("uses %d, want 2", got.Uses)
		}
		if st, er := a.admin.errCode("PATCH", "/api/v1/admin/coupons/"+c.ID, map[string]any{"max_uses": 1}); st != 409 || er.Error.Code != api.CodeConflict {
			t.Fatalf("max_uses below uses: %d %+v", st, er)
		}
		a.admin.must(200, "PATCH", "/api/v1/admin/coupons/"+c.ID, map[string]any{"max_uses": 2}, &got)
		if got.MaxUses == nil || *got.MaxUses != 2 || got.Uses != 2 {
			t.Fatalf("max_uses = uses: %+v", got)
		}

		// DELETE deactivates and keeps the coupon and its history; doing it again is harmless.
		for i := 0; i < 2; i++ {
			a.admin.must(200, "DELETE", "/api/v1/admin/coupons/"+c.ID, nil, &got)
			if got.Active || got.ID != c.ID {
				t.Fatalf("deactivated: %+v", got)
			}
		}
		a.admin.must(200, "GET", "/api/v1/admin/coupons/"+c.ID, nil, &got)
		if got.Active || got.Uses != 2 {
			t.Fatalf("after deactivation: %+v", got)
		}
		if n := a.e.count("coupon_redemptions"); n != 2 {
			t.Fatalf("%d redemptions after deactivation, want 2", n)
		}
		var audits int64
		if err := d.Table("audit_log").Where("object_id = ?", c.ID).Count(&audits).Error; err != nil {
			t.Fatal(err)
		}
		if audits < 5 {
			t.Fatalf("%d audit entries for the coupon, want one per change", audits)
		}
	})
}

// TestCouponResellerIsolation checks that a reseller manages only its own coupons (another
// reseller's are not found, whatever the route), that admins see them all, that codes are
// unique across owners, and that customers are refused the management routes.
func TestCouponResellerIsolation(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		a := newCouponActors(t, db)
		var mine api.Coupon
		a.r1.must(201, "POST", "/api/v1/reseller/coupons", map[string]any{"code": "r1-welcome", "kind": "fixed", "value": 250,
			"currency": "USD", "max_uses": 5}, &mine)
		if mine.OwnerID != a.r1.user.ID || mine.Code != "R1-WELCOME" {
			t.Fatalf("reseller coupon: %+v", mine)
		}
		var theirs api.Coupon
		a.r2.must(201, "POST", "/api/v1/reseller/coupons", map[string]any{"code": "R2-HELLO", "kind": "percent", "value": 50}, &theirs)
		var provider api.Coupon
		a.admin.must(201, "POST", "/api/v1/admin/coupons", map[string]any{"code": "PROVIDER1", "kind": "percent", "value": 1}, &provider)

		// The other reseller cannot see or touch r1's coupon, nor the provider's.
		for _, id := range []string{mine.ID, provider.ID} {
			for _, call := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v1/reseller/coupons/" + id, nil},
				{"PATCH", "/api/v1/reseller/coupons/" + id, map[string]any{"value": 1}},
				{"DELETE", "/api/v1/reseller/coupons/" + id, nil},
				{"GET", "/api/v1/reseller/coupons/" + id + "/redemptions", nil},
			} {
				if st, er := a.r2.errCode(call.method, call.path, call.body); st != 404 || er.Error.Code != api.CodeNotFound {
					t.Fatalf("r2 %s %s: %d %+v", call.method, call.path, st, er)
				}
			}
		}
		var got api.Coupon
		a.r1.must(200, "GET", "/api/v1/reseller/coupons/"+mine.ID, nil, &got)
		if got.Value != 250 || !got.Active {
			t.Fatalf("r2's attempts changed r1's coupon: %+v", got)
		}
		for _, tc := range []struct {
			c    *client
			path string
			want []string
		}{
			{a.r1, "/api/v1/reseller/coupons", []string{mine.ID}},
			{a.r2, "/api/v1/reseller/coupons", []string{theirs.ID}},
			{a.admin, "/api/v1/admin/coupons", []string{provider.ID, theirs.ID, mine.ID}},
			{a.admin, "/api/v1/admin/coupons?owner_id=" + a.r1.user.ID, []string{mine.ID}},
		} {
			var l api.List[api.Coupon]
			tc.c.must(200, "GET", tc.path, nil, &l)
			var ids []string
			for _, it := range l.Items {
				ids = append(ids, it.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) || l.Total != int64(len(tc.want)) {
				t.Fatalf("%s as %s: %v (total %d), want %v", tc.path, tc.c.user.Email, ids, l.Total, tc.want)
			}
		}
		if st, _ := a.r1.errCode("GET", "/api/v1/reseller/coupons?owner_id="+a.r2.user.ID, nil); st != 422 {
			t.Fatalf("reseller filtering by owner: %d, want 422", st)
		}
		// Admins manage resellers' coupons too.
		a.admin.must(200, "PATCH", "/api/v1/admin/coupons/"+mine.ID, map[string]any{"max_uses": 6}, &got)
		if got.OwnerID != a.r1.user.ID || *got.MaxUses != 6 {
			t.Fatalf("admin patch of a reseller coupon: %+v", got)
		}
		// Codes are unique across every owner.
		for _, c := range []*client{a.r2, a.r1} {
			if st, er := c.errCode("POST", "/api/v1/reseller/coupons", map[string]any{"code": "provider1", "kind": "percent", "value": 5}); st != 409 || er.Error.Code != api.CodeConflict {
				t.Fatalf("duplicate code as %s: %d %+v", c.user.Email, st, er)
			}
		}
		if st, _ := a.r2.errCode("PATCH", "/api/v1/reseller/coupons/"+theirs.ID, map[string]any{"code": "R1-welcome"}); st != 409 {
			t.Fatalf("renaming onto another owner's code: %d, want 409", st)
		}
		// Customers and the wrong role are refused.
		for _, call := range []struct {
			c            *client
			method, path string
		}{
			{a.cust1, "GET", "/api/v1/reseller/coupons"},
			{a.cust1, "POST", "/api/v1/reseller/coupons"},
			{a.cust1, "GET", "/api/v1/reseller/coupons/" + mine.ID},
			{a.cust1, "GET", "/api/v1/admin/coupons"},
			{a.cust1, "DELETE", "/api/v1/admin/coupons/" + mine.ID},
			{a.r1, "GET", "/api/v1/admin/coupons"},
			{a.r1, "PATCH", "/api/v1/admin/coupons/" + mine.ID},
			{a.admin, "GET", "/api/v1/reseller/coupons"},
		} {
			if st, er := call.c.errCode(call.method, call.path, map[string]any{"code": "NOPE1", "kind": "percent", "value": 5}); st != 403 || er.Error.Code != api.CodeForbidden {
				t.Fatalf("%s %s as %s: %d %+v", call.method, call.path, call.c.user.Email, st, er)
			}
		}
		if n := a.e.count("coupons"); n != 3 {
			t.Fatalf("%d coupons, want 3", n)
		}
	})
}

// TestCouponBadInput sends invalid coupons and changes: each is refused with the right
// status and field, and nothing is written.
func TestCouponBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		a := newCouponActors(t, db)
		plan := couponPlan(t, a.admin, "cpn-bad-plan")
		archived := couponPlan(t, a.admin, "cpn-bad-archived")
		a.admin.must(200, "DELETE", "/api/v1/admin/plans/"+archived.ID, nil, nil)
		past := time.Now().Add(-time.Minute).UTC()
		valid := func(kv ...any) map[string]any {
			m := map[string]any{"code": "GOOD-1", "kind": "percent", "value": 1000}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		for _, tc := range []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"code too short", valid("code", "AB"), 422, "code"},
			{"code too long", valid("code", strings.Repeat("A", 33)), 422, "code"},
			{"code with a bad character", valid("code", "SALE!"), 422, "code"},
			{"code with a space inside", valid("code", "SALE 10"), 422, "code"},
			{"code non-ascii", valid("code", "ÉTÉ2026"), 422, "code"},
			{"empty code", valid("code", ""), 422, "code"},
			{"unknown kind", valid("kind", "free"), 422, "kind"},
			{"percent zero", valid("value", 0), 422, "value"},
			{"percent negative", valid("value", -5), 422, "value"},
			{"percent over 100 %", valid("value", 10001), 422, "value"},
			{"percent with currency", valid("currency", "USD"), 422, "currency"},
			{"fixed without currency", valid("kind", "fixed"), 422, "currency"},
			{"fixed lower-case currency", valid("kind", "fixed", "currency", "usd"), 422, "currency"},
			{"fixed unknown currency", valid("kind", "fixed", "currency", "XYZ"), 422, "currency"},
			{"fixed zero", valid("kind", "fixed", "currency", "USD", "value", 0), 422, "value"},
			{"fixed over the maximum", valid("kind", "fixed", "currency", "USD", "value", billing.MaxAmount+1), 422, "value"},
			{"expiry in the past", valid("expires_at", past), 422, "expires_at"},
			{"max_uses zero", valid("max_uses", 0), 422, "max_uses"},
			{"max_uses negative", valid("max_uses", -1), 422, "max_uses"},
			{"unknown plan", valid("plan_ids", []string{uuid.NewString()}), 422, "plan_ids"},
			{"plan id not a uuid", valid("plan_ids", []string{"basic"}), 422, "plan_ids"},
			{"archived plan", valid("plan_ids", []string{plan.ID, archived.ID}), 422, "plan_ids"},
			{"too many plans", valid("plan_ids", make([]string, 1001)), 422, "plan_ids"},
			{"unknown field", valid("owner_id", a.r1.user.ID), 400, "owner_id"},
			{"value not a number", valid("value", "10"), 400, "value"},
			{"expiry not a time", valid("expires_at", "tomorrow"), 400, ""},
			{"malformed JSON", `{"code":`, 400, ""},
			{"not an object", `[1]`, 400, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"/api/v1/admin/coupons", "/api/v1/reseller/coupons"} {
					c := a.admin
					if strings.Contains(path, "reseller") {
						c = a.r1
					}
					st, er := c.errCode("POST", path, tc.body)
					if st != tc.status {
						t.Fatalf("%s: status %d, want %d: %+v", path, st, tc.status, er)
					}
					if tc.field != "" && er.Error.Fields[tc.field] == "" {
						t.Fatalf("%s: no message for field %q: %+v", path, tc.field, er)
					}
				}
			})
		}
		if n := a.e.count("coupons"); n != 0 {
			t.Fatalf("bad input wrote %d coupons", n)
		}

		var c api.Coupon
		a.admin.must(201, "POST", "/api/v1/admin/coupons", valid("code", "good-1", "max_uses", 3), &c)
		var other api.Coupon
		a.admin.must(201, "POST", "/api/v1/admin/coupons", valid("code", "OTHER-1"), &other)
		if st, er := a.admin.errCode("POST", "/api/v1/admin/coupons", valid("code", "Good-1")); st != 409 || er.Error.Code != api.CodeConflict {
			t.Fatalf("duplicate code: %d %+v", st, er)
		}
		for _, tc := range []struct {
			name   string
			id     string
			body   any
			status int
			field  string
		}{
			{"rename onto another code", c.ID, map[string]any{"code": "other-1"}, 409, ""},
			{"bad code", c.ID, map[string]any{"code": "x"}, 422, "code"},
			{"expiry in the past", c.ID, map[string]any{"expires_at": past}, 422, "expires_at"},
			{"percent over 100 %", c.ID, map[string]any{"value": 10001}, 422, "value"},
			{"currency on a percent coupon", c.ID, map[string]any{"currency": "USD"}, 422, "currency"},
			{"kind unknown", c.ID, map[string]any{"kind": "bogo"}, 422, "kind"},
			{"max_uses zero", c.ID, map[string]any{"max_uses": 0}, 422, "max_uses"},
			{"unknown plan", c.ID, map[string]any{"plan_ids": []string{uuid.NewString()}}, 422, "plan_ids"},
			{"uses is not writable", c.ID, map[string]any{"uses": 0}, 400, "uses"},
			{"owner is not writable", c.ID, map[string]any{"owner_id": a.r1.user.ID}, 400, "owner_id"},
			{"empty body", c.ID, "", 400, ""},
			{"unknown coupon", uuid.NewString(), map[string]any{"value": 5}, 404, ""},
			{"not an id", "nope", map[string]any{"value": 5}, 404, ""},
		} {
			t.Run("patch "+tc.name, func(t *testing.T) {
				st, er := a.admin.errCode("PATCH", "/api/v1/admin/coupons/"+tc.id, tc.body)
				if st != tc.status {
					t.Fatalf("status %d, want %d: %+v", st, tc.status, er)
				}
				if tc.field != "" && er.Error.Fields[tc.field] == "" {
					t.Fatalf("no message for field %q: %+v", tc.field, er)
				}
			})
		}
		var after api.Coupon
		a.admin.must(200, "GET", "/api/v1/admin/coupons/"+c.ID, nil, &after)
		if after.Code != "GOOD-1" || after.Value != 1000 || after.Kind != api.CouponPercent || after.Currency != "" ||
			after.MaxUses == nil || *after.MaxUses != 3 || after.ExpiresAt != nil || !after.UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("refused changes altered the coupon: %+v", after)
		}
		for _, q := range []string{"?active=maybe", "?owner_id=someone", "?per_page=0", "?code=" + strings.Repeat("A", 40)} {
			if st, _ := a.admin.errCode("GET", "/api/v1/admin/coupons"+q, nil); st != 422 {
				t.Fatalf("list%s: %d, want 422", q, st)
			}
		}
		if n := a.e.count("coupons"); n != 2 {
			t.Fatalf("%d coupons, want 2", n)
		}
	})
}
