// Package coupon manages discount codes: the provider's (created by admins) and each
// reseller's own. Redeeming a coupon at checkout belongs to the order engine, which reads the
// coupons and coupon_redemptions tables directly.
package coupon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// MaxPlans bounds the plans one coupon may be restricted to.
const MaxPlans = 1000

// MaxPercent is 100 % in basis points.
const MaxPercent = 10000

// ValidCode reports whether a normalized code is 3 to 32 characters of A-Z, 0-9, _ and -.
func ValidCode(code string) bool {
	if len(code) < 3 || len(code) > 32 {
		return false
	}
	for i := 0; i < len(code); i++ {
		switch ch := code[i]; {
		case ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '_', ch == '-':
		default:
			return false
		}
	}
	return true
}

// NormalizeCode trims code and turns it upper case, as customers may type it either way.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Scope is whose coupons a caller manages. The zero Scope is the provider's admins: they see
// and change every coupon and create the provider's own (no owner). A Scope with ResellerID
// sees and changes only that reseller's coupons; others are not found.
type Scope struct {
	ResellerID string
}

// Filter selects the coupons of a list (within a Scope).
type Filter struct {
	// OwnerID, for admins, keeps one reseller's coupons; "provider" keeps the provider's.
	OwnerID string
	// Active keeps active (true) or deactivated (false) coupons; nil keeps both.
	Active *bool
	// Code keeps the coupons whose code starts with it (normalized).
	Code string
}

// Row is a coupon with its plan restriction decoded.
type Row struct {
	store.Coupon
	Plans []string
}

// Redemption is one use of a coupon, with the customer's e-mail and the order's currency.
type Redemption struct {
	store.CouponRedemption
	UserEmail string
	Currency  string
}

// Service manages coupons.
type Service struct {
	db  *store.DB
	log *slog.Logger
}

// New returns a Service.
func New(db *store.DB, log *slog.Logger) *Service { return &Service{db: db, log: log} }

func notFound() error { return apierr.NotFound("coupon not found") }

// API converts a coupon to its wire form.
func API(r Row) api.Coupon {
	c := api.Coupon{
		ID: r.ID, Code: r.Code, Kind: r.Kind, Value: r.Value, Currency: r.Currency, ExpiresAt: r.ExpiresAt,
		MaxUses: r.MaxUses, Uses: r.Uses, OncePerCustomer: r.OncePerCustomer, PlanIDs: r.Plans,
		Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.OwnerID != nil {
		c.OwnerID = *r.OwnerID
	}
	if c.PlanIDs == nil {
		c.PlanIDs = []string{}
	}
	return c
}

// RedemptionAPI converts a redemption to its wire form.
func RedemptionAPI(r Redemption) api.CouponRedemption {
	return api.CouponRedemption{ID: r.ID, UserID: r.UserID, UserEmail: r.UserEmail, OrderID: r.OrderID,
		Discount: r.Discount, Currency: r.Currency, CreatedAt: r.CreatedAt}
}

func decodePlans(s string) []string {
	var ids []string
	if err := json.Unmarshal([]byte(s), &ids); err != nil || ids == nil {
		return []string{}
	}
	return ids
}

func row(c store.Coupon) Row { return Row{Coupon: c, Plans: decodePlans(c.PlanIDs)} }

// validate checks every field of c (with its plans) into f. checkExpiry is set when the
// expiry was given in this request: it must then be in the future.
func validate(f map[string]string, c *store.Coupon, plans []string, checkExpiry bool, now time.Time) {
	c.Code = NormalizeCode(c.Code)
	if !ValidCode(c.Code) {
		f["code"] = "must be 3 to 32 characters of A-Z, 0-9, _ and -"
	}
	switch c.Kind {
	case api.CouponPercent:
		if c.Value < 1 || c.Value > MaxPercent {
			f["value"] = fmt.Sprintf("must be from 1 to %d basis points (100 = 1 %%)", MaxPercent)
		}
		if c.Currency != "" {
			f["currency"] = "must be empty for a percent coupon"
		}
	case api.CouponFixed:
		if c.Value < 1 || c.Value > billing.MaxAmount {
			f["value"] = fmt.Sprintf("must be from 1 to %d minor units", billing.MaxAmount)
		}
		if !billing.ValidCurrency(c.Currency) {
			f["currency"] = "is required for a fixed coupon: a supported ISO-4217 code in upper case, such as USD"
		}
	default:
		f["kind"] = "must be percent or fixed"
	}
	if checkExpiry && c.ExpiresAt != nil && !c.ExpiresAt.After(now) {
		f["expires_at"] = "must be in the future"
	}
	if c.MaxUses != nil && *c.MaxUses < 1 {
		f["max_uses"] = "must be null (unlimited) or at least 1"
	}
	if len(plans) > MaxPlans {
		f["plan_ids"] = fmt.Sprintf("must list at most %d plans", MaxPlans)
	}
}

// uniquePlans returns ids sorted without duplicates.
func uniquePlans(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkPlans reports into f a plan id that is not a live (not archived) plan.
func checkPlans(tx *gorm.DB, f map[string]string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if uuid.Validate(id) != nil {
			f["plan_ids"] = fmt.Sprintf("unknown plan %q", id)
			return nil
		}
	}
	var found []string
	if err := tx.Model(&store.Plan{}).Where("id IN ? AND archived_at IS NULL", ids).Pluck("id", &found).Error; err != nil {
		return fmt.Errorf("read plans: %w", err)
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			f["plan_ids"] = fmt.Sprintf("unknown plan %q", id)
			return nil
		}
	}
	return nil
}

func encodePlans(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// codeTaken reports whether a coupon other than id has code.
func codeTaken(tx *gorm.DB, code, id string) (bool, error) {
	var n int64
	if err := tx.Model(&store.Coupon{}).Where("code = ? AND id <> ?", code, id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("read coupon codes: %w", err)
	}
	return n > 0, nil
}

func writeErr(err error, what string) error {
	if store.IsDuplicate(err) {
		return apierr.Conflict("a coupon with this code exists already")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Create validates req and adds the coupon, owned by the scope's reseller (none for admins).
func (s *Service) Create(ctx context.Context, sc Scope, req api.CreateCouponRequest, actorID string) (Row, error) {
	now := store.Now()
	c := store.Coupon{
		ID: uuid.NewString(), Code: req.Code, Kind: req.Kind, Value: req.Value, Currency: req.Currency,
		MaxUses: req.MaxUses, OncePerCustomer: req.OncePerCustomer == nil || *req.OncePerCustomer,
		Active: req.Active == nil || *req.Active, CreatedAt: now, UpdatedAt: now,
	}
	if req.ExpiresAt != nil {
		t := req.ExpiresAt.UTC().Truncate(time.Microsecond)
		c.ExpiresAt = &t
	}
	if sc.ResellerID != "" {
		c.OwnerID = &sc.ResellerID
	}
	f := map[string]string{}
	validate(f, &c, req.PlanIDs, true, now)
	if len(f) > 0 {
		return Row{}, apierr.Validation(f)
	}
	plans := uniquePlans(req.PlanIDs)
	c.PlanIDs = encodePlans(plans)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkPlans(tx, f, plans); err != nil {
			return err
		}
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		if taken, err := codeTaken(tx, c.Code, c.ID); err != nil {
			return err
		} else if taken {
			return apierr.Conflict("a coupon with this code exists already")
		}
		// Select all columns so that false and NULL are written as given, not as defaults.
		if err := tx.Select("*").Create(&c).Error; err != nil {
			return writeErr(err, "insert coupon")
		}
		return nil
	})
	if err != nil {
		return Row{}, err
	}
	s.log.InfoContext(ctx, "coupon created", "coupon_id", c.ID, "code", c.Code, "owner_id", sc.ResellerID, "actor_id", actorID)
	return Row{Coupon: c, Plans: plans}, nil
}

// scoped limits q to the coupons sc may manage.
func scoped(q *gorm.DB, sc Scope) *gorm.DB {
	if sc.ResellerID != "" {
		return q.Where("owner_id = ?", sc.ResellerID)
	}
	return q
}

// take reads coupon id within sc, locking it on PostgreSQL when lock is set.
func (s *Service) take(tx *gorm.DB, sc Scope, id string, lock bool) (store.Coupon, error) {
	var c store.Coupon
	if uuid.Validate(id) != nil {
		return c, notFound()
	}
	q := scoped(tx.Where("id = ?", id), sc)
	if lock {
		q = s.db.ForUpdate(q)
	}
	err := q.Take(&c).Error
	if store.IsNotFound(err) {
		return c, notFound()
	}
	if err != nil {
		return c, fmt.Errorf("read coupon: %w", err)
	}
	return c, nil
}

// Get returns one coupon sc may manage.
func (s *Service) Get(ctx context.Context, sc Scope, id string) (Row, error) {
	c, err := s.take(s.db.WithContext(ctx), sc, id, false)
	if err != nil {
		return Row{}, err
	}
	return row(c), nil
}

// List returns one page of the coupons sc manages that f selects, newest first, and the
// total count.
func (s *Service) List(ctx context.Context, sc Scope, f Filter, page, perPage int) ([]Row, int64, error) {
	q := scoped(s.db.WithContext(ctx).Model(&store.Coupon{}), sc)
	switch f.OwnerID {
	case "":
	case "provider":
		q = q.Where("owner_id IS NULL")
	default:
		q = q.Where("owner_id = ?", f.OwnerID)
	}
	if f.Active != nil {
		q = q.Where("active = ?", *f.Active)
	}
	if code := NormalizeCode(f.Code); code != "" {
		// Codes are [A-Z0-9_-]: escape the LIKE wildcard _ (and the escape character).
		esc := strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`).Replace(code)
		q = q.Where(`code LIKE ? ESCAPE '\'`, esc+"%")
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count coupons: %w", err)
	}
	var cs []store.Coupon
	if err := q.Order("created_at DESC, id DESC").Limit(perPage).Offset((page - 1) * perPage).Find(&cs).Error; err != nil {
		return nil, 0, fmt.Errorf("list coupons: %w", err)
	}
	rows := make([]Row, len(cs))
	for i, c := range cs {
		rows[i] = row(c)
	}
	return rows, total, nil
}

// Update applies the fields req carries to a coupon sc manages, validates the result and
// writes it. Lowering max_uses below the uses so far is a conflict.
func (s *Service) Update(ctx context.Context, sc Scope, id string, req api.UpdateCouponRequest, actorID string) (Row, error) {
	var out Row
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.take(tx, sc, id, true)
		if err != nil {
			return err
		}
		plans := decodePlans(c.PlanIDs)
		applyPatch(&c, req)
		var newPlans []string
		if req.PlanIDs != nil {
			newPlans = *req.PlanIDs
		}
		now := store.Now()
		f := map[string]string{}
		validate(f, &c, newPlans, req.ExpiresAt.Set, now)
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		if req.PlanIDs != nil {
			plans = uniquePlans(newPlans)
			if err := checkPlans(tx, f, plans); err != nil {
				return err
			}
			if len(f) > 0 {
				return apierr.Validation(f)
			}
			c.PlanIDs = encodePlans(plans)
		}
		if c.MaxUses != nil && *c.MaxUses < c.Uses {
			return apierr.Conflict(fmt.Sprintf("the coupon has been used %d times: max_uses cannot be lower", c.Uses))
		}
		if taken, err := codeTaken(tx, c.Code, c.ID); err != nil {
			return err
		} else if taken {
			return apierr.Conflict("a coupon with this code exists already")
		}
		c.UpdatedAt = now
		// uses belongs to checkout: it is never written here, so a concurrent redemption
		// (which locks the row too) is not lost.
		if err := tx.Select("*").Omit("id", "owner_id", "uses", "created_at").Where("id = ?", c.ID).Updates(&c).Error; err != nil {
			return writeErr(err, "update coupon")
		}
		out = Row{Coupon: c, Plans: plans}
		return nil
	})
	if err != nil {
		return Row{}, err
	}
	s.log.InfoContext(ctx, "coupon updated", "coupon_id", out.ID, "code", out.Code, "actor_id", actorID)
	return out, nil
}

func applyPatch(c *store.Coupon, req api.UpdateCouponRequest) {
	if req.Code != nil {
		c.Code = *req.Code
	}
	if req.Kind != nil {
		c.Kind = *req.Kind
	}
	if req.Value != nil {
		c.Value = *req.Value
	}
	if req.Currency != nil {
		c.Currency = *req.Currency
	}
	if req.ExpiresAt.Set {
		c.ExpiresAt = nil
		if !req.ExpiresAt.Null {
			t := req.ExpiresAt.Value.UTC().Truncate(time.Microsecond)
			c.ExpiresAt = &t
		}
	}
	if req.MaxUses.Set {
		c.MaxUses = nil
		if !req.MaxUses.Null {
			v := req.MaxUses.Value
			c.MaxUses = &v
		}
	}
	if req.OncePerCustomer != nil {
		c.OncePerCustomer = *req.OncePerCustomer
	}
	if req.Active != nil {
		c.Active = *req.Active
	}
}

// Deactivate turns a coupon sc manages off for good at checkout and keeps it, with its
// redemptions. Deactivating an inactive coupon changes nothing.
func (s *Service) Deactivate(ctx context.Context, sc Scope, id, actorID string) (Row, error) {
	var c store.Coupon
	changed := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if c, err = s.take(tx, sc, id, true); err != nil {
			return err
		}
		if !c.Active {
			return nil
		}
		now := store.Now()
		if err := tx.Model(&store.Coupon{}).Where("id = ?", c.ID).
			Updates(map[string]any{"active": false, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("deactivate coupon: %w", err)
		}
		c.Active, c.UpdatedAt, changed = false, now, true
		return nil
	})
	if err != nil {
		return Row{}, err
	}
	if changed {
		s.log.InfoContext(ctx, "coupon deactivated", "coupon_id", c.ID, "code", c.Code, "actor_id", actorID)
	}
	return row(c), nil
}

// Redemptions returns one page of the redemptions of a coupon sc manages, newest first, and
// the total count.
func (s *Service) Redemptions(ctx context.Context, sc Scope, id string, page, perPage int) ([]Redemption, int64, error) {
	db := s.db.WithContext(ctx)
	c, err := s.take(db, sc, id, false)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	if err := db.Model(&store.CouponRedemption{}).Where("coupon_id = ?", c.ID).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count redemptions: %w", err)
	}
	rs := []Redemption{}
	err = db.Table("coupon_redemptions AS r").
		Select("r.*, COALESCE(u.email, '') AS user_email, COALESCE(o.currency, '') AS currency").
		Joins("LEFT JOIN users u ON u.id = r.user_id").
		Joins("LEFT JOIN orders o ON o.id = r.order_id").
		Where("r.coupon_id = ?", c.ID).Order("r.created_at DESC, r.id DESC").
		Limit(perPage).Offset((page - 1) * perPage).Scan(&rs).Error
	if err != nil {
		return nil, 0, fmt.Errorf("list redemptions: %w", err)
	}
	return rs, total, nil
}
