package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/mail"
	"github.com/nimbo-panel/nimbo/backend/internal/mail/smtptest"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// hook is a webhook receiver on loopback that records each delivery.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	status int
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.sigs = append(h.sigs, r.Header.Get(api.HeaderSignature))
		h.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) deliveries() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), append([]string(nil), h.sigs...)
}

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

func addUser(t *testing.T, db *store.DB, email string) string {
	t.Helper()
	now := store.Now()
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: "x", Role: api.RoleCustomer, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestNotifyDeliversMailAndSignedWebhooks(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, d testenv.Database) {
		ctx := context.Background()
		db := openDB(t, d)
		smtp := smtptest.Start(t, smtptest.Options{})
		provider, user := newHook(t, http.StatusNoContent), newHook(t, http.StatusOK)
		sender := &mail.SMTP{Config: config.Mail{Host: smtp.Host, Port: smtp.Port, From: "noreply@nimbo.test", TLS: "none"}}
		svc := notify.NewService(db, sender, notify.Options{WebhookURL: provider.URL + "/billing", WebhookSecret: "provider-secret"},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		uid := addUser(t, db, "notify-hana@example.com")
		set, err := svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{WebhookURL: new(user.URL + "/mine")})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(set.WebhookSecret, "whsec_") || len(set.WebhookSecret) != 6+64 || !set.WebhookSecretSet {
			t.Fatalf("settings after set: %+v", set)
		}
		ev := notify.Event{Kind: notify.KindLowBalance, UserID: uid, Subject: "Your USD balance is low",
			Text: "Your balance is 1.20 USD.", Data: map[string]any{"currency": "USD", "balance": 120}}
		if err := svc.Notify(ctx, ev); err != nil {
			t.Fatalf("Notify: %v", err)
		}
		msgs := smtp.To("notify-hana@example.com")
		if len(msgs) != 1 || msgs[0].Header("Subject") != ev.Subject || !strings.Contains(msgs[0].Text(), "1.20 USD") {
			t.Fatalf("mail: %+v", msgs)
		}
		check := func(name string, h *hook, secret, other string) api.WebhookEvent {
			t.Helper()
			bodies, sigs := h.deliveries()
			if len(bodies) != 1 {
				t.Fatalf("%s webhook got %d deliveries", name, len(bodies))
			}
			if err := notify.VerifySignature(secret, sigs[0], bodies[0], time.Minute, time.Now()); err != nil {
				t.Fatalf("%s signature %q: %v", name, sigs[0], err)
			}
			if err := notify.VerifySignature(other, sigs[0], bodies[0], time.Minute, time.Now()); err == nil {
				t.Fatalf("%s signature verifies with another secret", name)
			}
			var got api.WebhookEvent
			if err := json.Unmarshal(bodies[0], &got); err != nil {
				t.Fatal(err)
			}
			if got.Kind != notify.KindLowBalance || got.UserID != uid || uuid.Validate(got.ID) != nil || got.CreatedAt.IsZero() ||
				got.Data["currency"] != "USD" || got.Data["balance"] != float64(120) {
				t.Fatalf("%s payload %s", name, bodies[0])
			}
			return got
		}
		p := check("provider", provider, "provider-secret", set.WebhookSecret)
		u := check("user", user, set.WebhookSecret, "provider-secret")
		if p.ID != u.ID {
			t.Errorf("one event, two ids: %s %s", p.ID, u.ID)
		}

		// A failing endpoint is reported; the other deliveries still happen.
		failing := newHook(t, http.StatusInternalServerError)
		failingURL := failing.URL
		if _, err := svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{WebhookURL: &failingURL}); err != nil {
			t.Fatal(err)
		}
		err = svc.Notify(ctx, notify.Event{Kind: notify.KindSuspended, UserID: uid, Subject: "Suspended", Text: "x"})
		if err == nil || !strings.Contains(err.Error(), "user webhook answered 500") {
			t.Fatalf("failing user webhook: %v", err)
		}
		if b, _ := provider.deliveries(); len(b) != 2 {
			t.Errorf("provider deliveries %d, want 2", len(b))
		}
		if n := len(smtp.To("notify-hana@example.com")); n != 2 {
			t.Errorf("mails %d, want 2", n)
		}
		// An unknown user is an error; the provider still hears of the event.
		if err := svc.Notify(ctx, notify.Event{Kind: notify.KindTerminated, UserID: uuid.NewString(), Subject: "x"}); err == nil ||
			!strings.Contains(err.Error(), "not found") {
			t.Fatalf("unknown user: %v", err)
		}
		if b, _ := provider.deliveries(); len(b) != 3 {
			t.Errorf("provider deliveries %d, want 3", len(b))
		}
	})
}

func TestNotifySettings(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, d testenv.Database) {
		ctx := context.Background()
		db := openDB(t, d)
		svc := notify.NewService(db, &mail.LogSender{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, notify.Options{},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		uid := addUser(t, db, "notify-ivan@example.com")
		got, err := svc.Settings(ctx, uid)
		if err != nil || got.WebhookURL != "" || got.WebhookSecretSet || len(got.LowBalance) != 0 || got.LowBalance == nil {
			t.Fatalf("defaults: %+v %v", got, err)
		}
		lb := []api.LowBalanceThreshold{{Currency: "USD", Threshold: 500}, {Currency: "EUR", Threshold: 100}}
		got, err = svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{WebhookURL: new("https://hooks.example.com/nimbo"), LowBalance: &lb})
		if err != nil {
			t.Fatal(err)
		}
		first := got.WebhookSecret
		if first == "" || len(got.LowBalance) != 2 || got.LowBalance[0] != (api.LowBalanceThreshold{Currency: "EUR", Threshold: 100}) {
			t.Fatalf("after set: %+v", got)
		}
		var w store.Wallet
		if err := db.Where("user_id = ? AND currency = ?", uid, "USD").Take(&w).Error; err != nil || w.LowBalanceThreshold != 500 || w.Balance != 0 {
			t.Fatalf("USD wallet: %+v %v", w, err)
		}
		// The same URL keeps its secret (not shown again); rotate_secret makes a new one.
		got, err = svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{WebhookURL: new("https://hooks.example.com/nimbo")})
		if err != nil || got.WebhookSecret != "" || !got.WebhookSecretSet {
			t.Fatalf("same URL: %+v %v", got, err)
		}
		got, err = svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{RotateSecret: true})
		if err != nil || got.WebhookSecret == "" || got.WebhookSecret == first {
			t.Fatalf("rotate: %+v %v", got, err)
		}
		// A threshold list replaces the old one: EUR is turned off, the notified mark cleared.
		if err := db.Model(&store.Wallet{}).Where("user_id = ?", uid).Update("low_balance_notified_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		lb = []api.LowBalanceThreshold{{Currency: "USD", Threshold: 900}}
		got, err = svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{LowBalance: &lb})
		if err != nil || len(got.LowBalance) != 1 || got.LowBalance[0].Threshold != 900 || got.WebhookURL != "https://hooks.example.com/nimbo" {
			t.Fatalf("replace thresholds: %+v %v", got, err)
		}
		var ws []store.Wallet
		if err := db.Where("user_id = ?", uid).Order("currency").Find(&ws).Error; err != nil || len(ws) != 2 {
			t.Fatal(err, len(ws))
		}
		for _, x := range ws {
			if x.LowBalanceNotifiedAt != nil {
				t.Errorf("%s still marked notified", x.Currency)
			}
		}
		if ws[0].Currency != "EUR" || ws[0].LowBalanceThreshold != 0 {
			t.Errorf("EUR threshold %d, want 0", ws[0].LowBalanceThreshold)
		}
		got, err = svc.UpdateSettings(ctx, uid, api.UpdateNotificationSettingsRequest{WebhookURL: new("")})
		if err != nil || got.WebhookURL != "" || got.WebhookSecretSet {
			t.Fatalf("remove webhook: %+v %v", got, err)
		}

		bad := []struct {
			name  string
			req   api.UpdateNotificationSettingsRequest
			field string
		}{
			{"http to a public host", api.UpdateNotificationSettingsRequest{WebhookURL: new("http://hooks.example.com/x")}, "webhook_url"},
			{"relative URL", api.UpdateNotificationSettingsRequest{WebhookURL: new("/x")}, "webhook_url"},
			{"ftp", api.UpdateNotificationSettingsRequest{WebhookURL: new("ftp://hooks.example.com/x")}, "webhook_url"},
			{"credentials", api.UpdateNotificationSettingsRequest{WebhookURL: new("https://u:p@hooks.example.com/x")}, "webhook_url"},
			{"too long", api.UpdateNotificationSettingsRequest{WebhookURL: new("https://hooks.example.com/" + strings.Repeat("x", 3000))}, "webhook_url"},
			{"rotate while removing", api.UpdateNotificationSettingsRequest{WebhookURL: new(""), RotateSecret: true}, "rotate_secret"},
			{"rotate without a webhook", api.UpdateNotificationSettingsRequest{RotateSecret: true}, "rotate_secret"},
			{"unknown currency", api.UpdateNotificationSettingsRequest{LowBalance: &[]api.LowBalanceThreshold{{Currency: "XXX", Threshold: 1}}}, "low_balance[0].currency"},
			{"lower-case currency", api.UpdateNotificationSettingsRequest{LowBalance: &[]api.LowBalanceThreshold{{Currency: "usd", Threshold: 1}}}, "low_balance[0].currency"},
			{"twice", api.UpdateNotificationSettingsRequest{LowBalance: &[]api.LowBalanceThreshold{{Currency: "USD", Threshold: 1}, {Currency: "USD", Threshold: 2}}}, "low_balance[1].currency"},
			{"negative", api.UpdateNotificationSettingsRequest{LowBalance: &[]api.LowBalanceThreshold{{Currency: "USD", Threshold: -1}}}, "low_balance[0].threshold"},
			{"huge", api.UpdateNotificationSettingsRequest{LowBalance: &[]api.LowBalanceThreshold{{Currency: "USD", Threshold: 1 << 62}}}, "low_balance[0].threshold"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.UpdateSettings(ctx, uid, tc.req)
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Code != api.CodeValidation || ae.Fields[tc.field] == "" {
					t.Fatalf("%v, want a validation error on %s", err, tc.field)
				}
			})
		}
		after, err := svc.Settings(ctx, uid)
		if err != nil || after.WebhookURL != "" || len(after.LowBalance) != 1 || after.LowBalance[0].Threshold != 900 {
			t.Fatalf("refused updates changed the settings: %+v %v", after, err)
		}
	})
}

func TestNotifyVerifySignature(t *testing.T) {
	body := []byte(`{"id":"1","kind":"wallet.low_balance"}`)
	now := time.Unix(1_900_000_000, 0)
	good := notify.Sign("s3cret", now, body)
	_, v1, _ := strings.Cut(good, ",v1=")
	cases := []struct {
		name, secret, header string
		body                 []byte
		ok                   bool
	}{
		{"valid", "s3cret", good, body, true},
		{"one of several v1", "s3cret", "t=1900000000,v1=00ff,v1=" + v1, body, true},
		{"wrong secret", "other", good, body, false},
		{"tampered body", "s3cret", good, []byte(`{"id":"2","kind":"wallet.low_balance"}`), false},
		{"too old", "s3cret", notify.Sign("s3cret", now.Add(-10*time.Minute), body), body, false},
		{"from the future", "s3cret", notify.Sign("s3cret", now.Add(10*time.Minute), body), body, false},
		{"no timestamp", "s3cret", "v1=" + v1, body, false},
		{"no v1", "s3cret", "t=1900000000", body, false},
		{"garbage", "s3cret", "nonsense", body, false},
		{"timestamp swapped", "s3cret", "t=1900000001,v1=" + v1, body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.VerifySignature(tc.secret, tc.header, tc.body, 5*time.Minute, now)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifySignature = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if !strings.HasPrefix(good, "t=1900000000,v1=") || len(v1) != 64 {
		t.Errorf("Sign = %q", good)
	}
}

func TestNotifyValidWebhookURL(t *testing.T) {
	cases := []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/nimbo", true},
		{"https://hooks.example.com:8443/a?b=c", true},
		{"http://127.0.0.1:9000/hook", true},
		{"http://[::1]:9000/hook", true},
		{"http://localhost/hook", false},
		{"http://10.0.0.1/hook", false},
		{"https://", false},
		{"mailto:a@example.com", false},
		{"https://hooks.example.com/#frag", false},
		{"javascript:alert(1)", false},
	}
	for _, tc := range cases {
		if got := notify.ValidWebhookURL(tc.url); (got == "") != tc.ok {
			t.Errorf("ValidWebhookURL(%q) = %q, want ok=%v", tc.url, got, tc.ok)
		}
	}
}
