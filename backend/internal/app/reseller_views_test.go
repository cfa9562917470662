package app_test

import (
	"net/http"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// TestResellerCustomerViews: the reseller panel's customer page reads one customer's servers
// (GET /servers?owner_id=) and wallets (GET /reseller/customers/:id/wallets). owner_id only
// narrows what the caller sees: another reseller's customer gives an empty list, never their
// servers; a malformed id is refused; wallets of another reseller's customer are not found.
func TestResellerCustomerViews(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("rcv-admin@example.com", api.RoleAdmin)
		e.addNode(admin, "rcv-node", defaultHeartbeat())
		_, r1 := rsReseller(e, admin, "rcv-r1@example.com", nil)
		_, r2 := rsReseller(e, admin, "rcv-r2@example.com", nil)
		ann := rsCustomer(e, r1, "rcv-ann@example.com")
		ben := rsCustomer(e, r1, "rcv-ben@example.com")
		cat := rsCustomer(e, r2, "rcv-cat@example.com")
		for c, names := range map[*client][]string{ann: {"ann-1", "ann-2"}, ben: {"ben-1"}, cat: {"cat-1"}} {
			for _, n := range names {
				c.must(http.StatusAccepted, http.MethodPost, "/api/v1/servers", validServer(n), nil)
			}
		}
		names := func(c *client, query string) []string {
			t.Helper()
			var l api.List[api.Server]
			c.must(http.StatusOK, http.MethodGet, "/api/v1/servers?"+query, nil, &l)
			out := []string{}
			for _, s := range l.Items {
				out = append(out, s.Name)
			}
			if int(l.Total) != len(out) {
				t.Fatalf("%s: total %d for %d items", query, l.Total, len(out))
			}
			return out
		}
		for _, tc := range []struct {
			who   *client
			query string
			want  []string
		}{
			{r1, "owner_id=" + ann.user.ID, []string{"ann-2", "ann-1"}},
			{r1, "owner_id=" + ben.user.ID, []string{"ben-1"}},
			{r1, "owner_id=" + cat.user.ID, []string{}},
			{r2, "owner_id=" + ann.user.ID, []string{}},
			{ben, "owner_id=" + ann.user.ID, []string{}},
			{admin, "owner_id=" + cat.user.ID, []string{"cat-1"}},
			{r1, "owner_id=" + ann.user.ID + "&q=2", []string{"ann-2"}},
		} {
			got := names(tc.who, tc.query)
			if len(got) != len(tc.want) {
				t.Fatalf("%s as %s: got %v, want %v", tc.query, tc.who.user.Email, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("%s as %s: got %v, want %v", tc.query, tc.who.user.Email, got, tc.want)
				}
			}
		}
		if st, ae := r1.errCode(http.MethodGet, "/api/v1/servers?owner_id=nope", nil); st != http.StatusUnprocessableEntity || ae.Error.Fields["owner_id"] == "" {
			t.Fatalf("bad owner_id: %d %+v", st, ae)
		}

		rsPost(t, e, ann.user.ID, api.EntryTopup, 1250, "USD", "rcv-ann-topup")
		var w api.List[api.Wallet]
		r1.must(http.StatusOK, http.MethodGet, "/api/v1/reseller/customers/"+ann.user.ID+"/wallets", nil, &w)
		if len(w.Items) != 1 || w.Items[0].Currency != "USD" || w.Items[0].Balance != 1250 {
			t.Fatalf("ann's wallets as r1: %+v", w.Items)
		}
		r1.must(http.StatusOK, http.MethodGet, "/api/v1/reseller/customers/"+ben.user.ID+"/wallets", nil, &w)
		if len(w.Items) != 0 {
			t.Fatalf("ben has no wallet yet: %+v", w.Items)
		}
		for _, probe := range []struct {
			who *client
			id  string
		}{{r2, ann.user.ID}, {r1, cat.user.ID}, {r1, "00000000-0000-0000-0000-000000000000"}} {
			if st, _ := probe.who.errCode(http.MethodGet, "/api/v1/reseller/customers/"+probe.id+"/wallets", nil); st != http.StatusNotFound {
				t.Fatalf("wallets of %s as %s: %d", probe.id, probe.who.user.Email, st)
			}
		}
	})
}

// TestSubscriptionsByServer: GET /subscriptions?server_id= finds the subscription of one
// server (the server page's Plan tab); it narrows what the caller sees and never widens it,
// and a malformed id is refused.
func TestSubscriptionsByServer(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		p := o.plan(api.CreatePlanRequest{Name: "sbs-plan", PriceMonth: 300})
		ann := o.login("sbs-ann@example.com", api.RoleCustomer)
		bob := o.login("sbs-bob@example.com", api.RoleCustomer)
		o.credit(ann.user.ID, "USD", 1000)
		o.credit(bob.user.ID, "USD", 1000)
		a1 := o.mustOrder(ann, ordReq(p.ID, "sbs-a1"))
		a2 := o.mustOrder(ann, ordReq(p.ID, "sbs-a2"))
		b1 := o.mustOrder(bob, ordReq(p.ID, "sbs-b1"))
		subs := func(c *client, path string) []string {
			t.Helper()
			var l api.List[api.Subscription]
			c.must(http.StatusOK, http.MethodGet, path, nil, &l)
			out := []string{}
			for _, s := range l.Items {
				out = append(out, s.ID)
			}
			return out
		}
		for _, tc := range []struct {
			who  *client
			path string
			want []string
		}{
			{ann, "/api/v1/subscriptions?server_id=" + a2.Server.ID, []string{a2.Subscription.ID}},
			{ann, "/api/v1/subscriptions?server_id=" + a1.Server.ID, []string{a1.Subscription.ID}},
			{ann, "/api/v1/subscriptions?server_id=" + b1.Server.ID, []string{}},
			{bob, "/api/v1/subscriptions?server_id=" + a1.Server.ID, []string{}},
			{o.admin, "/api/v1/admin/subscriptions?server_id=" + b1.Server.ID, []string{b1.Subscription.ID}},
		} {
			got := subs(tc.who, tc.path)
			if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
				t.Fatalf("%s as %s: got %v, want %v", tc.path, tc.who.user.Email, got, tc.want)
			}
		}
		if st, ae := ann.errCode(http.MethodGet, "/api/v1/subscriptions?server_id=x", nil); st != http.StatusUnprocessableEntity || ae.Error.Fields["server_id"] == "" {
			t.Fatalf("bad server_id: %d %+v", st, ae)
		}
	})
}
