// Package order sells plans: orders (pricing, coupons at checkout, trials, the customer's
// charge and the reseller's wholesale settlement, the invoice and the server, in one
// transaction), the subscriptions they start, and the billing engine that renews, meters,
// reminds, suspends, unsuspends and terminates them on a controllable clock.
package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/reseller"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Deps are what the order service uses. Notifier may be nil: notifications are then logged.
type Deps struct {
	DB        *store.DB
	Billing   *billing.Service
	Resellers *reseller.Service
	Instances *instance.Service
	Notifier  notify.Notifier
	Config    config.Config
	Log       *slog.Logger
}

// Service sells plans and manages subscriptions.
type Service struct {
	db     *store.DB
	bill   *billing.Service
	resl   *reseller.Service
	inst   *instance.Service
	cfg    config.Config
	log    *slog.Logger
	engine *Engine
}

// New returns a Service and its billing engine.
func New(d Deps) *Service {
	s := &Service{db: d.DB, bill: d.Billing, resl: d.Resellers, inst: d.Instances, cfg: d.Config, log: d.Log}
	n := d.Notifier
	if n == nil {
		n = logNotifier{log: d.Log}
	}
	s.engine = &Engine{s: s, notifier: n, batch: defaultBatch, workers: defaultWorkers}
	return s
}

// Engine is the billing engine of the service.
func (s *Service) Engine() *Engine { return s.engine }

// logNotifier writes notifications to the log; it stands in when no notifier is configured.
type logNotifier struct{ log *slog.Logger }

// Notify logs e.
func (n logNotifier) Notify(ctx context.Context, e notify.Event) error {
	n.log.InfoContext(ctx, "notification", "kind", e.Kind, "user_id", e.UserID, "subject", e.Subject)
	return nil
}

// clock normalizes a time to what the database keeps: UTC, microseconds.
func clock(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// seller is who an invoice is issued by.
type seller struct {
	issuerID, name, email string
}

// sellerFor returns the seller of a subscription or order: the reseller (its brand and
// support e-mail) or the provider.
func (s *Service) sellerFor(ctx context.Context, tx *gorm.DB, resellerID *string) (seller, error) {
	if resellerID == nil {
		return seller{name: s.cfg.Billing.SellerName, email: s.cfg.Billing.SellerEmail}, nil
	}
	sl := seller{issuerID: *resellerID}
	var prof store.ResellerProfile
	err := tx.WithContext(ctx).Where("user_id = ?", *resellerID).Take(&prof).Error
	if err != nil && !store.IsNotFound(err) {
		return sl, fmt.Errorf("read reseller profile: %w", err)
	}
	sl.name, sl.email = prof.BrandName, prof.SupportEmail
	if sl.name == "" || sl.email == "" {
		var u store.User
		if err := tx.WithContext(ctx).Select("id", "email").Where("id = ?", *resellerID).Take(&u).Error; err != nil {
			return sl, fmt.Errorf("read reseller: %w", err)
		}
		if sl.name == "" {
			sl.name = u.Email
		}
		if sl.email == "" {
			sl.email = u.Email
		}
	}
	return sl, nil
}

// isCode reports whether err is an *apierr.Error with code.
func isCode(err error, code string) bool {
	var e *apierr.Error
	return errors.As(err, &e) && e.Code == code
}

// resellerFunds is the error a reseller customer sees when its reseller's wallet cannot pay.
func resellerFunds(sl seller) *apierr.Error {
	msg := "your provider cannot take new orders or renewals right now; please contact them"
	if sl.email != "" {
		msg += " at " + sl.email
	}
	return apierr.New(api.CodeResellerFunds, msg)
}
