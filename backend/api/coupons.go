package api

import (
	"encoding/json"
	"time"
)

// Coupon kinds.
const (
	// CouponPercent takes Value basis points (1 to 10000) off an order.
	CouponPercent = "percent"
	// CouponFixed takes Value minor units of Currency off an order.
	CouponFixed = "fixed"
)

// Coupon is a discount code customers enter at checkout. OwnerID is the reseller that issued
// it, absent for the provider's coupons. MaxUses null is unlimited; Uses counts redemptions.
// PlanIDs restricts it to those plans (empty: any plan). A deactivated coupon (Active false)
// is kept for its redemption history.
type Coupon struct {
	ID              string     `json:"id"`
	Code            string     `json:"code"`
	OwnerID         string     `json:"owner_id,omitempty"`
	Kind            string     `json:"kind"`
	Value           int64      `json:"value"`
	Currency        string     `json:"currency,omitempty"`
	ExpiresAt       *time.Time `json:"expires_at"`
	MaxUses         *int64     `json:"max_uses"`
	Uses            int64      `json:"uses"`
	OncePerCustomer bool       `json:"once_per_customer"`
	PlanIDs         []string   `json:"plan_ids"`
	Active          bool       `json:"active"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// CreateCouponRequest adds a coupon. Code is 3 to 32 characters of A-Z, 0-9, _ and -
// (lower case is turned upper case), unique across all coupons. Kind percent: Value is
// basis points 1 to 10000 and Currency must be empty; kind fixed: Value is 1 to 10^15 minor
// units of Currency (required). ExpiresAt, when given, is in the future; MaxUses null is
// unlimited, otherwise at least 1. OncePerCustomer and Active default to true. PlanIDs must
// name existing plans that are not archived (empty: any plan).
type CreateCouponRequest struct {
	Code            string     `json:"code"`
	Kind            string     `json:"kind"`
	Value           int64      `json:"value"`
	Currency        string     `json:"currency"`
	ExpiresAt       *time.Time `json:"expires_at"`
	MaxUses         *int64     `json:"max_uses"`
	OncePerCustomer *bool      `json:"once_per_customer"`
	PlanIDs         []string   `json:"plan_ids"`
	Active          *bool      `json:"active"`
}

// UpdateCouponRequest changes the fields it carries with the rules of CreateCouponRequest.
// ExpiresAt null removes the expiry; MaxUses null makes the coupon unlimited, and a number
// below the uses so far is a conflict (409); PlanIDs replaces the whole set.
type UpdateCouponRequest struct {
	Code            *string       `json:"code"`
	Kind            *string       `json:"kind"`
	Value           *int64        `json:"value"`
	Currency        *string       `json:"currency"`
	ExpiresAt       OptionalTime  `json:"expires_at"`
	MaxUses         OptionalInt64 `json:"max_uses"`
	OncePerCustomer *bool         `json:"once_per_customer"`
	PlanIDs         *[]string     `json:"plan_ids"`
	Active          *bool         `json:"active"`
}

// OptionalTime is a request field that tells absent (Set false), null (Set and Null) and an
// RFC 3339 time (Set, Value) apart.
type OptionalTime struct {
	Set   bool
	Null  bool
	Value time.Time
}

// UnmarshalJSON records that the field was present, and its value or null.
func (o *OptionalTime) UnmarshalJSON(b []byte) error {
	*o = OptionalTime{Set: true}
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// CouponRedemption is one use of a coupon: the customer, the order and the discount it gave
// (minor units of Currency, the order's currency).
type CouponRedemption struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	UserEmail string    `json:"user_email"`
	OrderID   string    `json:"order_id"`
	Discount  int64     `json:"discount"`
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
}
