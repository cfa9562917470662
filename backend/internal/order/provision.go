package order

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// OnOperationFinished is the ops.FinishHook of orders (register it with ops.Service.OnFinish):
// when the create operation of an order still provisioning finishes, inside the transaction
// that records the result, a success activates the order and its subscription (trial for a
// trial); a failure refunds the customer and the reseller's settlement, restores the plan's
// stock, releases the coupon use, fails the order, cancels the subscription, removes the
// server row and issues a credit note. The refund keys make it happen once; the customer is
// notified (order.provisioning_failed) by the next billing pass through the outbox.
func (s *Service) OnOperationFinished(ctx context.Context, tx *gorm.DB, op store.Operation) error {
	if op.Kind != api.OpInstanceCreate {
		return nil
	}
	tx = tx.WithContext(ctx)
	var o store.Order
	err := s.db.ForUpdate(tx).Where("operation_id = ? AND status = ?", op.ID, api.OrderProvisioning).Take(&o).Error
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read order of operation: %w", err)
	}
	now := store.Now()
	if op.Status == api.OpSuccess {
		return s.activate(ctx, tx, o, now)
	}
	return s.fail(ctx, tx, o, op.Error)
}

func (s *Service) activate(ctx context.Context, tx *gorm.DB, o store.Order, now time.Time) error {
	if err := tx.Model(&store.Order{}).Where("id = ?", o.ID).
		Updates(map[string]any{"status": api.OrderActive, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("activate order: %w", err)
	}
	if o.SubscriptionID != nil {
		status := api.SubscriptionActive
		if o.Trial {
			status = api.SubscriptionTrial
		}
		if err := tx.Model(&store.Subscription{}).Where("id = ? AND status = ?", *o.SubscriptionID, api.SubscriptionPending).
			Updates(map[string]any{"status": status, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("activate subscription: %w", err)
		}
	}
	return nil
}

// entryAmount returns the amount of the ledger entry posted with key to userID's wallet of
// currency, or 0 when there is none.
func entryAmount(ctx context.Context, tx *gorm.DB, userID, currency, key string) (int64, error) {
	var amounts []int64
	err := tx.WithContext(ctx).Table("ledger_entries").Joins("JOIN wallets ON wallets.id = ledger_entries.wallet_id").
		Where("wallets.user_id = ? AND wallets.currency = ? AND ledger_entries.idempotency_key = ?", userID, currency, key).
		Pluck("ledger_entries.amount", &amounts).Error
	if err != nil {
		return 0, fmt.Errorf("read ledger entry %s: %w", key, err)
	}
	if len(amounts) == 0 {
		return 0, nil
	}
	return amounts[0], nil
}

func (s *Service) fail(ctx context.Context, tx *gorm.DB, o store.Order, reason string) error {
	now := store.Now()
	var sub store.Subscription
	if o.SubscriptionID != nil {
		if err := s.db.ForUpdate(tx).Where("id = ?", *o.SubscriptionID).Take(&sub).Error; err != nil {
			return fmt.Errorf("lock subscription: %w", err)
		}
	}
	var plan store.Plan
	if err := tx.Where("id = ?", o.PlanID).Take(&plan).Error; err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	var u store.User
	if err := tx.Where("id = ?", o.UserID).Take(&u).Error; err != nil {
		return fmt.Errorf("read user: %w", err)
	}
	charged, err := entryAmount(ctx, tx, o.UserID, o.Currency, "order:"+o.ID)
	if err != nil {
		return err
	}
	if charged < 0 {
		if _, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
			UserID: o.UserID, Currency: o.Currency, Kind: api.EntryRefund, Amount: -charged,
			IdempotencyKey: "order:" + o.ID + ":refund", Reason: "Refund: the server of the order could not be created",
			Reference: o.ID, ActorID: billing.ActorSystem,
		}); err != nil {
			return fmt.Errorf("refund order: %w", err)
		}
	}
	if sub.ResellerID != nil {
		settled, err := entryAmount(ctx, tx, *sub.ResellerID, o.Currency, "order:"+o.ID+":settlement")
		if err != nil {
			return err
		}
		if settled < 0 {
			if _, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
				UserID: *sub.ResellerID, Currency: o.Currency, Kind: api.EntrySettlement, Amount: -settled,
				IdempotencyKey: "order:" + o.ID + ":settlement-refund", Reason: "Wholesale refund: provisioning failed",
				Reference: o.ID, ActorID: billing.ActorSystem,
			}); err != nil {
				return fmt.Errorf("refund settlement: %w", err)
			}
		}
	}
	if plan.Stock != nil {
		if err := tx.Model(&store.Plan{}).Where("id = ? AND stock IS NOT NULL", plan.ID).
			Update("stock", gorm.Expr("stock + 1")).Error; err != nil {
			return fmt.Errorf("restore plan stock: %w", err)
		}
	}
	if err := releaseCoupon(ctx, tx, o.ID); err != nil {
		return err
	}
	msg := reason
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if err := tx.Model(&store.Order{}).Where("id = ?", o.ID).
		Updates(map[string]any{"status": api.OrderFailed, "error": msg, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("fail order: %w", err)
	}
	if sub.ID != "" {
		if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Updates(map[string]any{
			"status": api.SubscriptionCancelled, "cancelled_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("cancel subscription: %w", err)
		}
	}
	if o.ServerID != nil {
		// The daemon rolled the instance back; the row goes so that it frees its name, the
		// node's capacity and the reseller's quota.
		if err := tx.Model(&store.Server{}).Where("id = ? AND deleted_at IS NULL", *o.ServerID).
			Update("deleted_at", now).Error; err != nil {
			return fmt.Errorf("remove server: %w", err)
		}
	}
	if !o.Trial {
		sl, err := s.sellerFor(ctx, tx, sub.ResellerID)
		if err != nil {
			return err
		}
		var subID *string
		if sub.ID != "" {
			subID = &sub.ID
		}
		if _, _, err := invoice.Issue(ctx, tx, invoice.Draft{
			IssuerID: sl.issuerID, UserID: o.UserID, SubscriptionID: subID, OrderID: &o.ID, Status: invoice.StatusPaid,
			Currency: o.Currency, Lines: []invoice.Line{{Description: "Credit note: refund of order " + o.ID +
				" (" + plan.Name + "), the server could not be created", Quantity: 1, UnitAmount: -o.Total}},
			SellerName: sl.name, SellerEmail: sl.email, BuyerEmail: u.Email, IssuedAt: now,
		}); err != nil {
			return fmt.Errorf("issue credit note: %w", err)
		}
	}
	if err := audit.Record(ctx, tx, audit.Entry{ActorID: audit.SystemActor, Action: "order.fail", ObjectType: "order",
		ObjectID: o.ID, OwnerID: o.UserID}, map[string]any{"refunded": -charged, "currency": o.Currency, "error": msg}); err != nil {
		return err
	}
	_, err = note(ctx, tx, notify.Event{Kind: notify.KindProvisioningFailed, UserID: o.UserID,
		Subject: "Your order could not be completed",
		Text: fmt.Sprintf("We could not create the server %q of your order for %s. %s has been refunded to your wallet.",
			o.ServerName, plan.Name, billing.Format(o.Total, o.Currency)),
		Data: map[string]any{"order_id": o.ID, "refunded": o.Total, "currency": o.Currency}})
	return err
}
