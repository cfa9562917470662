package order

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// defaultBatch is how many subscriptions one transaction of the bulk renewal handles, and
// how many due subscriptions one candidate query returns.
const defaultBatch = 500

// defaultWorkers is how many bulk renewal transactions run side by side on PostgreSQL.
const defaultWorkers = 2

// Engine is the billing engine: renewals, hourly metering, trial conversion, reminders,
// dunning (suspend, unsuspend, terminate) and low-balance warnings. Everything that depends
// on time takes the clock as an argument, so tests and a second panel process can drive it.
// Two passes may run at once (several panel processes): subscription rows are locked and
// every charge carries an idempotency key derived from the subscription and its period.
type Engine struct {
	s        *Service
	notifier notify.Notifier
	batch    int
	// workers is how many bulk renewal transactions run side by side (PostgreSQL).
	workers int
}

// WithNotifier returns a copy of the engine that delivers notifications through n.
func (e *Engine) WithNotifier(n notify.Notifier) *Engine {
	c := *e
	c.notifier = n
	return &c
}

// WithWorkers returns a copy of the engine running n bulk renewal transactions side by side
// on PostgreSQL (SQLite always uses one).
func (e *Engine) WithWorkers(n int) *Engine {
	c := *e
	if n > 0 {
		c.workers = n
	}
	return &c
}

// WithBatch returns a copy of the engine renewing n subscriptions per transaction.
func (e *Engine) WithBatch(n int) *Engine {
	c := *e
	if n > 0 {
		c.batch = n
	}
	return &c
}

// Stats counts what a pass, a Settle or a renewal did.
type Stats struct {
	// Renewed monthly periods, Metered hourly charges, Converted trials.
	Renewed, Metered, Converted int
	// Reminded renewals and trial ends.
	Reminded int
	// Unpaid charges refused for lack of funds (still within the grace period).
	Unpaid                                        int
	Suspended, Unsuspended, Terminated, Cancelled int
	// LowBalance warnings, Notified notifications delivered.
	LowBalance, Notified int
	// Failed subscriptions whose processing returned an error (logged; retried next pass).
	Failed int
}

func (st *Stats) add(o Stats) {
	st.Renewed += o.Renewed
	st.Metered += o.Metered
	st.Converted += o.Converted
	st.Reminded += o.Reminded
	st.Unpaid += o.Unpaid
	st.Suspended += o.Suspended
	st.Unsuspended += o.Unsuspended
	st.Terminated += o.Terminated
	st.Cancelled += o.Cancelled
	st.LowBalance += o.LowBalance
	st.Notified += o.Notified
	st.Failed += o.Failed
}

// queued is an operation to enqueue after its transaction commits.
type queued struct {
	op  store.Operation
	srv store.Server
}

// effects are what a transaction leaves to do after commit, and what it counted.
type effects struct {
	ops   []queued
	notes []string
	stats Stats
	// refusal is why the last charge was refused (insufficient funds), for explicit renewals.
	refusal error
	// cache of plan names and sellers for the transaction.
	plans   map[string]string
	sellers map[string]seller
}

// after enqueues the operations and delivers the notifications of a committed transaction.
func (e *Engine) after(ctx context.Context, fx *effects) {
	for i := range fx.ops {
		e.s.inst.Enqueue(ctx, &fx.ops[i].op, fx.ops[i].srv)
	}
	fx.stats.Notified += e.deliver(ctx, fx.notes)
}

// mode says why a subscription is processed.
type mode int

const (
	// modePass is the periodic pass: everything that is due.
	modePass mode = iota
	// modeSettle retries what is due after a top-up.
	modeSettle
	// modeRenew is the customer paying now: refusals and "nothing due" are errors.
	modeRenew
)

// Pass processes every subscription that is due at now: bulk monthly renewals first, then
// one transaction per subscription for trials, metering, reminders and dunning, then
// low-balance warnings and notifications left over. Errors of single subscriptions are
// logged and counted in Failed; they are retried by the next pass.
func (e *Engine) Pass(ctx context.Context, now time.Time) (Stats, error) {
	now = clock(now)
	var st Stats
	st.Notified += e.deliverPending(ctx)
	if err := e.renewAll(ctx, now, &st); err != nil {
		return st, err
	}
	var errs []error
	due := e.dueCondition(now)
	after := ""
	for ctx.Err() == nil {
		var ids []string
		q := e.s.db.WithContext(ctx).Model(&store.Subscription{}).Where(due.cond, due.args...).Where("id > ?", after).
			Order("id").Limit(e.batch)
		if err := q.Pluck("id", &ids).Error; err != nil {
			return st, fmt.Errorf("list due subscriptions: %w", err)
		}
		for _, id := range ids {
			if err := e.one(ctx, id, now, modePass, &st); err != nil {
				st.Failed++
				e.s.log.ErrorContext(ctx, "billing: subscription not processed", "subscription_id", id, "err", err)
				if len(errs) < 10 {
					errs = append(errs, fmt.Errorf("subscription %s: %w", id, err))
				}
			}
		}
		if len(ids) < e.batch {
			break
		}
		after = ids[len(ids)-1]
	}
	st.LowBalance += e.lowBalanceSweep(ctx, &st)
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	e.s.log.InfoContext(ctx, "billing pass", "at", now, "renewed", st.Renewed, "metered", st.Metered,
		"converted", st.Converted, "reminded", st.Reminded, "unpaid", st.Unpaid, "suspended", st.Suspended,
		"unsuspended", st.Unsuspended, "terminated", st.Terminated, "cancelled", st.Cancelled,
		"low_balance", st.LowBalance, "notified", st.Notified, "failed", st.Failed)
	return st, errors.Join(errs...)
}

type condition struct {
	cond string
	args []any
}

// dueCondition selects the subscriptions the per-subscription step of a pass looks at:
// trials and suspended ones, monthly ones past their period end or due for a reminder, and
// hourly ones with a completed hour to meter or cancelled.
func (e *Engine) dueCondition(now time.Time) condition {
	remind := now.Add(e.s.cfg.Billing.ReminderBefore)
	return condition{
		cond: `status IN (?, ?) OR (status = ? AND cycle = ? AND (period_end <= ? OR (auto_renew = ? AND period_end <= ?
			AND (reminded_at IS NULL OR reminded_at < period_start)))) OR (status = ? AND cycle = ? AND (period_end <= ? OR auto_renew = ?))`,
		args: []any{api.SubscriptionTrial, api.SubscriptionSuspended, api.SubscriptionActive, api.CycleMonthly, now, true, remind,
			api.SubscriptionActive, api.CycleHourly, now.Add(-time.Hour), false},
	}
}

// Settle retries, at now, what is due on userID's suspended or unpaid subscriptions — and,
// for a reseller, on its customers' (whose renewals its wallet may have blocked). Call it
// after a top-up (the payments' OnCredited hook).
func (e *Engine) Settle(ctx context.Context, userID string, now time.Time) error {
	now = clock(now)
	if uuid.Validate(userID) != nil {
		return apierr.NotFound("user not found")
	}
	var ids []string
	if err := e.s.db.WithContext(ctx).Model(&store.Subscription{}).
		Where("(user_id = ? OR reseller_id = ?) AND (status = ? OR (status = ? AND period_end <= ?))",
			userID, userID, api.SubscriptionSuspended, api.SubscriptionActive, now).
		Order("id").Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("list subscriptions to settle: %w", err)
	}
	var st Stats
	var errs []error
	for _, id := range ids {
		if err := e.one(ctx, id, now, modeSettle, &st); err != nil {
			errs = append(errs, fmt.Errorf("subscription %s: %w", id, err))
		}
	}
	if len(ids) > 0 {
		e.s.log.InfoContext(ctx, "billing settle", "user_id", userID, "subscriptions", len(ids), "renewed", st.Renewed,
			"metered", st.Metered, "unsuspended", st.Unsuspended, "unpaid", st.Unpaid)
	}
	return errors.Join(errs...)
}

// one processes subscription id at now in its own transaction, under its row lock.
func (e *Engine) one(ctx context.Context, id string, now time.Time, m mode, st *Stats) error {
	var fx effects
	err := e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fx = effects{plans: map[string]string{}, sellers: map[string]seller{}}
		var sub store.Subscription
		if err := e.s.db.ForUpdate(tx).Where("id = ?", id).Take(&sub).Error; err != nil {
			if store.IsNotFound(err) {
				return apierr.NotFound("subscription not found")
			}
			return fmt.Errorf("lock subscription: %w", err)
		}
		utcTimes(&sub)
		return e.process(ctx, tx, &sub, now, m, &fx)
	})
	if err != nil {
		return err
	}
	e.after(ctx, &fx)
	st.add(fx.stats)
	return nil
}

// nothingDue answers an explicit renewal of a subscription that owes nothing.
func nothingDue(sub *store.Subscription) error {
	return apierr.Conflict("nothing is due on this subscription: it is paid until " + sub.PeriodEnd.UTC().Format(time.RFC3339))
}

// process applies to sub (locked) what is due at now.
func (e *Engine) process(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, m mode, fx *effects) error {
	cfg := e.s.cfg.Billing
	switch sub.Status {
	case api.SubscriptionTrial, api.SubscriptionActive, api.SubscriptionSuspended:
		// A server its owner deleted ends its subscription: nothing more is charged.
		if sub.ServerID != nil {
			var n int64
			if err := tx.Model(&store.Server{}).Where("id = ? AND deleted_at IS NOT NULL", *sub.ServerID).Count(&n).Error; err != nil {
				return fmt.Errorf("read server: %w", err)
			}
			if n > 0 {
				return e.end(ctx, tx, sub, now, fx, api.SubscriptionCancelled)
			}
		}
	}
	switch sub.Status {
	case api.SubscriptionTrial:
		if now.Before(sub.PeriodEnd) && m != modeRenew {
			if sub.AutoRenew && sub.RemindedAt == nil && !now.Before(sub.PeriodEnd.Add(-cfg.ReminderBefore)) {
				return e.remind(ctx, tx, sub, now, fx, notify.KindTrialEnding)
			}
			return nil
		}
		if !sub.AutoRenew {
			return e.end(ctx, tx, sub, now, fx, api.SubscriptionCancelled)
		}
		ok, err := e.charge(ctx, tx, sub, e.monthDue(ctx, tx, sub, fx), fx)
		if err != nil || (!ok && m == modeRenew) {
			return errors.Join(err, fx.refusal)
		}
		if !ok {
			return e.suspend(ctx, tx, sub, now, fx)
		}
		fx.stats.Converted++
		return e.startPeriod(ctx, tx, sub, now, now, now.AddDate(0, 1, 0), api.SubscriptionActive, "subscription.convert", fx)

	case api.SubscriptionActive:
		if sub.Cycle == api.CycleHourly {
			return e.meter(ctx, tx, sub, now, m, fx)
		}
		if now.Before(sub.PeriodEnd) {
			if m == modeRenew {
				return nothingDue(sub)
			}
			if sub.AutoRenew && !now.Before(sub.PeriodEnd.Add(-cfg.ReminderBefore)) &&
				(sub.RemindedAt == nil || sub.RemindedAt.Before(sub.PeriodStart)) {
				return e.remind(ctx, tx, sub, now, fx, notify.KindRenewalReminder)
			}
			return nil
		}
		if !sub.AutoRenew {
			return e.end(ctx, tx, sub, now, fx, api.SubscriptionCancelled)
		}
		ok, err := e.charge(ctx, tx, sub, e.monthDue(ctx, tx, sub, fx), fx)
		if err != nil || (!ok && m == modeRenew) {
			return errors.Join(err, fx.refusal)
		}
		if !ok {
			return e.unpaid(ctx, tx, sub, now, fx)
		}
		fx.stats.Renewed++
		return e.startPeriod(ctx, tx, sub, now, sub.PeriodEnd, sub.PeriodEnd.AddDate(0, 1, 0), api.SubscriptionActive, "subscription.renew", fx)

	case api.SubscriptionSuspended:
		if !sub.AutoRenew {
			return e.end(ctx, tx, sub, now, fx, api.SubscriptionCancelled)
		}
		if sub.SuspendedAt != nil && !now.Before(sub.SuspendedAt.Add(cfg.TerminateAfter)) && m != modeRenew {
			return e.end(ctx, tx, sub, now, fx, api.SubscriptionTerminated)
		}
		d := e.monthDue(ctx, tx, sub, fx)
		if sub.Cycle == api.CycleHourly {
			to := sub.PeriodEnd
			if sub.SuspendedAt != nil {
				to = sub.SuspendedAt.Truncate(time.Hour)
			}
			d = e.hourDue(ctx, tx, sub, to, fx)
		}
		ok, err := e.charge(ctx, tx, sub, d, fx)
		if err != nil || (!ok && m == modeRenew) {
			return errors.Join(err, fx.refusal)
		}
		if !ok {
			return e.keepStopped(ctx, tx, sub, fx)
		}
		return e.unsuspend(ctx, tx, sub, now, d, fx)
	}
	if m == modeRenew {
		return apierr.Conflict("a " + sub.Status + " subscription cannot be renewed")
	}
	return nil
}

// due is one charge of a subscription: amount to the customer, wholesale to its reseller,
// under the idempotency key (the settlement's is key + ":settlement"), documented by lines
// on the invoice of [from, to).
type due struct {
	amount, wholesale int64
	key, reason       string
	lines             []invoice.Line
	from, to          time.Time
	hours             int64
}

// renewKey is the idempotency key of the monthly charge of the period ending at periodEnd.
func renewKey(subID string, periodEnd time.Time) string {
	return "renew:" + subID + ":" + strconv.FormatInt(periodEnd.Unix(), 10)
}

func (e *Engine) planName(ctx context.Context, tx *gorm.DB, planID string, fx *effects) string {
	if n, ok := fx.plans[planID]; ok {
		return n
	}
	var names []string
	if err := tx.WithContext(ctx).Model(&store.Plan{}).Where("id = ?", planID).Pluck("name", &names).Error; err != nil || len(names) == 0 {
		return "Plan " + planID
	}
	fx.plans[planID] = names[0]
	return names[0]
}

// monthDue is the charge of one month of sub, keyed by its current period end.
func (e *Engine) monthDue(ctx context.Context, tx *gorm.DB, sub *store.Subscription, fx *effects) due {
	name := e.planName(ctx, tx, sub.PlanID, fx)
	return due{amount: sub.Price, wholesale: sub.WholesalePrice, key: renewKey(sub.ID, sub.PeriodEnd),
		reason: "Renewal: " + name, lines: []invoice.Line{{Description: name + ", one month", Quantity: 1, UnitAmount: sub.Price}}}
}

// hourDue is the metered charge of sub's completed hours from its period end to to.
func (e *Engine) hourDue(ctx context.Context, tx *gorm.DB, sub *store.Subscription, to time.Time, fx *effects) due {
	from := sub.PeriodEnd
	if !to.After(from) {
		return due{from: from, to: from}
	}
	hours := int64(to.Sub(from) / time.Hour)
	if sub.Price > 0 && hours > billing.MaxAmount/sub.Price {
		hours = billing.MaxAmount / sub.Price
	}
	if sub.WholesalePrice > 0 && hours > billing.MaxAmount/sub.WholesalePrice {
		hours = billing.MaxAmount / sub.WholesalePrice
	}
	to = from.Add(time.Duration(hours) * time.Hour)
	name := e.planName(ctx, tx, sub.PlanID, fx)
	return due{amount: hours * sub.Price, wholesale: hours * sub.WholesalePrice, hours: hours, from: from, to: to,
		key:    "meter:" + sub.ID + ":" + strconv.FormatInt(from.Unix(), 10) + ":" + strconv.FormatInt(to.Unix(), 10),
		reason: "Metered: " + name,
		lines: []invoice.Line{{Description: fmt.Sprintf("%s, %d hours from %s to %s", name, hours,
			from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04 MST")), Quantity: hours, UnitAmount: sub.Price}}}
}

// charge posts d for sub inside tx: the customer's charge, then the reseller's settlement.
// It reports false, with fx.refusal set, when either wallet cannot pay; nothing of the charge
// is then kept. A key posted before is a replay, not a second charge.
func (e *Engine) charge(ctx context.Context, tx *gorm.DB, sub *store.Subscription, d due, fx *effects) (bool, error) {
	fx.refusal = nil
	if d.amount <= 0 && (sub.ResellerID == nil || d.wholesale <= 0) {
		return true, nil
	}
	if err := tx.SavePoint("charge").Error; err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	refuse := func(why error) (bool, error) {
		if err := tx.RollbackTo("charge").Error; err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", err)
		}
		fx.refusal = why
		return false, nil
	}
	var wallets []store.Wallet
	if d.amount > 0 {
		res, err := e.s.bill.PostTx(ctx, tx, billing.PostRequest{
			UserID: sub.UserID, Currency: sub.Currency, Kind: api.EntryCharge, Amount: -d.amount, IdempotencyKey: d.key,
			Reason: d.reason, Reference: sub.ID, ActorID: billing.ActorSystem,
		})
		if isCode(err, api.CodeInsufficientFunds) {
			return refuse(err)
		}
		if err != nil {
			return false, err
		}
		wallets = append(wallets, res.Wallet)
	}
	if sub.ResellerID != nil && d.wholesale > 0 {
		res, err := e.s.bill.PostTx(ctx, tx, billing.PostRequest{
			UserID: *sub.ResellerID, Currency: sub.Currency, Kind: api.EntrySettlement, Amount: -d.wholesale,
			IdempotencyKey: d.key + ":settlement", Reason: "Wholesale " + d.reason, Reference: sub.ID, ActorID: billing.ActorSystem,
		})
		if isCode(err, api.CodeInsufficientFunds) {
			sl, serr := e.seller(ctx, tx, sub.ResellerID, fx)
			if serr != nil {
				return false, serr
			}
			return refuse(resellerFunds(sl))
		}
		if err != nil {
			return false, err
		}
		wallets = append(wallets, res.Wallet)
	}
	for _, w := range wallets {
		ids, err := lowBalance(ctx, tx, w)
		if err != nil {
			return false, err
		}
		fx.notes = append(fx.notes, ids...)
		if len(ids) > 0 {
			fx.stats.LowBalance++
		}
	}
	return true, nil
}

func (e *Engine) seller(ctx context.Context, tx *gorm.DB, resellerID *string, fx *effects) (seller, error) {
	k := ""
	if resellerID != nil {
		k = *resellerID
	}
	if sl, ok := fx.sellers[k]; ok {
		return sl, nil
	}
	sl, err := e.s.sellerFor(ctx, tx, resellerID)
	if err != nil {
		return sl, err
	}
	fx.sellers[k] = sl
	return sl, nil
}

// issue writes the paid invoice of d for sub.
func (e *Engine) issue(ctx context.Context, tx *gorm.DB, sub *store.Subscription, d due, from, to, now time.Time, fx *effects) error {
	sl, err := e.seller(ctx, tx, sub.ResellerID, fx)
	if err != nil {
		return err
	}
	var emails []string
	if err := tx.WithContext(ctx).Model(&store.User{}).Where("id = ?", sub.UserID).Pluck("email", &emails).Error; err != nil || len(emails) == 0 {
		return fmt.Errorf("read buyer e-mail: %w", err)
	}
	if _, _, err := invoice.Issue(ctx, tx, invoice.Draft{
		IssuerID: sl.issuerID, UserID: sub.UserID, SubscriptionID: &sub.ID, Status: invoice.StatusPaid, Currency: sub.Currency,
		Lines: d.lines, PeriodStart: &from, PeriodEnd: &to, SellerName: sl.name, SellerEmail: sl.email,
		BuyerEmail: emails[0], IssuedAt: now,
	}); err != nil {
		return fmt.Errorf("issue invoice: %w", err)
	}
	return nil
}

func (e *Engine) record(ctx context.Context, tx *gorm.DB, sub *store.Subscription, action string, details map[string]any) error {
	return audit.Record(ctx, tx, audit.Entry{ActorID: audit.SystemActor, Action: action, ObjectType: "subscription",
		ObjectID: sub.ID, OwnerID: sub.UserID}, details)
}

// startPeriod records a paid month [from, to) of sub (renewal, trial conversion).
func (e *Engine) startPeriod(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now, from, to time.Time, status, action string, fx *effects) error {
	d := e.monthDue(ctx, tx, sub, fx)
	name := e.planName(ctx, tx, sub.PlanID, fx)
	d.lines = []invoice.Line{{Description: fmt.Sprintf("%s, %s to %s", name, day(from), day(to)), Quantity: 1, UnitAmount: sub.Price}}
	if err := e.issue(ctx, tx, sub, d, from, to, now, fx); err != nil {
		return err
	}
	if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Updates(map[string]any{
		"status": status, "period_start": from, "period_end": to, "updated_at": store.Now()}).Error; err != nil {
		return fmt.Errorf("advance subscription: %w", err)
	}
	sub.Status, sub.PeriodStart, sub.PeriodEnd = status, from, to
	return e.record(ctx, tx, sub, action, map[string]any{"amount": sub.Price, "currency": sub.Currency,
		"period_start": from, "period_end": to})
}

// meter charges the completed hours of an active hourly subscription.
func (e *Engine) meter(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, m mode, fx *effects) error {
	to := now.Truncate(time.Hour)
	if !sub.AutoRenew {
		// Cancelled: the hour under way is charged too, then the server goes.
		if now.After(to) {
			to = to.Add(time.Hour)
		}
	}
	d := e.hourDue(ctx, tx, sub, to, fx)
	if d.hours == 0 {
		if !sub.AutoRenew {
			return e.end(ctx, tx, sub, now, fx, api.SubscriptionCancelled)
		}
		if m == modeRenew {
			return nothingDue(sub)
		}
		return nil
	}
	ok, err := e.charge(ctx, tx, sub, d, fx)
	if err != nil || (!ok && m == modeRenew) {
		return errors.Join(err, fx.refusal)
	}
	if !ok {
		return e.unpaid(ctx, tx, sub, now, fx)
	}
	if err := e.issue(ctx, tx, sub, d, d.from, d.to, now, fx); err != nil {
		return err
	}
	if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).
		Updates(map[string]any{"period_end": d.to, "updated_at": store.Now()}).Error; err != nil {
		return fmt.Errorf("advance metering: %w", err)
	}
	sub.PeriodEnd = d.to
	fx.stats.Metered++
	if err := e.record(ctx, tx, sub, "subscription.meter", map[string]any{"hours": d.hours, "amount": d.amount,
		"currency": sub.Currency, "from": d.from, "to": d.to}); err != nil {
		return err
	}
	if !sub.AutoRenew && !sub.PeriodEnd.Before(to) {
		return e.end(ctx, tx, sub, now, fx, api.SubscriptionCancelled)
	}
	return nil
}

// unpaid handles a refused charge: within the grace period after the period end the
// subscription stays as it is; after it, it is suspended.
func (e *Engine) unpaid(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, fx *effects) error {
	if now.Before(sub.PeriodEnd.Add(e.s.cfg.Billing.GracePeriod)) {
		fx.stats.Unpaid++
		return nil
	}
	return e.suspend(ctx, tx, sub, now, fx)
}

// systemAction creates a system operation on sub's server; a busy server is left for the
// next pass (ok false).
func (e *Engine) systemAction(ctx context.Context, tx *gorm.DB, sub *store.Subscription, kind string, fx *effects) (bool, error) {
	if sub.ServerID == nil {
		return true, nil
	}
	op, srv, ok, err := e.s.inst.SystemActionTx(ctx, tx, *sub.ServerID, kind)
	if errors.Is(err, instance.ErrBusy) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ok {
		fx.ops = append(fx.ops, queued{op: op, srv: srv})
	}
	return true, nil
}

// suspend stops sub's server for non-payment: the server may not be started until what is
// due is paid.
func (e *Engine) suspend(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, fx *effects) error {
	if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Updates(map[string]any{
		"status": api.SubscriptionSuspended, "suspended_at": now, "updated_at": store.Now()}).Error; err != nil {
		return fmt.Errorf("suspend subscription: %w", err)
	}
	sub.Status, sub.SuspendedAt = api.SubscriptionSuspended, &now
	if sub.ServerID != nil {
		if err := tx.Model(&store.Server{}).Where("id = ?", *sub.ServerID).Update("suspended_at", now).Error; err != nil {
			return fmt.Errorf("suspend server: %w", err)
		}
		if _, err := e.systemAction(ctx, tx, sub, api.OpInstanceStop, fx); err != nil {
			return err
		}
	}
	fx.stats.Suspended++
	if err := e.record(ctx, tx, sub, "subscription.suspend", map[string]any{"reason": errText(fx.refusal)}); err != nil {
		return err
	}
	name := e.planName(ctx, tx, sub.PlanID, fx)
	id, err := note(ctx, tx, notify.Event{Kind: notify.KindSuspended, UserID: sub.UserID,
		Subject: "Your server has been suspended",
		Text: fmt.Sprintf("We could not charge %s for %s and the grace period is over, so its server has been stopped. "+
			"Top up your wallet to start it again; it will be deleted on %s if nothing is paid.",
			billing.Format(sub.Price, sub.Currency), name, day(now.Add(e.s.cfg.Billing.TerminateAfter))),
		Data: map[string]any{"subscription_id": sub.ID, "server_id": ptr(sub.ServerID), "amount": sub.Price, "currency": sub.Currency}})
	if err != nil {
		return err
	}
	fx.notes = append(fx.notes, id)
	return nil
}

// keepStopped makes sure the server of a suspended subscription is stopped (a stop that
// failed or met a busy server is tried again).
func (e *Engine) keepStopped(ctx context.Context, tx *gorm.DB, sub *store.Subscription, fx *effects) error {
	_, err := e.systemAction(ctx, tx, sub, api.OpInstanceStop, fx)
	return err
}

// unsuspend lifts a suspension once d is paid: a new period from now, the server started.
func (e *Engine) unsuspend(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, d due, fx *effects) error {
	upd := map[string]any{"status": api.SubscriptionActive, "suspended_at": nil, "updated_at": store.Now()}
	from, to := now, now.AddDate(0, 1, 0)
	if sub.Cycle == api.CycleHourly {
		// Hours while suspended are not charged: metering resumes from this hour.
		from, to = d.from, d.to
		upd["period_start"], upd["period_end"] = now, now.Truncate(time.Hour)
	} else {
		upd["period_start"], upd["period_end"] = from, to
		d.lines = []invoice.Line{{Description: fmt.Sprintf("%s, %s to %s", e.planName(ctx, tx, sub.PlanID, fx), day(from), day(to)),
			Quantity: 1, UnitAmount: sub.Price}}
	}
	if d.amount > 0 || d.hours > 0 {
		if err := e.issue(ctx, tx, sub, d, from, to, now, fx); err != nil {
			return err
		}
	}
	if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Updates(upd).Error; err != nil {
		return fmt.Errorf("unsuspend subscription: %w", err)
	}
	if sub.ServerID != nil {
		if err := tx.Model(&store.Server{}).Where("id = ?", *sub.ServerID).Update("suspended_at", nil).Error; err != nil {
			return fmt.Errorf("unsuspend server: %w", err)
		}
		started, err := e.systemAction(ctx, tx, sub, api.OpInstanceStart, fx)
		if err != nil {
			return err
		}
		if !started {
			e.s.log.WarnContext(ctx, "billing: unsuspended server busy, not started", "subscription_id", sub.ID, "server_id", *sub.ServerID)
		}
	}
	sub.Status, sub.SuspendedAt = api.SubscriptionActive, nil
	fx.stats.Unsuspended++
	if err := e.record(ctx, tx, sub, "subscription.unsuspend", map[string]any{"amount": d.amount, "currency": sub.Currency}); err != nil {
		return err
	}
	id, err := note(ctx, tx, notify.Event{Kind: notify.KindUnsuspended, UserID: sub.UserID,
		Subject: "Your server is running again",
		Text: fmt.Sprintf("Thank you: %s has been paid and your server has been started again.",
			billing.Format(d.amount, sub.Currency)),
		Data: map[string]any{"subscription_id": sub.ID, "server_id": ptr(sub.ServerID), "amount": d.amount, "currency": sub.Currency}})
	if err != nil {
		return err
	}
	fx.notes = append(fx.notes, id)
	return nil
}

// end terminates sub (status terminated: unpaid; cancelled: the customer's choice) and
// deletes its server. A busy server leaves it for the next pass.
func (e *Engine) end(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, fx *effects, status string) error {
	done, err := e.systemAction(ctx, tx, sub, api.OpInstanceDelete, fx)
	if err != nil || !done {
		return err
	}
	upd := map[string]any{"status": status, "updated_at": store.Now()}
	subject, text := "Your server has been deleted",
		"The subscription was not paid within the suspension period, so its server has been deleted."
	if status == api.SubscriptionCancelled {
		upd["cancelled_at"] = now
		subject, text = "Your subscription has ended", "The subscription was cancelled and has ended; its server has been deleted."
		fx.stats.Cancelled++
	} else {
		upd["terminated_at"] = now
		fx.stats.Terminated++
	}
	if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Updates(upd).Error; err != nil {
		return fmt.Errorf("end subscription: %w", err)
	}
	sub.Status = status
	if err := e.record(ctx, tx, sub, "subscription."+map[string]string{api.SubscriptionCancelled: "cancel",
		api.SubscriptionTerminated: "terminate"}[status], nil); err != nil {
		return err
	}
	id, err := note(ctx, tx, notify.Event{Kind: notify.KindTerminated, UserID: sub.UserID, Subject: subject, Text: text,
		Data: map[string]any{"subscription_id": sub.ID, "server_id": ptr(sub.ServerID), "status": status}})
	if err != nil {
		return err
	}
	fx.notes = append(fx.notes, id)
	return nil
}

// remind tells the customer that a period (kind renewal reminder) or a trial ends soon.
func (e *Engine) remind(ctx context.Context, tx *gorm.DB, sub *store.Subscription, now time.Time, fx *effects, kind string) error {
	if err := tx.Model(&store.Subscription{}).Where("id = ?", sub.ID).Update("reminded_at", now).Error; err != nil {
		return fmt.Errorf("mark reminded: %w", err)
	}
	name := e.planName(ctx, tx, sub.PlanID, fx)
	subject := "Your subscription renews soon"
	text := fmt.Sprintf("%s renews on %s for %s, charged to your wallet. Make sure it holds enough.",
		name, day(sub.PeriodEnd), billing.Format(sub.Price, sub.Currency))
	if kind == notify.KindTrialEnding {
		subject = "Your free trial ends soon"
		text = fmt.Sprintf("Your trial of %s ends on %s; then %s a month is charged to your wallet.",
			name, day(sub.PeriodEnd), billing.Format(sub.Price, sub.Currency))
	}
	id, err := note(ctx, tx, notify.Event{Kind: kind, UserID: sub.UserID, Subject: subject, Text: text,
		Data: map[string]any{"subscription_id": sub.ID, "period_end": sub.PeriodEnd, "amount": sub.Price, "currency": sub.Currency}})
	if err != nil {
		return err
	}
	fx.notes = append(fx.notes, id)
	fx.stats.Reminded++
	return nil
}

// lowBalance warns once when w is below its threshold, and re-arms when it is back above.
func lowBalance(ctx context.Context, tx *gorm.DB, w store.Wallet) ([]string, error) {
	tx = tx.WithContext(ctx)
	switch {
	case w.LowBalanceThreshold > 0 && w.Balance < w.LowBalanceThreshold && w.LowBalanceNotifiedAt == nil:
		if err := tx.Model(&store.Wallet{}).Where("id = ?", w.ID).Update("low_balance_notified_at", store.Now()).Error; err != nil {
			return nil, fmt.Errorf("mark low balance: %w", err)
		}
		id, err := note(ctx, tx, lowBalanceEvent(w))
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	case w.LowBalanceNotifiedAt != nil && (w.LowBalanceThreshold <= 0 || w.Balance >= w.LowBalanceThreshold):
		if err := tx.Model(&store.Wallet{}).Where("id = ?", w.ID).Update("low_balance_notified_at", nil).Error; err != nil {
			return nil, fmt.Errorf("clear low balance: %w", err)
		}
	}
	return nil, nil
}

func lowBalanceEvent(w store.Wallet) notify.Event {
	return notify.Event{Kind: notify.KindLowBalance, UserID: w.UserID, Subject: "Your wallet balance is low",
		Text: fmt.Sprintf("Your %s wallet holds %s, below your warning threshold of %s. Top it up so that renewals go through.",
			w.Currency, billing.Format(w.Balance, w.Currency), billing.Format(w.LowBalanceThreshold, w.Currency)),
		Data: map[string]any{"wallet_id": w.ID, "currency": w.Currency, "balance": w.Balance, "threshold": w.LowBalanceThreshold}}
}

// lowBalanceSweep warns about every wallet below its threshold (whatever took it there) and
// re-arms those back above it.
func (e *Engine) lowBalanceSweep(ctx context.Context, st *Stats) int {
	db := e.s.db.WithContext(ctx)
	if err := db.Model(&store.Wallet{}).
		Where("low_balance_notified_at IS NOT NULL AND (low_balance_threshold <= 0 OR balance >= low_balance_threshold)").
		Update("low_balance_notified_at", nil).Error; err != nil {
		e.s.log.WarnContext(ctx, "re-arm low balance warnings", "err", err)
	}
	var ws []store.Wallet
	if err := db.Where("low_balance_threshold > 0 AND balance < low_balance_threshold AND low_balance_notified_at IS NULL").
		Order("id").Limit(deliverBatch).Find(&ws).Error; err != nil {
		e.s.log.WarnContext(ctx, "list low balances", "err", err)
		return 0
	}
	n := 0
	for _, w := range ws {
		var id string
		err := db.Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&store.Wallet{}).Where("id = ? AND low_balance_notified_at IS NULL AND balance < low_balance_threshold", w.ID).
				Update("low_balance_notified_at", store.Now())
			if res.Error != nil || res.RowsAffected != 1 {
				return res.Error
			}
			var err error
			id, err = note(ctx, tx, lowBalanceEvent(w))
			return err
		})
		if err != nil {
			e.s.log.WarnContext(ctx, "low balance warning", "wallet_id", w.ID, "err", err)
			continue
		}
		if id != "" {
			n++
			st.Notified += e.deliver(ctx, []string{id})
		}
	}
	return n
}

// utcTimes puts the times of sub in UTC, so that month arithmetic does not depend on the
// database driver's time zone.
func utcTimes(sub *store.Subscription) {
	sub.PeriodStart, sub.PeriodEnd = sub.PeriodStart.UTC(), sub.PeriodEnd.UTC()
	for _, t := range []**time.Time{&sub.TrialEndsAt, &sub.RemindedAt, &sub.SuspendedAt} {
		if *t != nil {
			u := (**t).UTC()
			*t = &u
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func ptr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
