package payment

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
)

func TestPaymentDecimalRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		text     string
	}{
		{1234, "CNY", "12.34"},
		{1, "CNY", "0.01"},
		{100, "USD", "1.00"},
		{1050, "JPY", "1050"},
		{1, "KWD", "0.001"},
	} {
		if got := decimal(tc.amount, tc.currency); got != tc.text {
			t.Errorf("decimal(%d, %s) = %q, want %q", tc.amount, tc.currency, got, tc.text)
		}
		got, err := parseDecimal(tc.text, tc.currency)
		if err != nil || got != tc.amount {
			t.Errorf("parseDecimal(%q, %s) = %d, %v; want %d", tc.text, tc.currency, got, err, tc.amount)
		}
	}
}

func TestPaymentParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12.3", 1230, true},
		{"12", 1200, true},
		{"0.00", 0, true},
		{"007.50", 750, true},
		{"", 0, false},
		{"-1.00", 0, false},
		{"+1.00", 0, false},
		{"1.234", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"1e3", 0, false},
		{" 1.00", 0, false},
		{"1,00", 0, false},
		{"10000000000000.01", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, err := parseDecimal(tc.in, "CNY")
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseDecimal(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if _, err := parseDecimal("1.00", "XXX"); err == nil {
		t.Error("an unsupported currency parsed")
	}
}

func signatureCode(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestPaymentStripeSignature(t *testing.T) {
	const secret = "whsec_test_secret"
	body := []byte(`{"id":"evt_1","type":"ping"}`)
	now := time.Unix(1_700_000_000, 0)
	good := SignStripe(body, secret, now)
	_, goodSig, _ := strings.Cut(good, ",")
	other := SignStripe(body, "whsec_other", now)
	_, otherSig, _ := strings.Cut(other, ",")
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		ok     bool
	}{
		{"valid", good, body, now, true},
		{"valid at the tolerance edge", good, body, now.Add(5 * time.Minute), true},
		{"a second v1 for a rolled secret", "t=1700000000," + otherSig + "," + goodSig, body, now, true},
		{"v0 and unknown schemes ignored", good + ",v0=abcd,x=1", body, now, true},
		{"spaces around parts", "t=1700000000, " + goodSig, body, now, true},
		{"missing header", "", body, now, false},
		{"no v1", "t=1700000000", body, now, false},
		{"no t", goodSig, body, now, false},
		{"two t", "t=1700000000,t=1700000001," + goodSig, body, now, false},
		{"wrong secret", other, body, now, false},
		{"tampered body", good, []byte(`{"id":"evt_1","type":"pong"}`), now, false},
		{"timestamp changed", strings.Replace(good, "t=1700000000", "t=1700000001", 1), body, now, false},
		{"replayed after the tolerance", good, body, now.Add(5*time.Minute + time.Second), false},
		{"from the future beyond the tolerance", good, body, now.Add(-6 * time.Minute), false},
		{"malformed hex", "t=1700000000,v1=zz", body, now, false},
		{"non-numeric t", "t=abc," + goodSig, body, now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyStripeSignature(tc.header, tc.body, secret, 5*time.Minute, tc.at)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && signatureCode(err) != api.CodeInvalidSignature {
				t.Fatalf("err = %v, want %s", err, api.CodeInvalidSignature)
			}
		})
	}
}

func TestPaymentStripeVerifyEvents(t *testing.T) {
	g := &Stripe{secretKey: "sk", webhookSecret: "whsec", tolerance: 5 * time.Minute}
	now := time.Unix(1_700_000_000, 0)
	event := func(typ, status string, amount any) []byte {
		b, _ := json.Marshal(map[string]any{"id": "evt_" + typ, "type": typ, "data": map[string]any{"object": map[string]any{
			"id": "cs_1", "client_reference_id": "p1", "metadata": map[string]string{"payment_id": "p1"},
			"amount_total": amount, "currency": "usd", "payment_status": status}}})
		return b
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		outcome Outcome
		code    string
	}{
		{"completed and paid", event("checkout.session.completed", "paid", 500), OutcomePaid, ""},
		{"completed but unpaid (delayed method)", event("checkout.session.completed", "unpaid", 500), OutcomeNone, ""},
		{"async succeeded", event("checkout.session.async_payment_succeeded", "paid", 500), OutcomePaid, ""},
		{"async failed", event("checkout.session.async_payment_failed", "unpaid", 500), OutcomeFailed, ""},
		{"expired", event("checkout.session.expired", "unpaid", 500), OutcomeExpired, ""},
		{"other type", event("payment_intent.succeeded", "paid", 500), OutcomeNone, ""},
		{"paid without amount", event("checkout.session.completed", "paid", nil), 0, api.CodeInvalidJSON},
		{"not JSON", []byte("not json"), 0, api.CodeInvalidJSON},
		{"no id", []byte(`{"type":"checkout.session.completed"}`), 0, api.CodeInvalidJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(HeaderStripeSignature, SignStripe(tc.body, "whsec", now))
			n, err := g.Verify(Delivery{Header: h, Body: tc.body}, now)
			if tc.code != "" {
				if signatureCode(err) != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Outcome != tc.outcome {
				t.Fatalf("outcome = %v, want %v", n.Outcome, tc.outcome)
			}
			if n.Outcome == OutcomePaid && (n.PaymentID != "p1" || n.ExternalID != "cs_1" || n.Amount != 500 || n.Currency != "USD") {
				t.Fatalf("notification = %+v", n)
			}
		})
	}
	// client_reference_id and metadata disagreeing is refused.
	b, _ := json.Marshal(map[string]any{"id": "evt_x", "type": "checkout.session.completed", "data": map[string]any{
		"object": map[string]any{"id": "cs_1", "client_reference_id": "p1", "metadata": map[string]string{"payment_id": "p2"},
			"amount_total": 5, "currency": "usd", "payment_status": "paid"}}})
	h := http.Header{}
	h.Set(HeaderStripeSignature, SignStripe(b, "whsec", now))
	if _, err := g.Verify(Delivery{Header: h, Body: b}, now); signatureCode(err) != api.CodeInvalidSignature {
		t.Fatalf("disagreeing ids: err = %v", err)
	}
}

func TestPaymentAlipayContent(t *testing.T) {
	v := url.Values{}
	v.Set("b", "2")
	v.Set("a", "1")
	v.Set("sign", "xyz")
	v.Set("sign_type", "RSA2")
	v.Set("empty", "")
	v.Set("c", "x y&z")
	if got, want := alipayContent(v), "a=1&b=2&c=x y&z&sign_type=RSA2"; got != want {
		t.Errorf("request content = %q, want %q", got, want)
	}
	if got, want := alipayContent(v, "sign_type"), "a=1&b=2&c=x y&z"; got != want {
		t.Errorf("notification content = %q, want %q", got, want)
	}
}

func TestPaymentKeyFormats(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(key)
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	for name, s := range map[string]string{
		"PKCS1 PEM": pemOf("RSA PRIVATE KEY", pkcs1), "PKCS8 PEM": pemOf("PRIVATE KEY", pkcs8),
		"bare base64 PKCS8": base64.StdEncoding.EncodeToString(pkcs8),
	} {
		k, err := parsePrivateKey(s)
		if err != nil || !k.Equal(key) {
			t.Errorf("private %s: %v", name, err)
		}
	}
	for name, s := range map[string]string{
		"PKIX PEM": pemOf("PUBLIC KEY", pkix), "PKCS1 PEM": pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)),
		"bare base64 with line breaks": base64.StdEncoding.EncodeToString(pkix)[:40] + "\n" + base64.StdEncoding.EncodeToString(pkix)[40:],
	} {
		k, err := parsePublicKey(s)
		if err != nil || !k.Equal(&key.PublicKey) {
			t.Errorf("public %s: %v", name, err)
		}
	}
	for _, bad := range []string{"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "%%%", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := parsePublicKey(bad); err == nil {
			t.Errorf("public key %q parsed", bad)
		}
		if _, err := parsePrivateKey(bad); err == nil {
			t.Errorf("private key %q parsed", bad)
		}
	}
}

// BenchmarkPaymentVerifyStripe measures verifying one signed Stripe event (HMAC and JSON).
func BenchmarkPaymentVerifyStripe(b *testing.B) {
	g := &Stripe{secretKey: "sk", webhookSecret: "whsec_bench", tolerance: 5 * time.Minute}
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"id": "evt_bench", "type": "checkout.session.completed", "data": map[string]any{
		"object": map[string]any{"id": "cs_bench", "client_reference_id": "p", "amount_total": 1000, "currency": "usd",
			"payment_status": "paid"}}})
	h := http.Header{}
	h.Set(HeaderStripeSignature, SignStripe(body, "whsec_bench", now))
	d := Delivery{Header: h, Body: body}
	for b.Loop() {
		if _, err := g.Verify(d, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPaymentVerifyAlipay measures verifying one RSA2-signed Alipay notification.
func BenchmarkPaymentVerifyAlipay(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	g := &Alipay{appID: "app", alipayKey: &key.PublicKey, tolerance: time.Hour}
	now := time.Now()
	v := url.Values{}
	v.Set("app_id", "app")
	v.Set("notify_id", "n")
	v.Set("notify_time", now.In(alipayZone).Format(alipayTimeLayout))
	v.Set("out_trade_no", "p")
	v.Set("trade_no", "t")
	v.Set("trade_status", "TRADE_SUCCESS")
	v.Set("total_amount", "10.00")
	sig, err := SignAlipay(v, key)
	if err != nil {
		b.Fatal(err)
	}
	v.Set("sign", sig)
	v.Set("sign_type", "RSA2")
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	d := Delivery{Header: h, Body: []byte(v.Encode())}
	for b.Loop() {
		if _, err := g.Verify(d, now); err != nil {
			b.Fatal(err)
		}
	}
}
