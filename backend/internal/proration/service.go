package proration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/reseller"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Subscription statuses and cycles this package reads (the subscriptions table's values).
const (
	subActive    = "active"
	subTrial     = "trial"
	cycleMonthly = "monthly"
	cycleHourly  = "hourly"
)

// Change is one plan change of a subscription (table subscription_changes).
type Change struct {
	ID                 string `gorm:"primaryKey"`
	SubscriptionID     string
	UserID             string
	ResellerID         *string
	ActorID            string
	IdempotencyKey     string
	OperationID        string
	Status             string
	FromPlanID         string
	ToPlanID           string
	Currency           string
	Price              int64
	WholesalePrice     int64
	PrevPrice          int64
	PrevWholesalePrice int64
	PrevCPU            int   `gorm:"column:prev_cpu"`
	PrevMemoryMiB      int64 `gorm:"column:prev_memory_mib"`
	PrevDiskMiB        int64 `gorm:"column:prev_disk_mib"`
	// Amount is the signed retail proration: > 0 the customer pays, < 0 it gets back.
	Amount int64
	// WholesaleAmount is the signed proration of the reseller's wholesale price.
	WholesaleAmount  int64
	RemainingSeconds int64
	PeriodSeconds    int64
	InvoiceID        *string
	CreditInvoiceID  *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName names the table of Change.
func (Change) TableName() string { return "subscription_changes" }

// Options configure a Service.
type Options struct {
	// SellerName and SellerEmail head the provider's invoices (config billing.seller_*).
	SellerName, SellerEmail string
	// Now is the clock prorations are computed with (default time.Now).
	Now func() time.Time
}

// Service changes subscription plans.
type Service struct {
	db    *store.DB
	inst  *instance.Service
	bill  *billing.Service
	resl  *reseller.Service
	opts  Options
	clock atomic.Pointer[func() time.Time]
	log   *slog.Logger
}

// New returns a Service.
func New(db *store.DB, inst *instance.Service, bill *billing.Service, resl *reseller.Service, o Options, log *slog.Logger) *Service {
	s := &Service{db: db, inst: inst, bill: bill, resl: resl, opts: o, log: log}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s.clock.Store(&now)
	return s
}

// SetClock replaces the clock prorations are computed with (tests and simulations).
func (s *Service) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Service) now() time.Time { return (*s.clock.Load())().UTC() }

// Result is an accepted plan change, its resize operation, and whether it replays an earlier
// request with the same idempotency key (nothing was written then).
type Result struct {
	Change    Change
	Operation store.Operation
	Replayed  bool
	// Cycle is the subscription's billing cycle.
	Cycle string
}

// API converts the result to its wire form.
func (r Result) API() api.SubscriptionChange {
	out := api.SubscriptionChange{
		ID: r.Change.ID, SubscriptionID: r.Change.SubscriptionID, FromPlanID: r.Change.FromPlanID,
		ToPlanID: r.Change.ToPlanID, Cycle: r.Cycle, Currency: r.Change.Currency, Price: r.Change.Price,
		Amount: r.Change.Amount, RemainingSeconds: r.Change.RemainingSeconds, PeriodSeconds: r.Change.PeriodSeconds,
		Status: r.Change.Status, Operation: r.Operation.API(), CreatedAt: r.Change.CreatedAt,
	}
	if r.Change.InvoiceID != nil {
		out.InvoiceID = *r.Change.InvoiceID
	}
	return out
}

func subNotFound() error { return apierr.NotFound("subscription not found") }

// ValidKey reports whether key may identify a plan change: a valid ledger key of at most
// api.MaxResizeKeyLength characters.
func ValidKey(key string) bool {
	return billing.ValidKey(key) && len(key) <= api.MaxResizeKeyLength
}

// BadKey is the error of a missing or malformed plan-change idempotency key.
func BadKey(key string) *apierr.Error {
	if key != "" && billing.ValidKey(key) {
		return apierr.New(api.CodeBadIdempotencyKey, fmt.Sprintf("the %s header of a plan change must be at most %d characters",
			api.HeaderIdempotencyKey, api.MaxResizeKeyLength))
	}
	return billing.BadKey(key)
}

// authorize lets the subscription's owner, the owner's reseller, admins, and a sub-user of
// its server holding both the settings and billing permissions change its plan. Anybody who
// cannot see it gets not_found.
func (s *Service) authorize(ctx context.Context, v ops.Viewer, sub store.Subscription) error {
	if v.Admin || sub.UserID == v.UserID {
		return nil
	}
	if v.Reseller {
		var n int64
		if err := s.db.WithContext(ctx).Model(&store.User{}).Where("id = ? AND reseller_id = ?", sub.UserID, v.UserID).
			Count(&n).Error; err != nil {
			return fmt.Errorf("read subscription owner: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
	if sub.ServerID == nil {
		return subNotFound()
	}
	srv, err := s.inst.Authorize(ctx, v, *sub.ServerID, "")
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Code == api.CodeNotFound {
			return subNotFound()
		}
		return err
	}
	perms, err := s.inst.Permissions(ctx, v, srv)
	if err != nil {
		return err
	}
	if !slices.Contains(perms, api.PermSettings) || !slices.Contains(perms, api.PermBilling) {
		return apierr.Forbidden(fmt.Sprintf("changing the plan needs both the %q and %q permissions on the server",
			api.PermSettings, api.PermBilling))
	}
	return nil
}

// Resize moves subscription subID to the plan req.PlanID for viewer v, keyed by the client's
// idempotency key. In one transaction it locks the subscription (active only), prices the
// change with the reseller's quote, charges what the customer (and the customer's reseller)
// must pay now with an invoice, updates the subscription's plan, prices and resources, and
// writes the server's resize operation (instance.ResizeTx: reseller quota and node room);
// the task is enqueued after commit. The same key with the same plan replays the first
// result; with another plan it is a conflict. See the package doc for when money moves.
func (s *Service) Resize(ctx context.Context, v ops.Viewer, subID string, req api.ResizeSubscriptionRequest, key string) (Result, error) {
	if !ValidKey(key) {
		return Result{}, BadKey(key)
	}
	if uuid.Validate(req.PlanID) != nil {
		return Result{}, apierr.Validation(map[string]string{"plan_id": "unknown plan"})
	}
	var sub store.Subscription
	if uuid.Validate(subID) != nil {
		return Result{}, subNotFound()
	}
	if err := s.db.WithContext(ctx).Where("id = ?", subID).Take(&sub).Error; err != nil {
		if store.IsNotFound(err) {
			return Result{}, subNotFound()
		}
		return Result{}, fmt.Errorf("read subscription: %w", err)
	}
	if err := s.authorize(ctx, v, sub); err != nil {
		return Result{}, err
	}
	var (
		res Result
		srv store.Server
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		res, srv, err = s.resizeTx(ctx, tx, v, subID, req.PlanID, key)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if !res.Replayed {
		s.inst.Enqueue(ctx, &res.Operation, srv)
		s.log.InfoContext(ctx, "subscription plan change accepted", "subscription_id", res.Change.SubscriptionID,
			"change_id", res.Change.ID, "op_id", res.Operation.ID, "from_plan", res.Change.FromPlanID,
			"to_plan", res.Change.ToPlanID, "amount", res.Change.Amount, "wholesale_amount", res.Change.WholesaleAmount)
	}
	return res, nil
}

// priceOf is the per-period price of a quote for a cycle.
func priceOf(p reseller.Price, cycle string) int64 {
	if cycle == cycleHourly {
		return p.Hour
	}
	return p.Month
}

func (s *Service) resizeTx(ctx context.Context, tx *gorm.DB, v ops.Viewer, subID, planID, key string) (Result, store.Server, error) {
	tx = tx.WithContext(ctx)
	var sub store.Subscription
	if err := s.db.ForUpdate(tx).Where("id = ?", subID).Take(&sub).Error; err != nil {
		if store.IsNotFound(err) {
			return Result{}, store.Server{}, subNotFound()
		}
		return Result{}, store.Server{}, fmt.Errorf("lock subscription: %w", err)
	}
	var prev Change
	err := tx.Where("subscription_id = ? AND idempotency_key = ?", sub.ID, key).Take(&prev).Error
	switch {
	case err == nil:
		if prev.ToPlanID != planID {
			return Result{}, store.Server{}, apierr.Conflict("idempotency key reused with a different plan: this key already changed the subscription to plan " + prev.ToPlanID)
		}
		var op store.Operation
		if err := tx.Where("id = ?", prev.OperationID).Take(&op).Error; err != nil {
			return Result{}, store.Server{}, fmt.Errorf("read operation of plan change: %w", err)
		}
		return Result{Change: prev, Operation: op, Replayed: true, Cycle: sub.Cycle}, store.Server{}, nil
	case !store.IsNotFound(err):
		return Result{}, store.Server{}, fmt.Errorf("read plan change by key: %w", err)
	}
	switch sub.Status {
	case subActive:
	case subTrial:
		return Result{}, store.Server{}, apierr.Conflict("a trial cannot change plans: it ends on its own date; order the plan you want, or change plans once the subscription is active")
	default:
		return Result{}, store.Server{}, apierr.Conflict("only an active subscription can change plans; this one is " + sub.Status)
	}
	if sub.ServerID == nil {
		return Result{}, store.Server{}, apierr.Conflict("this subscription has no server to resize")
	}
	var oldPlan, plan store.Plan
	if err := tx.Where("id = ?", sub.PlanID).Take(&oldPlan).Error; err != nil {
		return Result{}, store.Server{}, fmt.Errorf("read current plan: %w", err)
	}
	if err := tx.Where("id = ?", planID).Take(&plan).Error; err != nil {
		if store.IsNotFound(err) {
			return Result{}, store.Server{}, apierr.Validation(map[string]string{"plan_id": "unknown plan"})
		}
		return Result{}, store.Server{}, fmt.Errorf("read plan: %w", err)
	}
	switch {
	case plan.ID == oldPlan.ID:
		return Result{}, store.Server{}, apierr.Validation(map[string]string{"plan_id": "is the subscription's current plan"})
	case !plan.Active || plan.ArchivedAt != nil:
		return Result{}, store.Server{}, apierr.Validation(map[string]string{"plan_id": "this plan is not available"})
	case plan.Type != oldPlan.Type:
		return Result{}, store.Server{}, apierr.Validation(map[string]string{
			"plan_id": fmt.Sprintf("must be a %s plan, like the current one", oldPlan.Type)})
	case plan.Currency != sub.Currency:
		return Result{}, store.Server{}, &apierr.Error{Code: api.CodeCurrencyMismatch,
			Message: fmt.Sprintf("the plan is priced in %s but the subscription is paid in %s", plan.Currency, sub.Currency),
			Fields:  map[string]string{"plan_id": "must be priced in " + sub.Currency}}
	}
	var customer store.User
	if err := tx.Where("id = ?", sub.UserID).Take(&customer).Error; err != nil {
		return Result{}, store.Server{}, fmt.Errorf("read customer: %w", err)
	}
	quote, err := s.resl.Quote(ctx, tx, customer, plan)
	if err != nil {
		return Result{}, store.Server{}, err
	}
	price, wholesale := priceOf(quote.Retail, sub.Cycle), priceOf(quote.Wholesale, sub.Cycle)
	if quote.ResellerID == nil {
		wholesale = 0
	}
	var remaining, period, amount, wamount int64
	if sub.Cycle == cycleMonthly {
		period = Seconds(sub.PeriodStart, sub.PeriodEnd)
		remaining = min(Seconds(s.now(), sub.PeriodEnd), period)
		if amount, err = Amount(price-sub.Price, remaining, period); err != nil {
			return Result{}, store.Server{}, err
		}
		if quote.ResellerID != nil {
			if wamount, err = Amount(wholesale-sub.WholesalePrice, remaining, period); err != nil {
				return Result{}, store.Server{}, err
			}
		}
	}
	// Stock: the new plan gives up one unit, the old one gets its unit back.
	if plan.Stock != nil {
		upd := tx.Model(&store.Plan{}).Where("id = ? AND stock > 0", plan.ID).UpdateColumn("stock", gorm.Expr("stock - 1"))
		if upd.Error != nil {
			return Result{}, store.Server{}, fmt.Errorf("take plan stock: %w", upd.Error)
		}
		if upd.RowsAffected == 0 {
			return Result{}, store.Server{}, apierr.New(api.CodeOutOfStock, "this plan is out of stock")
		}
	}
	if oldPlan.Stock != nil {
		if err := tx.Model(&store.Plan{}).Where("id = ?", oldPlan.ID).UpdateColumn("stock", gorm.Expr("stock + 1")).Error; err != nil {
			return Result{}, store.Server{}, fmt.Errorf("return plan stock: %w", err)
		}
	}
	var nodes []string
	if err := tx.Model(&store.PlanNode{}).Where("plan_id = ?", plan.ID).Pluck("node_id", &nodes).Error; err != nil {
		return Result{}, store.Server{}, fmt.Errorf("read plan nodes: %w", err)
	}
	srv, op, err := s.inst.ResizeTx(ctx, tx, instance.ResizeOptions{ServerID: *sub.ServerID, ActorID: v.UserID, Nodes: nodes},
		api.ResizeServerRequest{CPU: plan.CPU, MemoryMiB: plan.MemoryMiB, DiskMiB: plan.DiskMiB})
	if err != nil {
		return Result{}, store.Server{}, err
	}
	now := store.Now()
	ch := Change{
		ID: uuid.NewString(), SubscriptionID: sub.ID, UserID: sub.UserID, ResellerID: quote.ResellerID, ActorID: v.UserID,
		IdempotencyKey: key, OperationID: op.ID, Status: api.ChangePending, FromPlanID: oldPlan.ID, ToPlanID: plan.ID,
		Currency: sub.Currency, Price: price, WholesalePrice: wholesale, PrevPrice: sub.Price,
		PrevWholesalePrice: sub.WholesalePrice, PrevCPU: sub.CPU, PrevMemoryMiB: sub.MemoryMiB, PrevDiskMiB: sub.DiskMiB,
		Amount: amount, WholesaleAmount: wamount, RemainingSeconds: remaining, PeriodSeconds: period,
		CreatedAt: now, UpdatedAt: now,
	}
	m := movement{ch: ch, fromName: oldPlan.Name, toName: plan.Name, customer: customer, actor: v.UserID}
	// Debits up front: the customer's upgrade, then the reseller's wholesale difference (wallets
	// in this order, as everywhere).
	if amount > 0 {
		inv, err := s.charge(ctx, tx, m)
		if err != nil {
			return Result{}, store.Server{}, err
		}
		ch.InvoiceID = &inv
	}
	if quote.ResellerID != nil && wamount > 0 {
		if err := s.settle(ctx, tx, m, -wamount, ""); err != nil {
			return Result{}, store.Server{}, err
		}
	}
	err = tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Updates(map[string]any{
		"plan_id": plan.ID, "price": price, "wholesale_price": wholesale, "cpu": plan.CPU,
		"memory_mib": plan.MemoryMiB, "disk_mib": plan.DiskMiB, "updated_at": now,
	}).Error
	if err != nil {
		return Result{}, store.Server{}, fmt.Errorf("update subscription: %w", err)
	}
	if err := tx.Create(&ch).Error; err != nil {
		if store.IsDuplicate(err) {
			return Result{}, store.Server{}, apierr.Conflict("a plan change with this idempotency key is being made; retry to see its result")
		}
		return Result{}, store.Server{}, fmt.Errorf("insert plan change: %w", err)
	}
	return Result{Change: ch, Operation: op, Cycle: sub.Cycle}, srv, nil
}

// movement is what the money steps of one change need.
type movement struct {
	ch               Change
	fromName, toName string
	customer         store.User
	actor            string
}

func (m movement) key(suffix string) string {
	return "resize:" + m.ch.SubscriptionID + ":" + m.ch.IdempotencyKey + suffix
}

func (m movement) describe() string {
	verb := "Plan change"
	switch {
	case m.ch.Price > m.ch.PrevPrice:
		verb = "Upgrade"
	case m.ch.Price < m.ch.PrevPrice:
		verb = "Downgrade"
	}
	return fmt.Sprintf("%s from %s to %s, %s", verb, m.fromName, m.toName, remainingText(m.ch.RemainingSeconds))
}

// charge debits an upgrade's proration from the customer's wallet and issues its paid
// invoice; it returns the invoice id.
func (s *Service) charge(ctx context.Context, tx *gorm.DB, m movement) (string, error) {
	_, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
		UserID: m.ch.UserID, Currency: m.ch.Currency, Kind: api.EntryCharge, Amount: -m.ch.Amount,
		IdempotencyKey: m.key(""), Reason: m.describe() + " (prorated)", Reference: m.ch.SubscriptionID, ActorID: m.actor,
	})
	if err != nil {
		return "", err
	}
	return s.issue(ctx, tx, m, m.describe()+" (prorated)", m.ch.Amount)
}

// settle moves amount (signed: < 0 debits) on the reseller's wallet as a settlement.
func (s *Service) settle(ctx context.Context, tx *gorm.DB, m movement, amount int64, suffix string) error {
	_, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
		UserID: *m.ch.ResellerID, Currency: m.ch.Currency, Kind: api.EntrySettlement, Amount: amount,
		IdempotencyKey: m.key(":settlement" + suffix), Reason: "Wholesale proration: " + m.describe(),
		Reference: m.ch.SubscriptionID, ActorID: m.actor,
	})
	var ae *apierr.Error
	if errors.As(err, &ae) && ae.Code == api.CodeInsufficientFunds {
		msg := "this change cannot be made right now: your provider's account cannot cover it; please contact your provider"
		var prof store.ResellerProfile
		if perr := tx.WithContext(ctx).Where("user_id = ?", *m.ch.ResellerID).Take(&prof).Error; perr == nil && prof.SupportEmail != "" {
			msg += " at " + prof.SupportEmail
		}
		return &apierr.Error{Code: api.CodeResellerFunds, Message: msg, Err: err}
	}
	return err
}

// issue writes a paid invoice of one line for the customer; issuer is the reseller, if any.
func (s *Service) issue(ctx context.Context, tx *gorm.DB, m movement, line string, amount int64) (string, error) {
	issuer, seller, sellerEmail := "", s.opts.SellerName, s.opts.SellerEmail
	if m.ch.ResellerID != nil {
		issuer = *m.ch.ResellerID
		var prof store.ResellerProfile
		err := tx.WithContext(ctx).Where("user_id = ?", issuer).Take(&prof).Error
		if err != nil && !store.IsNotFound(err) {
			return "", fmt.Errorf("read reseller profile: %w", err)
		}
		seller, sellerEmail = prof.BrandName, prof.SupportEmail
		if seller == "" {
			var r store.User
			if err := tx.WithContext(ctx).Select("id", "email").Where("id = ?", issuer).Take(&r).Error; err != nil {
				return "", fmt.Errorf("read reseller: %w", err)
			}
			seller = r.Email
		}
	}
	var sub store.Subscription
	if err := tx.WithContext(ctx).Select("id", "period_end").Where("id = ?", m.ch.SubscriptionID).Take(&sub).Error; err != nil {
		return "", fmt.Errorf("read subscription: %w", err)
	}
	now := s.now()
	end := sub.PeriodEnd
	inv, _, err := invoice.Issue(ctx, tx, invoice.Draft{
		IssuerID: issuer, UserID: m.ch.UserID, SubscriptionID: &m.ch.SubscriptionID, Status: invoice.StatusPaid,
		Currency: m.ch.Currency, Lines: []invoice.Line{{Description: line, Quantity: 1, UnitAmount: amount}},
		PeriodStart: &now, PeriodEnd: &end, SellerName: seller, SellerEmail: sellerEmail, BuyerEmail: m.customer.Email,
		IssuedAt: now,
	})
	if err != nil {
		return "", fmt.Errorf("issue invoice: %w", err)
	}
	return inv.ID, nil
}

// FinishChange is an ops.FinishHook settling the plan change of a resize operation in the
// transaction that records its result. On success: a downgrade's credit goes to the
// customer's wallet (kind refund) with a credit invoice, the reseller gets its wholesale
// difference back (settlement), and the change is applied. On failure: what was charged up
// front is refunded (kind refund, with a credit invoice; the reseller's settlement too), the
// subscription returns to its old plan, prices and resources, the stock moves back, and the
// change is reverted. Only credits are posted here, so this never fails for lack of funds.
func (s *Service) FinishChange(ctx context.Context, tx *gorm.DB, op store.Operation) error {
	if op.Kind != api.OpInstanceResize {
		return nil
	}
	tx = tx.WithContext(ctx)
	var ch Change
	err := s.db.ForUpdate(tx).Where("operation_id = ? AND status = ?", op.ID, api.ChangePending).Take(&ch).Error
	if store.IsNotFound(err) {
		return nil // an admin resize, or settled already
	}
	if err != nil {
		return fmt.Errorf("lock plan change: %w", err)
	}
	var from, to store.Plan
	if err := tx.Select("id", "name", "stock").Where("id = ?", ch.FromPlanID).Take(&from).Error; err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	if err := tx.Select("id", "name", "stock").Where("id = ?", ch.ToPlanID).Take(&to).Error; err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	var customer store.User
	if err := tx.Select("id", "email").Where("id = ?", ch.UserID).Take(&customer).Error; err != nil {
		return fmt.Errorf("read customer: %w", err)
	}
	m := movement{ch: ch, fromName: from.Name, toName: to.Name, customer: customer, actor: billing.ActorSystem}
	status := api.ChangeApplied
	var credit *string
	if op.Status == api.OpSuccess {
		if ch.Amount < 0 {
			if _, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
				UserID: ch.UserID, Currency: ch.Currency, Kind: api.EntryRefund, Amount: -ch.Amount,
				IdempotencyKey: m.key(""), Reason: m.describe() + " (prorated credit)", Reference: ch.SubscriptionID,
				ActorID: billing.ActorSystem,
			}); err != nil {
				return fmt.Errorf("credit downgrade: %w", err)
			}
			id, err := s.issue(ctx, tx, m, m.describe()+" (prorated credit)", ch.Amount)
			if err != nil {
				return err
			}
			credit = &id
		}
		if ch.ResellerID != nil && ch.WholesaleAmount < 0 {
			if err := s.settle(ctx, tx, m, -ch.WholesaleAmount, ""); err != nil {
				return fmt.Errorf("credit reseller: %w", err)
			}
		}
	} else {
		status = api.ChangeReverted
		if ch.Amount > 0 {
			if _, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
				UserID: ch.UserID, Currency: ch.Currency, Kind: api.EntryRefund, Amount: ch.Amount,
				IdempotencyKey: m.key(":refund"), Reason: "Refund: the resize failed; " + m.describe() + " was not made",
				Reference: ch.SubscriptionID, ActorID: billing.ActorSystem,
			}); err != nil {
				return fmt.Errorf("refund upgrade: %w", err)
			}
			id, err := s.issue(ctx, tx, m, "Refund: the resize failed; "+m.describe()+" was not made", -ch.Amount)
			if err != nil {
				return err
			}
			credit = &id
		}
		if ch.ResellerID != nil && ch.WholesaleAmount > 0 {
			if err := s.settle(ctx, tx, m, ch.WholesaleAmount, "-refund"); err != nil {
				return fmt.Errorf("refund reseller: %w", err)
			}
		}
		err := tx.Model(&store.Subscription{}).Where("id = ? AND plan_id = ?", ch.SubscriptionID, ch.ToPlanID).Updates(map[string]any{
			"plan_id": ch.FromPlanID, "price": ch.PrevPrice, "wholesale_price": ch.PrevWholesalePrice, "cpu": ch.PrevCPU,
			"memory_mib": ch.PrevMemoryMiB, "disk_mib": ch.PrevDiskMiB, "updated_at": store.Now(),
		}).Error
		if err != nil {
			return fmt.Errorf("revert subscription: %w", err)
		}
		if to.Stock != nil {
			if err := tx.Model(&store.Plan{}).Where("id = ?", to.ID).UpdateColumn("stock", gorm.Expr("stock + 1")).Error; err != nil {
				return fmt.Errorf("return plan stock: %w", err)
			}
		}
		if from.Stock != nil {
			if err := tx.Model(&store.Plan{}).Where("id = ? AND stock > 0", from.ID).UpdateColumn("stock", gorm.Expr("stock - 1")).Error; err != nil {
				return fmt.Errorf("take plan stock back: %w", err)
			}
		}
	}
	if err := tx.Model(&Change{}).Where("id = ?", ch.ID).Updates(map[string]any{
		"status": status, "credit_invoice_id": credit, "updated_at": store.Now(),
	}).Error; err != nil {
		return fmt.Errorf("settle plan change: %w", err)
	}
	return audit.Record(ctx, tx, audit.Entry{ActorID: audit.SystemActor, Action: "subscription.change." + status,
		ObjectType: "subscription", ObjectID: ch.SubscriptionID, OwnerID: ch.UserID},
		map[string]any{"change_id": ch.ID, "operation_id": op.ID, "from_plan_id": ch.FromPlanID, "to_plan_id": ch.ToPlanID,
			"amount": ch.Amount, "currency": ch.Currency})
}
