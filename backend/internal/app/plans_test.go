package app_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// planBody is a valid create request with the given name, as JSON, with extra fields merged.
func planBody(name, extra string) string {
	b := fmt.Sprintf(`{"name":%q,"type":"container","cpu":2,"memory_mib":2048,"disk_mib":20480,"traffic_gib":1000,`+
		`"price_month":500,"price_hour":1,"setup_fee":0,"currency":"USD"`, name)
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

func planNames(ps []api.Plan) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.Name
	}
	return ids
}

func TestPlansCRUD(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		n1 := e.addNode(admin, "node-a", defaultHeartbeat())
		n2 := e.addNode(admin, "node-b", defaultHeartbeat())

		var p api.Plan
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Basic", fmt.Sprintf(`"stock":5,"node_ids":[%q,%q,%q]`, n2.id, n1.id, n2.id)), &p)
		if p.ID == "" || p.Name != "Basic" || p.Type != api.TypeContainer || p.CPU != 2 || p.MemoryMiB != 2048 ||
			p.DiskMiB != 20480 || p.TrafficGiB != 1000 || p.PriceMonth != 500 || p.PriceHour != 1 || p.SetupFee != 0 ||
			p.Currency != "USD" || p.Exponent != 2 || p.Stock == nil || *p.Stock != 5 || !p.Active || p.ArchivedAt != nil ||
			len(p.NodeIDs) != 2 || p.CreatedAt.IsZero() {
			t.Fatalf("created %+v", p)
		}
		var got api.Plan
		admin.must(200, "GET", "/api/v1/admin/plans/"+p.ID, nil, &got)
		if got.Name != p.Name || got.Stock == nil || *got.Stock != 5 || len(got.NodeIDs) != 2 || !got.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("read back %+v", got)
		}

		// PATCH changes only the fields it carries; null stock is unlimited; [] allows any node.
		var up api.Plan
		admin.must(200, "PATCH", "/api/v1/admin/plans/"+p.ID, `{"price_month":700,"stock":null,"node_ids":[]}`, &up)
		if up.PriceMonth != 700 || up.PriceHour != 1 || up.Stock != nil || len(up.NodeIDs) != 0 || up.Name != "Basic" ||
			up.CPU != 2 || !up.UpdatedAt.After(p.UpdatedAt) {
			t.Fatalf("patched %+v", up)
		}
		admin.must(200, "PATCH", "/api/v1/admin/plans/"+p.ID, fmt.Sprintf(`{"active":false,"stock":0,"name":"Basic 2","node_ids":[%q]}`, n1.id), &up)
		if up.Active || up.Stock == nil || *up.Stock != 0 || up.Name != "Basic 2" || len(up.NodeIDs) != 1 || up.NodeIDs[0] != n1.id ||
			up.PriceMonth != 700 {
			t.Fatalf("patched %+v", up)
		}
		admin.must(200, "GET", "/api/v1/admin/plans/"+p.ID, nil, &got)
		if got.Active || got.Name != "Basic 2" || len(got.NodeIDs) != 1 || *got.Stock != 0 {
			t.Fatalf("read back %+v", got)
		}
		// Inactive with "active": false at creation; a VM plan in JPY without nodes.
		var vm api.Plan
		admin.must(201, "POST", "/api/v1/admin/plans", `{"name":"VM","type":"vm","cpu":1,"memory_mib":512,"disk_mib":1024,"currency":"JPY","price_hour":3,"active":false}`, &vm)
		if vm.Active || vm.Exponent != 0 || vm.Stock != nil || vm.TrafficGiB != 0 || vm.PriceMonth != 0 {
			t.Fatalf("vm plan %+v", vm)
		}
		if n := e.count("plans"); n != 2 {
			t.Fatalf("%d plans", n)
		}
		if n := e.count("plan_nodes"); n != 1 {
			t.Fatalf("%d plan nodes", n)
		}

		// Archive: idempotent, kept for admins, frozen.
		var ar api.Plan
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+p.ID, nil, &ar)
		if ar.ArchivedAt == nil {
			t.Fatalf("archived %+v", ar)
		}
		var ar2 api.Plan
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+p.ID, nil, &ar2)
		if ar2.ArchivedAt == nil || !ar2.ArchivedAt.Equal(*ar.ArchivedAt) {
			t.Fatalf("archived twice %+v", ar2)
		}
		if st, ae := admin.errCode("PATCH", "/api/v1/admin/plans/"+p.ID, `{"price_month":1}`); st != 409 || ae.Error.Code != api.CodeConflict {
			t.Fatalf("patch archived: %d %+v", st, ae)
		}
		for _, path := range []string{"/api/v1/admin/plans/" + p.ID, "/api/v1/admin/plans/not-a-uuid", "/api/v1/admin/plans/00000000-0000-4000-8000-000000000000"} {
			want := 404
			if strings.HasSuffix(path, p.ID) {
				want = 200
			}
			if st, _ := admin.errCode("GET", path, nil); st != want {
				t.Fatalf("GET %s: %d, want %d", path, st, want)
			}
		}
		if st, _ := admin.errCode("DELETE", "/api/v1/admin/plans/00000000-0000-4000-8000-000000000000", nil); st != 404 {
			t.Fatalf("archive unknown: %d", st)
		}
		if st, _ := admin.errCode("PATCH", "/api/v1/admin/plans/00000000-0000-4000-8000-000000000000", `{}`); st != 404 {
			t.Fatalf("patch unknown: %d", st)
		}
		var l api.List[api.Plan]
		admin.must(200, "GET", "/api/v1/admin/plans", nil, &l)
		if l.Total != 2 || len(l.Items) != 2 {
			t.Fatalf("admin list %+v", l)
		}
		admin.must(200, "GET", "/api/v1/admin/plans?archived=false", nil, &l)
		if l.Total != 1 || l.Items[0].ID != vm.ID {
			t.Fatalf("live plans %+v", l)
		}
		admin.must(200, "GET", "/api/v1/admin/plans?archived=true", nil, &l)
		if l.Total != 1 || l.Items[0].ID != p.ID || l.Items[0].ArchivedAt == nil || len(l.Items[0].NodeIDs) != 1 {
			t.Fatalf("archived plans %+v", l)
		}
		// A node listed by a live plan cannot be deleted: the plan would become placeable anywhere.
		var live api.Plan
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Pinned", `"node_ids":["`+n1.id+`"]`), &live)
		if st, e := admin.errCode("DELETE", "/api/v1/admin/nodes/"+n1.id, nil); st != 409 || e.Error.Code != api.CodeConflict {
			t.Fatalf("delete node of a live plan: %d %+v", st, e)
		}
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+live.ID, nil, nil)
		// Archived plans are history: deleting the node removes it from them.
		admin.must(204, "DELETE", "/api/v1/admin/nodes/"+n1.id, nil, nil)
		if n := e.count("plan_nodes"); n != 0 {
			t.Fatalf("%d plan nodes after deleting the node", n)
		}
	})
}

func TestPlansValidation(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		node := e.addNode(admin, "node-a", defaultHeartbeat())
		var live api.Plan
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Live", ""), &live)
		plan := "/api/v1/admin/plans/" + live.ID
		cases := []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"empty name", "POST", "/api/v1/admin/plans", planBody("", ""), 422, api.CodeValidation, "name"},
			{"blank name", "POST", "/api/v1/admin/plans", planBody("   ", ""), 422, api.CodeValidation, "name"},
			{"long name", "POST", "/api/v1/admin/plans", planBody(strings.Repeat("n", 65), ""), 422, api.CodeValidation, "name"},
			{"control in name", "POST", "/api/v1/admin/plans", planBody("a\tb", ""), 422, api.CodeValidation, "name"},
			{"bad type", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"container"`, `"lxc"`, 1), 422, api.CodeValidation, "type"},
			{"zero cpu", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"cpu":2`, `"cpu":0`, 1), 422, api.CodeValidation, "cpu"},
			{"too many cpus", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"cpu":2`, `"cpu":257`, 1), 422, api.CodeValidation, "cpu"},
			{"little memory", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"memory_mib":2048`, `"memory_mib":31`, 1), 422, api.CodeValidation, "memory_mib"},
			{"huge memory", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"memory_mib":2048`, `"memory_mib":4194305`, 1), 422, api.CodeValidation, "memory_mib"},
			{"little disk", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"disk_mib":20480`, `"disk_mib":63`, 1), 422, api.CodeValidation, "disk_mib"},
			{"huge disk", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"disk_mib":20480`, `"disk_mib":67108865`, 1), 422, api.CodeValidation, "disk_mib"},
			{"negative traffic", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"traffic_gib":1000`, `"traffic_gib":-1`, 1), 422, api.CodeValidation, "traffic_gib"},
			{"negative price_month", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"price_month":500`, `"price_month":-1`, 1), 422, api.CodeValidation, "price_month"},
			{"huge price_month", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"price_month":500`, `"price_month":1000000000000001`, 1), 422, api.CodeValidation, "price_month"},
			{"negative price_hour", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"price_hour":1`, `"price_hour":-5`, 1), 422, api.CodeValidation, "price_hour"},
			{"huge setup_fee", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"setup_fee":0`, `"setup_fee":1000000000000001`, 1), 422, api.CodeValidation, "setup_fee"},
			{"unknown currency", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"USD"`, `"XXX"`, 1), 422, api.CodeValidation, "currency"},
			{"lower-case currency", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"USD"`, `"usd"`, 1), 422, api.CodeValidation, "currency"},
			{"negative stock", "POST", "/api/v1/admin/plans", planBody("x", `"stock":-1`), 422, api.CodeValidation, "stock"},
			{"unknown node", "POST", "/api/v1/admin/plans", planBody("x", `"node_ids":["00000000-0000-4000-8000-000000000000"]`), 422, api.CodeValidation, "node_ids"},
			{"known and unknown node", "POST", "/api/v1/admin/plans", planBody("x", fmt.Sprintf(`"node_ids":[%q,"nope"]`, node.id)), 422, api.CodeValidation, "node_ids"},
			{"duplicate live name", "POST", "/api/v1/admin/plans", planBody("Live", ""), 409, api.CodeConflict, ""},
			{"unknown field", "POST", "/api/v1/admin/plans", planBody("x", `"colour":"red"`), 400, api.CodeInvalidJSON, "colour"},
			{"string cpu", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"cpu":2`, `"cpu":"2"`, 1), 400, api.CodeInvalidJSON, "cpu"},
			{"fractional price", "POST", "/api/v1/admin/plans", strings.Replace(planBody("x", ""), `"price_month":500`, `"price_month":5.5`, 1), 400, api.CodeInvalidJSON, "price_month"},
			{"empty body", "POST", "/api/v1/admin/plans", "", 400, api.CodeInvalidJSON, ""},
			{"trailing data", "POST", "/api/v1/admin/plans", planBody("x", "") + "{}", 400, api.CodeInvalidJSON, ""},
			{"patch bad cpu", "PATCH", plan, `{"cpu":0}`, 422, api.CodeValidation, "cpu"},
			{"patch bad currency", "PATCH", plan, `{"currency":"EURO"}`, 422, api.CodeValidation, "currency"},
			{"patch null name", "PATCH", plan, `{"name":""}`, 422, api.CodeValidation, "name"},
			{"patch negative stock", "PATCH", plan, `{"stock":-2}`, 422, api.CodeValidation, "stock"},
			{"patch string stock", "PATCH", plan, `{"stock":"many"}`, 400, api.CodeInvalidJSON, "stock"},
			{"patch unknown node", "PATCH", plan, `{"node_ids":["00000000-0000-4000-8000-000000000000"]}`, 422, api.CodeValidation, "node_ids"},
			{"patch unknown field", "PATCH", plan, `{"id":"x"}`, 400, api.CodeInvalidJSON, "id"},
			{"list bad archived", "GET", "/api/v1/admin/plans?archived=yes", "", 422, api.CodeValidation, "archived"},
			{"list bad page", "GET", "/api/v1/admin/plans?page=0", "", 422, api.CodeValidation, "page"},
			{"list bad per_page", "GET", "/api/v1/plans?per_page=101", "", 422, api.CodeValidation, "per_page"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var body any
				if tc.body != "" {
					body = tc.body
				}
				if tc.name == "empty body" {
					body = raw{ct: "application/json", body: ""}
				}
				st, ae := admin.errCode(tc.method, tc.path, body)
				if st != tc.status || ae.Error.Code != tc.code {
					t.Fatalf("status %d code %q, want %d %q: %+v", st, ae.Error.Code, tc.status, tc.code, ae)
				}
				if tc.field != "" && ae.Error.Fields[tc.field] == "" {
					t.Fatalf("no problem reported for %q: %+v", tc.field, ae)
				}
			})
		}
		if n := e.count("plans"); n != 1 {
			t.Fatalf("%d plans after bad requests, want 1", n)
		}
		if n := e.count("plan_nodes"); n != 0 {
			t.Fatalf("%d plan nodes after bad requests", n)
		}
		var got api.Plan
		admin.must(200, "GET", plan, nil, &got)
		if got.CPU != live.CPU || got.Currency != live.Currency || got.Name != live.Name || !got.UpdatedAt.Equal(live.UpdatedAt) ||
			got.Stock != nil || len(got.NodeIDs) != 0 {
			t.Fatalf("plan changed by bad patches: %+v", got)
		}
	})
}

func TestPlansNameUnique(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		var a, b, c api.Plan
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Alpha", ""), &a)
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Beta", ""), &b)
		if st, ae := admin.errCode("POST", "/api/v1/admin/plans", planBody("Alpha", `"type":"vm"`)); st != 409 || ae.Error.Code != api.CodeConflict {
			t.Fatalf("duplicate create: %d %+v", st, ae)
		}
		if st, ae := admin.errCode("PATCH", "/api/v1/admin/plans/"+b.ID, `{"name":"Alpha"}`); st != 409 || ae.Error.Code != api.CodeConflict {
			t.Fatalf("rename onto a live name: %d %+v", st, ae)
		}
		// Renaming a plan to its own name is fine.
		admin.must(200, "PATCH", "/api/v1/admin/plans/"+a.ID, `{"name":"Alpha"}`, nil)
		// An archived plan frees its name; the archived one keeps it for history.
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+a.ID, nil, nil)
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Alpha", ""), &c)
		if c.ID == a.ID {
			t.Fatal("same id")
		}
		var l api.List[api.Plan]
		admin.must(200, "GET", "/api/v1/admin/plans", nil, &l)
		if got := planNames(l.Items); l.Total != 3 || strings.Join(got, ",") != "Alpha,Alpha,Beta" {
			t.Fatalf("plans %v", got)
		}
		if n := e.count("plans"); n != 3 {
			t.Fatalf("%d plans", n)
		}
		// Concurrent creations of one name: the database's unique index lets exactly one win.
		fast := admin.pooled(t)
		const n = 8
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, _, err := fast.post("POST", "/api/v1/admin/plans", "", planBody("Gamma", ""))
				if err != nil {
					st = 0
				}
				codes <- st
			}()
		}
		wg.Wait()
		close(codes)
		created := 0
		for st := range codes {
			switch st {
			case 201:
				created++
			case 409:
			default:
				t.Fatalf("concurrent create: status %d", st)
			}
		}
		if created != 1 || e.count("plans") != 4 {
			t.Fatalf("%d concurrent creations of one name succeeded", created)
		}
	})
}

func TestPlansCustomerView(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)
		node := e.addNode(admin, "node-a", defaultHeartbeat())
		mk := func(name, extra string) api.Plan {
			var p api.Plan
			admin.must(201, "POST", "/api/v1/admin/plans", planBody(name, extra), &p)
			return p
		}
		cheap := mk("Cheap", fmt.Sprintf(`"price_month":100,"stock":3,"node_ids":[%q]`, node.id))
		unlimited := mk("Unlimited", `"price_month":900`)
		inactive := mk("Inactive", `"active":false`)
		soldOut := mk("Sold out", `"stock":0`)
		archived := mk("Archived", "")
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+archived.ID, nil, nil)

		var l api.List[api.Plan]
		cust.must(200, "GET", "/api/v1/plans", nil, &l)
		if got := strings.Join(planNames(l.Items), ","); got != "Cheap,Unlimited" || l.Total != 2 {
			t.Fatalf("customer plans %s (total %d)", got, l.Total)
		}
		for _, p := range l.Items {
			if len(p.NodeIDs) != 0 || p.ArchivedAt != nil {
				t.Fatalf("customer sees %+v", p)
			}
		}
		cust.must(200, "GET", "/api/v1/plans?per_page=1&page=2", nil, &l)
		if l.Total != 2 || len(l.Items) != 1 || l.Items[0].ID != unlimited.ID {
			t.Fatalf("page 2 %+v", l)
		}
		var p api.Plan
		cust.must(200, "GET", "/api/v1/plans/"+cheap.ID, nil, &p)
		if p.Name != "Cheap" || p.Stock == nil || *p.Stock != 3 || len(p.NodeIDs) != 0 {
			t.Fatalf("customer plan %+v", p)
		}
		// A sold-out plan can still be shown (stock 0); inactive and archived plans cannot.
		cust.must(200, "GET", "/api/v1/plans/"+soldOut.ID, nil, &p)
		for _, id := range []string{inactive.ID, archived.ID, "nope"} {
			if st, ae := cust.errCode("GET", "/api/v1/plans/"+id, nil); st != 404 || ae.Error.Code != api.CodeNotFound {
				t.Fatalf("customer GET %s: %d %+v", id, st, ae)
			}
		}
		// Archiving hides a plan from customers at once; admins still list it.
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+cheap.ID, nil, nil)
		cust.must(200, "GET", "/api/v1/plans", nil, &l)
		if got := strings.Join(planNames(l.Items), ","); got != "Unlimited" {
			t.Fatalf("customer plans after archive %s", got)
		}
		if st, _ := cust.errCode("GET", "/api/v1/plans/"+cheap.ID, nil); st != 404 {
			t.Fatalf("archived plan visible: %d", st)
		}
		admin.must(200, "GET", "/api/v1/admin/plans?archived=true", nil, &l)
		if got := strings.Join(planNames(l.Items), ","); got != "Archived,Cheap" {
			t.Fatalf("admin archived plans %s", got)
		}
		// Activating and restocking make plans visible.
		admin.must(200, "PATCH", "/api/v1/admin/plans/"+inactive.ID, `{"active":true}`, nil)
		admin.must(200, "PATCH", "/api/v1/admin/plans/"+soldOut.ID, `{"stock":null}`, nil)
		cust.must(200, "GET", "/api/v1/plans", nil, &l)
		if got := strings.Join(planNames(l.Items), ","); got != "Inactive,Sold out,Unlimited" {
			t.Fatalf("customer plans after activation %s", got)
		}

		// Customers are refused the admin routes, anonymous callers every route.
		admin.must(201, "POST", "/api/v1/admin/plans", planBody("Kept", ""), nil)
		before := e.count("plans")
		routes := []struct{ method, path, body string }{
			{"POST", "/api/v1/admin/plans", planBody("Customer plan", "")},
			{"GET", "/api/v1/admin/plans", ""},
			{"GET", "/api/v1/admin/plans/" + unlimited.ID, ""},
			{"PATCH", "/api/v1/admin/plans/" + unlimited.ID, `{"price_month":1}`},
			{"DELETE", "/api/v1/admin/plans/" + unlimited.ID, ""},
		}
		for _, r := range routes {
			var body any
			if r.body != "" {
				body = r.body
			}
			if st, ae := cust.errCode(r.method, r.path, body); st != 403 || ae.Error.Code != api.CodeForbidden {
				t.Fatalf("customer %s %s: %d %+v", r.method, r.path, st, ae)
			}
			if st, ae := e.anon().errCode(r.method, r.path, body); st != 401 || ae.Error.Code != api.CodeUnauthorized {
				t.Fatalf("anonymous %s %s: %d %+v", r.method, r.path, st, ae)
			}
		}
		for _, path := range []string{"/api/v1/plans", "/api/v1/plans/" + unlimited.ID} {
			if st, _ := e.anon().errCode("GET", path, nil); st != 401 {
				t.Fatalf("anonymous GET %s: %d", path, st)
			}
		}
		var after api.Plan
		admin.must(200, "GET", "/api/v1/admin/plans/"+unlimited.ID, nil, &after)
		if n := e.count("plans"); n != before || after.PriceMonth != 900 || after.ArchivedAt != nil {
			t.Fatalf("refused requests wrote: %d plans (had %d), %+v", n, before, after)
		}
	})
}
