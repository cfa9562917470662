package payment

import (
	"context"
	"net/http"
	"time"
)

// Gateway is one way of paying money into a wallet. A gateway without its configured secrets
// is not Enabled: it is not listed and using it is refused with api.CodeGatewayUnavailable.
type Gateway interface {
	// Name is the gateway's api.Gateway* name.
	Name() string
	// Enabled reports whether the gateway is configured.
	Enabled() bool
	// Currencies lists the only currencies the gateway takes; nil is any supported one.
	Currencies() []string
	// MaxAmount is the largest payment the gateway takes, in minor units of currency.
	MaxAmount(currency string) int64
	// Checkout starts paying p and says where to send the payer. It may call the gateway's
	// API; errors are the gateway's refusal or unavailability (the payment is then failed).
	Checkout(ctx context.Context, p Payment) (Redirect, error)
	// Verify authenticates one notification delivery as of now (signature, timestamp window,
	// account) and parses it. Errors are *apierr.Error (api.CodeInvalidSignature when the
	// delivery is forged, tampered with or replayed outside the tolerance).
	Verify(d Delivery, now time.Time) (Notification, error)
}

// Redirect is where the payer goes to pay: URL (opened with GET), and the gateway's id of
// the payment when the checkout already has one (the Stripe Checkout Session id).
type Redirect struct {
	URL        string
	ExternalID string
}

// Delivery is one notification as received: its headers and raw body, unparsed (signatures
// cover the exact bytes).
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Outcome is what a notification says happened to a payment.
type Outcome int

// Outcomes of a notification.
const (
	// OutcomeNone changes nothing (another event type, a payment still pending).
	OutcomeNone Outcome = iota
	// OutcomePaid is money received: the payment is credited once.
	OutcomePaid
	// OutcomeExpired is a checkout closed unpaid.
	OutcomeExpired
	// OutcomeFailed is a payment attempt that failed for good.
	OutcomeFailed
)

// Notification is a verified notification: EventID is the gateway's unique id of this event
// (Stripe event id, Alipay notify_id), PaymentID our payment id (Stripe client_reference_id,
// Alipay out_trade_no), ExternalID the gateway's payment id (Stripe session id, Alipay
// trade_no), Amount and Currency what the gateway says was paid (minor units, upper case),
// Type the gateway's event type or trade status, for logs.
type Notification struct {
	EventID    string
	PaymentID  string
	ExternalID string
	Amount     int64
	Currency   string
	Type       string
	Outcome    Outcome
}
