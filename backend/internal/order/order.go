package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
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

// The server fields of an order follow the rules of instance.Service.CreateTx; they are
// checked here first so that the answer names the order's fields.
var (
	serverNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	imagePattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$`)
)

// maxCouponCode bounds the coupon code field before it is normalized.
const maxCouponCode = 64

// validateOrder checks the fields of an order or a quote (server false: no server fields).
func validateOrder(req api.CreateOrderRequest, server bool) error {
	f := map[string]string{}
	if req.PlanID == "" {
		f["plan_id"] = "is required"
	} else if uuid.Validate(req.PlanID) != nil {
		f["plan_id"] = "must be a plan id"
	}
	if req.Cycle != api.CycleMonthly && req.Cycle != api.CycleHourly {
		f["cycle"] = "must be monthly or hourly"
	}
	if server {
		if !serverNamePattern.MatchString(req.ServerName) {
			f["server_name"] = "must be 2-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"
		}
		if !imagePattern.MatchString(req.Image) {
			f["image"] = "must be an image alias or fingerprint"
		}
	}
	if len(req.CouponCode) > maxCouponCode {
		f["coupon_code"] = fmt.Sprintf("must be at most %d characters", maxCouponCode)
	}
	if req.Trial {
		if req.Cycle == api.CycleHourly {
			f["trial"] = "only monthly subscriptions have a free trial"
		}
		if req.CouponCode != "" {
			f["coupon_code"] = "cannot be combined with a free trial"
		}
	}
	if len(f) > 0 {
		return apierr.Validation(f)
	}
	return nil
}

// fingerprint hashes what a replay of an order must repeat (length-prefixed fields).
func fingerprint(req api.CreateOrderRequest) string {
	h := sha256.New()
	for _, p := range []string{"v1", req.PlanID, req.Cycle, req.ServerName, req.Image,
		strings.ToUpper(strings.TrimSpace(req.CouponCode)), strconv.FormatBool(req.Trial)} {
		_, _ = h.Write([]byte(strconv.Itoa(len(p)) + ":" + p + ";"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pricing is an order's price for one customer.
type pricing struct {
	plan  store.Plan
	quote reseller.Quote
	// setup and price are retail (price per month or hour); wsetup and wprice wholesale.
	setup, price, wsetup, wprice int64
	subtotal, discount, total    int64
	// wholesale is what the reseller pays the provider for this order.
	wholesale int64
	coupon    *store.Coupon
	trial     bool
}

// planFor reads a plan a customer may order inside tx, locked when lock is set.
func (s *Service) planFor(ctx context.Context, tx *gorm.DB, id string, lock bool) (store.Plan, error) {
	var p store.Plan
	q := tx.WithContext(ctx)
	if lock {
		q = s.db.ForUpdate(q)
	}
	err := q.Where("id = ?", id).Take(&p).Error
	if store.IsNotFound(err) || (err == nil && (!p.Active || p.ArchivedAt != nil)) {
		return p, apierr.NotFound("plan not found")
	}
	if err != nil {
		return p, fmt.Errorf("read plan: %w", err)
	}
	return p, nil
}

// trialAvailable reports whether u may still take the one free trial.
func (s *Service) trialAvailable(u store.User) bool {
	return s.cfg.Billing.TrialDays > 0 && u.TrialUsedAt == nil
}

// price computes what u pays for plan on cycle, with a coupon or as a trial. With lock, the
// coupon row is locked (checkout); without, nothing is locked (a quote).
func (s *Service) price(ctx context.Context, tx *gorm.DB, u store.User, plan store.Plan, req api.CreateOrderRequest,
	lock bool, now time.Time) (pricing, error) {
	pr := pricing{plan: plan, trial: req.Trial}
	q, err := s.resl.Quote(ctx, tx, u, plan)
	if err != nil {
		return pr, err
	}
	pr.quote = q
	pr.setup, pr.wsetup = q.Retail.Setup, q.Wholesale.Setup
	if req.Cycle == api.CycleMonthly {
		pr.price, pr.wprice = q.Retail.Month, q.Wholesale.Month
	} else {
		pr.price, pr.wprice = q.Retail.Hour, q.Wholesale.Hour
	}
	if req.Trial {
		if !s.trialAvailable(u) {
			return pr, apierr.New(api.CodeTrialUnavailable, "this account has no free trial left: a trial is offered once per account")
		}
		return pr, nil
	}
	pr.subtotal = pr.setup + pr.price
	if q.ResellerID != nil {
		pr.wholesale = pr.wsetup + pr.wprice
	}
	if pr.subtotal > billing.MaxAmount || pr.wholesale > billing.MaxAmount {
		return pr, apierr.Validation(map[string]string{"plan_id": fmt.Sprintf(
			"this plan's first charge is above the maximum of %s", billing.Format(billing.MaxAmount, plan.Currency))})
	}
	if req.CouponCode != "" {
		c, d, err := s.checkCoupon(ctx, tx, req.CouponCode, u, plan, pr.subtotal, lock, now)
		if err != nil {
			return pr, err
		}
		pr.coupon, pr.discount = &c, d
	}
	pr.total = pr.subtotal - pr.discount
	return pr, nil
}

// readUser reads a user inside tx, locked when lock is set.
func (s *Service) readUser(ctx context.Context, tx *gorm.DB, id string, lock bool) (store.User, error) {
	var u store.User
	q := tx.WithContext(ctx)
	if lock {
		q = s.db.ForUpdate(q)
	}
	err := q.Where("id = ?", id).Take(&u).Error
	if store.IsNotFound(err) {
		return u, apierr.NotFound("user not found")
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// Quote previews what userID would pay for req now, writing nothing.
func (s *Service) Quote(ctx context.Context, userID string, req api.QuoteRequest) (api.OrderQuote, error) {
	oreq := api.CreateOrderRequest{PlanID: req.PlanID, Cycle: req.Cycle, CouponCode: req.CouponCode, Trial: req.Trial}
	if err := validateOrder(oreq, false); err != nil {
		return api.OrderQuote{}, err
	}
	db := s.db.WithContext(ctx)
	u, err := s.readUser(ctx, db, userID, false)
	if err != nil {
		return api.OrderQuote{}, err
	}
	plan, err := s.planFor(ctx, db, req.PlanID, false)
	if err != nil {
		return api.OrderQuote{}, err
	}
	pr, err := s.price(ctx, db, u, plan, oreq, false, clock(time.Now()))
	if err != nil {
		return api.OrderQuote{}, err
	}
	exp, _ := billing.Exponent(plan.Currency)
	return api.OrderQuote{
		PlanID: plan.ID, Cycle: req.Cycle, Currency: plan.Currency, Exponent: exp, SetupFee: pr.setup, Price: pr.price,
		Subtotal: pr.subtotal, Discount: pr.discount, Total: pr.total, Trial: req.Trial,
		TrialAvailable: s.trialAvailable(u), TrialDays: s.cfg.Billing.TrialDays,
	}, nil
}

// Placed is an order with what it started.
type Placed struct {
	Order        store.Order
	Subscription store.Subscription
	Server       store.Server
	Operation    store.Operation
	// Replayed is set when the idempotency key had placed this order before: nothing was
	// written.
	Replayed bool
}

// Create places an order for userID under the idempotency key (validated by the caller):
// in one transaction it locks the user, checks the plan and its stock, prices the order
// (reseller retail price, coupon, trial), charges the customer's wallet and the reseller's
// wholesale settlement, issues the paid invoice, creates the server and its create
// operation, and writes the subscription (pending until the server is provisioned) and the
// order. The operation is enqueued after commit. The same key with the same request replays
// the first order; with another request it is a conflict.
func (s *Service) Create(ctx context.Context, userID, key string, req api.CreateOrderRequest) (Placed, error) {
	if !billing.ValidKey(key) {
		return Placed{}, billing.BadKey(key)
	}
	if err := validateOrder(req, true); err != nil {
		return Placed{}, err
	}
	fp := fingerprint(req)
	var (
		out   Placed
		notes []string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out, notes = Placed{}, nil
		u, err := s.readUser(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		var prev store.Order
		err = tx.Where("user_id = ? AND idempotency_key = ?", userID, key).Take(&prev).Error
		if err == nil {
			if prev.Fingerprint != fp {
				return apierr.Conflict("idempotency key reused with a different order: this key already placed order " + prev.ID)
			}
			out, err = s.load(ctx, tx, prev)
			out.Replayed = true
			return err
		}
		if !store.IsNotFound(err) {
			return fmt.Errorf("read order by key: %w", err)
		}
		if s.cfg.Mail.RequireVerification && u.EmailVerifiedAt == nil {
			return apierr.New(api.CodeEmailNotVerified, "verify your e-mail address before ordering: follow the link we sent you")
		}
		out, notes, err = s.place(ctx, tx, u, key, fp, req)
		return err
	})
	if err != nil {
		return Placed{}, err
	}
	if !out.Replayed {
		s.inst.Enqueue(ctx, &out.Operation, out.Server)
		s.log.InfoContext(ctx, "order placed", "order_id", out.Order.ID, "user_id", userID, "plan_id", req.PlanID,
			"total", out.Order.Total, "currency", out.Order.Currency, "trial", out.Order.Trial, "server_id", out.Server.ID)
		s.engine.deliver(ctx, notes)
	}
	return out, nil
}

// place writes a new order inside tx (the user row is locked).
func (s *Service) place(ctx context.Context, tx *gorm.DB, u store.User, key, fp string, req api.CreateOrderRequest) (Placed, []string, error) {
	var out Placed
	now := store.Now()
	plan, err := s.planFor(ctx, tx, req.PlanID, true)
	if err != nil {
		return out, nil, err
	}
	if plan.Stock != nil {
		if *plan.Stock <= 0 {
			return out, nil, apierr.New(api.CodeOutOfStock, "this plan is out of stock")
		}
		if err := tx.Model(&store.Plan{}).Where("id = ? AND stock > 0", plan.ID).
			Update("stock", gorm.Expr("stock - 1")).Error; err != nil {
			return out, nil, fmt.Errorf("take plan stock: %w", err)
		}
	}
	pr, err := s.price(ctx, tx, u, plan, req, true, now)
	if err != nil {
		return out, nil, err
	}
	sl, err := s.sellerFor(ctx, tx, pr.quote.ResellerID)
	if err != nil {
		return out, nil, err
	}
	orderID := uuid.NewString()
	var notes []string
	if pr.total > 0 {
		res, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
			UserID: u.ID, Currency: plan.Currency, Kind: api.EntryCharge, Amount: -pr.total, IdempotencyKey: "order:" + orderID,
			Reason: "Order: " + plan.Name, Reference: orderID, ActorID: u.ID,
		})
		if err != nil {
			return out, nil, err
		}
		ids, err := lowBalance(ctx, tx, res.Wallet)
		if err != nil {
			return out, nil, err
		}
		notes = append(notes, ids...)
	}
	if pr.wholesale > 0 {
		res, err := s.bill.PostTx(ctx, tx, billing.PostRequest{
			UserID: *pr.quote.ResellerID, Currency: plan.Currency, Kind: api.EntrySettlement, Amount: -pr.wholesale,
			IdempotencyKey: "order:" + orderID + ":settlement", Reason: "Wholesale: " + plan.Name + " for " + u.Email,
			Reference: orderID, ActorID: u.ID,
		})
		if isCode(err, api.CodeInsufficientFunds) {
			return out, nil, resellerFunds(sl)
		}
		if err != nil {
			return out, nil, err
		}
		ids, err := lowBalance(ctx, tx, res.Wallet)
		if err != nil {
			return out, nil, err
		}
		notes = append(notes, ids...)
	}
	nodes, err := planNodes(ctx, tx, plan.ID)
	if err != nil {
		return out, nil, err
	}
	srv, op, err := s.inst.CreateTx(ctx, tx, instance.CreateOptions{OwnerID: u.ID, ActorID: u.ID, Nodes: nodes},
		api.CreateServerRequest{Name: req.ServerName, Image: req.Image, Type: plan.Type, CPU: plan.CPU,
			MemoryMiB: plan.MemoryMiB, DiskMiB: plan.DiskMiB})
	if err != nil {
		return out, nil, err
	}
	sub := store.Subscription{
		ID: uuid.NewString(), UserID: u.ID, ResellerID: pr.quote.ResellerID, PlanID: plan.ID, ServerID: &srv.ID,
		Cycle: req.Cycle, Status: api.SubscriptionPending, Currency: plan.Currency, Price: pr.price,
		CPU: plan.CPU, MemoryMiB: plan.MemoryMiB, DiskMiB: plan.DiskMiB, AutoRenew: true,
		PeriodStart: now, CreatedAt: now, UpdatedAt: now,
	}
	if pr.quote.ResellerID != nil {
		sub.WholesalePrice = pr.wprice
	}
	switch {
	case req.Trial:
		ends := now.AddDate(0, 0, s.cfg.Billing.TrialDays)
		sub.TrialEndsAt, sub.PeriodEnd = &ends, ends
	case req.Cycle == api.CycleMonthly:
		sub.PeriodEnd = now.AddDate(0, 1, 0)
	default:
		sub.PeriodEnd = now.Truncate(time.Hour).Add(time.Hour)
	}
	if err := tx.Create(&sub).Error; err != nil {
		return out, nil, fmt.Errorf("insert subscription: %w", err)
	}
	o := store.Order{
		ID: orderID, UserID: u.ID, PlanID: plan.ID, SubscriptionID: &sub.ID, ServerID: &srv.ID, OperationID: &op.ID,
		Status: api.OrderProvisioning, Cycle: req.Cycle, Trial: req.Trial, Currency: plan.Currency,
		Subtotal: pr.subtotal, Discount: pr.discount, Total: pr.total, Image: req.Image, ServerName: req.ServerName,
		IdempotencyKey: key, Fingerprint: fp, CreatedAt: now, UpdatedAt: now,
	}
	if pr.coupon != nil {
		o.CouponID = &pr.coupon.ID
	}
	if err := tx.Create(&o).Error; err != nil {
		if store.IsDuplicate(err) {
			return out, nil, apierr.Conflict("an order with this idempotency key is being placed; retry to read it")
		}
		return out, nil, fmt.Errorf("insert order: %w", err)
	}
	if pr.coupon != nil {
		if err := redeemCoupon(ctx, tx, *pr.coupon, u.ID, orderID, pr.discount); err != nil {
			return out, nil, err
		}
	}
	if req.Trial {
		if err := tx.Model(&store.User{}).Where("id = ?", u.ID).Update("trial_used_at", now).Error; err != nil {
			return out, nil, fmt.Errorf("mark trial used: %w", err)
		}
	} else {
		lines := []invoice.Line{}
		if pr.setup > 0 {
			lines = append(lines, invoice.Line{Description: "Setup fee: " + plan.Name, Quantity: 1, UnitAmount: pr.setup})
		}
		desc := fmt.Sprintf("%s, %s to %s", plan.Name, day(sub.PeriodStart), day(sub.PeriodEnd))
		if req.Cycle == api.CycleHourly {
			desc = fmt.Sprintf("%s, first hour (to %s)", plan.Name, sub.PeriodEnd.Format("2006-01-02 15:04 MST"))
		}
		lines = append(lines, invoice.Line{Description: desc, Quantity: 1, UnitAmount: pr.price})
		if _, _, err := invoice.Issue(ctx, tx, invoice.Draft{
			IssuerID: sl.issuerID, UserID: u.ID, SubscriptionID: &sub.ID, OrderID: &o.ID, Status: invoice.StatusPaid,
			Currency: plan.Currency, Lines: lines, Discount: pr.discount, PeriodStart: &sub.PeriodStart,
			PeriodEnd: &sub.PeriodEnd, SellerName: sl.name, SellerEmail: sl.email, BuyerEmail: u.Email, IssuedAt: now,
		}); err != nil {
			return out, nil, fmt.Errorf("issue order invoice: %w", err)
		}
	}
	if err := audit.Record(ctx, tx, audit.Entry{ActorID: u.ID, Action: "order.create", ObjectType: "order", ObjectID: o.ID,
		OwnerID: u.ID}, map[string]any{"plan_id": plan.ID, "cycle": req.Cycle, "total": pr.total, "currency": plan.Currency,
		"trial": req.Trial, "subscription_id": sub.ID, "server_id": srv.ID}); err != nil {
		return out, nil, err
	}
	return Placed{Order: o, Subscription: sub, Server: srv, Operation: op}, notes, nil
}

// day formats a date for invoice lines.
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func planNodes(ctx context.Context, tx *gorm.DB, planID string) ([]string, error) {
	var ids []string
	if err := tx.WithContext(ctx).Model(&store.PlanNode{}).Where("plan_id = ?", planID).Order("node_id").
		Pluck("node_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("read plan nodes: %w", err)
	}
	return ids, nil
}

// load reads what an order started.
func (s *Service) load(ctx context.Context, tx *gorm.DB, o store.Order) (Placed, error) {
	out := Placed{Order: o}
	tx = tx.WithContext(ctx)
	if o.SubscriptionID != nil {
		if err := tx.Where("id = ?", *o.SubscriptionID).Take(&out.Subscription).Error; err != nil {
			return out, fmt.Errorf("read subscription: %w", err)
		}
	}
	if o.ServerID != nil {
		if err := tx.Where("id = ?", *o.ServerID).Take(&out.Server).Error; err != nil {
			return out, fmt.Errorf("read server: %w", err)
		}
	}
	if o.OperationID != nil {
		if err := tx.Where("id = ?", *o.OperationID).Take(&out.Operation).Error; err != nil {
			return out, fmt.Errorf("read operation: %w", err)
		}
	}
	return out, nil
}

// ordersVisible is an SQL condition on orders (table orders) that holds for the orders v may
// see: its own, a reseller's customers', all for admins.
func ordersVisible(v ops.Viewer) (string, []any) {
	if v.Admin {
		return "", nil
	}
	if v.Reseller {
		return "(orders.user_id = ? OR orders.user_id IN (SELECT id FROM users WHERE reseller_id = ?))", []any{v.UserID, v.UserID}
	}
	return "orders.user_id = ?", []any{v.UserID}
}

// Order returns an order v may see.
func (s *Service) Order(ctx context.Context, v ops.Viewer, id string) (store.Order, error) {
	var o store.Order
	if uuid.Validate(id) != nil {
		return o, apierr.NotFound("order not found")
	}
	q := s.db.WithContext(ctx).Table("orders").Where("orders.id = ?", id)
	if cond, args := ordersVisible(v); cond != "" {
		q = q.Where(cond, args...)
	}
	err := q.Take(&o).Error
	if store.IsNotFound(err) {
		return o, apierr.NotFound("order not found")
	}
	if err != nil {
		return o, fmt.Errorf("read order: %w", err)
	}
	return o, nil
}

// OrderFilter selects orders.
type OrderFilter struct {
	Status        string
	Page, PerPage int
}

// Orders returns one page of the orders v may see, newest first, and the total.
func (s *Service) Orders(ctx context.Context, v ops.Viewer, f OrderFilter) ([]store.Order, int64, error) {
	q := s.db.WithContext(ctx).Table("orders")
	if cond, args := ordersVisible(v); cond != "" {
		q = q.Where(cond, args...)
	}
	if f.Status != "" {
		q = q.Where("orders.status = ?", f.Status)
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	rows := []store.Order{}
	if err := q.Order("orders.created_at DESC, orders.id DESC").Limit(f.PerPage).Offset((f.Page - 1) * f.PerPage).
		Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	return rows, total, nil
}

// OrderAPI converts an order to its wire form.
func OrderAPI(o store.Order) api.Order {
	out := api.Order{ID: o.ID, UserID: o.UserID, PlanID: o.PlanID, Status: o.Status, Cycle: o.Cycle, Trial: o.Trial,
		Currency: o.Currency, Subtotal: o.Subtotal, Discount: o.Discount, Total: o.Total, ServerName: o.ServerName,
		Image: o.Image, Error: o.Error, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if o.SubscriptionID != nil {
		out.SubscriptionID = *o.SubscriptionID
	}
	if o.ServerID != nil {
		out.ServerID = *o.ServerID
	}
	if o.OperationID != nil {
		out.OperationID = *o.OperationID
	}
	if o.CouponID != nil {
		out.CouponID = *o.CouponID
	}
	return out
}
