package api

import "time"

// ResellerResources is an amount of servers and resources (usage across a reseller's
// customers and its own servers).
type ResellerResources struct {
	Servers   int64 `json:"servers"`
	CPU       int64 `json:"cpu"`
	MemoryMiB int64 `json:"memory_mib"`
	DiskMiB   int64 `json:"disk_mib"`
}

// ResellerQuota is a reseller's resource quota across its customers' servers (and its own);
// null is unlimited.
type ResellerQuota struct {
	Servers   *int64 `json:"servers"`
	CPU       *int64 `json:"cpu"`
	MemoryMiB *int64 `json:"memory_mib"`
	DiskMiB   *int64 `json:"disk_mib"`
}

// Reseller is a reseller account with its brand, markup, quota and current usage. ID is the
// reseller's user id. MarkupBP is basis points over the wholesale plan prices (2500 = +25 %).
type Reseller struct {
	ID           string            `json:"id"`
	Email        string            `json:"email"`
	BrandName    string            `json:"brand_name"`
	LogoURL      string            `json:"logo_url"`
	Domain       string            `json:"domain"`
	SupportEmail string            `json:"support_email"`
	MarkupBP     int64             `json:"markup_bp"`
	Quota        ResellerQuota     `json:"quota"`
	Usage        ResellerResources `json:"usage"`
	// Customers is the number of the reseller's customers.
	Customers int64     `json:"customers"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateResellerRequest is an admin creating a reseller: an account with role reseller and its
// profile, in one transaction. Domain is a lower-case host name (no scheme, port or path),
// unique, and not the panel's own host; LogoURL is https (http only for localhost); MarkupBP
// is 0 to 100000; quotas absent or null are unlimited, else ≥ 0.
type CreateResellerRequest struct {
	Email          string `json:"email"`
	Password       string `json:"password"`
	BrandName      string `json:"brand_name"`
	Domain         string `json:"domain,omitempty"`
	SupportEmail   string `json:"support_email,omitempty"`
	LogoURL        string `json:"logo_url,omitempty"`
	MarkupBP       int64  `json:"markup_bp"`
	QuotaServers   *int64 `json:"quota_servers,omitempty"`
	QuotaCPU       *int64 `json:"quota_cpu,omitempty"`
	QuotaMemoryMiB *int64 `json:"quota_memory_mib,omitempty"`
	QuotaDiskMiB   *int64 `json:"quota_disk_mib,omitempty"`
}

// UpdateResellerRequest is an admin changing a reseller's markup and quotas: only the fields
// sent change; a quota sent as null becomes unlimited.
type UpdateResellerRequest struct {
	MarkupBP       *int64        `json:"markup_bp"`
	QuotaServers   OptionalInt64 `json:"quota_servers"`
	QuotaCPU       OptionalInt64 `json:"quota_cpu"`
	QuotaMemoryMiB OptionalInt64 `json:"quota_memory_mib"`
	QuotaDiskMiB   OptionalInt64 `json:"quota_disk_mib"`
}

// UpdateBrandingRequest is a reseller changing its own brand: only the fields sent change.
// An empty Domain, LogoURL or SupportEmail removes it; BrandName may not be empty.
type UpdateBrandingRequest struct {
	BrandName    *string `json:"brand_name"`
	LogoURL      *string `json:"logo_url"`
	Domain       *string `json:"domain"`
	SupportEmail *string `json:"support_email"`
}

// CreateCustomerRequest is a reseller creating one of its customers (e-mail counted as
// verified).
type CreateCustomerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// PlanPrices are a plan's three independent prices in minor units of its currency.
type PlanPrices struct {
	PriceMonth int64 `json:"price_month"`
	PriceHour  int64 `json:"price_hour"`
	SetupFee   int64 `json:"setup_fee"`
}

// ResellerPrice is one plan as a reseller sees it: the provider's Wholesale prices, the
// reseller's Retail prices for its customers, and whether Retail is the reseller's own price
// (Override) or the wholesale price raised by its markup.
type ResellerPrice struct {
	PlanID    string     `json:"plan_id"`
	Name      string     `json:"name"`
	Type      string     `json:"type"`
	CPU       int        `json:"cpu"`
	MemoryMiB int64      `json:"memory_mib"`
	DiskMiB   int64      `json:"disk_mib"`
	Currency  string     `json:"currency"`
	Exponent  int        `json:"exponent"`
	Wholesale PlanPrices `json:"wholesale"`
	Retail    PlanPrices `json:"retail"`
	Override  bool       `json:"override"`
	// BelowWholesale flags an override that the provider's later price change put under the
	// wholesale price; set a new price.
	BelowWholesale bool `json:"below_wholesale,omitempty"`
}

// SetResellerPriceRequest sets a reseller's own retail prices for a plan: all three are
// required, 0 to 10^15 minor units of the plan's currency, and none below the wholesale price.
type SetResellerPriceRequest struct {
	PriceMonth *int64 `json:"price_month"`
	PriceHour  *int64 `json:"price_hour"`
	SetupFee   *int64 `json:"setup_fee"`
}

// ResellerQuotaUsage answers GET /api/v1/reseller/quota.
type ResellerQuotaUsage struct {
	Quota ResellerQuota     `json:"quota"`
	Usage ResellerResources `json:"usage"`
}

// RevenueLine is a reseller's revenue in one currency over a period, in minor units: Retail
// is what its customers were charged minus what they were refunded, Wholesale what the
// reseller settled with the provider, Margin = Retail − Wholesale.
type RevenueLine struct {
	Currency  string `json:"currency"`
	Exponent  int    `json:"exponent"`
	Retail    int64  `json:"retail"`
	Wholesale int64  `json:"wholesale"`
	Margin    int64  `json:"margin"`
}

// Revenue answers GET /api/v1/reseller/revenue for [From, To).
type Revenue struct {
	From  time.Time     `json:"from"`
	To    time.Time     `json:"to"`
	Items []RevenueLine `json:"items"`
}

// Branding is the brand a portal shows: a reseller's for the reseller's domain, the
// provider's otherwise (Reseller false).
type Branding struct {
	Name         string `json:"name"`
	LogoURL      string `json:"logo_url"`
	SupportEmail string `json:"support_email"`
	Reseller     bool   `json:"reseller"`
}

// ServerMember is a sub-user of a server and its permissions (a subset of Permissions()).
type ServerMember struct {
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	Permissions []string  `json:"permissions"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// AddMemberRequest makes an existing account a sub-user of a server.
type AddMemberRequest struct {
	Email       string   `json:"email"`
	Permissions []string `json:"permissions"`
}

// UpdateMemberRequest replaces a sub-user's permissions.
type UpdateMemberRequest struct {
	Permissions *[]string `json:"permissions"`
}
