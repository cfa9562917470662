package app_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// TestAdminUserListFilters: GET /api/v1/admin/users finds accounts by a part of the e-mail
// address (the LIKE wildcards % and _ in the query match only themselves) and by role, and refuses bad filters.
func TestAdminUserListFilters(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		adm := e.login("ulf-admin@example.test", api.RoleAdmin)
		e.login("ulf-alice@example.test", api.RoleCustomer)
		e.login("ulf-bob@example.test", api.RoleCustomer)
		e.insertReseller("ulf-carol@example.test", "portal.ulf-carol.test", "Carol Cloud")

		emails := func(query string) []string {
			t.Helper()
			var list api.List[api.User]
			adm.must(http.StatusOK, http.MethodGet, "/api/v1/admin/users?"+query, nil, &list)
			out := make([]string, 0, len(list.Items))
			for _, u := range list.Items {
				out = append(out, u.Email)
			}
			if int(list.Total) != len(out) {
				t.Fatalf("%s: total %d, %d items", query, list.Total, len(out))
			}
			return out
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"q=ALICE", []string{"ulf-alice@example.test"}},
			{"q=ulf-b", []string{"ulf-bob@example.test"}},
			{"q=" + url.QueryEscape("ulf_"), []string{}},
			{"q=" + url.QueryEscape("ulf%"), []string{}},
			{"q=ulf&role=customer", []string{"ulf-bob@example.test", "ulf-alice@example.test"}},
			{"q=ulf&role=reseller", []string{"ulf-carol@example.test"}},
			{"role=admin&q=ulf-", []string{"ulf-admin@example.test"}},
		} {
			got := emails(tc.query)
			if len(got) != len(tc.want) {
				t.Fatalf("%s: got %v, want %v", tc.query, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("%s: got %v, want %v", tc.query, got, tc.want)
				}
			}
		}
		for _, bad := range []string{"role=root", "q=" + url.QueryEscape(string(make([]byte, 300)))} {
			st, ae := adm.errCode(http.MethodGet, "/api/v1/admin/users?"+bad, nil)
			if st != http.StatusUnprocessableEntity && st != http.StatusBadRequest {
				t.Fatalf("%s: status %d %+v", bad, st, ae)
			}
		}
	})
}
