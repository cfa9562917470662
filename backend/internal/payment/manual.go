package payment

import (
	"context"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
)

// Manual is money received outside the panel (cash, bank transfer) that an admin or a
// reseller records with Service.Manual. It is always enabled, has no checkout and receives
// no notifications.
type Manual struct{}

// Name implements Gateway.
func (Manual) Name() string { return api.GatewayManual }

// Enabled implements Gateway: always.
func (Manual) Enabled() bool { return true }

// Currencies implements Gateway: any supported currency.
func (Manual) Currencies() []string { return nil }

// MaxAmount implements Gateway: the ledger's limit.
func (Manual) MaxAmount(string) int64 { return billing.MaxAmount }

// Checkout implements Gateway: manual payments have none.
func (Manual) Checkout(context.Context, Payment) (Redirect, error) {
	return Redirect{}, apierr.Validation(map[string]string{
		"gateway": "manual payments have no checkout: an admin or reseller records them with POST /api/v1/payments/manual"})
}

// Verify implements Gateway: manual payments have no notifications.
func (Manual) Verify(Delivery, time.Time) (Notification, error) {
	return Notification{}, apierr.NotFound("the manual gateway receives no notifications")
}
