package store

import "time"

// Plan is a catalogue entry a customer can order: resources and prices in minor units of
// Currency. Stock nil is unlimited. A plan with ArchivedAt set is hidden from customers and
// kept for history; its name may be reused by a live plan.
type Plan struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Type       string
	CPU        int   `gorm:"column:cpu"`
	MemoryMiB  int64 `gorm:"column:memory_mib"`
	DiskMiB    int64 `gorm:"column:disk_mib"`
	TrafficGiB int64 `gorm:"column:traffic_gib"`
	PriceMonth int64
	PriceHour  int64
	SetupFee   int64
	Currency   string
	Stock      *int64
	Active     bool
	ArchivedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PlanNode says that a node may host a plan; a plan without rows may run on any node.
type PlanNode struct {
	PlanID string `gorm:"primaryKey"`
	NodeID string `gorm:"primaryKey"`
}
