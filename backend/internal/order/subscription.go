package order

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// billingMember is the condition that the viewer (one "?") is a sub-user holding the billing
// permission on the subscription's server.
const billingMember = `EXISTS (SELECT 1 FROM server_members sm WHERE sm.server_id = subscriptions.server_id
	AND sm.user_id = ? AND (' ' || sm.permissions || ' ') LIKE '% ` + api.PermBilling + ` %')`

// subsVisible is an SQL condition on subscriptions for the viewer: its own, a reseller's
// customers', those of servers it holds the billing permission on; all for admins.
func subsVisible(v ops.Viewer) (string, []any) {
	if v.Admin {
		return "", nil
	}
	cond := "(subscriptions.user_id = ? OR " + billingMember
	args := []any{v.UserID, v.UserID}
	if v.Reseller {
		cond += " OR subscriptions.user_id IN (SELECT id FROM users WHERE reseller_id = ?)"
		args = append(args, v.UserID)
	}
	return cond + ")", args
}

func subNotFound() error { return apierr.NotFound("subscription not found") }

// Subscription returns a subscription v may see.
func (s *Service) Subscription(ctx context.Context, v ops.Viewer, id string) (store.Subscription, error) {
	var sub store.Subscription
	if uuid.Validate(id) != nil {
		return sub, subNotFound()
	}
	q := s.db.WithContext(ctx).Table("subscriptions").Where("subscriptions.id = ?", id)
	if cond, args := subsVisible(v); cond != "" {
		q = q.Where(cond, args...)
	}
	err := q.Take(&sub).Error
	if store.IsNotFound(err) {
		return sub, subNotFound()
	}
	if err != nil {
		return sub, fmt.Errorf("read subscription: %w", err)
	}
	return sub, nil
}

// SubscriptionFilter selects subscriptions. UserID, ResellerID, PlanID and DueBefore are
// admin filters.
type SubscriptionFilter struct {
	Status, Cycle              string
	UserID, ResellerID, PlanID string
	// ServerID narrows to the subscription(s) of one server; it never widens what v sees.
	ServerID      string
	DueBefore     *time.Time
	Page, PerPage int
}

// Subscriptions returns one page of the subscriptions v may see, newest first, and the total.
func (s *Service) Subscriptions(ctx context.Context, v ops.Viewer, f SubscriptionFilter) ([]store.Subscription, int64, error) {
	q := s.db.WithContext(ctx).Table("subscriptions")
	if cond, args := subsVisible(v); cond != "" {
		q = q.Where(cond, args...)
	}
	for col, val := range map[string]string{"status": f.Status, "cycle": f.Cycle, "user_id": f.UserID,
		"reseller_id": f.ResellerID, "plan_id": f.PlanID, "server_id": f.ServerID} {
		if val != "" {
			q = q.Where("subscriptions."+col+" = ?", val)
		}
	}
	if f.DueBefore != nil {
		q = q.Where("subscriptions.period_end < ?", f.DueBefore.UTC())
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count subscriptions: %w", err)
	}
	rows := []store.Subscription{}
	if err := q.Order("subscriptions.created_at DESC, subscriptions.id DESC").Limit(f.PerPage).
		Offset((f.Page - 1) * f.PerPage).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list subscriptions: %w", err)
	}
	return rows, total, nil
}

// manages reports whether v may change sub (auto-renew): its owner, the owner's reseller or
// an admin — not a sub-user.
func (s *Service) manages(ctx context.Context, v ops.Viewer, sub store.Subscription) (bool, error) {
	if v.Admin || sub.UserID == v.UserID {
		return true, nil
	}
	if !v.Reseller {
		return false, nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&store.User{}).Where("id = ? AND reseller_id = ?", sub.UserID, v.UserID).
		Count(&n).Error; err != nil {
		return false, fmt.Errorf("read owner: %w", err)
	}
	return n > 0, nil
}

// SetAutoRenew turns automatic renewal on or off. Off cancels the subscription at the end
// of its paid period (hourly: at the next pass, after metering the hour under way).
func (s *Service) SetAutoRenew(ctx context.Context, v ops.Viewer, id string, on bool) (store.Subscription, error) {
	sub, err := s.Subscription(ctx, v, id)
	if err != nil {
		return sub, err
	}
	ok, err := s.manages(ctx, v, sub)
	if err != nil {
		return sub, err
	}
	if !ok {
		return sub, apierr.Forbidden("only the subscription's owner may change its renewal")
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.db.ForUpdate(tx).Where("id = ?", id).Take(&sub).Error; err != nil {
			return fmt.Errorf("lock subscription: %w", err)
		}
		switch sub.Status {
		case api.SubscriptionPending, api.SubscriptionTrial, api.SubscriptionActive, api.SubscriptionSuspended:
		default:
			return apierr.Conflict("a " + sub.Status + " subscription cannot be changed")
		}
		if sub.AutoRenew == on {
			return nil
		}
		now := store.Now()
		if err := tx.Model(&store.Subscription{}).Where("id = ?", id).
			Updates(map[string]any{"auto_renew": on, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("update subscription: %w", err)
		}
		sub.AutoRenew, sub.UpdatedAt = on, now
		return audit.Record(ctx, tx, audit.Entry{ActorID: v.UserID, Action: "subscription.auto_renew", ObjectType: "subscription",
			ObjectID: sub.ID, OwnerID: sub.UserID}, map[string]any{"auto_renew": on})
	})
	return sub, err
}

// Renew pays now what is due on a subscription v may see (its owner's wallet pays): an
// unpaid or suspended period (a suspended one is unsuspended and its server started), the
// metered hours of an hourly one, or a trial converted early. Nothing due is a conflict, an
// empty wallet insufficient_funds.
func (s *Service) Renew(ctx context.Context, v ops.Viewer, id string) (store.Subscription, Stats, error) {
	sub, err := s.Subscription(ctx, v, id)
	if err != nil {
		return sub, Stats{}, err
	}
	var st Stats
	if err := s.engine.one(ctx, sub.ID, clock(time.Now()), modeRenew, &st); err != nil {
		return sub, st, err
	}
	sub, err = s.Subscription(ctx, ops.Viewer{Admin: true}, sub.ID)
	return sub, st, err
}

// SubscriptionAPI converts a subscription to its wire form; wholesale says whether the
// wholesale price is shown (resellers and admins).
func SubscriptionAPI(s store.Subscription, wholesale bool) api.Subscription {
	out := api.Subscription{ID: s.ID, UserID: s.UserID, PlanID: s.PlanID, Cycle: s.Cycle, Status: s.Status,
		Currency: s.Currency, Price: s.Price, CPU: s.CPU, MemoryMiB: s.MemoryMiB, DiskMiB: s.DiskMiB, AutoRenew: s.AutoRenew,
		PeriodStart: s.PeriodStart, PeriodEnd: s.PeriodEnd, TrialEndsAt: s.TrialEndsAt, SuspendedAt: s.SuspendedAt,
		TerminatedAt: s.TerminatedAt, CancelledAt: s.CancelledAt, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.ResellerID != nil {
		out.ResellerID = *s.ResellerID
	}
	if s.ServerID != nil {
		out.ServerID = *s.ServerID
	}
	if wholesale {
		w := s.WholesalePrice
		out.WholesalePrice = &w
	}
	return out
}
