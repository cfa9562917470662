package payment

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
)

// CheckoutTimeout bounds one call to a gateway's API while starting a checkout.
const CheckoutTimeout = 10 * time.Second

// HeaderStripeSignature carries a Stripe webhook's signatures: "t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret>", with one v1 per active secret.
const HeaderStripeSignature = "Stripe-Signature"

// maxStripeUnitAmount is the largest unit_amount Stripe accepts (8 digits).
const maxStripeUnitAmount = 99_999_999

// Stripe is Stripe Checkout: a payment is a Checkout Session in payment mode created through
// the API with the secret key, paid on Stripe's hosted page, and confirmed by the signed
// checkout.session.completed webhook event.
type Stripe struct {
	secretKey     string
	webhookSecret string
	apiBase       string
	tolerance     time.Duration
	publicURL     string
	productName   string
	client        *http.Client
}

// Name implements Gateway.
func (g *Stripe) Name() string { return api.GatewayStripe }

// Enabled implements Gateway: the secret key and the webhook signing secret are set.
func (g *Stripe) Enabled() bool { return g.secretKey != "" && g.webhookSecret != "" }

// Currencies implements Gateway: Stripe takes every currency the panel supports.
func (g *Stripe) Currencies() []string { return nil }

// MaxAmount implements Gateway: Stripe's unit_amount has at most 8 digits.
func (g *Stripe) MaxAmount(string) int64 { return maxStripeUnitAmount }

// stripeSession is the part of a Checkout Session the panel reads.
type stripeSession struct {
	ID                string            `json:"id"`
	URL               string            `json:"url"`
	ClientReferenceID string            `json:"client_reference_id"`
	Currency          string            `json:"currency"`
	AmountTotal       *int64            `json:"amount_total"`
	PaymentStatus     string            `json:"payment_status"`
	Metadata          map[string]string `json:"metadata"`
}

type stripeError struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// GatewayError is a gateway refusing or failing a call; Message is safe to show the payer.
type GatewayError struct {
	Gateway string
	Message string
	Err     error
}

// Error implements error.
func (e *GatewayError) Error() string {
	if e.Err != nil {
		return e.Gateway + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Gateway + ": " + e.Message
}

// Unwrap returns the cause.
func (e *GatewayError) Unwrap() error { return e.Err }

// Checkout implements Gateway: POST {api_base}/v1/checkout/sessions (form-encoded, the secret
// key as bearer token, the payment id in the Idempotency-Key so a retried call creates one
// session) with one line item of the payment's amount, the payment id as
// client_reference_id and metadata[payment_id], and return URLs under public_url.
func (g *Stripe) Checkout(ctx context.Context, p Payment) (Redirect, error) {
	form := url.Values{}
	form.Set("mode", "payment")
	form.Set("client_reference_id", p.ID)
	form.Set("metadata[payment_id]", p.ID)
	form.Set("metadata[user_id]", p.UserID)
	form.Set("line_items[0][quantity]", "1")
	form.Set("line_items[0][price_data][currency]", strings.ToLower(p.Currency))
	form.Set("line_items[0][price_data][unit_amount]", strconv.FormatInt(p.Amount, 10))
	form.Set("line_items[0][price_data][product_data][name]", g.productName)
	form.Set("success_url", returnURL(g.publicURL, p.ID, "success"))
	form.Set("cancel_url", returnURL(g.publicURL, p.ID, "cancel"))

	ctx, cancel := context.WithTimeout(ctx, CheckoutTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.apiBase+"/v1/checkout/sessions",
		strings.NewReader(form.Encode()))
	if err != nil {
		return Redirect{}, &GatewayError{Gateway: "Stripe", Message: "the Stripe API base URL is invalid", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+g.secretKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", "nimbo-payment-"+p.ID)
	resp, err := g.client.Do(req)
	if err != nil {
		return Redirect{}, &GatewayError{Gateway: "Stripe", Message: "Stripe could not be reached", Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Redirect{}, &GatewayError{Gateway: "Stripe", Message: "Stripe's answer was cut off", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var se stripeError
		_ = json.Unmarshal(body, &se)
		cause := fmt.Errorf("status %d, type %q, code %q: %s", resp.StatusCode, se.Error.Type, se.Error.Code, se.Error.Message)
		msg := "Stripe refused the checkout"
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			msg = "Stripe refused the panel's credentials; the provider must fix its Stripe configuration"
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			msg = "Stripe is unavailable"
		case se.Error.Message != "":
			msg += ": " + se.Error.Message
		}
		return Redirect{}, &GatewayError{Gateway: "Stripe", Message: msg, Err: cause}
	}
	var s stripeSession
	if err := json.Unmarshal(body, &s); err != nil {
		return Redirect{}, &GatewayError{Gateway: "Stripe", Message: "Stripe answered something that is not a Checkout Session", Err: err}
	}
	u, err := url.Parse(s.URL)
	if s.ID == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Redirect{}, &GatewayError{Gateway: "Stripe", Message: "Stripe's Checkout Session has no id or URL",
			Err: fmt.Errorf("id %q, url %q", s.ID, s.URL)}
	}
	return Redirect{URL: s.URL, ExternalID: s.ID}, nil
}

// returnURL is the panel page a payer comes back to after paying (result "success",
// "cancel" or "return").
func returnURL(publicURL, paymentID, result string) string {
	return strings.TrimRight(publicURL, "/") + "/payments/" + url.PathEscape(paymentID) + "?checkout=" + result
}

func badSignature(msg string) *apierr.Error { return apierr.New(api.CodeInvalidSignature, msg) }

// verifySignature checks header (Stripe-Signature) over body with secret at now: one of its
// v1 signatures must be the HMAC-SHA256 of "<t>.<body>", and t within tolerance of now
// either way (an older delivery is a replay).
func verifyStripeSignature(header string, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	if header == "" {
		return badSignature("the " + HeaderStripeSignature + " header is missing")
	}
	var (
		ts    string
		sigs  [][]byte
		extra int
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				extra++
			}
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || extra > 0 || len(sigs) == 0 {
		return badSignature("the " + HeaderStripeSignature + " header needs one t= timestamp and at least one v1= signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return badSignature("the " + HeaderStripeSignature + " timestamp is not a Unix time")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = mac.Write([]byte(ts))
	_, _ = mac.Write([]byte("."))
	_, _ = mac.Write(body)
	want := mac.Sum(nil)
	match := false
	for _, s := range sigs {
		if hmac.Equal(want, s) {
			match = true
		}
	}
	if !match {
		return badSignature("no v1 signature matches the body with the webhook signing secret")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return badSignature(fmt.Sprintf("the signed timestamp is %s away from now, outside the %s tolerance: a replayed or delayed delivery",
			d.Round(time.Second), tolerance))
	}
	return nil
}

// stripeEvent is the envelope of a webhook event.
type stripeEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// Verify implements Gateway: the Stripe-Signature header over the raw body, then the event.
// checkout.session.completed and checkout.session.async_payment_succeeded with
// payment_status "paid" are OutcomePaid; checkout.session.expired is OutcomeExpired;
// checkout.session.async_payment_failed is OutcomeFailed; any other event is OutcomeNone.
func (g *Stripe) Verify(d Delivery, now time.Time) (Notification, error) {
	if err := verifyStripeSignature(d.Header.Get(HeaderStripeSignature), d.Body, g.webhookSecret, g.tolerance, now); err != nil {
		return Notification{}, err
	}
	var ev stripeEvent
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return Notification{}, apierr.InvalidJSON("the event is not a Stripe event with an id and a type", nil)
	}
	n := Notification{EventID: ev.ID, Type: ev.Type}
	if !strings.HasPrefix(ev.Type, "checkout.session.") {
		return n, nil
	}
	var s stripeSession
	if err := json.Unmarshal(ev.Data.Object, &s); err != nil || s.ID == "" {
		return Notification{}, apierr.InvalidJSON("the event's data.object is not a Checkout Session", nil)
	}
	n.ExternalID = s.ID
	n.PaymentID = s.ClientReferenceID
	if m := s.Metadata["payment_id"]; m != "" {
		if n.PaymentID != "" && n.PaymentID != m {
			return Notification{}, badSignature("the session's client_reference_id and metadata[payment_id] differ")
		}
		n.PaymentID = m
	}
	n.Currency = strings.ToUpper(s.Currency)
	if s.AmountTotal != nil {
		n.Amount = *s.AmountTotal
	}
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		if s.PaymentStatus == "paid" {
			n.Outcome = OutcomePaid
		}
	case "checkout.session.expired":
		n.Outcome = OutcomeExpired
	case "checkout.session.async_payment_failed":
		n.Outcome = OutcomeFailed
	}
	if n.Outcome == OutcomePaid && (s.AmountTotal == nil || !billing.ValidCurrency(n.Currency)) {
		return Notification{}, apierr.InvalidJSON("the paid session has no amount_total or no supported currency", nil)
	}
	return n, nil
}

// SignStripe returns a Stripe-Signature header value for body at t with secret, as Stripe
// sends it (for tests and for replaying a delivery by hand).
func SignStripe(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = mac.Write(bytes.Join([][]byte{[]byte(ts), body}, []byte(".")))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
