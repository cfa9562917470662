package api

import "time"

// Billing cycles of an order and its subscription.
const (
	// CycleMonthly is prepaid by the month from the wallet and renewed automatically.
	CycleMonthly = "monthly"
	// CycleHourly is metered: every completed hour is charged by the billing pass.
	CycleHourly = "hourly"
)

// Order statuses.
const (
	OrderProvisioning = "provisioning"
	OrderActive       = "active"
	// OrderFailed is an order whose server could not be created; its charge was refunded.
	OrderFailed   = "failed"
	OrderRefunded = "refunded"
)

// Subscription statuses.
const (
	SubscriptionPending    = "pending"
	SubscriptionTrial      = "trial"
	SubscriptionActive     = "active"
	SubscriptionSuspended  = "suspended"
	SubscriptionTerminated = "terminated"
	SubscriptionCancelled  = "cancelled"
)

// CreateOrderRequest buys a plan for the caller; it needs the HeaderIdempotencyKey header.
// Cycle is CycleMonthly or CycleHourly; ServerName and Image are those of the server it
// creates (see CreateServerRequest). CouponCode is optional; Trial asks for the account's one
// free trial (monthly only, no coupon).
type CreateOrderRequest struct {
	PlanID     string `json:"plan_id"`
	Cycle      string `json:"cycle"`
	ServerName string `json:"server_name"`
	Image      string `json:"image"`
	CouponCode string `json:"coupon_code,omitempty"`
	Trial      bool   `json:"trial,omitempty"`
}

// QuoteRequest previews an order's price without writing anything; ServerName and Image
// are not needed.
type QuoteRequest struct {
	PlanID     string `json:"plan_id"`
	Cycle      string `json:"cycle"`
	CouponCode string `json:"coupon_code,omitempty"`
	Trial      bool   `json:"trial,omitempty"`
}

// OrderQuote is what an order would cost now, in minor units of Currency: SetupFee plus the
// first Period (a month or an hour) is Subtotal; Discount is the coupon's; Total is charged
// (0 for a trial). Price is what each later month or hour costs.
type OrderQuote struct {
	PlanID   string `json:"plan_id"`
	Cycle    string `json:"cycle"`
	Currency string `json:"currency"`
	Exponent int    `json:"exponent"`
	SetupFee int64  `json:"setup_fee"`
	Price    int64  `json:"price"`
	Subtotal int64  `json:"subtotal"`
	Discount int64  `json:"discount"`
	Total    int64  `json:"total"`
	// Trial is set when the quote is for a trial; TrialAvailable says whether the account
	// may still take its one trial of TrialDays days.
	Trial          bool `json:"trial"`
	TrialAvailable bool `json:"trial_available"`
	TrialDays      int  `json:"trial_days"`
}

// Order is a purchase of a plan. Amounts are minor units of Currency.
type Order struct {
	ID             string    `json:"id"`
	UserID         string    `json:"user_id"`
	PlanID         string    `json:"plan_id"`
	SubscriptionID string    `json:"subscription_id,omitempty"`
	ServerID       string    `json:"server_id,omitempty"`
	OperationID    string    `json:"operation_id,omitempty"`
	Status         string    `json:"status"`
	Cycle          string    `json:"cycle"`
	Trial          bool      `json:"trial"`
	Currency       string    `json:"currency"`
	Subtotal       int64     `json:"subtotal"`
	Discount       int64     `json:"discount"`
	Total          int64     `json:"total"`
	CouponID       string    `json:"coupon_id,omitempty"`
	ServerName     string    `json:"server_name"`
	Image          string    `json:"image"`
	Error          string    `json:"error,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Subscription is one plan bought by one customer and the server it runs. Price is per
// month (monthly) or per hour (hourly) in minor units of Currency. Monthly: the period
// [PeriodStart, PeriodEnd) is paid. Hourly: PeriodEnd is the time charged up to.
// WholesalePrice (what the reseller pays) is shown to the reseller and admins only.
type Subscription struct {
	ID             string     `json:"id"`
	UserID         string     `json:"user_id"`
	ResellerID     string     `json:"reseller_id,omitempty"`
	PlanID         string     `json:"plan_id"`
	ServerID       string     `json:"server_id,omitempty"`
	Cycle          string     `json:"cycle"`
	Status         string     `json:"status"`
	Currency       string     `json:"currency"`
	Price          int64      `json:"price"`
	WholesalePrice *int64     `json:"wholesale_price,omitempty"`
	CPU            int        `json:"cpu"`
	MemoryMiB      int64      `json:"memory_mib"`
	DiskMiB        int64      `json:"disk_mib"`
	AutoRenew      bool       `json:"auto_renew"`
	PeriodStart    time.Time  `json:"period_start"`
	PeriodEnd      time.Time  `json:"period_end"`
	TrialEndsAt    *time.Time `json:"trial_ends_at,omitempty"`
	SuspendedAt    *time.Time `json:"suspended_at,omitempty"`
	TerminatedAt   *time.Time `json:"terminated_at,omitempty"`
	CancelledAt    *time.Time `json:"cancelled_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// OrderAccepted answers a new order (201) or its replay (200 with HeaderIdempotentReplayed):
// the order, its subscription, the server being created and the create operation.
type OrderAccepted struct {
	Order        Order        `json:"order"`
	Subscription Subscription `json:"subscription"`
	Server       Server       `json:"server"`
	Operation    Operation    `json:"operation"`
}

// UpdateSubscriptionRequest changes a subscription. AutoRenew false cancels it at the end of
// the paid period (hourly: at the next billing pass); true undoes that.
type UpdateSubscriptionRequest struct {
	AutoRenew *bool `json:"auto_renew"`
}
