package order

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
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

// codePattern is the shape of a coupon code after normalization (upper case).
var codePattern = regexp.MustCompile(`^[A-Z0-9_-]{3,32}$`)

func couponInvalid(msg string) *apierr.Error {
	return &apierr.Error{Code: api.CodeCouponInvalid, Message: msg, Fields: map[string]string{"coupon_code": msg}}
}

// percentOf returns bp basis points of v, rounded half up (v ≥ 0, 0 ≤ bp ≤ 10000).
func percentOf(v, bp int64) int64 {
	r := new(big.Int).Mul(big.NewInt(v), big.NewInt(bp))
	r.Add(r, big.NewInt(5000))
	r.Quo(r, big.NewInt(10000))
	return r.Int64()
}

// checkCoupon finds the coupon code and checks that customer may use it on plan at now,
// returning it and its discount on subtotal. With lock the coupon row is locked (checkout).
// Every refusal is coupon_invalid (422), a fixed coupon in another currency than the plan's
// currency_mismatch (422).
func (s *Service) checkCoupon(ctx context.Context, tx *gorm.DB, code string, customer store.User, plan store.Plan,
	subtotal int64, lock bool, now time.Time) (store.Coupon, int64, error) {
	var c store.Coupon
	code = strings.ToUpper(strings.TrimSpace(code))
	if !codePattern.MatchString(code) {
		return c, 0, couponInvalid("this coupon code does not exist")
	}
	q := tx.WithContext(ctx)
	if lock {
		q = s.db.ForUpdate(q)
	}
	err := q.Where("code = ?", code).Take(&c).Error
	if store.IsNotFound(err) {
		return c, 0, couponInvalid("this coupon code does not exist")
	}
	if err != nil {
		return c, 0, fmt.Errorf("read coupon: %w", err)
	}
	switch {
	case !c.Active:
		return c, 0, couponInvalid("this coupon is no longer active")
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return c, 0, couponInvalid("this coupon has expired")
	case c.MaxUses != nil && c.Uses >= *c.MaxUses:
		return c, 0, couponInvalid("this coupon has been used up")
	}
	// A provider coupon is for the provider's own customers, a reseller's for its customers.
	if (c.OwnerID == nil) != (customer.ResellerID == nil) || (c.OwnerID != nil && *c.OwnerID != *customer.ResellerID) {
		return c, 0, couponInvalid("this coupon is not valid for your account")
	}
	var planIDs []string
	if c.PlanIDs != "" {
		if err := json.Unmarshal([]byte(c.PlanIDs), &planIDs); err != nil {
			return c, 0, fmt.Errorf("coupon %s plan_ids: %w", c.ID, err)
		}
	}
	if len(planIDs) > 0 && !slices.Contains(planIDs, plan.ID) {
		return c, 0, couponInvalid("this coupon is not valid for this plan")
	}
	if c.OncePerCustomer {
		var n int64
		if err := tx.WithContext(ctx).Model(&store.CouponRedemption{}).Where("coupon_id = ? AND user_id = ?", c.ID, customer.ID).
			Count(&n).Error; err != nil {
			return c, 0, fmt.Errorf("count coupon redemptions: %w", err)
		}
		if n > 0 {
			return c, 0, couponInvalid("you have already used this coupon")
		}
	}
	var discount int64
	switch c.Kind {
	case "percent":
		discount = percentOf(subtotal, c.Value)
	case "fixed":
		if c.Currency != plan.Currency {
			return c, 0, &apierr.Error{Code: api.CodeCurrencyMismatch,
				Message: fmt.Sprintf("this coupon is worth %s but the plan is priced in %s", billing.Format(c.Value, c.Currency), plan.Currency),
				Fields:  map[string]string{"coupon_code": "is in " + c.Currency + ", the plan in " + plan.Currency}}
		}
		discount = min(c.Value, subtotal)
	default:
		return c, 0, fmt.Errorf("coupon %s has unknown kind %q", c.ID, c.Kind)
	}
	return c, discount, nil
}

// redeemCoupon counts one use of c by customer on orderID inside tx.
func redeemCoupon(ctx context.Context, tx *gorm.DB, c store.Coupon, customerID, orderID string, discount int64) error {
	tx = tx.WithContext(ctx)
	res := tx.Model(&store.Coupon{}).Where("id = ? AND (max_uses IS NULL OR uses < max_uses)", c.ID).
		Updates(map[string]any{"uses": gorm.Expr("uses + 1"), "updated_at": store.Now()})
	if res.Error != nil {
		return fmt.Errorf("count coupon use: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return couponInvalid("this coupon has been used up")
	}
	r := store.CouponRedemption{ID: uuid.NewString(), CouponID: c.ID, UserID: customerID, OrderID: orderID,
		Discount: discount, CreatedAt: store.Now()}
	if err := tx.Create(&r).Error; err != nil {
		return fmt.Errorf("insert coupon redemption: %w", err)
	}
	return nil
}

// releaseCoupon gives back the coupon use of orderID (its provisioning failed): the
// redemption is removed, so a once-per-customer coupon may be used again.
func releaseCoupon(ctx context.Context, tx *gorm.DB, orderID string) error {
	tx = tx.WithContext(ctx)
	var rs []store.CouponRedemption
	if err := tx.Where("order_id = ?", orderID).Find(&rs).Error; err != nil {
		return fmt.Errorf("read coupon redemptions: %w", err)
	}
	for _, r := range rs {
		if err := tx.Where("id = ?", r.ID).Delete(&store.CouponRedemption{}).Error; err != nil {
			return fmt.Errorf("delete coupon redemption: %w", err)
		}
		if err := tx.Model(&store.Coupon{}).Where("id = ? AND uses > 0", r.CouponID).
			Updates(map[string]any{"uses": gorm.Expr("uses - 1"), "updated_at": store.Now()}).Error; err != nil {
			return fmt.Errorf("release coupon use: %w", err)
		}
	}
	return nil
}
