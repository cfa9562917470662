package reseller

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

func TestValidDomain(t *testing.T) {
	for _, tc := range []struct {
		domain string
		ok     bool
	}{
		{"panel.example.com", true},
		{"a-b.c0.example", true},
		{"xn--bcher-kva.example", true},
		{"panel.nimbo.example", false}, // the panel's own host
		{"Panel.example.com", false},
		{"example", false},
		{"", false},
		{"https://panel.example.com", false},
		{"panel.example.com:8080", false},
		{"panel.example.com/", false},
		{"panel..example.com", false},
		{".example.com", false},
		{"example.com.", false},
		{"-a.example.com", false},
		{"a-.example.com", false},
		{"a_b.example.com", false},
		{"10.0.0.1", false},
		{"panel.example.123", false},
		{"[::1]", false},
		{"a." + string(make([]byte, 64)) + ".com", false},
	} {
		if got := validDomain(tc.domain, "panel.nimbo.example") == ""; got != tc.ok {
			t.Errorf("validDomain(%q) = %v, want %v", tc.domain, got, tc.ok)
		}
	}
}

func TestValidLogoURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://cdn.example.com/logo.png", true},
		{"https://cdn.example.com:8443/a/b.svg?v=2", true},
		{"http://localhost/logo.png", true},
		{"http://localhost:8080/logo.png", true},
		{"http://127.0.0.1:9000/logo.png", true},
		{"http://[::1]/logo.png", true},
		{"http://cdn.example.com/logo.png", false},
		{"https://user:pw@cdn.example.com/logo.png", false},
		{"javascript:alert(1)", false},
		{"data:image/png;base64,AAAA", false},
		{"//cdn.example.com/logo.png", false},
		{"/logo.png", false},
		{"https://cdn.example.com/a b.png", false},
		{"https://", false},
		{"ftp://cdn.example.com/logo.png", false},
	} {
		if got := validLogoURL(tc.url) == ""; got != tc.ok {
			t.Errorf("validLogoURL(%q) = %v, want %v", tc.url, got, tc.ok)
		}
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{
		"panel.example.com":       "panel.example.com",
		"Panel.Example.COM:8443":  "panel.example.com",
		"panel.example.com.":      "panel.example.com",
		"panel.example.com.:443":  "panel.example.com",
		"127.0.0.1:8080":          "127.0.0.1",
		"[::1]:8080":              "::1",
		"[::1]":                   "::1",
		"":                        "",
		" panel.example.com:80 ":  "panel.example.com",
		"fe80::1":                 "fe80::1",
		"panel.example.com:":      "panel.example.com",
		"PANEL.EXAMPLE.COM:65535": "panel.example.com",
	} {
		if got := HostOnly(in); got != want {
			t.Errorf("HostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizePermissions(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, []string{}, true},
		{[]string{}, []string{}, true},
		{[]string{api.PermBilling, api.PermPower, api.PermPower}, []string{api.PermPower, api.PermBilling}, true},
		{api.Permissions(), api.Permissions(), true},
		{[]string{"manage"}, nil, false},
		{[]string{"power", "Power"}, nil, false},
		{[]string{""}, nil, false},
	} {
		got, problem := NormalizePermissions(tc.in)
		if (problem == "") != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) {
			t.Errorf("NormalizePermissions(%q) = %q, %q", tc.in, got, problem)
		}
	}
}

func TestMarkup(t *testing.T) {
	for _, tc := range []struct{ v, bp, want int64 }{
		{1000, 2500, 1250},
		{2, 2500, 3}, // 2.5 rounds half up
		{1, 2500, 1}, // 1.25
		{333, 2500, 416},
		{0, 100000, 0},
		{1_000_000_000_000_000, 100000, 11_000_000_000_000_000},
		{7, 0, 7},
	} {
		if got, ok := markup(tc.v, tc.bp); !ok || got != tc.want {
			t.Errorf("markup(%d, %d) = %d, %v; want %d", tc.v, tc.bp, got, ok, tc.want)
		}
	}
	if _, ok := markup(1<<62, 100000); ok {
		t.Error("overflow not detected")
	}
}

// TestRetailMatchesQuote checks that the batch Retail prices agree with Quote plan by plan,
// and that Usage sums memory and disk (not only counts and CPUs).
func TestRetailMatchesQuote(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		db, err := store.Open(ctx, tdb.Driver, tdb.DSN, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		s := New(db, log)
		now := store.Now()
		rid := uuid.NewString()
		cust := store.User{ID: uuid.NewString(), Email: "c@example.com", PasswordHash: "x", Role: api.RoleCustomer, ResellerID: &rid, CreatedAt: now, UpdatedAt: now}
		rows := []any{
			&store.User{ID: rid, Email: "r@example.com", PasswordHash: "x", Role: api.RoleReseller, CreatedAt: now, UpdatedAt: now},
			&cust,
			&store.ResellerProfile{UserID: rid, BrandName: "R", MarkupBP: 1234, CreatedAt: now, UpdatedAt: now},
		}
		var plans []store.Plan
		for i, pr := range [][3]int64{{1000, 2, 500}, {999, 1, 0}, {0, 0, 0}, {123456789, 77, 3}} {
			p := store.Plan{ID: uuid.NewString(), Name: "p" + string(rune('a'+i)), Type: api.TypeContainer, CPU: 1, MemoryMiB: 128,
				DiskMiB: 256, PriceMonth: pr[0], PriceHour: pr[1], SetupFee: pr[2], Currency: "USD", Active: true, CreatedAt: now, UpdatedAt: now}
			plans = append(plans, p)
			rows = append(rows, &plans[len(plans)-1])
		}
		rows = append(rows, &store.ResellerPrice{ResellerID: rid, PlanID: plans[1].ID, PriceMonth: 5000, PriceHour: 3, SetupFee: 10, UpdatedAt: now})
		for _, srv := range []struct {
			owner     string
			cpu       int
			mem, disk int64
		}{{cust.ID, 2, 512, 2048}, {rid, 1, 128, 256}} {
			id := uuid.NewString()
			rows = append(rows, &store.Server{ID: id, OwnerID: srv.owner, NodeID: "n", Name: "s" + id[:6], IncusName: "s" + id, Type: api.TypeContainer,
				Image: "busybox", CPU: srv.cpu, MemoryMiB: srv.mem, DiskMiB: srv.disk, Status: api.StatusRunning, CreatedAt: now, UpdatedAt: now})
		}
		for _, r := range rows {
			if err := db.Create(r).Error; err != nil {
				t.Fatalf("insert %T: %v", r, err)
			}
		}
		got, err := s.Retail(ctx, rid, plans)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range plans {
			q, err := s.Quote(ctx, db.DB, cust, p)
			if err != nil {
				t.Fatal(err)
			}
			if got[i] != q.Retail {
				t.Errorf("plan %d: Retail %+v, Quote %+v", i, got[i], q.Retail)
			}
		}
		if got[1] != (Price{Month: 5000, Hour: 3, Setup: 10, Currency: "USD"}) || got[0] != (Price{Month: 1123, Hour: 2, Setup: 562, Currency: "USD"}) {
			t.Errorf("retail %+v", got)
		}
		u, err := s.Usage(ctx, db.DB, rid)
		if err != nil {
			t.Fatal(err)
		}
		if u != (Resources{Servers: 2, CPU: 3, MemoryMiB: 640, DiskMiB: 2304}) {
			t.Errorf("usage %+v", u)
		}
	})
}
