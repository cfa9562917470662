package payment_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/payment"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stripeAPI is a loopback stand-in for Stripe's API base: it answers POST
// /v1/checkout/sessions like Stripe after checking the credentials and the form, and keeps
// one session per Idempotency-Key.
type stripeAPI struct {
	t      testing.TB
	key    string
	srv    *httptest.Server
	mu     sync.Mutex
	byKey  map[string]map[string]any
	calls  int
	status int // answer with this error status when set
}

func newStripeAPI(t testing.TB, key string) *stripeAPI {
	s := &stripeAPI{t: t, key: key, byKey: map[string]map[string]any{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stripeAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": "invalid_request_error", "message": msg}})
	}
	if s.status != 0 {
		fail(s.status, "Amount must be at least 50 cents")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/checkout/sessions" {
		s.t.Errorf("stripe: %s %s", r.Method, r.URL.Path)
		fail(404, "unknown path")
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.key {
		s.t.Errorf("stripe: Authorization %q", got)
		fail(401, "Invalid API Key provided")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		s.t.Errorf("stripe: Content-Type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		s.t.Errorf("stripe: form: %v", err)
	}
	f := r.PostForm
	id := f.Get("client_reference_id")
	want := map[string]string{"mode": "payment", "metadata[payment_id]": id, "line_items[0][quantity]": "1"}
	for k, v := range want {
		if f.Get(k) != v {
			s.t.Errorf("stripe: %s = %q, want %q", k, f.Get(k), v)
		}
	}
	if uuid.Validate(id) != nil || r.Header.Get("Idempotency-Key") != "nimbo-payment-"+id {
		s.t.Errorf("stripe: client_reference_id %q, Idempotency-Key %q", id, r.Header.Get("Idempotency-Key"))
	}
	cur := f.Get("line_items[0][price_data][currency]")
	if cur == "" || cur != strings.ToLower(cur) || f.Get("line_items[0][price_data][unit_amount]") == "" ||
		f.Get("line_items[0][price_data][product_data][name]") == "" {
		s.t.Errorf("stripe: line item %v", f)
	}
	for _, k := range []string{"success_url", "cancel_url"} {
		if !strings.HasPrefix(f.Get(k), "https://panel.example.com/payments/"+id) {
			s.t.Errorf("stripe: %s = %q", k, f.Get(k))
		}
	}
	sess, ok := s.byKey[r.Header.Get("Idempotency-Key")]
	if !ok {
		sid := "cs_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
		sess = map[string]any{"id": sid, "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/" + sid,
			"client_reference_id": id, "currency": cur, "payment_status": "unpaid", "status": "open"}
		s.byKey[r.Header.Get("Idempotency-Key")] = sess
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sess)
}

// harness is a payment service on a fresh database with a test clock and a hook counter.
type harness struct {
	t       *testing.T
	db      *store.DB
	svc     *payment.Service
	clock   *clock
	stripe  *stripeAPI
	alipay  *rsa.PrivateKey // Alipay's own key, signing notifications
	app     *rsa.PrivateKey // the panel's app key
	hooks   atomic.Int64
	hookFor sync.Map
}

const (
	testStripeKey     = "sk_test_payment_svc"
	testWebhookSecret = "whsec_payment_svc"
	testAlipayAppID   = "2021000000000001"
)

func pemKey(t testing.TB, k any) string {
	t.Helper()
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	t.Fatalf("key %T", k)
	return ""
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newHarness(t *testing.T, tdb testenv.Database) *harness {
	t.Helper()
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
	h := &harness{t: t, db: db, clock: &clock{t: time.Now()}, stripe: newStripeAPI(t, testStripeKey),
		alipay: rsaKey(t), app: rsaKey(t)}
	cfg := config.Default()
	cfg.PublicURL = "https://panel.example.com"
	cfg.Payments.Stripe.SecretKey = testStripeKey
	cfg.Payments.Stripe.WebhookSecret = testWebhookSecret
	cfg.Payments.Stripe.APIBase = h.stripe.srv.URL
	cfg.Payments.Alipay.AppID = testAlipayAppID
	cfg.Payments.Alipay.PrivateKey = pemKey(t, h.app)
	cfg.Payments.Alipay.PublicKey = pemKey(t, &h.alipay.PublicKey)
	cfg.Payments.Alipay.Gateway = "https://openapi.alipay.example/gateway.do"
	cfg.Payments.Alipay.Tolerance = time.Hour
	h.svc, err = payment.New(db, billing.New(db, log), cfg, log, payment.Options{Now: h.clock.Now,
		OnCredited: func(_ context.Context, userID string) {
			h.hooks.Add(1)
			n, _ := h.hookFor.LoadOrStore(userID, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) user(role string, resellerID *string) string {
	h.t.Helper()
	now := store.Now()
	u := store.User{ID: uuid.NewString(), Email: testenv.Random(10) + "@example.com", PasswordHash: "x", Role: role,
		ResellerID: resellerID, CreatedAt: now, UpdatedAt: now}
	if err := h.db.Create(&u).Error; err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}

func (h *harness) count(table string) int64 {
	h.t.Helper()
	var n int64
	if err := h.db.Table(table).Count(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) balance(userID, currency string) int64 {
	h.t.Helper()
	var w store.Wallet
	err := h.db.Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error
	if store.IsNotFound(err) {
		return 0
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return w.Balance
}

func (h *harness) hooksFor(userID string) int64 {
	n, ok := h.hookFor.Load(userID)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

func code(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// stripeEvent is a signed webhook delivery of a Checkout Session event.
func stripeEvent(t testing.TB, eventID, typ string, p payment.Payment, amount int64, status string, at time.Time) payment.Delivery {
	t.Helper()
	body, err := json.Marshal(map[string]any{"id": eventID, "object": "event", "type": typ, "data": map[string]any{
		"object": map[string]any{"id": p.ExternalID, "object": "checkout.session", "client_reference_id": p.ID,
			"metadata": map[string]string{"payment_id": p.ID}, "amount_total": amount,
			"currency": strings.ToLower(p.Currency), "payment_status": status}}})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	hdr.Set(payment.HeaderStripeSignature, payment.SignStripe(body, testWebhookSecret, at))
	return payment.Delivery{Header: hdr, Body: body}
}

// alipayNotify is a signed Alipay notification delivery.
func (h *harness) alipayNotify(notifyID, paymentID, tradeNo, status, amount string, at time.Time) payment.Delivery {
	h.t.Helper()
	v := url.Values{}
	v.Set("notify_time", at.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"))
	v.Set("notify_type", "trade_status_sync")
	v.Set("notify_id", notifyID)
	v.Set("app_id", testAlipayAppID)
	v.Set("charset", "utf-8")
	v.Set("version", "1.0")
	v.Set("out_trade_no", paymentID)
	v.Set("trade_no", tradeNo)
	v.Set("trade_status", status)
	v.Set("total_amount", amount)
	v.Set("subject", "Nimbo wallet top-up")
	sig, err := payment.SignAlipay(v, h.alipay)
	if err != nil {
		h.t.Fatal(err)
	}
	v.Set("sign", sig)
	v.Set("sign_type", "RSA2")
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return payment.Delivery{Header: hdr, Body: []byte(v.Encode())}
}

func (h *harness) notify(gateway string, d payment.Delivery) (payment.Handled, error) {
	return h.svc.Notify(context.Background(), gateway, d)
}

func TestPaymentServiceStripeCreditsOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		h := newHarness(t, tdb)
		ctx := context.Background()
		u := h.user(api.RoleCustomer, nil)
		c, err := h.svc.Create(ctx, u, "pay-svc-1", api.CreatePaymentRequest{Gateway: "stripe", Amount: 2500, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		p := c.Payment
		if p.Status != api.PaymentCreated || p.ExternalID == "" || c.RedirectURL != "https://checkout.stripe.com/c/pay/"+p.ExternalID {
			t.Fatalf("created %+v, redirect %q", p, c.RedirectURL)
		}
		// Replaying the key answers the same payment without a second session.
		again, err := h.svc.Create(ctx, u, "pay-svc-1", api.CreatePaymentRequest{Gateway: "stripe", Amount: 2500, Currency: "USD"})
		if err != nil || !again.Replayed || again.Payment.ID != p.ID || again.RedirectURL != c.RedirectURL || h.stripe.calls != 1 {
			t.Fatalf("replay %+v, %v (stripe calls %d)", again, err, h.stripe.calls)
		}
		if _, err := h.svc.Create(ctx, u, "pay-svc-1", api.CreatePaymentRequest{Gateway: "stripe", Amount: 2600, Currency: "USD"}); code(err) != api.CodeConflict {
			t.Fatalf("key reused with another amount: %v", err)
		}

		// Pending: a completed session whose payment is still processing changes nothing.
		res, err := h.notify("stripe", stripeEvent(t, "evt_pending", "checkout.session.completed", p, 2500, "unpaid", h.clock.Now()))
		if err != nil || res.Status != api.NotificationIgnored {
			t.Fatalf("unpaid: %+v, %v", res, err)
		}
		// A delivery signed too long ago is a replay: refused, nothing written.
		old := stripeEvent(t, "evt_paid", "checkout.session.completed", p, 2500, "paid", h.clock.Now().Add(-6*time.Minute))
		if _, err := h.notify("stripe", old); code(err) != api.CodeInvalidSignature {
			t.Fatalf("stale delivery: %v", err)
		}
		if h.count("payment_notifications") != 0 || h.count("ledger_entries") != 0 {
			t.Fatal("a refused delivery wrote rows")
		}
		// The same event with the wrong amount is refused and credits nothing.
		if _, err := h.notify("stripe", stripeEvent(t, "evt_paid", "checkout.session.completed", p, 2499, "paid", h.clock.Now())); code(err) != api.CodeInvalidSignature {
			t.Fatalf("amount mismatch: %v", err)
		}
		if h.count("payment_notifications") != 0 || h.count("ledger_entries") != 0 {
			t.Fatal("a mismatched delivery wrote rows")
		}

		good := stripeEvent(t, "evt_paid", "checkout.session.completed", p, 2500, "paid", h.clock.Now())
		res, err = h.notify("stripe", good)
		if err != nil || res.Status != api.NotificationCredited || res.Payment.Status != api.PaymentPaid {
			t.Fatalf("paid: %+v, %v", res, err)
		}
		// The same event again, a later delivery of it inside the window, and another event
		// for the same session are all duplicates.
		h.clock.Add(4 * time.Minute)
		for _, d := range []payment.Delivery{good,
			stripeEvent(t, "evt_paid", "checkout.session.completed", p, 2500, "paid", h.clock.Now()),
			stripeEvent(t, "evt_async", "checkout.session.async_payment_succeeded", p, 2500, "paid", h.clock.Now()),
		} {
			res, err := h.notify("stripe", d)
			if err != nil || res.Status != api.NotificationDuplicate {
				t.Fatalf("second delivery: %+v, %v", res, err)
			}
		}
		// An expiry after payment leaves it paid.
		res, err = h.notify("stripe", stripeEvent(t, "evt_exp", "checkout.session.expired", p, 2500, "unpaid", h.clock.Now()))
		if err != nil || res.Status != api.NotificationIgnored {
			t.Fatalf("expired after paid: %+v, %v", res, err)
		}
		h.clock.Add(2 * time.Minute)
		if _, err := h.notify("stripe", good); code(err) != api.CodeInvalidSignature {
			t.Fatalf("the first delivery replayed after the window: %v", err)
		}
		got, err := h.svc.Get(ctx, ops.Viewer{UserID: u}, p.ID)
		if err != nil || got.Status != api.PaymentPaid || got.LedgerEntryID == nil || got.PaidAt == nil {
			t.Fatalf("payment %+v, %v", got, err)
		}
		if b := h.balance(u, "USD"); b != 2500 {
			t.Fatalf("balance %d, want 2500", b)
		}
		if n := h.count("ledger_entries"); n != 1 {
			t.Fatalf("%d ledger entries, want 1", n)
		}
		if n := h.hooksFor(u); n != 1 {
			t.Fatalf("OnCredited called %d times, want 1", n)
		}
	})
}

func TestPaymentServiceStripeExpiryAndFailure(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		h := newHarness(t, tdb)
		ctx := context.Background()
		u := h.user(api.RoleCustomer, nil)
		c, err := h.svc.Create(ctx, u, "pay-svc-exp", api.CreatePaymentRequest{Gateway: "stripe", Amount: 900, Currency: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.notify("stripe", stripeEvent(t, "evt_expired", "checkout.session.expired", c.Payment, 900, "unpaid", h.clock.Now()))
		if err != nil || res.Status != api.NotificationUpdated || res.Payment.Status != api.PaymentExpired {
			t.Fatalf("expired: %+v, %v", res, err)
		}
		if h.hooks.Load() != 0 || h.count("ledger_entries") != 0 {
			t.Fatal("an expiry credited")
		}

		// Stripe refusing the session: 503, the payment is failed, the same key answers the same.
		h.stripe.mu.Lock()
		h.stripe.status = http.StatusBadRequest
		h.stripe.mu.Unlock()
		_, err = h.svc.Create(ctx, u, "pay-svc-fail", api.CreatePaymentRequest{Gateway: "stripe", Amount: 10, Currency: "USD"})
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != api.CodeUnavailable || !strings.Contains(e.Message, "Amount must be at least 50 cents") {
			t.Fatalf("stripe refusal: %v", err)
		}
		_, err = h.svc.Create(ctx, u, "pay-svc-fail", api.CreatePaymentRequest{Gateway: "stripe", Amount: 10, Currency: "USD"})
		if code(err) != api.CodeUnavailable {
			t.Fatalf("replayed refusal: %v", err)
		}
		ps, total, err := h.svc.List(ctx, ops.Viewer{UserID: u}, payment.ListFilter{Status: api.PaymentFailed, Page: 1, PerPage: 10})
		if err != nil || total != 1 || ps[0].Failure == "" {
			t.Fatalf("failed payments %+v %d %v", ps, total, err)
		}
	})
}

func TestPaymentServiceConcurrentDeliveries(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		h := newHarness(t, tdb)
		ctx := context.Background()
		u := h.user(api.RoleCustomer, nil)
		c, err := h.svc.Create(ctx, u, "pay-svc-conc", api.CreatePaymentRequest{Gateway: "stripe", Amount: 777, Currency: "GBP"})
		if err != nil {
			t.Fatal(err)
		}
		// 10 deliveries of one event and 10 distinct events for the same payment, at once.
		deliveries := make([]payment.Delivery, 0, 20)
		for i := range 10 {
			deliveries = append(deliveries, stripeEvent(t, "evt_same", "checkout.session.completed", c.Payment, 777, "paid", h.clock.Now()))
			deliveries = append(deliveries, stripeEvent(t, "evt_other_"+string(rune('a'+i)), "checkout.session.completed", c.Payment, 777, "paid", h.clock.Now()))
		}
		var (
			wg       sync.WaitGroup
			credited atomic.Int64
			failures atomic.Int64
		)
		for _, d := range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := h.notify("stripe", d)
				switch {
				case err != nil:
					t.Errorf("delivery: %v", err)
					failures.Add(1)
				case res.Status == api.NotificationCredited:
					credited.Add(1)
				case res.Status != api.NotificationDuplicate:
					t.Errorf("status %q", res.Status)
				}
			}()
		}
		wg.Wait()
		if credited.Load() != 1 || failures.Load() != 0 {
			t.Fatalf("credited %d times, %d failures", credited.Load(), failures.Load())
		}
		if b, n, hooks := h.balance(u, "GBP"), h.count("ledger_entries"), h.hooksFor(u); b != 777 || n != 1 || hooks != 1 {
			t.Fatalf("balance %d, %d entries, %d hook calls", b, n, hooks)
		}
		if n := h.count("payment_notifications"); n != 11 {
			t.Fatalf("%d notifications recorded, want 11 distinct events", n)
		}
	})
}

func TestPaymentServiceAlipay(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		h := newHarness(t, tdb)
		ctx := context.Background()
		u := h.user(api.RoleCustomer, nil)
		if _, err := h.svc.Create(ctx, u, "ali-usd", api.CreatePaymentRequest{Gateway: "alipay", Amount: 100, Currency: "USD"}); code(err) != api.CodeCurrencyMismatch {
			t.Fatalf("alipay in USD: %v", err)
		}
		c, err := h.svc.Create(ctx, u, "ali-1", api.CreatePaymentRequest{Gateway: "alipay", Amount: 1234, Currency: "CNY"})
		if err != nil {
			t.Fatal(err)
		}
		// The redirect is the gateway with the signed page-pay parameters.
		ru, err := url.Parse(c.RedirectURL)
		if err != nil || ru.Host != "openapi.alipay.example" {
			t.Fatalf("redirect %q: %v", c.RedirectURL, err)
		}
		q := ru.Query()
		var biz map[string]string
		if err := json.Unmarshal([]byte(q.Get("biz_content")), &biz); err != nil {
			t.Fatal(err)
		}
		if biz["out_trade_no"] != c.Payment.ID || biz["total_amount"] != "12.34" || biz["product_code"] != "FAST_INSTANT_TRADE_PAY" ||
			q.Get("method") != "alipay.trade.page.pay" || q.Get("notify_url") != "https://panel.example.com"+api.PathAlipayNotify {
			t.Fatalf("page-pay params %v", q)
		}

		at := h.clock.Now()
		// Older than the 1 h tolerance: a replay.
		stale := h.alipayNotify("n-1", c.Payment.ID, "2024000001", "TRADE_SUCCESS", "12.34", at.Add(-61*time.Minute))
		if _, err := h.notify("alipay", stale); code(err) != api.CodeInvalidSignature {
			t.Fatalf("stale notify: %v", err)
		}
		h.clock.Add(-30 * time.Minute) // the same delivery is fresh for a clock 30 min earlier
		if _, err := h.notify("alipay", h.alipayNotify("n-0", c.Payment.ID, "2024000001", "WAIT_BUYER_PAY", "12.34", at.Add(-61*time.Minute))); err != nil {
			t.Fatalf("waiting notify inside the window: %v", err)
		}
		h.clock.Add(30 * time.Minute)
		if _, err := h.notify("alipay", h.alipayNotify("n-2", c.Payment.ID, "2024000001", "TRADE_SUCCESS", "12.35", at)); code(err) != api.CodeInvalidSignature {
			t.Fatalf("wrong amount: %v", err)
		}
		if h.count("ledger_entries") != 0 || h.count("payment_notifications") != 0 {
			t.Fatal("refused notifications wrote rows")
		}
		res, err := h.notify("alipay", h.alipayNotify("n-3", c.Payment.ID, "2024000001", "TRADE_SUCCESS", "12.34", at))
		if err != nil || res.Status != api.NotificationCredited || res.Payment.ExternalID != "2024000001" {
			t.Fatalf("paid: %+v, %v", res, err)
		}
		res, err = h.notify("alipay", h.alipayNotify("n-4", c.Payment.ID, "2024000001", "TRADE_FINISHED", "12.34", at))
		if err != nil || res.Status != api.NotificationDuplicate {
			t.Fatalf("finished after success: %+v, %v", res, err)
		}
		if b, hooks := h.balance(u, "CNY"), h.hooksFor(u); b != 1234 || hooks != 1 {
			t.Fatalf("balance %d, hooks %d", b, hooks)
		}
	})
}

func TestPaymentServiceManual(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, tdb testenv.Database) {
		h := newHarness(t, tdb)
		ctx := context.Background()
		admin := h.user(api.RoleAdmin, nil)
		resl := h.user(api.RoleReseller, nil)
		mine := h.user(api.RoleCustomer, &resl)
		other := h.user(api.RoleCustomer, nil)
		req := api.ManualPaymentRequest{UserID: mine, Amount: 5000, Currency: "USD", Reason: "bank transfer 42"}
		for _, tc := range []struct {
			name     string
			v        ops.Viewer
			key      string
			req      api.ManualPaymentRequest
			code     string
			replayed bool
		}{
			{"admin", ops.Viewer{UserID: admin, Admin: true}, "m-1", req, "", false},
			{"admin replay", ops.Viewer{UserID: admin, Admin: true}, "m-1", req, "", true},
			{"admin key reused", ops.Viewer{UserID: admin, Admin: true}, "m-1", api.ManualPaymentRequest{UserID: mine, Amount: 1, Currency: "USD", Reason: "x"}, api.CodeConflict, false},
			{"reseller own customer", ops.Viewer{UserID: resl, Reseller: true}, "m-1", req, "", false},
			{"reseller other customer", ops.Viewer{UserID: resl, Reseller: true}, "m-2", api.ManualPaymentRequest{UserID: other, Amount: 1, Currency: "USD", Reason: "x"}, api.CodeNotFound, false},
			{"reseller itself", ops.Viewer{UserID: resl, Reseller: true}, "m-3", api.ManualPaymentRequest{UserID: resl, Amount: 1, Currency: "USD", Reason: "x"}, api.CodeNotFound, false},
			{"customer", ops.Viewer{UserID: other}, "m-4", req, api.CodeForbidden, false},
			{"no reason", ops.Viewer{UserID: admin, Admin: true}, "m-5", api.ManualPaymentRequest{UserID: mine, Amount: 1, Currency: "USD", Reason: "  "}, api.CodeValidation, false},
			{"unknown user", ops.Viewer{UserID: admin, Admin: true}, "m-6", api.ManualPaymentRequest{UserID: uuid.NewString(), Amount: 1, Currency: "USD", Reason: "x"}, api.CodeNotFound, false},
		} {
			p, replayed, err := h.svc.Manual(ctx, tc.v, tc.key, tc.req)
			if code(err) != tc.code || (tc.code == "" && (err != nil || replayed != tc.replayed || p.Status != api.PaymentPaid)) {
				t.Fatalf("%s: %+v replayed=%v err=%v, want code %q", tc.name, p, replayed, err, tc.code)
			}
		}
		if b, hooks := h.balance(mine, "USD"), h.hooksFor(mine); b != 10000 || hooks != 2 {
			t.Fatalf("balance %d, hooks %d; want 10000 and 2 (two payments, one replay)", b, hooks)
		}
		if h.count("payments") != 2 || h.count("ledger_entries") != 2 {
			t.Fatal("row counts")
		}
		// Visibility: the customer, its reseller and admins see them; another customer does not.
		for _, tc := range []struct {
			v    ops.Viewer
			want int64
		}{{ops.Viewer{UserID: mine}, 2}, {ops.Viewer{UserID: resl, Reseller: true}, 2}, {ops.Viewer{UserID: admin, Admin: true}, 2}, {ops.Viewer{UserID: other}, 0}} {
			_, total, err := h.svc.List(ctx, tc.v, payment.ListFilter{Page: 1, PerPage: 20})
			if err != nil || total != tc.want {
				t.Fatalf("%+v sees %d payments (%v), want %d", tc.v, total, err, tc.want)
			}
		}
	})
}
