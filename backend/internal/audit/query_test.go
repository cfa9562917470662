package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

func openDB(t *testing.T, d testenv.Database) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), d.Driver, d.DSN, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func addUser(t *testing.T, db *store.DB, role string, reseller *string) string {
	t.Helper()
	now := store.Now()
	u := store.User{ID: uuid.NewString(), Email: uuid.NewString() + "@audit.test", PasswordHash: "x", Role: role,
		ResellerID: reseller, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestAuditListVisibilityAndFilters(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, d testenv.Database) {
		ctx := context.Background()
		db := openDB(t, d)
		reseller := addUser(t, db, api.RoleReseller, nil)
		ann := addUser(t, db, api.RoleCustomer, &reseller)
		bob := addUser(t, db, api.RoleCustomer, nil)
		admin := addUser(t, db, api.RoleAdmin, nil)
		base := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
		rows := []audit.Entry{
			{ActorID: ann, Action: "POST /api/v1/servers", ObjectType: "server", ObjectID: "s-ann", OwnerID: ann},
			{ActorID: bob, Action: "POST /api/v1/servers", ObjectType: "server", ObjectID: "s-bob", OwnerID: bob},
			{ActorID: admin, Action: "POST /api/v1/admin/users/:id/wallet/entries", ObjectType: "wallet", ObjectID: "w-ann", OwnerID: ann},
			{ActorID: admin, Action: "POST /api/v1/admin/nodes", ObjectType: "node", ObjectID: "n1", OwnerID: admin},
			{ActorID: bob, Action: "DELETE /api/v1/tokens/:id", ObjectType: "api_token", ObjectID: "t-bob", OwnerID: bob},
			{ActorID: audit.SystemActor, Action: "subscription.suspend", ObjectType: "subscription", ObjectID: "sub-1", OwnerID: bob},
		}
		ids := make([]string, len(rows))
		for i, e := range rows {
			e.ID = uuid.NewString()
			e.CreatedAt = base.Add(time.Duration(i) * time.Minute)
			ids[i] = e.ID
			if err := audit.Record(ctx, db.DB, e, map[string]any{"n": i}); err != nil {
				t.Fatal(err)
			}
		}
		at := func(i int) *time.Time { v := base.Add(time.Duration(i) * time.Minute); return &v }
		cases := []struct {
			name  string
			r     audit.Reader
			f     audit.Filter
			want  []int // indexes into rows, newest first
			total int64
		}{
			{"ann sees her own and the admin's change to her wallet", audit.Reader{UserID: ann}, audit.Filter{}, []int{2, 0}, 2},
			{"bob sees his own and the system's on his objects", audit.Reader{UserID: bob}, audit.Filter{}, []int{5, 4, 1}, 3},
			{"the reseller sees its customer's", audit.Reader{UserID: reseller, Reseller: true}, audit.Filter{}, []int{2, 0}, 2},
			{"an admin sees all", audit.Reader{UserID: admin, Admin: true}, audit.Filter{}, []int{5, 4, 3, 2, 1, 0}, 6},
			{"actor filter", audit.Reader{Admin: true}, audit.Filter{ActorID: bob}, []int{4, 1}, 2},
			{"owner filter", audit.Reader{Admin: true}, audit.Filter{OwnerID: ann}, []int{2, 0}, 2},
			{"object filter", audit.Reader{Admin: true}, audit.Filter{ObjectType: "server", ObjectID: "s-bob"}, []int{1}, 1},
			{"action prefix is case-sensitive", audit.Reader{Admin: true}, audit.Filter{ActionPrefix: "POST /api/v1/admin"}, []int{3, 2}, 2},
			{"action prefix in lower case matches nothing", audit.Reader{Admin: true}, audit.Filter{ActionPrefix: "post /api"}, nil, 0},
			{"action prefix with LIKE wildcards is literal", audit.Reader{Admin: true}, audit.Filter{ActionPrefix: "POST %"}, nil, 0},
			{"from inclusive, to exclusive", audit.Reader{Admin: true}, audit.Filter{From: at(1), To: at(3)}, []int{2, 1}, 2},
			{"filters combine with visibility", audit.Reader{UserID: ann}, audit.Filter{ObjectType: "server"}, []int{0}, 1},
			{"page two", audit.Reader{Admin: true}, audit.Filter{Page: 2, PerPage: 4}, []int{1, 0}, 6},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := audit.List(ctx, db.DB, tc.r, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs, wantIDs []string
				for _, e := range got {
					gotIDs = append(gotIDs, e.ID)
				}
				for _, i := range tc.want {
					wantIDs = append(wantIDs, ids[i])
				}
				if !slices.Equal(gotIDs, wantIDs) || total != tc.total {
					t.Fatalf("got %v (total %d), want %v (total %d)", gotIDs, total, wantIDs, tc.total)
				}
			})
		}
		all, _, err := audit.List(ctx, db.DB, audit.Reader{Admin: true}, audit.Filter{ObjectID: "s-ann"})
		if err != nil || len(all) != 1 {
			t.Fatalf("s-ann: %v %v", all, err)
		}
		w := all[0].API()
		var details map[string]int
		if err := json.Unmarshal(w.Details, &details); err != nil || details["n"] != 0 {
			t.Errorf("details %s: %v", w.Details, err)
		}
		if !w.CreatedAt.Equal(base) || w.ActorID != ann || w.Action != "POST /api/v1/servers" {
			t.Errorf("wire entry %+v", w)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, d testenv.Database) {
		ctx := context.Background()
		db := openDB(t, d)
		e := audit.Entry{ID: uuid.NewString(), ActorID: "someone", Action: "POST /api/v1/x", OwnerID: "someone"}
		if err := audit.Record(ctx, db.DB, e, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("UPDATE audit_log SET action = 'forged' WHERE id = ?", e.ID).Error; err == nil {
			t.Error("UPDATE of an audit entry succeeded")
		}
		if err := db.Exec("DELETE FROM audit_log WHERE id = ?", e.ID).Error; err == nil {
			t.Error("DELETE of an audit entry succeeded")
		}
		var got audit.Entry
		if err := db.Where("id = ?", e.ID).Take(&got).Error; err != nil || got.Action != e.Action {
			t.Fatalf("entry after the refused changes: %+v %v", got, err)
		}
	})
}
