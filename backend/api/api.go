// Package api holds the REST wire types of nimbo-panel's /api/v1, shared with the frontend
// and with clients. It imports only the standard library.
package api

import (
	"encoding/json"
	"time"
)

// Error codes carried in Error.Error.Code.
const (
	CodeInvalidJSON   = "invalid_json"
	CodeValidation    = "validation_failed"
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeNotFound      = "not_found"
	CodeConflict      = "conflict"
	CodeRateLimited   = "rate_limited"
	CodeNoCapacity    = "no_capacity"
	CodeUnknownImage  = "unknown_image"
	CodeVMUnsupported = "vm_unsupported"
	CodeUnavailable   = "unavailable"
	CodeInternal      = "internal"
	// CodeInsufficientFunds (409) is a debit that would take a wallet below minus its credit
	// limit.
	CodeInsufficientFunds = "insufficient_funds"
	// CodeBadIdempotencyKey (400) is a money movement without a valid HeaderIdempotencyKey.
	CodeBadIdempotencyKey = "bad_idempotency_key"
	// CodeServerSuspended (409) refuses starting a server suspended for non-payment.
	CodeServerSuspended = "server_suspended"
	// CodeQuotaExceeded (409) is an order or resize beyond the reseller's resource quota.
	CodeQuotaExceeded = "quota_exceeded"
	// CodeResellerFunds (409) blocks a reseller customer's order or renewal while the
	// reseller's wallet cannot pay the wholesale price.
	CodeResellerFunds = "reseller_insufficient_funds"
	// CodeOutOfStock (409) is a plan with no stock left.
	CodeOutOfStock = "out_of_stock"
	// CodeTrialUnavailable (409) is a second free trial, or a trial of a plan without one.
	CodeTrialUnavailable = "trial_unavailable"
	// CodeCouponInvalid (422) is an unknown, expired, used-up or inapplicable coupon.
	CodeCouponInvalid = "coupon_invalid"
	// CodeCurrencyMismatch (422) is an amount in another currency than the wallet or plan.
	CodeCurrencyMismatch = "currency_mismatch"
	// CodeEmailNotVerified (403) is an action that needs a verified e-mail address.
	CodeEmailNotVerified = "email_not_verified"
	// CodeInvalidToken (400) is an unknown, used or expired e-mail verification or
	// password reset token.
	CodeInvalidToken = "invalid_token"
	// CodeInvalidSignature (400) is a payment notification whose signature or timestamp
	// does not verify.
	CodeInvalidSignature = "invalid_signature"
	// CodeGatewayUnavailable (422) is a payment gateway that is not configured.
	CodeGatewayUnavailable = "gateway_unavailable"
)

// CodeTwoFactorRequired (401) answers a login with the right password for an account with
// two-factor authentication when the request carried no totp_code or recovery_code.
const CodeTwoFactorRequired = "two_factor_required"

// Error is the body of every error answer.
type Error struct {
	Error     ErrorBody `json:"error"`
	RequestID string    `json:"request_id"`
}

// ErrorBody is the machine-readable code, a sentence for people, and per-field problems.
type ErrorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// List is one page of a collection.
type List[T any] struct {
	Items   []T   `json:"items"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
}

// Roles.
const (
	RoleAdmin    = "admin"
	RoleReseller = "reseller"
	RoleCustomer = "customer"
)

// Sub-user permissions on one server. The owner, the owner's reseller and admins hold all.
const (
	// PermPower starts, stops and restarts the server.
	PermPower = "power"
	// PermConsole opens the web console.
	PermConsole = "console"
	// PermBackups lists, creates and restores backups.
	PermBackups = "backups"
	// PermTunnels manages port-forward tunnels.
	PermTunnels = "tunnels"
	// PermSettings renames, resizes and reinstalls the server.
	PermSettings = "settings"
	// PermBilling sees and pays the server's subscription and invoices.
	PermBilling = "billing"
)

// Permissions lists every sub-user permission in a stable order.
func Permissions() []string {
	return []string{PermPower, PermConsole, PermBackups, PermTunnels, PermSettings, PermBilling}
}

// Token scopes. A session cookie carries every scope its user's role allows.
const (
	ScopeServersRead  = "servers:read"
	ScopeServersWrite = "servers:write"
	ScopeAdminRead    = "admin:read"
	ScopeAdminWrite   = "admin:write"
	// ScopeResellerRead and ScopeResellerWrite cover a reseller's customers, prices, branding.
	ScopeResellerRead  = "reseller:read"
	ScopeResellerWrite = "reseller:write"
)

// LoginRequest starts a session. An account with two-factor authentication also needs
// TOTPCode (the 6 digits of the authenticator app) or RecoveryCode (one unused recovery code);
// without either the answer is 401 two_factor_required.
type LoginRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	TOTPCode     string `json:"totp_code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// User is an account.
type User struct {
	ID               string    `json:"id"`
	Email            string    `json:"email"`
	Role             string    `json:"role"`
	ResellerID       string    `json:"reseller_id,omitempty"`
	EmailVerified    bool      `json:"email_verified"`
	TwoFactorEnabled bool      `json:"two_factor_enabled"`
	CreatedAt        time.Time `json:"created_at"`
}

// TwoFactorEnrollRequest starts (or restarts) a TOTP enrollment; the password is checked again.
type TwoFactorEnrollRequest struct {
	Password string `json:"password"`
}

// TwoFactorEnrollment is a pending TOTP secret (unpadded base32) and its otpauth:// URI for a
// QR code. It takes effect once confirmed with a code.
type TwoFactorEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// TwoFactorCodeRequest carries a code: 6 TOTP digits, or (where accepted) a recovery code.
type TwoFactorCodeRequest struct {
	Code string `json:"code"`
}

// TwoFactorDisableRequest turns two-factor authentication off; Code is a TOTP code or a
// recovery code.
type TwoFactorDisableRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// RecoveryCodes is a new set of single-use recovery codes, shown only in this answer.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// CreateUserRequest is an admin creating an account.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// CreateTokenRequest creates an API token for the current user.
type CreateTokenRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresInDays is 0 for a token that does not expire.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
}

// Token is an API token; Secret is present only in the answer that created it.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"`
	Secret     string     `json:"secret,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// Session is one of the caller's signed-in browser sessions; its token is never shown. IP and
// UserAgent are those of the login (the User-Agent cut to 256 bytes); LastSeenAt is refreshed
// at most once a minute; Current marks the session the request was made with.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// RevokeSessionsResult answers DELETE /api/v1/me/sessions: how many sessions were ended.
type RevokeSessionsResult struct {
	Revoked int `json:"revoked"`
}

// Instance types.
const (
	TypeContainer = "container"
	TypeVM        = "vm"
)

// Server statuses.
const (
	StatusCreating   = "creating"
	StatusRunning    = "running"
	StatusStopped    = "stopped"
	StatusStarting   = "starting"
	StatusStopping   = "stopping"
	StatusRestarting = "restarting"
	StatusDeleting   = "deleting"
	StatusFrozen     = "frozen"
	StatusError      = "error"
	// StatusMissing means the node's Incus no longer has the instance.
	StatusMissing = "missing"
)

// CreateServerRequest asks for a new server. NodeID may be set by admins only.
type CreateServerRequest struct {
	Name      string `json:"name"`
	Image     string `json:"image"`
	Type      string `json:"type"`
	CPU       int    `json:"cpu"`
	MemoryMiB int64  `json:"memory_mib"`
	DiskMiB   int64  `json:"disk_mib"`
	NodeID    string `json:"node_id,omitempty"`
}

// ServerUsage is the latest usage a node reported for a server. CPU and network are
// cumulative counters.
type ServerUsage struct {
	CPUNanoseconds int64     `json:"cpu_ns"`
	MemoryBytes    int64     `json:"memory_bytes"`
	DiskBytes      int64     `json:"disk_bytes"`
	NetRxBytes     int64     `json:"net_rx_bytes"`
	NetTxBytes     int64     `json:"net_tx_bytes"`
	At             time.Time `json:"at"`
}

// Server is an instance (container or virtual machine).
type Server struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	OwnerID   string       `json:"owner_id"`
	NodeID    string       `json:"node_id"`
	IncusName string       `json:"incus_name"`
	Type      string       `json:"type"`
	Image     string       `json:"image"`
	CPU       int          `json:"cpu"`
	MemoryMiB int64        `json:"memory_mib"`
	DiskMiB   int64        `json:"disk_mib"`
	Status    string       `json:"status"`
	Usage     *ServerUsage `json:"usage,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	// Permissions are what the caller may do on the server (GET /api/v1/servers/{id} only):
	// Permissions() values, plus "manage" (delete, sub-users) for the owner, the owner's
	// reseller and admins.
	Permissions []string `json:"permissions,omitempty"`
}

// Operation statuses.
const (
	OpPending = "pending"
	OpRunning = "running"
	OpSuccess = "success"
	OpFailure = "failure"
)

// Operation kinds.
const (
	OpInstanceCreate  = "instance.create"
	OpInstanceStart   = "instance.start"
	OpInstanceStop    = "instance.stop"
	OpInstanceRestart = "instance.restart"
	OpInstanceDelete  = "instance.delete"
	// OpInstanceResize sets a server's CPU, memory and disk (admin resize or plan change).
	OpInstanceResize = "instance.resize"
)

// Operation is one piece of infrastructure work.
type Operation struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	Progress   int        `json:"progress"`
	Message    string     `json:"message,omitempty"`
	Error      string     `json:"error,omitempty"`
	ServerID   string     `json:"server_id,omitempty"`
	NodeID     string     `json:"node_id"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// ServerAccepted answers a create (202): the new server and its operation.
type ServerAccepted struct {
	Server    Server    `json:"server"`
	Operation Operation `json:"operation"`
}

// Node statuses.
const (
	NodePending = "pending" // created, not joined yet
	NodeOnline  = "online"
	NodeOffline = "offline"
)

// NodeCapabilities is what a node reported it can run.
type NodeCapabilities struct {
	Containers      bool   `json:"containers"`
	VirtualMachines bool   `json:"virtual_machines"`
	VMReason        string `json:"vm_reason,omitempty"`
	ServerName      string `json:"server_name,omitempty"`
	ServerVersion   string `json:"server_version,omitempty"`
	StorageDriver   string `json:"storage_driver,omitempty"`
}

// NodeResources are a node's totals, use, and what Nimbo has allocated on it.
type NodeResources struct {
	CPUs               int   `json:"cpus"`
	MemoryTotal        int64 `json:"memory_total"`
	MemoryUsed         int64 `json:"memory_used"`
	DiskTotal          int64 `json:"disk_total"`
	DiskUsed           int64 `json:"disk_used"`
	AllocatedCPU       int   `json:"allocated_cpu"`
	AllocatedMemoryMiB int64 `json:"allocated_memory_mib"`
	AllocatedDiskMiB   int64 `json:"allocated_disk_mib"`
}

// NodeDrift is the last reconciliation report of a node.
type NodeDrift struct {
	MissingInIncus []string  `json:"missing_in_incus"`
	UnknownToPanel []string  `json:"unknown_to_panel"`
	CheckedAt      time.Time `json:"checked_at"`
}

// Node is a host running nimbo-daemon.
type Node struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Status       string           `json:"status"`
	Version      string           `json:"version,omitempty"`
	Hostname     string           `json:"hostname,omitempty"`
	LastSeenAt   *time.Time       `json:"last_seen_at,omitempty"`
	Capabilities NodeCapabilities `json:"capabilities"`
	Resources    NodeResources    `json:"resources"`
	Images       []string         `json:"images"`
	JobTypes     []string         `json:"job_types"`
	Drift        *NodeDrift       `json:"drift,omitempty"`
	CreatedAt    time.Time        `json:"created_at"`
}

// CreateNodeRequest registers a node.
type CreateNodeRequest struct {
	Name string `json:"name"`
}

// CreateNodeResponse carries the one-time join token and the command to run on the node.
type CreateNodeResponse struct {
	Node        Node      `json:"node"`
	JoinToken   string    `json:"join_token"`
	JoinCommand string    `json:"join_command"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// HeaderIdempotencyKey is the request header every money movement must carry: 1 to 128
// printable ASCII characters without spaces, unique per wallet. Sending the same key with the
// same body again returns the first result (200 with HeaderIdempotentReplayed) and writes
// nothing; the same key with a different body is refused (409).
const HeaderIdempotencyKey = "Idempotency-Key"

// HeaderIdempotentReplayed ("true") marks the answer to a request that replayed an earlier one.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

// Ledger entry kinds.
const (
	EntryTopup      = "topup"
	EntryCharge     = "charge"
	EntryRefund     = "refund"
	EntryAdjustment = "adjustment"
	// EntrySettlement is posted by the panel itself (invoicing), never through the admin API.
	EntrySettlement = "settlement"
)

// Wallet is one user's money in one currency. Money is always an integer number of minor
// units of Currency (cents for USD, yen for JPY): with Exponent 2, a Balance of 1050 is 10.50.
// The balance may go down to -CreditLimit; CreditLimit is ≥ 0.
type Wallet struct {
	ID       string `json:"id"`
	UserID   string `json:"user_id"`
	Currency string `json:"currency"`
	// Exponent is the number of minor-unit digits of Currency (ISO 4217: 2 for USD, 0 for JPY).
	Exponent    int       `json:"exponent"`
	Balance     int64     `json:"balance"`
	CreditLimit int64     `json:"credit_limit"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// LedgerEntry is one append-only movement of a wallet's money, in minor units of Currency.
// Amount is signed as the ledger sees it: a credit (topup, refund, positive adjustment) is
// positive, a debit (charge, negative adjustment) is negative. BalanceAfter is the wallet's
// balance right after this entry; Seq numbers a wallet's entries 1, 2, 3, … in posting order.
type LedgerEntry struct {
	ID             string    `json:"id"`
	WalletID       string    `json:"wallet_id"`
	Currency       string    `json:"currency"`
	Seq            int64     `json:"seq"`
	Kind           string    `json:"kind"`
	Amount         int64     `json:"amount"`
	BalanceAfter   int64     `json:"balance_after"`
	IdempotencyKey string    `json:"idempotency_key"`
	Reason         string    `json:"reason,omitempty"`
	Reference      string    `json:"reference,omitempty"`
	ActorID        string    `json:"actor_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// PostEntryRequest is an admin moving money in a user's wallet of Currency (created on first
// use); it needs the HeaderIdempotencyKey header. Amount is in minor units, at most 10^15.
// Sign convention: for topup, refund and charge, Amount is positive and Kind says the
// direction (a charge of 500 is posted as -500); for adjustment, Amount is signed (positive
// credits, negative debits, never 0) and Reason is required.
type PostEntryRequest struct {
	Currency  string `json:"currency"`
	Amount    int64  `json:"amount"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// SetCreditLimitRequest sets how far below zero a wallet's balance may go, in minor units
// (0 to 10^15). Lowering it below the current debt is allowed and only refuses later debits.
type SetCreditLimitRequest struct {
	CreditLimit *int64 `json:"credit_limit"`
}

// Plan is a catalogue entry: the resources of a server and its prices, in minor units of
// Currency (see Wallet). PriceMonth, PriceHour and SetupFee are independent of each other.
// TrafficGiB 0 is unmetered; Stock null is unlimited. Customers see only active plans that
// are not archived, without NodeIDs.
type Plan struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Type is TypeContainer or TypeVM.
	Type       string `json:"type"`
	CPU        int    `json:"cpu"`
	MemoryMiB  int64  `json:"memory_mib"`
	DiskMiB    int64  `json:"disk_mib"`
	TrafficGiB int64  `json:"traffic_gib"`
	PriceMonth int64  `json:"price_month"`
	PriceHour  int64  `json:"price_hour"`
	SetupFee   int64  `json:"setup_fee"`
	Currency   string `json:"currency"`
	// Exponent is the number of minor-unit digits of Currency.
	Exponent int    `json:"exponent"`
	Stock    *int64 `json:"stock"`
	Active   bool   `json:"active"`
	// NodeIDs are the nodes that may host the plan, empty for any node (admins only).
	NodeIDs    []string   `json:"node_ids,omitempty"`
	ArchivedAt *time.Time `json:"archived_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// CreatePlanRequest adds a plan. Name is 1 to 64 printable characters, unique among plans
// not archived; resources are within the bounds of CreateServerRequest; prices are 0 to 10^15
// minor units of Currency. Stock absent or null is unlimited; Active absent is true; NodeIDs
// must name existing nodes (empty: any node).
type CreatePlanRequest struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	CPU        int      `json:"cpu"`
	MemoryMiB  int64    `json:"memory_mib"`
	DiskMiB    int64    `json:"disk_mib"`
	TrafficGiB int64    `json:"traffic_gib"`
	PriceMonth int64    `json:"price_month"`
	PriceHour  int64    `json:"price_hour"`
	SetupFee   int64    `json:"setup_fee"`
	Currency   string   `json:"currency"`
	Stock      *int64   `json:"stock"`
	Active     *bool    `json:"active"`
	NodeIDs    []string `json:"node_ids"`
}

// UpdatePlanRequest changes the fields it carries and leaves the others; the rules are those
// of CreatePlanRequest. Stock null makes the stock unlimited; NodeIDs replaces the whole set
// ([] allows any node). An archived plan cannot be changed.
type UpdatePlanRequest struct {
	Name       *string       `json:"name"`
	Type       *string       `json:"type"`
	CPU        *int          `json:"cpu"`
	MemoryMiB  *int64        `json:"memory_mib"`
	DiskMiB    *int64        `json:"disk_mib"`
	TrafficGiB *int64        `json:"traffic_gib"`
	PriceMonth *int64        `json:"price_month"`
	PriceHour  *int64        `json:"price_hour"`
	SetupFee   *int64        `json:"setup_fee"`
	Currency   *string       `json:"currency"`
	Stock      OptionalInt64 `json:"stock"`
	Active     *bool         `json:"active"`
	NodeIDs    *[]string     `json:"node_ids"`
}

// OptionalInt64 is a request field that tells absent (Set false), null (Set and Null) and a
// number (Set, Value) apart.
type OptionalInt64 struct {
	Set   bool
	Null  bool
	Value int64
}

// UnmarshalJSON records that the field was present, and its value or null.
func (o *OptionalInt64) UnmarshalJSON(b []byte) error {
	*o = OptionalInt64{Set: true}
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}
