package store

import "time"

// Coupon is a discount code. Kind percent: Value is basis points; kind fixed: Value is minor
// units of Currency. OwnerID is the issuing reseller, nil for the provider. PlanIDs is a JSON
// array ([] is any plan).
type Coupon struct {
	ID              string `gorm:"primaryKey"`
	Code            string
	OwnerID         *string
	Kind            string
	Value           int64
	Currency        string
	ExpiresAt       *time.Time
	MaxUses         *int64
	Uses            int64
	OncePerCustomer bool
	PlanIDs         string `gorm:"column:plan_ids"`
	Active          bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// CouponRedemption is one use of a coupon by a customer on an order.
type CouponRedemption struct {
	ID        string `gorm:"primaryKey"`
	CouponID  string
	UserID    string
	OrderID   string
	Discount  int64
	CreatedAt time.Time
}

// Subscription is one plan bought by one customer and the server it provisions. Monthly:
// prepaid periods [PeriodStart, PeriodEnd). Hourly: PeriodEnd is the time metered up to.
// Price and WholesalePrice are per period (month or hour) in Currency.
type Subscription struct {
	ID             string `gorm:"primaryKey"`
	UserID         string
	ResellerID     *string
	PlanID         string
	ServerID       *string
	Cycle          string
	Status         string
	Currency       string
	Price          int64
	WholesalePrice int64
	CPU            int   `gorm:"column:cpu"`
	MemoryMiB      int64 `gorm:"column:memory_mib"`
	DiskMiB        int64 `gorm:"column:disk_mib"`
	AutoRenew      bool
	PeriodStart    time.Time
	PeriodEnd      time.Time
	TrialEndsAt    *time.Time
	RemindedAt     *time.Time
	SuspendedAt    *time.Time
	TerminatedAt   *time.Time
	CancelledAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Order is a request to buy a plan; IdempotencyKey is unique per user.
type Order struct {
	ID             string `gorm:"primaryKey"`
	UserID         string
	PlanID         string
	SubscriptionID *string
	ServerID       *string
	OperationID    *string
	Status         string
	Cycle          string
	Trial          bool
	Currency       string
	Subtotal       int64
	Discount       int64
	Total          int64
	CouponID       *string
	Image          string
	ServerName     string
	IdempotencyKey string
	Fingerprint    string
	Error          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// InvoiceCounter numbers one issuer's invoices without gaps ("" is the provider).
type InvoiceCounter struct {
	IssuerID string `gorm:"primaryKey"`
	Next     int64
}

// Invoice is numbered and immutable once issued: only Status (open → paid or void) and
// PaidAt change.
type Invoice struct {
	ID             string `gorm:"primaryKey"`
	Number         string
	IssuerID       string
	UserID         string
	SubscriptionID *string
	OrderID        *string
	Status         string
	Currency       string
	Subtotal       int64
	Discount       int64
	Total          int64
	PeriodStart    *time.Time
	PeriodEnd      *time.Time
	SellerName     string
	SellerEmail    string
	BuyerEmail     string
	IssuedAt       time.Time
	DueAt          *time.Time
	PaidAt         *time.Time
	CreatedAt      time.Time
}

// InvoiceLine is one append-only line of an invoice.
type InvoiceLine struct {
	ID          string `gorm:"primaryKey"`
	InvoiceID   string
	Position    int
	Description string
	Quantity    int64
	UnitAmount  int64
	Amount      int64
}
