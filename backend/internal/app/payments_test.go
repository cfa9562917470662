package app_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// payStripe stands in for Stripe's API on loopback: POST /v1/checkout/sessions answered as
// Stripe does, after checking the bearer secret key, the Idempotency-Key and the form.
type payStripe struct {
	t       testing.TB
	key     string
	srv     *httptest.Server
	calls   atomic.Int64
	refuse  atomic.Bool
	mu      sync.Mutex
	session map[string]map[string]any // by Idempotency-Key
}

func newPayStripe(t testing.TB) *payStripe {
	s := &payStripe{t: t, key: "sk_test_" + testenv.Random(24), session: map[string]map[string]any{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *payStripe) serve(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	w.Header().Set("Content-Type", "application/json")
	refuse := func(status int, msg string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": "invalid_request_error", "message": msg}})
	}
	if s.refuse.Load() {
		refuse(http.StatusBadRequest, "This API call cannot be made with a publishable API key.")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/checkout/sessions" {
		s.t.Errorf("stripe fake: %s %s", r.Method, r.URL.Path)
		refuse(http.StatusNotFound, "Unrecognized request URL")
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.key {
		s.t.Errorf("stripe fake: Authorization %q", got)
		refuse(http.StatusUnauthorized, "Invalid API Key provided")
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		s.t.Errorf("stripe fake: form %v, Content-Type %q", err, r.Header.Get("Content-Type"))
	}
	f := r.PostForm
	id := f.Get("client_reference_id")
	key := r.Header.Get("Idempotency-Key")
	checks := map[string]string{
		"mode": "payment", "metadata[payment_id]": id, "line_items[0][quantity]": "1",
		"success_url": "https://pay.example.com/payments/" + id + "?checkout=success",
		"cancel_url":  "https://pay.example.com/payments/" + id + "?checkout=cancel",
	}
	for k, v := range checks {
		if f.Get(k) != v {
			s.t.Errorf("stripe fake: %s = %q, want %q", k, f.Get(k), v)
		}
	}
	if id == "" || !strings.Contains(key, id) {
		s.t.Errorf("stripe fake: Idempotency-Key %q for payment %q", key, id)
	}
	cur, amount := f.Get("line_items[0][price_data][currency]"), f.Get("line_items[0][price_data][unit_amount]")
	if n, err := strconv.ParseInt(amount, 10, 64); err != nil || n <= 0 || cur != strings.ToLower(cur) || len(cur) != 3 ||
		f.Get("line_items[0][price_data][product_data][name]") == "" {
		s.t.Errorf("stripe fake: line item currency %q amount %q name %q", cur, amount, f.Get("line_items[0][price_data][product_data][name]"))
	}
	s.mu.Lock()
	sess, ok := s.session[key]
	if !ok {
		sid := "cs_test_" + testenv.Random(40)
		sess = map[string]any{"id": sid, "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/" + sid,
			"mode": "payment", "client_reference_id": id, "currency": cur, "payment_status": "unpaid", "status": "open"}
		s.session[key] = sess
	}
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(sess)
}

// payGateways configures the gateways for an env; nil parts stay unconfigured.
type payGateways struct {
	stripe        *payStripe
	webhookSecret string
	app, alipay   *rsa.PrivateKey // the panel's app key, and Alipay's (signs notifications)
	appID         string
}

func payPEM(t testing.TB, k any) string {
	t.Helper()
	var b *pem.Block
	switch k := k.(type) {
	case *rsa.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		b = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		b = &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	}
	return string(pem.EncodeToMemory(b))
}

func newPayGateways(t testing.TB, stripe, alipay bool) *payGateways {
	t.Helper()
	g := &payGateways{webhookSecret: "whsec_" + testenv.Random(32), appID: "20210011" + testenv.Random(8)}
	if stripe {
		g.stripe = newPayStripe(t)
	}
	if alipay {
		for _, k := range []**rsa.PrivateKey{&g.app, &g.alipay} {
			var err error
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				t.Fatal(err)
			}
		}
	}
	return g
}

func (g *payGateways) config(t testing.TB) func(*config.Config) {
	return func(c *config.Config) {
		c.PublicURL = "https://pay.example.com"
		if g.stripe != nil {
			c.Payments.Stripe.SecretKey = g.stripe.key
			c.Payments.Stripe.WebhookSecret = g.webhookSecret
			c.Payments.Stripe.APIBase = g.stripe.srv.URL
		}
		if g.app != nil {
			c.Payments.Alipay.AppID = g.appID
			c.Payments.Alipay.PrivateKey = payPEM(t, g.app)
			c.Payments.Alipay.PublicKey = payPEM(t, &g.alipay.PublicKey)
			c.Payments.Alipay.Gateway = "https://openapi.alipay.example/gateway.do"
		}
	}
}

// payCall sends body with headers as c (session cookie if any) and returns the answer; safe
// in goroutines (errors are returned).
func payCall(c *client, method, path string, hdr map[string]string, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, c.e.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "nimbo_session", Value: c.cookie})
	}
	resp, err := c.e.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

func payMust(t testing.TB, c *client, want int, method, path string, hdr map[string]string, body string, out any) http.Header {
	t.Helper()
	st, h, b, err := payCall(c, method, path, hdr, body)
	if err != nil {
		t.Fatal(err)
	}
	if st != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	return h
}

func payErr(t testing.TB, c *client, method, path string, hdr map[string]string, body string) (int, string) {
	t.Helper()
	st, _, b, err := payCall(c, method, path, hdr, body)
	if err != nil {
		t.Fatal(err)
	}
	var e api.Error
	if st >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: %d body %q is not a JSON error", method, path, st, b)
		}
	}
	return st, e.Error.Code
}

func jsonHdr(key string) map[string]string {
	h := map[string]string{"Content-Type": "application/json"}
	if key != "" {
		h[api.HeaderIdempotencyKey] = key
	}
	return h
}

// stripeDelivery is a webhook body for a Checkout Session event and its signature header.
func (g *payGateways) stripeDelivery(t testing.TB, eventID, typ string, p api.Payment, amount int64, currency string, at time.Time) (string, map[string]string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": eventID, "object": "event", "api_version": "2024-06-20", "type": typ,
		"data": map[string]any{"object": map[string]any{"id": p.ExternalID, "object": "checkout.session",
			"client_reference_id": p.ID, "metadata": map[string]string{"payment_id": p.ID}, "amount_total": amount,
			"currency": strings.ToLower(currency), "payment_status": "paid", "status": "complete"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), map[string]string{"Content-Type": "application/json; charset=utf-8",
		"Stripe-Signature": stripeSign(b, g.webhookSecret, at)}
}

// stripeSign signs as Stripe does, written here from Stripe's documentation rather than
// through the code under test.
func stripeSign(body []byte, secret string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmacSHA256([]byte(secret), append([]byte(ts+"."), body...))
	return "t=" + ts + ",v1=" + mac
}

// alipayContent is Alipay's signing string: sorted "k=v" joined by "&", without empty
// values and the excluded keys.
func alipayContent(v url.Values, exclude ...string) string {
	var keys []string
	for k := range v {
		skip := v.Get(k) == ""
		for _, x := range exclude {
			skip = skip || k == x
		}
		if !skip {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v.Get(k)
	}
	return strings.Join(parts, "&")
}

func (g *payGateways) alipayForm(t testing.TB, mutate func(url.Values), notifyID, paymentID, status, amount string, at time.Time) string {
	t.Helper()
	v := url.Values{}
	v.Set("notify_time", at.In(time.FixedZone("UTC+8", 8*3600)).Format("2006-01-02 15:04:05"))
	v.Set("notify_type", "trade_status_sync")
	v.Set("notify_id", notifyID)
	v.Set("app_id", g.appID)
	v.Set("auth_app_id", g.appID)
	v.Set("charset", "utf-8")
	v.Set("version", "1.0")
	v.Set("trade_no", "2024"+paymentID[:8])
	v.Set("out_trade_no", paymentID)
	v.Set("trade_status", status)
	v.Set("total_amount", amount)
	v.Set("buyer_pay_amount", amount)
	v.Set("subject", "Nimbo wallet top-up")
	v.Set("gmt_payment", at.In(time.FixedZone("UTC+8", 8*3600)).Format("2006-01-02 15:04:05"))
	v.Set("fund_bill_list", `[{"amount":"`+amount+`","fundChannel":"ALIPAYACCOUNT"}]`)
	sum := sha256.Sum256([]byte(alipayContent(v, "sign", "sign_type")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, g.alipay, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	v.Set("sign_type", "RSA2")
	if mutate != nil {
		mutate(v)
	}
	return v.Encode()
}

var formHdr = map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

func (e *env) walletBalance(userID, currency string) int64 {
	e.t.Helper()
	var w store.Wallet
	err := e.app.DB().Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error
	if store.IsNotFound(err) {
		return 0
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return w.Balance
}

// countCredits counts the OnCredited hook's calls per user, then runs the hook the panel
// wired (the billing engine's settle).
func countCredits(e *env) *sync.Map {
	var (
		m    sync.Map
		next atomic.Pointer[func(context.Context, string)]
	)
	prev := e.app.Payments().SetOnCredited(func(ctx context.Context, userID string) {
		n, _ := m.LoadOrStore(userID, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if f := next.Load(); f != nil {
			(*f)(ctx, userID)
		}
	})
	if prev != nil {
		next.Store(&prev)
	}
	return &m
}

func credits(m *sync.Map, userID string) int64 {
	n, ok := m.Load(userID)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

func TestPaymentsGatewaysListed(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		for _, tc := range []struct {
			name           string
			stripe, alipay bool
			want           string
		}{
			{"none configured", false, false, "manual"},
			{"all configured", true, true, "manual stripe alipay"},
		} {
			g := newPayGateways(t, tc.stripe, tc.alipay)
			e := newEnv(t, db, g.config(t))
			cust := e.login("gw-"+testenv.Random(6)+"@example.com", api.RoleCustomer)
			var list api.PaymentGatewayList
			payMust(t, cust, 200, "GET", "/api/v1/payments/gateways", nil, "", &list)
			var names []string
			for _, gw := range list.Items {
				names = append(names, gw.Name)
				if gw.Checkout != (gw.Name != api.GatewayManual) {
					t.Errorf("%s: checkout %v", gw.Name, gw.Checkout)
				}
				if gw.Name == api.GatewayAlipay && (len(gw.Currencies) != 1 || gw.Currencies[0] != "CNY") {
					t.Errorf("alipay currencies %v", gw.Currencies)
				}
			}
			if strings.Join(names, " ") != tc.want {
				t.Errorf("%s: gateways %v, want %s", tc.name, names, tc.want)
			}
			if st, code := payErr(t, e.anon(), "GET", "/api/v1/payments/gateways", nil, ""); st != 401 {
				t.Errorf("anonymous: %d %s", st, code)
			}
		}
	})
}

func TestPaymentsStripeCheckoutAndWebhook(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		g := newPayGateways(t, true, false)
		e := newEnv(t, db, g.config(t))
		hooks := countCredits(e)
		cust := e.login("stripe-payer@example.com", api.RoleCustomer)
		other := e.login("stripe-other@example.com", api.RoleCustomer)
		admin := e.login("stripe-admin@example.com", api.RoleAdmin)

		var cr api.CreatePaymentResponse
		body := `{"gateway":"stripe","amount":1999,"currency":"EUR"}`
		payMust(t, cust, 201, "POST", "/api/v1/payments", jsonHdr("co-1"), body, &cr)
		p := cr.Payment
		if p.Status != api.PaymentCreated || p.Gateway != "stripe" || p.UserID != cust.user.ID || p.ExternalID == "" ||
			cr.RedirectURL != "https://checkout.stripe.com/c/pay/"+p.ExternalID || g.stripe.calls.Load() != 1 {
			t.Fatalf("checkout %+v (stripe calls %d)", cr, g.stripe.calls.Load())
		}
		var again api.CreatePaymentResponse
		h := payMust(t, cust, 200, "POST", "/api/v1/payments", jsonHdr("co-1"), body, &again)
		if h.Get(api.HeaderIdempotentReplayed) != "true" || again.Payment.ID != p.ID || again.RedirectURL != cr.RedirectURL {
			t.Fatalf("replay %+v", again)
		}
		if st, code := payErr(t, cust, "POST", "/api/v1/payments", jsonHdr("co-1"), `{"gateway":"stripe","amount":2000,"currency":"EUR"}`); st != 409 {
			t.Fatalf("key reused: %d %s", st, code)
		}

		hook := "/api/v1/payments/stripe/webhook"
		now := time.Now()
		valid, validHdr := g.stripeDelivery(t, "evt_paid_1", "checkout.session.completed", p, 1999, "EUR", now)
		for _, tc := range []struct {
			name string
			body string
			hdr  map[string]string
			code string
		}{
			{"tampered amount", strings.Replace(valid, `"amount_total":1999`, `"amount_total":999999`, 1), validHdr, api.CodeInvalidSignature},
			{"tampered payment id", strings.Replace(valid, p.ID, other.user.ID, 1), validHdr, api.CodeInvalidSignature},
			{"no signature", valid, map[string]string{"Content-Type": "application/json"}, api.CodeInvalidSignature},
			{"wrong secret", valid, map[string]string{"Content-Type": "application/json", "Stripe-Signature": stripeSign([]byte(valid), "whsec_wrong", now)}, api.CodeInvalidSignature},
			{"replayed outside the tolerance", valid, map[string]string{"Content-Type": "application/json",
				"Stripe-Signature": stripeSign([]byte(valid), g.webhookSecret, now.Add(-10*time.Minute))}, api.CodeInvalidSignature},
		} {
			if st, code := payErr(t, e.anon(), "POST", hook, tc.hdr, tc.body); st != 400 || code != tc.code {
				t.Errorf("%s: %d %s, want 400 %s", tc.name, st, code, tc.code)
			}
		}
		// Signed, but for another amount or currency than the payment: refused, nothing credited.
		for _, m := range []struct {
			amount   int64
			currency string
		}{{1998, "EUR"}, {1999, "USD"}} {
			b, hdr := g.stripeDelivery(t, "evt_mismatch", "checkout.session.completed", p, m.amount, m.currency, now)
			if st, code := payErr(t, e.anon(), "POST", hook, hdr, b); st != 400 {
				t.Errorf("mismatch %v: %d %s", m, st, code)
			}
		}
		// Other event types are acknowledged and ignored.
		b, hdr := g.stripeDelivery(t, "evt_other", "customer.created", p, 1999, "EUR", now)
		var res api.NotificationResult
		payMust(t, e.anon(), 200, "POST", hook, hdr, b, &res)
		if res.Status != api.NotificationIgnored {
			t.Fatalf("other event: %+v", res)
		}
		if n1, n2 := e.count("ledger_entries"), e.count("payment_notifications"); n1 != 0 || n2 != 0 {
			t.Fatalf("refused deliveries wrote %d entries, %d notifications", n1, n2)
		}

		// 10 concurrent deliveries of the valid event: one credit.
		pc := e.anon().pooled(t)
		var (
			wg       sync.WaitGroup
			credited atomic.Int64
		)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, b, err := payCall(pc, "POST", hook, validHdr, valid)
				var r api.NotificationResult
				if err != nil || st != 200 || json.Unmarshal(b, &r) != nil {
					t.Errorf("delivery: %d %s %v", st, b, err)
					return
				}
				switch r.Status {
				case api.NotificationCredited:
					credited.Add(1)
				case api.NotificationDuplicate:
				default:
					t.Errorf("delivery status %q", r.Status)
				}
			}()
		}
		wg.Wait()
		if credited.Load() != 1 {
			t.Fatalf("credited %d times", credited.Load())
		}
		// The same event again, and a second event for the same payment: duplicates.
		payMust(t, e.anon(), 200, "POST", hook, validHdr, valid, &res)
		if res.Status != api.NotificationDuplicate {
			t.Fatalf("same event again: %+v", res)
		}
		b, hdr = g.stripeDelivery(t, "evt_paid_2", "checkout.session.async_payment_succeeded", p, 1999, "EUR", time.Now())
		payMust(t, e.anon(), 200, "POST", hook, hdr, b, &res)
		if res.Status != api.NotificationDuplicate || res.PaymentID != p.ID {
			t.Fatalf("second event: %+v", res)
		}
		if bal, n, c := e.walletBalance(cust.user.ID, "EUR"), e.count("ledger_entries"), credits(hooks, cust.user.ID); bal != 1999 || n != 1 || c != 1 {
			t.Fatalf("balance %d, %d entries, %d OnCredited calls; want 1999, 1, 1", bal, n, c)
		}

		var got api.Payment
		payMust(t, cust, 200, "GET", "/api/v1/payments/"+p.ID, nil, "", &got)
		if got.Status != api.PaymentPaid || got.LedgerEntryID == "" || got.PaidAt == nil {
			t.Fatalf("payment %+v", got)
		}
		var entries api.List[api.LedgerEntry]
		payMust(t, cust, 200, "GET", "/api/v1/wallets/EUR/entries", nil, "", &entries)
		if len(entries.Items) != 1 || entries.Items[0].ID != got.LedgerEntryID || entries.Items[0].Kind != api.EntryTopup ||
			entries.Items[0].IdempotencyKey != "payment:"+p.ID {
			t.Fatalf("ledger %+v", entries.Items)
		}
		// Another customer cannot see it; admins can.
		if st, code := payErr(t, other, "GET", "/api/v1/payments/"+p.ID, nil, ""); st != 404 {
			t.Fatalf("other customer: %d %s", st, code)
		}
		var list api.List[api.Payment]
		payMust(t, other, 200, "GET", "/api/v1/payments", nil, "", &list)
		if list.Total != 0 {
			t.Fatalf("other customer lists %+v", list)
		}
		payMust(t, admin, 200, "GET", "/api/v1/payments/"+p.ID, nil, "", &got)
		payMust(t, admin, 200, "GET", "/api/v1/payments?status=paid&user_id="+cust.user.ID, nil, "", &list)
		if list.Total != 1 || list.Items[0].ID != p.ID {
			t.Fatalf("admin list %+v", list)
		}
	})
}

func TestPaymentsStripeUnavailable(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		g := newPayGateways(t, true, false)
		e := newEnv(t, db, g.config(t))
		cust := e.login("stripe-down@example.com", api.RoleCustomer)
		g.stripe.refuse.Store(true)
		for range 2 { // the replay answers the same
			st, _, b, err := payCall(cust, "POST", "/api/v1/payments", jsonHdr("down-1"), `{"gateway":"stripe","amount":500,"currency":"USD"}`)
			var ae api.Error
			if err != nil || st != 503 || json.Unmarshal(b, &ae) != nil || ae.Error.Code != api.CodeUnavailable ||
				!strings.Contains(ae.Error.Message, "publishable API key") {
				t.Fatalf("stripe refusing: %d %s %v", st, b, err)
			}
		}
		if g.stripe.calls.Load() != 1 {
			t.Fatalf("stripe called %d times", g.stripe.calls.Load())
		}
		var list api.List[api.Payment]
		payMust(t, cust, 200, "GET", "/api/v1/payments?status=failed", nil, "", &list)
		if list.Total != 1 || list.Items[0].Failure == "" || e.count("ledger_entries") != 0 {
			t.Fatalf("failed payment %+v", list)
		}
	})
}

func TestPaymentsAlipayCheckoutAndNotify(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		g := newPayGateways(t, false, true)
		e := newEnv(t, db, g.config(t))
		hooks := countCredits(e)
		cust := e.login("alipay-payer@example.com", api.RoleCustomer)

		if st, code := payErr(t, cust, "POST", "/api/v1/payments", jsonHdr("ali-usd"), `{"gateway":"alipay","amount":100,"currency":"USD"}`); st != 422 || code != api.CodeCurrencyMismatch {
			t.Fatalf("alipay in USD: %d %s", st, code)
		}
		if st, code := payErr(t, cust, "POST", "/api/v1/payments", jsonHdr("ali-stripe"), `{"gateway":"stripe","amount":100,"currency":"USD"}`); st != 422 || code != api.CodeGatewayUnavailable {
			t.Fatalf("stripe disabled: %d %s", st, code)
		}
		var cr api.CreatePaymentResponse
		payMust(t, cust, 201, "POST", "/api/v1/payments", jsonHdr("ali-1"), `{"gateway":"alipay","amount":8800,"currency":"CNY"}`, &cr)
		p := cr.Payment

		// The redirect carries the page-pay parameters signed with the app key.
		u, err := url.Parse(cr.RedirectURL)
		if err != nil || u.Scheme != "https" || u.Host != "openapi.alipay.example" || u.Path != "/gateway.do" {
			t.Fatalf("redirect %q", cr.RedirectURL)
		}
		q := u.Query()
		for k, want := range map[string]string{"app_id": g.appID, "method": "alipay.trade.page.pay", "format": "JSON",
			"charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
			"notify_url": "https://pay.example.com" + api.PathAlipayNotify} {
			if q.Get(k) != want {
				t.Errorf("%s = %q, want %q", k, q.Get(k), want)
			}
		}
		ts, err := time.ParseInLocation("2006-01-02 15:04:05", q.Get("timestamp"), time.FixedZone("UTC+8", 8*3600))
		if err != nil || time.Since(ts).Abs() > time.Minute {
			t.Errorf("timestamp %q (Asia/Shanghai): %v", q.Get("timestamp"), err)
		}
		var biz map[string]string
		if err := json.Unmarshal([]byte(q.Get("biz_content")), &biz); err != nil || biz["out_trade_no"] != p.ID ||
			biz["total_amount"] != "88.00" || biz["product_code"] != "FAST_INSTANT_TRADE_PAY" || biz["subject"] == "" {
			t.Fatalf("biz_content %q: %v", q.Get("biz_content"), err)
		}
		sig, err := base64.StdEncoding.DecodeString(q.Get("sign"))
		sum := sha256.Sum256([]byte(alipayContent(q, "sign")))
		if err != nil || rsa.VerifyPKCS1v15(&g.app.PublicKey, crypto.SHA256, sum[:], sig) != nil {
			t.Fatalf("the page-pay signature does not verify with the app's public key: %v", err)
		}

		notify := "/api/v1/payments/alipay/notify"
		now := time.Now()
		for _, tc := range []struct {
			name string
			body string
			hdr  map[string]string
			st   int
		}{
			{"tampered amount", g.alipayForm(t, func(v url.Values) { v.Set("total_amount", "8800.00") }, "n-t1", p.ID, "TRADE_SUCCESS", "88.00", now), formHdr, 400},
			{"extra unsigned param", g.alipayForm(t, func(v url.Values) { v.Set("refund_fee", "1.00") }, "n-t2", p.ID, "TRADE_SUCCESS", "88.00", now), formHdr, 400},
			{"signature removed", g.alipayForm(t, func(v url.Values) { v.Del("sign") }, "n-t3", p.ID, "TRADE_SUCCESS", "88.00", now), formHdr, 400},
			{"another app", g.alipayForm(t, nil, "n-t4", p.ID, "TRADE_SUCCESS", "88.00", now), formHdr, 0},
			{"replayed after the tolerance", g.alipayForm(t, nil, "n-t5", p.ID, "TRADE_SUCCESS", "88.00", now.Add(-25*time.Hour)), formHdr, 400},
			{"signed wrong amount", g.alipayForm(t, nil, "n-t6", p.ID, "TRADE_SUCCESS", "87.99", now), formHdr, 400},
			{"JSON body", `{"notify_id":"x"}`, map[string]string{"Content-Type": "application/json"}, 415},
		} {
			if tc.name == "another app" {
				appID := g.appID
				g.appID = "2021009999999999"
				tc.body = g.alipayForm(t, nil, "n-t4", p.ID, "TRADE_SUCCESS", "88.00", now)
				g.appID = appID
				tc.st = 400
			}
			if st, code := payErr(t, e.anon(), "POST", notify, tc.hdr, tc.body); st != tc.st || code == "" {
				t.Errorf("%s: %d %q, want %d", tc.name, st, code, tc.st)
			}
		}
		if n1, n2 := e.count("ledger_entries"), e.count("payment_notifications"); n1 != 0 || n2 != 0 {
			t.Fatalf("refused notifications wrote %d entries, %d notifications", n1, n2)
		}

		paid := g.alipayForm(t, nil, "n-paid", p.ID, "TRADE_SUCCESS", "88.00", now)
		for i, body := range []string{paid, paid, g.alipayForm(t, nil, "n-finished", p.ID, "TRADE_FINISHED", "88.00", now)} {
			st, h, b, err := payCall(e.anon(), "POST", notify, formHdr, body)
			if err != nil || st != 200 || string(b) != "success" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Fatalf("delivery %d: %d %q %q %v", i, st, h.Get("Content-Type"), b, err)
			}
		}
		var got api.Payment
		payMust(t, cust, 200, "GET", "/api/v1/payments/"+p.ID, nil, "", &got)
		if got.Status != api.PaymentPaid || got.ExternalID != "2024"+p.ID[:8] {
			t.Fatalf("payment %+v", got)
		}
		if bal, n, c := e.walletBalance(cust.user.ID, "CNY"), e.count("ledger_entries"), credits(hooks, cust.user.ID); bal != 8800 || n != 1 || c != 1 {
			t.Fatalf("balance %d, %d entries, %d OnCredited calls; want 8800, 1, 1", bal, n, c)
		}
	})
}

func TestPaymentsCreateRejectsBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		g := newPayGateways(t, true, false)
		e := newEnv(t, db, g.config(t))
		cust := e.login("bad-input-payer@example.com", api.RoleCustomer)
		for i, tc := range []struct {
			name string
			key  string
			ct   string
			body string
			st   int
			code string
		}{
			{"no idempotency key", "", "", `{"gateway":"stripe","amount":100,"currency":"USD"}`, 400, api.CodeBadIdempotencyKey},
			{"key with a space", "a b", "", `{"gateway":"stripe","amount":100,"currency":"USD"}`, 400, api.CodeBadIdempotencyKey},
			{"key too long", strings.Repeat("k", 129), "", `{"gateway":"stripe","amount":100,"currency":"USD"}`, 400, api.CodeBadIdempotencyKey},
			{"unknown field", "", "", `{"gateway":"stripe","amount":100,"currency":"USD","user_id":"x"}`, 400, api.CodeInvalidJSON},
			{"fractional amount", "", "", `{"gateway":"stripe","amount":1.5,"currency":"USD"}`, 400, api.CodeInvalidJSON},
			{"amount beyond int64", "", "", `{"gateway":"stripe","amount":99999999999999999999,"currency":"USD"}`, 400, api.CodeInvalidJSON},
			{"amount as a string", "", "", `{"gateway":"stripe","amount":"100","currency":"USD"}`, 400, api.CodeInvalidJSON},
			{"not JSON", "", "", `gateway=stripe`, 400, api.CodeInvalidJSON},
			{"form content type", "", "application/x-www-form-urlencoded", `{"gateway":"stripe","amount":100,"currency":"USD"}`, 415, "unsupported_media_type"},
			{"zero amount", "", "", `{"gateway":"stripe","amount":0,"currency":"USD"}`, 422, api.CodeValidation},
			{"negative amount", "", "", `{"gateway":"stripe","amount":-100,"currency":"USD"}`, 422, api.CodeValidation},
			{"amount over the ledger maximum", "", "", fmt.Sprintf(`{"gateway":"stripe","amount":%d,"currency":"USD"}`, billing.MaxAmount+1), 422, api.CodeValidation},
			{"amount over Stripe's maximum", "", "", `{"gateway":"stripe","amount":100000000,"currency":"USD"}`, 422, api.CodeValidation},
			{"lower-case currency", "", "", `{"gateway":"stripe","amount":100,"currency":"usd"}`, 422, api.CodeValidation},
			{"unknown currency", "", "", `{"gateway":"stripe","amount":100,"currency":"XYZ"}`, 422, api.CodeValidation},
			{"no gateway", "", "", `{"amount":100,"currency":"USD"}`, 422, api.CodeValidation},
			{"unknown gateway", "", "", `{"gateway":"paypal","amount":100,"currency":"USD"}`, 422, api.CodeValidation},
			{"manual gateway", "", "", `{"gateway":"manual","amount":100,"currency":"USD"}`, 422, api.CodeValidation},
			{"disabled gateway", "", "", `{"gateway":"alipay","amount":100,"currency":"CNY"}`, 422, api.CodeGatewayUnavailable},
		} {
			key := tc.key
			if key == "" && !strings.HasPrefix(tc.name, "no idempotency") {
				key = fmt.Sprintf("bad-%d", i)
			}
			hdr := jsonHdr(key)
			if tc.ct != "" {
				hdr["Content-Type"] = tc.ct
			}
			if st, code := payErr(t, cust, "POST", "/api/v1/payments", hdr, tc.body); st != tc.st || code != tc.code {
				t.Errorf("%s: %d %s, want %d %s", tc.name, st, code, tc.st, tc.code)
			}
		}
		// The notification endpoint of a disabled gateway refuses too.
		if st, code := payErr(t, e.anon(), "POST", "/api/v1/payments/alipay/notify", formHdr, "notify_id=1"); st != 422 || code != api.CodeGatewayUnavailable {
			t.Errorf("disabled notify: %d %s", st, code)
		}
		if st, code := payErr(t, cust, "GET", "/api/v1/payments?status=bogus", nil, ""); st != 422 || code != api.CodeValidation {
			t.Errorf("bad list filter: %d %s", st, code)
		}
		if st, code := payErr(t, cust, "GET", "/api/v1/payments/not-a-uuid", nil, ""); st != 404 {
			t.Errorf("bad id: %d %s", st, code)
		}
		if n1, n2, calls := e.count("payments"), e.count("ledger_entries"), g.stripe.calls.Load(); n1 != 0 || n2 != 0 || calls != 0 {
			t.Fatalf("bad input wrote %d payments, %d entries, called Stripe %d times", n1, n2, calls)
		}
	})
}

// payReseller turns c into a reseller, and each of customers into its customers.
func payReseller(t testing.TB, e *env, c *client, customers ...*client) {
	t.Helper()
	db := e.app.DB()
	if err := db.Model(&store.User{}).Where("id = ?", c.user.ID).Update("role", api.RoleReseller).Error; err != nil {
		t.Fatal(err)
	}
	e.app.Auth().DropCachedUser(c.user.ID)
	for _, cu := range customers {
		if err := db.Model(&store.User{}).Where("id = ?", cu.user.ID).Update("reseller_id", c.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		e.app.Auth().DropCachedUser(cu.user.ID)
	}
}

func TestPaymentsManualCredits(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		hooks := countCredits(e)
		admin := e.login("manual-admin@example.com", api.RoleAdmin)
		resl := e.login("manual-reseller@example.com", api.RoleCustomer)
		mine := e.login("manual-mine@example.com", api.RoleCustomer)
		theirs := e.login("manual-theirs@example.com", api.RoleCustomer)
		payReseller(t, e, resl, mine)
		body := func(u *client, amount int64, reason string) string {
			b, _ := json.Marshal(api.ManualPaymentRequest{UserID: u.user.ID, Amount: amount, Currency: "USD", Reason: reason})
			return string(b)
		}
		path := "/api/v1/payments/manual"
		for _, tc := range []struct {
			name   string
			caller *client
			key    string
			body   string
			st     int
			code   string
		}{
			{"admin credits a customer", admin, "man-1", body(theirs, 3000, "bank transfer 2024-117"), 201, ""},
			{"admin replays", admin, "man-1", body(theirs, 3000, "bank transfer 2024-117"), 200, ""},
			{"admin reuses the key", admin, "man-1", body(theirs, 3001, "bank transfer 2024-117"), 409, api.CodeConflict},
			{"reseller credits its customer", resl, "man-2", body(mine, 1500, "cash at the counter"), 201, ""},
			{"reseller and another's customer", resl, "man-3", body(theirs, 1500, "cash"), 404, api.CodeNotFound},
			{"reseller credits itself", resl, "man-4", body(resl, 1500, "cash"), 404, api.CodeNotFound},
			{"customer", mine, "man-5", body(mine, 1500, "cash"), 403, api.CodeForbidden},
			{"no reason", admin, "man-6", body(theirs, 100, ""), 422, api.CodeValidation},
			{"reason too long", admin, "man-7", body(theirs, 100, strings.Repeat("r", 501)), 422, api.CodeValidation},
			{"zero amount", admin, "man-8", body(theirs, 0, "x"), 422, api.CodeValidation},
			{"no key", admin, "", body(theirs, 100, "x"), 400, api.CodeBadIdempotencyKey},
			{"unknown field", admin, "man-9", `{"user_id":"` + theirs.user.ID + `","amount":1,"currency":"USD","reason":"x","kind":"topup"}`, 400, api.CodeInvalidJSON},
			{"unknown user", admin, "man-10", `{"user_id":"00000000-0000-4000-8000-000000000000","amount":1,"currency":"USD","reason":"x"}`, 404, api.CodeNotFound},
		} {
			st, h, b, err := payCall(tc.caller, "POST", path, jsonHdr(tc.key), tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if st != tc.st {
				t.Errorf("%s: %d %s, want %d", tc.name, st, b, tc.st)
				continue
			}
			if tc.code != "" {
				var ae api.Error
				if json.Unmarshal(b, &ae) != nil || ae.Error.Code != tc.code {
					t.Errorf("%s: %s, want %s", tc.name, b, tc.code)
				}
				continue
			}
			var p api.Payment
			if err := json.Unmarshal(b, &p); err != nil || p.Status != api.PaymentPaid || p.Gateway != api.GatewayManual ||
				p.CreatedBy != tc.caller.user.ID || p.LedgerEntryID == "" || (st == 200) != (h.Get(api.HeaderIdempotentReplayed) == "true") {
				t.Errorf("%s: %s %v", tc.name, b, err)
			}
		}
		if got := e.walletBalance(theirs.user.ID, "USD"); got != 3000 {
			t.Errorf("admin-credited balance %d, want 3000", got)
		}
		if got := e.walletBalance(mine.user.ID, "USD"); got != 1500 {
			t.Errorf("reseller-credited balance %d, want 1500", got)
		}
		if n1, n2 := e.count("payments"), e.count("ledger_entries"); n1 != 2 || n2 != 2 {
			t.Errorf("%d payments, %d entries, want 2 and 2", n1, n2)
		}
		if credits(hooks, theirs.user.ID) != 1 || credits(hooks, mine.user.ID) != 1 {
			t.Errorf("OnCredited calls %d and %d, want 1 each", credits(hooks, theirs.user.ID), credits(hooks, mine.user.ID))
		}
		// The entry names the actor and the reason.
		var entries api.List[api.LedgerEntry]
		payMust(t, mine, 200, "GET", "/api/v1/wallets/USD/entries", nil, "", &entries)
		if len(entries.Items) != 1 || entries.Items[0].ActorID != resl.user.ID || entries.Items[0].Reason != "cash at the counter" {
			t.Errorf("entries %+v", entries.Items)
		}
		// The reseller sees its customer's payment, not the other one.
		var list api.List[api.Payment]
		payMust(t, resl, 200, "GET", "/api/v1/payments", nil, "", &list)
		if list.Total != 1 || list.Items[0].UserID != mine.user.ID {
			t.Errorf("reseller list %+v", list)
		}
	})
}

// hmacSHA256 is hex(HMAC-SHA256(key, msg)).
func hmacSHA256(key, msg []byte) string {
	m := hmac.New(sha256.New, key)
	_, _ = m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}
