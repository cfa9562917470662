// Package store holds Nimbo's GORM models, opens the database and applies the embedded SQL
// migrations. It imports no service package.
package store

import (
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// User is an account.
type User struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	PasswordHash string
	Role         string
	// TOTPSecret is the base32 TOTP secret: pending while TOTPEnabled is false, nil when
	// two-factor authentication was never enrolled or was disabled.
	TOTPSecret *string `gorm:"column:totp_secret"`
	// TOTPEnabled is true once an enrollment was confirmed with a valid code.
	TOTPEnabled bool `gorm:"column:totp_enabled"`
	// TOTPLastStep is the last accepted TOTP time step; codes of steps ≤ it are refused.
	TOTPLastStep int64 `gorm:"column:totp_last_step"`
	// ResellerID is the reseller a customer belongs to; nil for the provider's own customers.
	ResellerID *string
	// EmailVerifiedAt is when the owner proved the e-mail address; nil until then.
	EmailVerifiedAt *time.Time
	// TrialUsedAt is when the account started its one free trial; nil if never.
	TrialUsedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Session is a browser session; only the SHA-256 of its token is stored. ID is the
// non-secret handle the user lists and revokes it by; IP and UserAgent are those of the login;
// LastSeenAt is refreshed at most once a minute.
type Session struct {
	TokenHash  string `gorm:"primaryKey"`
	ID         string
	UserID     string
	IP         string `gorm:"column:ip"`
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// APIToken is a bearer token of a user; only the SHA-256 of its secret is stored.
type APIToken struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Name       string
	Prefix     string
	TokenHash  string
	Scopes     string // space-separated
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

// TableName names the table of APIToken.
func (APIToken) TableName() string { return "api_tokens" }

// RecoveryCode is a single-use two-factor recovery code; only its SHA-256 is stored.
type RecoveryCode struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	CodeHash  string
	UsedAt    *time.Time
	CreatedAt time.Time
}

// Node is a host running nimbo-daemon.
type Node struct {
	ID                 string `gorm:"primaryKey"`
	Name               string
	Status             string
	Version            string
	Hostname           string
	CredentialHash     *string
	JoinTokenHash      *string
	JoinTokenExpiresAt *time.Time
	JoinedAt           *time.Time
	LastSeenAt         *time.Time
	CPUs               int `gorm:"column:cpus"`
	MemoryTotal        int64
	MemoryUsed         int64
	DiskTotal          int64
	DiskUsed           int64
	Containers         bool
	VirtualMachines    bool
	VMReason           string `gorm:"column:vm_reason"`
	ServerName         string
	ServerVersion      string
	StorageDriver      string
	Images             string // JSON array
	JobTypes           string // JSON array
	Drift              *string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Server is a container or virtual machine. DeletedAt marks a soft-deleted server.
type Server struct {
	ID               string `gorm:"primaryKey"`
	OwnerID          string
	NodeID           string
	Name             string
	IncusName        string
	Type             string
	Image            string
	CPU              int   `gorm:"column:cpu"`
	MemoryMiB        int64 `gorm:"column:memory_mib"`
	DiskMiB          int64 `gorm:"column:disk_mib"`
	Status           string
	UsageCPUNs       int64 `gorm:"column:usage_cpu_ns"`
	UsageMemoryBytes int64
	UsageDiskBytes   int64
	UsageNetRxBytes  int64
	UsageNetTxBytes  int64
	UsageAt          *time.Time
	// StateObservedAt is when the node observed Status (node clock), from an operation
	// result or a heartbeat.
	StateObservedAt *time.Time
	// SuspendedAt is set while the server is suspended for non-payment: it may not be started.
	SuspendedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// API converts the row to its wire form.
func (s *Server) API() api.Server {
	out := api.Server{
		ID: s.ID, Name: s.Name, OwnerID: s.OwnerID, NodeID: s.NodeID, IncusName: s.IncusName,
		Type: s.Type, Image: s.Image, CPU: s.CPU, MemoryMiB: s.MemoryMiB, DiskMiB: s.DiskMiB,
		Status: s.Status, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
	if s.UsageAt != nil {
		out.Usage = &api.ServerUsage{
			CPUNanoseconds: s.UsageCPUNs, MemoryBytes: s.UsageMemoryBytes, DiskBytes: s.UsageDiskBytes,
			NetRxBytes: s.UsageNetRxBytes, NetTxBytes: s.UsageNetTxBytes, At: *s.UsageAt,
		}
	}
	return out
}

// Operation is one piece of infrastructure work.
type Operation struct {
	ID         string `gorm:"primaryKey"`
	Kind       string
	Status     string
	Progress   int
	Message    string
	Error      string
	ServerID   *string
	NodeID     string
	UserID     *string
	PrevStatus string
	ForceStop  bool
	Enqueued   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// Finished reports whether the operation reached a final status.
func (o *Operation) Finished() bool {
	return o.Status == api.OpSuccess || o.Status == api.OpFailure
}

// API converts the row to its wire form.
func (o *Operation) API() api.Operation {
	out := api.Operation{
		ID: o.ID, Kind: o.Kind, Status: o.Status, Progress: o.Progress, Message: o.Message,
		Error: o.Error, NodeID: o.NodeID, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		FinishedAt: o.FinishedAt,
	}
	if o.ServerID != nil {
		out.ServerID = *o.ServerID
	}
	return out
}

// InFlightStatuses are the operation statuses of work not finished yet.
var InFlightStatuses = []string{api.OpPending, api.OpRunning}
