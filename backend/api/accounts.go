package api

import (
	"encoding/json"
	"time"
)

// SignupRequest creates a customer account (POST /api/v1/auth/signup). On a reseller's
// domain the account belongs to that reseller.
type SignupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// VerifyEmailRequest proves an e-mail address with the token of the verification link.
type VerifyEmailRequest struct {
	Token string `json:"token"`
}

// PasswordResetRequest asks for a password-reset link by e-mail. The answer is 202 whether
// or not the address has an account.
type PasswordResetRequest struct {
	Email string `json:"email"`
}

// PasswordResetConfirmRequest sets a new password with the token of a reset link.
type PasswordResetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// Accepted answers a request whose effect is not visible in the answer (a mail sent or not).
type Accepted struct {
	Status string `json:"status"`
}

// LowBalanceThreshold is the balance (minor units of Currency) below which the owner of the
// wallet is notified once; 0 turns the notification off.
type LowBalanceThreshold struct {
	Currency  string `json:"currency"`
	Threshold int64  `json:"threshold"`
}

// NotificationSettings are where and when a user is notified. WebhookSecret, the key of the
// X-Nimbo-Signature HMAC, is only present in the answer that set a new webhook URL (or rotated
// the secret); WebhookSecretSet tells whether one exists.
type NotificationSettings struct {
	WebhookURL       string                `json:"webhook_url"`
	WebhookSecret    string                `json:"webhook_secret,omitempty"`
	WebhookSecretSet bool                  `json:"webhook_secret_set"`
	LowBalance       []LowBalanceThreshold `json:"low_balance"`
}

// UpdateNotificationSettingsRequest changes the fields sent: WebhookURL ("" removes the
// webhook; a new URL gets a new secret), RotateSecret (a new secret for the same URL) and
// LowBalance (the full list: currencies left out are turned off).
type UpdateNotificationSettingsRequest struct {
	WebhookURL   *string                `json:"webhook_url,omitempty"`
	RotateSecret bool                   `json:"rotate_secret,omitempty"`
	LowBalance   *[]LowBalanceThreshold `json:"low_balance,omitempty"`
}

// HeaderSignature signs a notification webhook: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>">" keyed with the webhook's secret.
const HeaderSignature = "X-Nimbo-Signature"

// WebhookEvent is the JSON body of a notification webhook.
type WebhookEvent struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	UserID    string         `json:"user_id"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

// AuditEntry is one record of the audit log: who (ActorID: a user id, "system" or
// "anonymous") did what (Action: "METHOD /route/pattern" or a dotted verb) to which object,
// whose object it is (OwnerID), from where and when.
type AuditEntry struct {
	ID         string          `json:"id"`
	ActorID    string          `json:"actor_id"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	OwnerID    string          `json:"owner_id"`
	IP         string          `json:"ip"`
	RequestID  string          `json:"request_id"`
	Details    json.RawMessage `json:"details"`
	CreatedAt  time.Time       `json:"created_at"`
}
