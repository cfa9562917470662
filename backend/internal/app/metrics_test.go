package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/httpapi"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// mxWorld is a panel with a node, a customer's server on it, and the principals around it.
type mxWorld struct {
	e                   *env
	admin, owner        *client
	stranger, sub       *client
	reseller, otherResl *client
	node                *fakeNode
	srv                 store.Server
}

// mxReseller logs in a new account and makes it a reseller.
func mxReseller(e *env, email string) *client {
	e.t.Helper()
	c := e.login(email, api.RoleCustomer)
	if err := e.app.DB().Model(&store.User{}).Where("id = ?", c.user.ID).Update("role", api.RoleReseller).Error; err != nil {
		e.t.Fatal(err)
	}
	e.app.Auth().DropCachedUser(c.user.ID)
	return c
}

func newMxWorld(t *testing.T, db testenv.Database) *mxWorld {
	e := newEnv(t, db)
	w := &mxWorld{e: e}
	tag := testenv.Random(6)
	w.admin = e.login("mx-admin-"+tag+"@example.com", api.RoleAdmin)
	w.owner = e.login("mx-owner-"+tag+"@example.com", api.RoleCustomer)
	w.stranger = e.login("mx-stranger-"+tag+"@example.com", api.RoleCustomer)
	w.sub = e.login("mx-sub-"+tag+"@example.com", api.RoleCustomer)
	w.reseller = mxReseller(e, "mx-reseller-"+tag+"@example.com")
	w.otherResl = mxReseller(e, "mx-other-reseller-"+tag+"@example.com")
	db2 := e.app.DB()
	if err := db2.Model(&store.User{}).Where("id = ?", w.owner.user.ID).Update("reseller_id", w.reseller.user.ID).Error; err != nil {
		t.Fatal(err)
	}
	e.app.Auth().DropCachedUser(w.owner.user.ID)
	w.node = e.addNode(w.admin, "mx-node-"+tag, defaultHeartbeat())
	now := store.Now()
	id := uuid.NewString()
	w.srv = store.Server{ID: id, OwnerID: w.owner.user.ID, NodeID: w.node.id, Name: "mx-" + id[:8], IncusName: "mx-" + strings.ReplaceAll(id, "-", ""),
		Type: api.TypeContainer, Image: "busybox", CPU: 2, MemoryMiB: 256, DiskMiB: 1024, Status: api.StatusRunning, CreatedAt: now, UpdatedAt: now}
	if err := db2.Create(&w.srv).Error; err != nil {
		t.Fatal(err)
	}
	// A sub-user holding no permission at all still sees the server, and so its history.
	if err := db2.Create(&store.ServerMember{ServerID: id, UserID: w.sub.user.ID, Permissions: "", CreatedBy: w.owner.user.ID,
		CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	return w
}

// mxUsage is the usage k minutes into a steady load: half a core, 1000 B/s in, 100 B/s out.
func mxUsage(k float64) dapi.Usage {
	return dapi.Usage{CPUNanoseconds: int64(k * 30e9), MemoryBytes: 64 << 20, DiskBytes: 128 << 20,
		NetRxBytes: int64(k * 60000), NetTxBytes: int64(k * 6000)}
}

func TestServerMetricsHistory(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newMxWorld(t, db)
		e := w.e
		ctx := context.Background()
		path := "/api/v1/servers/" + w.srv.ID + "/metrics"
		start := time.Now().Add(-10 * time.Minute)

		// History the node reported earlier: a sample a minute from 10 to 2 minutes ago.
		for k := range 9 {
			hb := dapi.Heartbeat{Instances: []dapi.InstanceState{{InstanceID: w.srv.ID, State: dapi.StateRunning, Usage: mxUsage(float64(k))}}}
			err := e.app.DB().Transaction(func(tx *gorm.DB) error {
				return e.app.Metrics().Record(ctx, tx, w.node.id, start.Add(time.Duration(k)*time.Minute), hb)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := e.count("server_metrics"); n != 9 {
			t.Fatalf("%d samples recorded, want 9", n)
		}
		// Now a real heartbeat through the node API: it records a sample with its usage.
		live := mxUsage(time.Since(start).Minutes())
		w.node.hb.Instances = []dapi.InstanceState{{InstanceID: w.srv.ID, IncusName: w.srv.IncusName, State: dapi.StateRunning, Usage: live}}
		w.node.heartbeat()
		var got []struct {
			At          int64
			CPUNs       int64 `gorm:"column:cpu_ns"`
			MemoryBytes int64
			NetRxBytes  int64
		}
		if err := e.app.DB().Raw("SELECT at, cpu_ns, memory_bytes, net_rx_bytes FROM server_metrics WHERE server_id = ? ORDER BY at DESC", w.srv.ID).
			Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if len(got) != 10 || got[0].CPUNs != live.CPUNanoseconds || got[0].MemoryBytes != live.MemoryBytes || got[0].NetRxBytes != live.NetRxBytes {
			t.Fatalf("after the heartbeat: %+v", got)
		}
		// A second heartbeat within metrics.interval (1m) adds no sample.
		w.node.hb.Instances[0].Usage = mxUsage(time.Since(start).Minutes())
		w.node.heartbeat()
		if n := e.count("server_metrics"); n != 10 {
			t.Fatalf("%d samples after a second heartbeat within the interval, want 10", n)
		}

		// The owner's chart, in exactly the shape the portal reads.
		body := w.owner.must(200, "GET", path, nil, nil)
		var shape map[string]json.RawMessage
		if err := json.Unmarshal(body, &shape); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(shape))
		for k := range shape {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"cpus", "disk_limit_bytes", "from", "memory_limit_bytes", "points", "range", "server_id", "step_seconds", "to"}; !reflect.DeepEqual(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		var points []map[string]json.RawMessage
		if err := json.Unmarshal(shape["points"], &points); err != nil || len(points) == 0 {
			t.Fatalf("points %s: %v", shape["points"], err)
		}
		pk := make([]string, 0, 6)
		for k := range points[0] {
			pk = append(pk, k)
		}
		sort.Strings(pk)
		if want := []string{"at", "cpu_percent", "disk_bytes", "memory_bytes", "net_rx_bps", "net_tx_bps"}; !reflect.DeepEqual(pk, want) {
			t.Fatalf("point keys %v, want %v", pk, want)
		}
		var m api.ServerMetrics
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if m.ServerID != w.srv.ID || m.Range != "1h" || m.StepSeconds != 60 || m.CPUs != 2 || m.MemoryLimitBytes != 256<<20 ||
			m.DiskLimitBytes != 1024<<20 || m.To.Sub(m.From) != time.Hour || len(m.Points) != 10 {
			t.Fatalf("1h answer %+v", m)
		}
		for i, p := range m.Points {
			if i > 0 && !p.At.After(m.Points[i-1].At) {
				t.Fatalf("points not ascending: %v", m.Points)
			}
			if p.MemoryBytes != 64<<20 || p.DiskBytes != 128<<20 {
				t.Fatalf("point %d gauges %+v", i, p)
			}
			switch {
			case i == 0: // no earlier sample: no rate
				if p.CPUPercent != 0 || p.NetRxBps != 0 {
					t.Fatalf("first point %+v", p)
				}
			case i < 9:
				if p.CPUPercent < 49.9 || p.CPUPercent > 50.1 || p.NetRxBps < 999 || p.NetRxBps > 1001 || p.NetTxBps < 99.9 || p.NetTxBps > 100.1 {
					t.Fatalf("point %d %+v, want 50 %% and 1000/100 B/s", i, p)
				}
			default: // the heartbeat's sample, 2 minutes and a little after the last one
				if p.CPUPercent < 40 || p.CPUPercent > 50.1 {
					t.Fatalf("heartbeat point %+v", p)
				}
			}
		}

		// Who sees it: like GET /servers/{id}.
		for _, tc := range []struct {
			who  string
			c    *client
			want int
		}{
			{"owner", w.owner, 200}, {"sub-user without permissions", w.sub, 200}, {"owner's reseller", w.reseller, 200},
			{"admin", w.admin, 200}, {"another customer", w.stranger, 404}, {"another reseller", w.otherResl, 404},
			{"anonymous", e.anon(), 401},
		} {
			if st, _, b := tc.c.do("GET", path+"?range=6h", nil, nil); st != tc.want {
				t.Errorf("%s: %d, want %d: %s", tc.who, st, tc.want, b)
			}
		}

		// Ranges.
		for _, tc := range []struct {
			rng  string
			step int
		}{{"1h", 60}, {"6h", 60}, {"24h", 240}, {"7d", 3600}, {"30d", 3600}} {
			var r api.ServerMetrics
			w.reseller.must(200, "GET", path+"?range="+tc.rng, nil, &r)
			if r.Range != tc.rng || r.StepSeconds != tc.step || len(r.Points) == 0 {
				t.Errorf("range %s: %+v", tc.rng, r)
			}
		}
		for _, bad := range []string{"2h", "1d", "7D", "all", "1h;", "%20"} {
			st, ae := w.owner.errCode("GET", path+"?range="+url.QueryEscape(bad), nil)
			if st != 422 || ae.Error.Code != api.CodeValidation || ae.Error.Fields["range"] == "" {
				t.Errorf("range %q: %d %+v", bad, st, ae)
			}
			// A stranger learns nothing, not even that the range is wrong.
			if st, _ := w.stranger.errCode("GET", path+"?range="+url.QueryEscape(bad), nil); st != 404 {
				t.Errorf("stranger, range %q: %d", bad, st)
			}
		}
		for _, p := range []string{"/api/v1/servers/" + uuid.NewString() + "/metrics", "/api/v1/servers/not-an-id/metrics"} {
			if st, ae := w.admin.errCode("GET", p, nil); st != 404 || ae.Error.Code != api.CodeNotFound {
				t.Errorf("%s: %d %+v", p, st, ae)
			}
		}

		// The 7d chart reads the same from the hourly rollups once they exist.
		var before, after api.ServerMetrics
		w.owner.must(200, "GET", path+"?range=7d", nil, &before)
		if _, err := e.app.Metrics().Compact(ctx, time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if e.count("server_metrics_hourly") == 0 {
			t.Fatal("compaction wrote no hourly row")
		}
		w.owner.must(200, "GET", path+"?range=7d", nil, &after)
		if len(after.Points) != len(before.Points) {
			t.Fatalf("7d before compaction %+v, after %+v", before.Points, after.Points)
		}
		for i := range after.Points {
			a, b := after.Points[i], before.Points[i]
			if !a.At.Equal(b.At) || a.MemoryBytes != b.MemoryBytes || a.CPUPercent-b.CPUPercent > 1e-9 || b.CPUPercent-a.CPUPercent > 1e-9 {
				t.Fatalf("7d point %d: %+v from rollups, %+v from samples", i, a, b)
			}
		}

		// A deleted server's history is gone for everyone.
		if err := e.app.DB().Model(&store.Server{}).Where("id = ?", w.srv.ID).Update("deleted_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		if st, _ := w.owner.errCode("GET", path, nil); st != 404 {
			t.Fatalf("deleted server: %d", st)
		}
		res, err := e.app.Metrics().Compact(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.RawDeleted != 10 || e.count("server_metrics") != 0 || e.count("server_metrics_hourly") != 0 {
			t.Fatalf("compaction after the deletion: %+v", res)
		}
	})
}

func TestServerMetricsEmpty(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newMxWorld(t, db)
		for _, rng := range []string{"1h", "30d"} {
			b := w.owner.must(200, "GET", "/api/v1/servers/"+w.srv.ID+"/metrics?range="+rng, nil, nil)
			if !strings.Contains(string(b), `"points":[]`) {
				t.Fatalf("range %s without samples: %s", rng, b)
			}
		}
	})
}

func TestImagesList(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		tag := testenv.Random(6)
		admin := e.login("im-admin-"+tag+"@example.com", api.RoleAdmin)
		cust := e.login("im-cust-"+tag+"@example.com", api.RoleCustomer)
		resl := mxReseller(e, "im-resl-"+tag+"@example.com")
		hb := func(images ...string) dapi.Heartbeat {
			h := defaultHeartbeat()
			h.Images = images
			return h
		}
		a := e.addNode(admin, "im-a-"+tag, hb("debian-12", "busybox"))
		b := e.addNode(admin, "im-b-"+tag, hb("busybox", "alpine", "busybox"))
		c := e.addNode(admin, "im-c-"+tag, hb("centos"))
		if err := e.app.DB().Model(&store.Node{}).Where("id = ?", c.id).Update("status", api.NodeOffline).Error; err != nil {
			t.Fatal(err)
		}
		plan := func(name string, active bool, nodes ...string) string {
			var p api.Plan
			admin.must(201, "POST", "/api/v1/admin/plans", api.CreatePlanRequest{Name: name + "-" + tag, Type: api.TypeContainer, CPU: 1,
				MemoryMiB: 128, DiskMiB: 256, PriceMonth: 100, Currency: "USD", Active: &active, NodeIDs: nodes}, &p)
			return p.ID
		}
		onB, onC, anywhere := plan("on-b", true, b.id), plan("on-c", true, c.id), plan("anywhere", true)
		inactive, archived := plan("inactive", false, a.id), plan("archived", true, a.id)
		admin.must(200, "DELETE", "/api/v1/admin/plans/"+archived, nil, nil)
		all := []api.Image{{Alias: "alpine", Nodes: 1}, {Alias: "busybox", Nodes: 2}, {Alias: "debian-12", Nodes: 1}}

		list := func(c *client, query string) []api.Image {
			t.Helper()
			var l api.List[api.Image]
			body := c.must(200, "GET", "/api/v1/images"+query, nil, &l)
			if l.Items == nil || !strings.Contains(string(body), `"items":[`) || l.Total != int64(len(l.Items)) {
				t.Fatalf("GET /images%s: %s", query, body)
			}
			return l.Items
		}
		for _, tc := range []struct {
			name  string
			c     *client
			query string
			want  []api.Image
		}{
			{"customer, every online node", cust, "", all},
			{"reseller", resl, "", all},
			{"admin", admin, "", all},
			{"a plan on one node", cust, "?plan_id=" + onB, []api.Image{{Alias: "alpine", Nodes: 1}, {Alias: "busybox", Nodes: 1}}},
			{"a plan on an offline node", cust, "?plan_id=" + onC, []api.Image{}},
			{"a plan on any node", cust, "?plan_id=" + anywhere, all},
			{"admins see inactive plans' images", admin, "?plan_id=" + inactive, []api.Image{{Alias: "busybox", Nodes: 1}, {Alias: "debian-12", Nodes: 1}}},
		} {
			if got := list(tc.c, tc.query); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
			}
		}
		for _, tc := range []struct {
			name  string
			c     *client
			query string
			st    int
			code  string
		}{
			{"unknown plan", cust, "?plan_id=" + uuid.NewString(), 404, api.CodeNotFound},
			{"archived plan", cust, "?plan_id=" + archived, 404, api.CodeNotFound},
			{"archived plan, admin", admin, "?plan_id=" + archived, 404, api.CodeNotFound},
			{"inactive plan, customer", cust, "?plan_id=" + inactive, 404, api.CodeNotFound},
			{"malformed plan id", cust, "?plan_id=plan-1", 422, api.CodeValidation},
			{"anonymous", e.anon(), "", 401, api.CodeUnauthorized},
		} {
			st, ae := tc.c.errCode("GET", "/api/v1/images"+tc.query, nil)
			if st != tc.st || ae.Error.Code != tc.code {
				t.Errorf("%s: %d %+v, want %d %s", tc.name, st, ae, tc.st, tc.code)
			}
		}
		// A node that goes offline takes its images off the list.
		if err := e.app.DB().Model(&store.Node{}).Where("id = ?", a.id).Update("status", api.NodeOffline).Error; err != nil {
			t.Fatal(err)
		}
		if got := list(cust, ""); !reflect.DeepEqual(got, []api.Image{{Alias: "alpine", Nodes: 1}, {Alias: "busybox", Nodes: 1}}) {
			t.Errorf("after node a went offline: %+v", got)
		}
	})
}

func TestAdminSettings(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		marker := func(name string) string { return "secret-" + name + "-" + testenv.Random(16) }
		secrets := map[string]string{
			"mail password":          marker("mail"),
			"stripe secret key":      "sk_test_" + marker("stripe"),
			"stripe webhook secret":  "whsec_" + marker("stripe-webhook"),
			"billing webhook secret": marker("billing-webhook"),
			"billing webhook url":    marker("hook-path"),
			"nodes redis password":   marker("nodes-redis"),
		}
		e := newEnv(t, db, func(c *config.Config) {
			c.Mail.Host, c.Mail.Port, c.Mail.Username = "smtp.example.com", 2525, "mailer"
			c.Mail.Password = secrets["mail password"]
			c.Payments.Stripe.SecretKey = secrets["stripe secret key"]
			c.Payments.Stripe.WebhookSecret = secrets["stripe webhook secret"]
			c.Payments.Alipay.AppID = "2021000000000000"
			c.Payments.Alipay.PrivateKey, c.Payments.Alipay.PublicKey = privPEM, pubPEM
			c.Billing.WebhookSecret = secrets["billing webhook secret"]
			c.Billing.WebhookURL = "https://hooks.example.com/" + secrets["billing webhook url"]
			c.Nodes.RedisURL = "redis://default:" + secrets["nodes redis password"] + "@redis.example.com:6380/0"
			c.Metrics.Interval = 30 * time.Second
		})
		tag := testenv.Random(6)
		admin := e.login("st-admin-"+tag+"@example.com", api.RoleAdmin)
		body := admin.must(200, "GET", "/api/v1/admin/settings", nil, nil)
		for name, v := range secrets {
			if strings.Contains(string(body), v) {
				t.Errorf("the %s is in the answer: %s", name, body)
			}
		}
		// Key material: no line of either PEM block, and never the database DSN.
		for _, l := range strings.Split(privPEM+pubPEM, "\n") {
			if len(l) >= 32 && strings.Contains(string(body), l) {
				t.Errorf("key material %q is in the answer", l)
			}
		}
		if strings.Contains(string(body), e.cfg.Database.DSN) {
			t.Errorf("the database DSN is in the answer: %s", body)
		}
		var s api.Settings
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		if s.Database.Driver != db.Driver || s.PublicURL != e.cfg.PublicURL || s.Listen != e.cfg.Listen {
			t.Errorf("top level %+v", s)
		}
		if s.Redis.Host != "127.0.0.1:6379" || s.Redis.PasswordSet || s.Nodes.RedisHost != "redis.example.com:6380" || !s.Nodes.RedisPasswordSet {
			t.Errorf("redis %+v, nodes %+v", s.Redis, s.Nodes)
		}
		if s.Nodes.HeartbeatIntervalSeconds != 1 || s.Nodes.OfflineAfter != e.cfg.Nodes.OfflineAfter ||
			s.Nodes.OfflineAfterSeconds != int64(e.cfg.Nodes.OfflineAfter) {
			t.Errorf("nodes %+v", s.Nodes)
		}
		if want := (api.MailSettings{Enabled: true, Host: "smtp.example.com", Port: 2525, Username: "mailer", PasswordSet: true,
			From: e.cfg.Mail.From, TLS: "starttls"}); s.Mail != want {
			t.Errorf("mail %+v, want %+v", s.Mail, want)
		}
		if !reflect.DeepEqual(s.Payments.Gateways, []string{api.GatewayManual, "stripe", "alipay"}) ||
			!s.Payments.Stripe.Enabled || !s.Payments.Stripe.SecretKeySet || !s.Payments.Stripe.WebhookSecretSet ||
			s.Payments.Stripe.ToleranceSeconds != 300 || s.Payments.Stripe.APIBase != "https://api.stripe.com" ||
			!s.Payments.Alipay.Enabled || !s.Payments.Alipay.PrivateKeySet || !s.Payments.Alipay.PublicKeySet ||
			s.Payments.Alipay.AppID != "2021000000000000" || s.Payments.Alipay.ToleranceSeconds != 86400 {
			t.Errorf("payments %+v", s.Payments)
		}
		if b := s.Billing; b.IntervalSeconds != 60 || b.Currency != "USD" || b.TrialDays != 7 || b.ReminderBeforeSeconds != 72*3600 ||
			b.GracePeriodSeconds != 72*3600 || b.TerminateAfterSeconds != 336*3600 || b.SellerName != "Nimbo" || !b.FreeServers ||
			!b.WebhookURLSet || !b.WebhookSecretSet {
			t.Errorf("billing %+v", b)
		}
		if want := (api.MetricSettings{IntervalSeconds: 30, RawRetentionSeconds: 48 * 3600, HourlyRetentionSeconds: 30 * 24 * 3600}); s.Metrics != want {
			t.Errorf("metrics %+v, want %+v", s.Metrics, want)
		}
		if s.Version.Version == "" || !strings.HasPrefix(s.Version.GoVersion, "go") {
			t.Errorf("version %+v", s.Version)
		}

		// Admins only, with the admin:read scope.
		for _, tc := range []struct {
			who  string
			c    *client
			want int
		}{
			{"customer", e.login("st-cust-"+tag+"@example.com", api.RoleCustomer), 403},
			{"reseller", mxReseller(e, "st-resl-"+tag+"@example.com"), 403},
			{"anonymous", e.anon(), 401},
		} {
			if st, b := tc.c.errCode("GET", "/api/v1/admin/settings", nil); st != tc.want {
				t.Errorf("%s: %d, want %d: %+v", tc.who, st, tc.want, b)
			}
		}
		var tok api.Token
		admin.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "read-only", Scopes: []string{api.ScopeServersRead}}, &tok)
		if st, _ := (&client{e: e, bearer: tok.Secret}).errCode("GET", "/api/v1/admin/settings", nil); st != 403 {
			t.Errorf("admin token without admin:read: %d, want 403", st)
		}
	})
}

// TestSettingsViewSecrets checks the secrets the HTTP test cannot set on a running panel
// (the database's and Redis's passwords) and the key/value DSN form.
func TestSettingsViewSecrets(t *testing.T) {
	const mark = "s3cr3t-marker-value"
	for _, tc := range []struct {
		name               string
		driver, dsn, redis string
		dbPw, redisPw      bool
		redisHost          string
	}{
		{"postgres URL", "postgres", "postgres://nimbo:" + mark + "@db.example.com:5432/nimbo?sslmode=require", "redis://:" + mark + "@r.example.com:6379/1",
			true, true, "r.example.com:6379"},
		{"postgres key/value", "postgres", "host=db.example.com user=nimbo password=" + mark + " dbname=nimbo", "rediss://default:" + mark + "@r.example.com:6380",
			true, true, "r.example.com:6380"},
		{"postgres key/value, spaced", "postgres", "host=db user=nimbo password = " + mark, "redis://127.0.0.1:6379/0", true, false, "127.0.0.1:6379"},
		{"postgres URL without password", "postgres", "postgres://nimbo@db.example.com/nimbo?sslmode=disable&application_name=" + mark,
			"redis://127.0.0.1:6379/0", false, false, "127.0.0.1:6379"},
		{"postgres URL, password parameter", "postgres", "postgres://db.example.com/nimbo?password=" + mark, "redis://127.0.0.1:6379/0",
			true, false, "127.0.0.1:6379"},
		{"sqlite", "sqlite", "/var/lib/nimbo/" + mark + ".db", "redis://127.0.0.1:6379/0", false, false, "127.0.0.1:6379"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Database.Driver, c.Database.DSN, c.Redis.URL, c.Nodes.RedisURL = tc.driver, tc.dsn, tc.redis, tc.redis
			s := httpapi.SettingsView(c, nil, httpapi.Build())
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), mark) {
				t.Fatalf("secret in %s", b)
			}
			if s.Database.PasswordSet != tc.dbPw || s.Redis.PasswordSet != tc.redisPw || s.Nodes.RedisPasswordSet != tc.redisPw ||
				s.Redis.Host != tc.redisHost || s.Database.Driver != tc.driver || s.Payments.Gateways == nil {
				t.Fatalf("view %+v %+v %+v", s.Database, s.Redis, s.Nodes)
			}
		})
	}
}

func TestMetricsConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    config.Metrics
		wantErr string
	}{
		{name: "defaults", want: config.Metrics{Interval: time.Minute, RawRetention: 48 * time.Hour, HourlyRetention: 720 * time.Hour}},
		{name: "from the environment", env: map[string]string{"NIMBO_METRICS_INTERVAL": "2s", "NIMBO_METRICS_RAW_RETENTION": "6h",
			"NIMBO_METRICS_HOURLY_RETENTION": "2160h"},
			want: config.Metrics{Interval: 2 * time.Second, RawRetention: 6 * time.Hour, HourlyRetention: 2160 * time.Hour}},
		{name: "not a duration", env: map[string]string{"NIMBO_METRICS_INTERVAL": "often"}, wantErr: "NIMBO_METRICS_INTERVAL"},
		{name: "interval too short", env: map[string]string{"NIMBO_METRICS_INTERVAL": "500ms"}, wantErr: "metrics.interval"},
		{name: "interval too long", env: map[string]string{"NIMBO_METRICS_INTERVAL": "1h"}, wantErr: "metrics.interval"},
		{name: "raw retention too short", env: map[string]string{"NIMBO_METRICS_RAW_RETENTION": "2h59m"}, wantErr: "metrics.raw_retention"},
		{name: "hourly retention too short", env: map[string]string{"NIMBO_METRICS_HOURLY_RETENTION": "12h"}, wantErr: "metrics.hourly_retention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load("", func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.Metrics != tc.want {
				t.Fatalf("metrics %+v (%v), want %+v", c.Metrics, err, tc.want)
			}
		})
	}
}
