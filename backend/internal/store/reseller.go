package store

import "time"

// ResellerProfile is a reseller's brand, default markup and quota across its customers'
// servers. MarkupBP is basis points over the wholesale plan price; a nil quota is unlimited.
type ResellerProfile struct {
	UserID         string `gorm:"primaryKey"`
	BrandName      string
	LogoURL        string `gorm:"column:logo_url"`
	Domain         *string
	SupportEmail   string
	MarkupBP       int64 `gorm:"column:markup_bp"`
	QuotaServers   *int64
	QuotaCPU       *int64 `gorm:"column:quota_cpu"`
	QuotaMemoryMiB *int64 `gorm:"column:quota_memory_mib"`
	QuotaDiskMiB   *int64 `gorm:"column:quota_disk_mib"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ResellerPrice is a reseller's own retail price for a plan (the plan's currency),
// overriding its markup.
type ResellerPrice struct {
	ResellerID string `gorm:"primaryKey"`
	PlanID     string `gorm:"primaryKey"`
	PriceMonth int64
	PriceHour  int64
	SetupFee   int64
	UpdatedAt  time.Time
}

// ServerMember is a sub-user: another account with some permissions on one server.
// Permissions is space-separated (api.Perm* values).
type ServerMember struct {
	ServerID    string `gorm:"primaryKey"`
	UserID      string `gorm:"primaryKey"`
	Permissions string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}
