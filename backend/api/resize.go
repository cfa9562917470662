package api

import "time"

// ResizeServerRequest sets a server's resources (POST /api/v1/servers/{id}/resize, admins
// only, no money moves). The bounds are those of CreateServerRequest. The answer is 202 with
// the resize Operation; the server shows the new size once the operation succeeds.
type ResizeServerRequest struct {
	CPU       int   `json:"cpu"`
	MemoryMiB int64 `json:"memory_mib"`
	DiskMiB   int64 `json:"disk_mib"`
}

// ResizeSubscriptionRequest moves a subscription to another plan of the same instance type
// and currency (POST /api/v1/subscriptions/{id}/resize, with HeaderIdempotencyKey of at most
// MaxResizeKeyLength characters).
type ResizeSubscriptionRequest struct {
	PlanID string `json:"plan_id"`
}

// MaxResizeKeyLength bounds the Idempotency-Key of a plan change; the ledger keys built from
// it ("resize:<subscription id>:<key>…") must fit the ledger's 128 characters.
const MaxResizeKeyLength = 64

// Plan change statuses: pending while its resize operation runs, applied once it succeeded,
// reverted when it failed (the subscription is back on its old plan and what was charged is
// refunded).
const (
	ChangePending  = "pending"
	ChangeApplied  = "applied"
	ChangeReverted = "reverted"
)

// SubscriptionChange is a plan change of a subscription and its proration.
//
// For a monthly subscription, Amount is (new price − old price) × RemainingSeconds /
// PeriodSeconds in minor units of Currency, rounded half away from zero. A positive Amount (an
// upgrade) was charged to the wallet when the change was accepted, with a paid invoice
// (InvoiceID), and is refunded if the resize fails; a negative Amount (a downgrade) is
// credited to the wallet, with a credit invoice, once the resize succeeds. Hourly
// subscriptions are not prorated: Amount is 0 and the new hourly price applies from now
// (hours not metered yet included).
type SubscriptionChange struct {
	ID               string    `json:"id"`
	SubscriptionID   string    `json:"subscription_id"`
	FromPlanID       string    `json:"from_plan_id"`
	ToPlanID         string    `json:"to_plan_id"`
	Cycle            string    `json:"cycle"`
	Currency         string    `json:"currency"`
	Price            int64     `json:"price"`
	Amount           int64     `json:"amount"`
	RemainingSeconds int64     `json:"remaining_seconds"`
	PeriodSeconds    int64     `json:"period_seconds"`
	Status           string    `json:"status"`
	InvoiceID        string    `json:"invoice_id,omitempty"`
	Operation        Operation `json:"operation"`
	CreatedAt        time.Time `json:"created_at"`
}
