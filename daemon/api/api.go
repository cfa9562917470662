// Package api is the contract of the panel's node API (under /node/v1): the bodies a daemon
// sends and receives. A daemon authenticates every call except Join with
// "Authorization: Bearer <node credential>".
//
// Fields may be added; the meaning of an existing one never changes.
package api

import "time"

// PathPrefix is where the panel serves the node API.
const PathPrefix = "/node/v1"

// Node API paths, relative to the panel's base URL. {id} is an operation id.
const (
	PathJoin       = PathPrefix + "/join"
	PathHeartbeat  = PathPrefix + "/heartbeat"
	PathOperation  = PathPrefix + "/operations/{id}"
	PathProgress   = PathPrefix + "/operations/{id}/progress"
	PathResult     = PathPrefix + "/operations/{id}/result"
	PathInstances  = PathPrefix + "/instances"
	PathDrift      = PathPrefix + "/drift"
	HeaderAuth     = "Authorization"
	AuthScheme     = "Bearer"
	InstanceLabel  = "user.nimbo.instance" // Incus config key holding the panel's instance id
	NodeLabel      = "user.nimbo.node"     // Incus config key holding the owning node id
	OperationLabel = "user.nimbo.operation"
)

// JoinRequest exchanges a one-time join token for a node credential.
type JoinRequest struct {
	Token    string `json:"token"`
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
}

// JoinResponse is the panel's answer to a successful join. Credential is shown once.
type JoinResponse struct {
	NodeID     string `json:"node_id"`
	NodeName   string `json:"node_name"`
	Credential string `json:"credential"`
	// RedisURL is the Redis the daemon pulls its jobs from.
	RedisURL string `json:"redis_url"`
	// HeartbeatIntervalSeconds is how often the panel expects a heartbeat.
	HeartbeatIntervalSeconds int `json:"heartbeat_interval_seconds"`
}

// Capabilities is what a node can run, read from Incus.
type Capabilities struct {
	Containers      bool `json:"containers"`
	VirtualMachines bool `json:"virtual_machines"`
	// VMReason says why virtual machines are unavailable, when they are.
	VMReason      string `json:"vm_reason,omitempty"`
	ServerName    string `json:"server_name"`    // "lxd" or "incus"
	ServerVersion string `json:"server_version"` // e.g. "5.0.2"
	StorageDriver string `json:"storage_driver"`
	StoragePool   string `json:"storage_pool"`
}

// Resources are a node's totals and current use, in bytes where sizes.
type Resources struct {
	CPUs        int   `json:"cpus"`
	MemoryTotal int64 `json:"memory_total"`
	MemoryUsed  int64 `json:"memory_used"`
	DiskTotal   int64 `json:"disk_total"`
	DiskUsed    int64 `json:"disk_used"`
}

// Instance states as reported by a daemon (Incus status, lowercased).
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateFrozen  = "frozen"
	StateError   = "error"
)

// Usage is one instance's counters at a point in time. CPU and network are cumulative.
type Usage struct {
	CPUNanoseconds int64 `json:"cpu_ns"`
	MemoryBytes    int64 `json:"memory_bytes"`
	DiskBytes      int64 `json:"disk_bytes"`
	NetRxBytes     int64 `json:"net_rx_bytes"`
	NetTxBytes     int64 `json:"net_tx_bytes"`
}

// InstanceState is one Nimbo-managed instance as Incus sees it.
type InstanceState struct {
	InstanceID string `json:"instance_id"`
	IncusName  string `json:"incus_name"`
	State      string `json:"state"`
	Usage      Usage  `json:"usage"`
}

// Heartbeat is sent by a daemon every HeartbeatIntervalSeconds.
type Heartbeat struct {
	Version      string          `json:"version"`
	JobTypes     []string        `json:"job_types"`
	Capabilities Capabilities    `json:"capabilities"`
	Resources    Resources       `json:"resources"`
	Images       []string        `json:"images"` // local image aliases
	Instances    []InstanceState `json:"instances"`
	SentAt       time.Time       `json:"sent_at"`
	// CollectedAt is when the daemon began reading Instances, on the node's clock. The panel
	// ignores an instance state older than the state it already has from an operation result.
	CollectedAt time.Time `json:"collected_at,omitempty"`
}

// HeartbeatResponse tells the daemon the interval the panel expects.
type HeartbeatResponse struct {
	HeartbeatIntervalSeconds int `json:"heartbeat_interval_seconds"`
}

// Operation statuses, shared with the REST API.
const (
	OpPending = "pending"
	OpRunning = "running"
	OpSuccess = "success"
	OpFailure = "failure"
)

// OperationInfo is what the node API tells a daemon about one of its operations.
type OperationInfo struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	InstanceID string `json:"instance_id"`
}

// Progress reports how far an operation has come (0..100) with a short message.
type Progress struct {
	Progress int    `json:"progress"`
	Message  string `json:"message"`
}

// Result ends an operation. Reporting the same result twice is harmless.
type Result struct {
	Status string `json:"status"` // OpSuccess or OpFailure
	Error  string `json:"error,omitempty"`
	// State is the instance's state after the operation (empty after a delete).
	State string `json:"state,omitempty"`
	// ObservedAt is when the daemon saw State, on the node's clock (compare
	// Heartbeat.CollectedAt).
	ObservedAt time.Time `json:"observed_at,omitempty"`
}

// DesiredInstance is an instance the panel expects on the node.
type DesiredInstance struct {
	InstanceID string `json:"instance_id"`
	IncusName  string `json:"incus_name"`
	// InFlight is true while an operation on the instance is pending or running; such
	// instances are not drift.
	InFlight bool `json:"in_flight"`
}

// DesiredState lists what the panel expects on the node.
type DesiredState struct {
	Instances []DesiredInstance `json:"instances"`
}

// DriftReport lists what differs between the panel and Incus on a node.
type DriftReport struct {
	// MissingInIncus are panel instance ids that Incus does not have.
	MissingInIncus []string `json:"missing_in_incus"`
	// UnknownToPanel are Incus names carrying this node's label that the panel does not know.
	UnknownToPanel []string  `json:"unknown_to_panel"`
	CheckedAt      time.Time `json:"checked_at"`
}

// Error is the error envelope of every panel API, node API included.
type Error struct {
	Error     ErrorBody `json:"error"`
	RequestID string    `json:"request_id"`
}

// ErrorBody is the code and message of an Error.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
