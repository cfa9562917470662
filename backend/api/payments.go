package api

import "time"

// Payment gateways.
const (
	// GatewayManual is money an admin (any user) or a reseller (its own customers) records by
	// hand, e.g. a bank transfer; it has no checkout.
	GatewayManual = "manual"
	// GatewayStripe is Stripe Checkout.
	GatewayStripe = "stripe"
	// GatewayAlipay is Alipay's computer-website payment (alipay.trade.page.pay), CNY only.
	GatewayAlipay = "alipay"
)

// Payment states: created (waiting for the payer), paid (the wallet was credited, once),
// failed (the checkout could not be started), expired (the gateway closed it unpaid).
const (
	PaymentCreated = "created"
	PaymentPaid    = "paid"
	PaymentFailed  = "failed"
	PaymentExpired = "expired"
)

// Paths of the gateway notifications, to register with each gateway (under public_url).
const (
	PathStripeWebhook = "/api/v1/payments/stripe/webhook"
	PathAlipayNotify  = "/api/v1/payments/alipay/notify"
)

// Notification outcomes (NotificationResult.Status).
const (
	// NotificationCredited: the payment became paid and the wallet was credited.
	NotificationCredited = "credited"
	// NotificationDuplicate: the event was handled before, or the payment was paid already.
	NotificationDuplicate = "duplicate"
	// NotificationIgnored: a verified event that changes nothing (another event type, a
	// payment still pending, a payment this panel does not know).
	NotificationIgnored = "ignored"
	// NotificationUpdated: the payment changed state without money (expired).
	NotificationUpdated = "updated"
)

// PaymentGateway is a gateway the panel has configured. Checkout is false for the manual
// gateway, which only admins and resellers use through POST /api/v1/payments/manual.
// Currencies lists the only currencies it takes; empty is any supported currency.
type PaymentGateway struct {
	Name       string   `json:"name"`
	Checkout   bool     `json:"checkout"`
	Currencies []string `json:"currencies,omitempty"`
}

// PaymentGatewayList is the configured gateways.
type PaymentGatewayList struct {
	Items []PaymentGateway `json:"items"`
}

// Payment is money paid into UserID's wallet of Currency through Gateway, in minor units
// (see Wallet). ExternalID is the gateway's id (Stripe Checkout Session id, Alipay trade_no);
// LedgerEntryID is the wallet top-up once paid. CreatedBy is the payer, or the admin or
// reseller who recorded a manual payment.
type Payment struct {
	ID            string     `json:"id"`
	UserID        string     `json:"user_id"`
	Gateway       string     `json:"gateway"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	Status        string     `json:"status"`
	ExternalID    string     `json:"external_id,omitempty"`
	LedgerEntryID string     `json:"ledger_entry_id,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	Failure       string     `json:"failure,omitempty"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
}

// CreatePaymentRequest starts paying Amount minor units of Currency into the caller's
// wallet through Gateway (stripe or alipay; alipay takes CNY only). It needs the
// HeaderIdempotencyKey header: the same key and body again answer the same payment.
type CreatePaymentRequest struct {
	Gateway  string `json:"gateway"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// CreatePaymentResponse is the new payment and where to send the payer (Stripe's hosted
// checkout page, or Alipay's signed page-pay URL).
type CreatePaymentResponse struct {
	Payment     Payment `json:"payment"`
	RedirectURL string  `json:"redirect_url"`
}

// ManualPaymentRequest records money received outside the panel (cash, bank transfer) and
// credits UserID's wallet: admins for anyone, resellers for their own customers. Reason is
// required (at most 500 characters). It needs the HeaderIdempotencyKey header.
type ManualPaymentRequest struct {
	UserID   string `json:"user_id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Reason   string `json:"reason"`
}

// NotificationResult answers a verified Stripe webhook (Alipay is answered "success").
type NotificationResult struct {
	Status    string `json:"status"`
	PaymentID string `json:"payment_id,omitempty"`
}
