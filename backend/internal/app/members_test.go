package app_test

import (
	"slices"
	"testing"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// mbPerms returns the caller's permissions on a server from GET /api/v1/servers/{id}.
func mbPerms(t *testing.T, c *client, id string) []string {
	t.Helper()
	var s api.Server
	c.must(200, "GET", "/api/v1/servers/"+id, nil, &s)
	return s.Permissions
}

// mbSees reports whether id is in the caller's server list.
func mbSees(t *testing.T, c *client, id string) bool {
	t.Helper()
	var l api.List[api.Server]
	c.must(200, "GET", "/api/v1/servers?per_page=100", nil, &l)
	for _, s := range l.Items {
		if s.ID == id {
			return true
		}
	}
	return false
}

func TestServerMembers(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsSteadyNodes)
		admin := e.login("admin@example.com", api.RoleAdmin)
		n := e.addNode(admin, "node-a", defaultHeartbeat())
		_, res := rsReseller(e, admin, "res@example.com", nil)
		owner := rsCustomer(e, res, "owner@example.com")
		power := e.login("power@example.com", api.RoleCustomer)
		viewer := e.login("viewer@example.com", api.RoleCustomer)
		stranger := e.login("stranger@example.com", api.RoleCustomer)
		_, otherRes := rsReseller(e, admin, "other-res@example.com", nil)

		var acc api.ServerAccepted
		owner.must(202, "POST", "/api/v1/servers", validServer("shared"), &acc)
		id := acc.Server.ID
		n.result(acc.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		members := "/api/v1/servers/" + id + "/members"

		// The owner adds two sub-users: one with power, one with nothing (read-only).
		var m api.ServerMember
		owner.must(201, "POST", members, map[string]any{"email": "POWER@example.com", "permissions": []string{"power", "power"}}, &m)
		if m.UserID != power.user.ID || m.Email != "power@example.com" || !slices.Equal(m.Permissions, []string{"power"}) ||
			m.CreatedBy != owner.user.ID || m.CreatedAt.IsZero() {
			t.Fatalf("added %+v", m)
		}
		owner.must(201, "POST", members, map[string]any{"email": "viewer@example.com", "permissions": []string{}}, &m)
		if len(m.Permissions) != 0 || m.Permissions == nil {
			t.Fatalf("read-only member %+v", m)
		}
		var ml api.List[api.ServerMember]
		owner.must(200, "GET", members, nil, &ml)
		if ml.Total != 2 || len(ml.Items) != 2 || ml.Items[0].Email != "power@example.com" || ml.Items[1].Email != "viewer@example.com" {
			t.Fatalf("members %+v", ml)
		}

		// Permissions answered by GET /servers/{id}.
		all := append(api.Permissions(), "manage")
		for _, c := range []struct {
			name string
			cl   *client
			want []string
		}{
			{"owner", owner, all}, {"reseller", res, all}, {"admin", admin, all},
			{"power sub-user", power, []string{"power"}}, {"read-only sub-user", viewer, nil},
		} {
			if got := mbPerms(t, c.cl, id); !slices.Equal(got, c.want) {
				t.Fatalf("%s's permissions %v, want %v", c.name, got, c.want)
			}
			if !mbSees(t, c.cl, id) {
				t.Fatalf("%s does not see the server in its list", c.name)
			}
		}

		// The permission matrix on the server's routes.
		type call struct{ method, path string }
		stop, start, restart := call{"POST", "/api/v1/servers/" + id + "/stop"}, call{"POST", "/api/v1/servers/" + id + "/start"},
			call{"POST", "/api/v1/servers/" + id + "/restart"}
		del, ops := call{"DELETE", "/api/v1/servers/" + id}, call{"GET", "/api/v1/servers/" + id + "/operations"}
		listM, addM := call{"GET", members}, call{"POST", members}
		patchM, delM := call{"PATCH", members + "/" + power.user.ID}, call{"DELETE", members + "/" + power.user.ID}
		bodies := map[call]any{addM: map[string]any{"email": "stranger@example.com", "permissions": []string{}},
			patchM: map[string]any{"permissions": []string{"console"}}}
		for _, tc := range []struct {
			name   string
			cl     *client
			denied []call
			status int
		}{
			{"read-only sub-user", viewer, []call{stop, start, restart, del, listM, addM, patchM, delM}, 403},
			{"power sub-user", power, []call{del, listM, addM, patchM, delM}, 403},
			{"stranger", stranger, []call{stop, start, restart, del, ops, listM, addM, patchM, delM, {"GET", "/api/v1/servers/" + id}}, 404},
			{"other reseller", otherRes, []call{stop, del, listM, addM, {"GET", "/api/v1/servers/" + id}}, 404},
		} {
			for _, c := range tc.denied {
				if st, body := tc.cl.errCode(c.method, c.path, bodies[c]); st != tc.status {
					t.Fatalf("%s: %s %s: %d %+v, want %d", tc.name, c.method, c.path, st, body, tc.status)
				}
			}
		}
		if n := e.count("server_members"); n != 2 {
			t.Fatalf("denied calls changed sub-users: %d", n)
		}
		if mbSees(t, stranger, id) {
			t.Fatal("a stranger lists the server")
		}
		// Both sub-users read the operations; the power one stops and starts the server.
		viewer.must(200, "GET", ops.path, nil, nil)
		var op api.Operation
		power.must(202, stop.method, stop.path, nil, &op)
		n.result(op.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateStopped})
		power.must(200, "GET", "/api/v1/operations/"+op.ID, nil, nil)
		power.must(202, start.method, start.path, nil, &op)
		n.result(op.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})

		// The owner grants power to the read-only sub-user, who may then restart.
		owner.must(200, "PATCH", members+"/"+viewer.user.ID, map[string]any{"permissions": []string{"console", "power"}}, &m)
		if !slices.Equal(m.Permissions, []string{"power", "console"}) || m.Email != "viewer@example.com" {
			t.Fatalf("patched %+v", m)
		}
		viewer.must(202, restart.method, restart.path, nil, &op)
		n.result(op.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		// …and takes it back: 403 again.
		owner.must(200, "PATCH", members+"/"+viewer.user.ID, `{"permissions":[]}`, nil)
		if st, _ := viewer.errCode(stop.method, stop.path, nil); st != 403 {
			t.Fatalf("stop after the permission was taken: %d", st)
		}

		// The owner's reseller and an admin manage sub-users too.
		res.must(201, "POST", members, map[string]any{"email": "stranger@example.com", "permissions": []string{"billing"}}, nil)
		if got := mbPerms(t, stranger, id); !slices.Equal(got, []string{"billing"}) {
			t.Fatalf("stranger turned sub-user: %v", got)
		}
		admin.must(204, "DELETE", members+"/"+stranger.user.ID, nil, nil)
		if st, _ := stranger.errCode("GET", "/api/v1/servers/"+id, nil); st != 404 {
			t.Fatalf("removed sub-user still reads the server: %d", st)
		}
		admin.must(200, "GET", members, nil, &ml)
		if ml.Total != 2 {
			t.Fatalf("members after the admin's removal %+v", ml)
		}

		// The owner removes the power sub-user: it loses the server at once.
		owner.must(204, "DELETE", members+"/"+power.user.ID, nil, nil)
		if st, _ := power.errCode("GET", "/api/v1/servers/"+id, nil); st != 404 {
			t.Fatalf("removed sub-user reads the server: %d", st)
		}
		if mbSees(t, power, id) {
			t.Fatal("removed sub-user lists the server")
		}
		// Deleting the server is the owner's (and reseller's, admin's).
		owner.must(202, "DELETE", "/api/v1/servers/"+id, nil, &op)
	})
}

func TestServerMembersBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db, rsSteadyNodes)
		admin := e.login("admin@example.com", api.RoleAdmin)
		e.addNode(admin, "node-a", defaultHeartbeat())
		owner := e.login("owner@example.com", api.RoleCustomer)
		mate := e.login("mate@example.com", api.RoleCustomer)
		var acc api.ServerAccepted
		owner.must(202, "POST", "/api/v1/servers", validServer("solo"), &acc)
		members := "/api/v1/servers/" + acc.Server.ID + "/members"
		owner.must(201, "POST", members, map[string]any{"email": "mate@example.com", "permissions": []string{"power"}}, nil)

		for _, tc := range []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"unknown permission", map[string]any{"email": "admin@example.com", "permissions": []string{"power", "root"}}, 422, "permissions"},
			{"manage is not grantable", map[string]any{"email": "admin@example.com", "permissions": []string{"manage"}}, 422, "permissions"},
			{"owner", map[string]any{"email": "owner@example.com", "permissions": []string{"power"}}, 422, "email"},
			{"no email", map[string]any{"permissions": []string{"power"}}, 422, "email"},
			{"unknown account", map[string]any{"email": "ghost@example.com", "permissions": []string{}}, 404, ""},
			{"already a member", map[string]any{"email": "mate@example.com", "permissions": []string{}}, 409, ""},
			{"permissions not a list", `{"email":"admin@example.com","permissions":"power"}`, 400, ""},
			{"unknown field", `{"email":"admin@example.com","permissions":[],"role":"owner"}`, 400, ""},
			{"empty body", ``, 400, ""},
		} {
			st, body := owner.errCode("POST", members, tc.body)
			if st != tc.status || (tc.field != "" && body.Error.Fields[tc.field] == "") {
				t.Errorf("add %s: %d %+v, want %d on %q", tc.name, st, body, tc.status, tc.field)
			}
		}
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
		}{
			{"missing permissions", members + "/" + mate.user.ID, `{}`, 422},
			{"null permissions", members + "/" + mate.user.ID, `{"permissions":null}`, 422},
			{"unknown permission", members + "/" + mate.user.ID, `{"permissions":["sudo"]}`, 422},
			{"not a member", members + "/" + admin.user.ID, `{"permissions":[]}`, 404},
			{"malformed user id", members + "/nope", `{"permissions":[]}`, 404},
			{"unknown server", "/api/v1/servers/5d0c6c1a-3f3e-4a53-9d8e-000000000000/members/" + mate.user.ID, `{"permissions":[]}`, 404},
		} {
			if st, body := owner.errCode("PATCH", tc.path, tc.body); st != tc.status {
				t.Errorf("patch %s: %d %+v, want %d", tc.name, st, body, tc.status)
			}
		}
		for _, path := range []string{members + "/" + admin.user.ID, members + "/nope", "/api/v1/servers/nope/members/" + mate.user.ID} {
			if st, _ := owner.errCode("DELETE", path, nil); st != 404 {
				t.Errorf("delete %s: %d", path, st)
			}
		}
		for _, q := range []string{"?page=0", "?per_page=101"} {
			if st, _ := owner.errCode("GET", members+q, nil); st != 422 {
				t.Errorf("list%s: %d", q, st)
			}
		}
		var ml api.List[api.ServerMember]
		owner.must(200, "GET", members, nil, &ml)
		if ml.Total != 1 || !slices.Equal(ml.Items[0].Permissions, []string{"power"}) || e.count("server_members") != 1 {
			t.Fatalf("refused calls changed sub-users: %+v", ml)
		}
		// A sub-user's token without servers:write may read but not change anything.
		var tok api.Token
		owner.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "ro", Scopes: []string{api.ScopeServersRead}}, &tok)
		ro := &client{e: e, bearer: tok.Secret}
		ro.must(200, "GET", members, nil, nil)
		if st, _ := ro.errCode("DELETE", members+"/"+mate.user.ID, nil); st != 403 {
			t.Fatalf("read-only token removes a sub-user: %d", st)
		}
	})
}
