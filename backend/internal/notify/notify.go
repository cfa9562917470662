// Package notify tells users about account and billing events, by e-mail and by a signed
// webhook.
package notify

import "context"

// Event kinds.
const (
	KindLowBalance         = "wallet.low_balance"
	KindRenewalReminder    = "subscription.renewal_reminder"
	KindRenewed            = "subscription.renewed"
	KindSuspended          = "subscription.suspended"
	KindUnsuspended        = "subscription.unsuspended"
	KindTerminated         = "subscription.terminated"
	KindTrialEnding        = "subscription.trial_ending"
	KindProvisioningFailed = "order.provisioning_failed"
)

// Event is one thing to tell a user. Subject and Text are the e-mail's; Data is the
// webhook's JSON payload besides the kind, the user id and the time.
type Event struct {
	Kind    string
	UserID  string
	Subject string
	Text    string
	Data    map[string]any
}

// Notifier delivers events. Delivery is best effort and must not block the caller for long:
// an implementation queues or times out.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}
