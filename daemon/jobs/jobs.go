// Package jobs is the contract between nimbo-panel and nimbo-daemon for work that rides the
// queue: task type names, versioned payloads and their constructors.
//
// Payloads carry identifiers and sizes only, never secrets: a daemon that needs a secret for
// an operation fetches it from the panel's node API. New task types and new payload fields may
// be added; the meaning of an existing one never changes. Decoders ignore unknown fields so an
// older daemon keeps working with a newer panel.
package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hibiken/asynq"
)

// Task type names. A daemon advertises the ones it handles in its heartbeat.
const (
	TypeInstanceCreate  = "instance:create"
	TypeInstanceStart   = "instance:start"
	TypeInstanceStop    = "instance:stop"
	TypeInstanceRestart = "instance:restart"
	TypeInstanceDelete  = "instance:delete"
)

// TypeInstanceResize changes the CPU, memory and root disk limits of an existing instance
// (payload InstanceResize).
const TypeInstanceResize = "instance:resize"

// AllTypes lists every task type defined by this contract version.
var AllTypes = []string{
	TypeInstanceCreate, TypeInstanceStart, TypeInstanceStop, TypeInstanceRestart, TypeInstanceDelete,
	TypeInstanceResize,
}

// Instance types.
const (
	InstanceContainer = "container"
	InstanceVM        = "vm"
)

// PayloadVersion is the version written into every payload built by this package.
const PayloadVersion = 1

// Task option defaults shared by panel and daemon.
const (
	// MaxRetry is how many times a failed task is retried before it is archived.
	MaxRetry = 8
	// Timeout bounds one attempt of a task.
	Timeout = 15 * time.Minute
	// Retention keeps a finished task's record in Redis so a duplicate enqueue of the same
	// operation is rejected as a conflict rather than run again.
	Retention = 24 * time.Hour
)

// ErrInvalidPayload marks a payload that can never succeed; handlers wrap it with
// asynq.SkipRetry.
var ErrInvalidPayload = errors.New("invalid payload")

// Queue returns the asynq queue name of a node.
func Queue(nodeID string) string { return "node:" + nodeID }

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{7,63}$`)
	incusPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,61}[a-z0-9]$`)
	imagePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$`)
)

// Bounds on the resources of one instance. The panel enforces tighter per-node limits.
const (
	MaxCPU       = 256
	MinMemoryMiB = 32
	MaxMemoryMiB = 4 << 20 // 4 TiB
	MinDiskMiB   = 64
	MaxDiskMiB   = 64 << 20 // 64 TiB
)

// InstanceCreate asks a daemon to create an instance and start it.
type InstanceCreate struct {
	Version     int    `json:"v"`
	OperationID string `json:"operation_id"`
	InstanceID  string `json:"instance_id"`
	// IncusName is the instance's name in Incus/LXD, unique on the node.
	IncusName string `json:"incus_name"`
	// Type is InstanceContainer or InstanceVM.
	Type string `json:"type"`
	// Image is a local image alias or fingerprint on the node.
	Image     string `json:"image"`
	CPU       int    `json:"cpu"`
	MemoryMiB int64  `json:"memory_mib"`
	DiskMiB   int64  `json:"disk_mib"`
}

// Validate reports whether the payload is well formed.
func (p InstanceCreate) Validate() error {
	if err := validateCommon(p.Version, p.OperationID, p.InstanceID, p.IncusName); err != nil {
		return err
	}
	if p.Type != InstanceContainer && p.Type != InstanceVM {
		return fmt.Errorf("%w: type %q is not container or vm", ErrInvalidPayload, p.Type)
	}
	if !imagePattern.MatchString(p.Image) {
		return fmt.Errorf("%w: image %q", ErrInvalidPayload, p.Image)
	}
	return validateResources(p.CPU, p.MemoryMiB, p.DiskMiB)
}

// validateResources checks the CPU, memory and disk of a create or resize payload.
func validateResources(cpu int, memoryMiB, diskMiB int64) error {
	if cpu < 1 || cpu > MaxCPU {
		return fmt.Errorf("%w: cpu %d out of range 1..%d", ErrInvalidPayload, cpu, MaxCPU)
	}
	if memoryMiB < MinMemoryMiB || memoryMiB > MaxMemoryMiB {
		return fmt.Errorf("%w: memory_mib %d out of range %d..%d", ErrInvalidPayload, memoryMiB, MinMemoryMiB, MaxMemoryMiB)
	}
	if diskMiB < MinDiskMiB || diskMiB > MaxDiskMiB {
		return fmt.Errorf("%w: disk_mib %d out of range %d..%d", ErrInvalidPayload, diskMiB, MinDiskMiB, MaxDiskMiB)
	}
	return nil
}

// InstanceAction asks a daemon to start, stop, restart or delete an instance; the action is
// the task type.
type InstanceAction struct {
	Version     int    `json:"v"`
	OperationID string `json:"operation_id"`
	InstanceID  string `json:"instance_id"`
	IncusName   string `json:"incus_name"`
	// Force stops without waiting for a clean shutdown (stop, restart, delete).
	Force bool `json:"force,omitempty"`
}

// Validate reports whether the payload is well formed.
func (p InstanceAction) Validate() error {
	return validateCommon(p.Version, p.OperationID, p.InstanceID, p.IncusName)
}

func validateCommon(version int, opID, instanceID, incusName string) error {
	if version < 1 {
		return fmt.Errorf("%w: version %d", ErrInvalidPayload, version)
	}
	if !idPattern.MatchString(opID) {
		return fmt.Errorf("%w: operation_id %q", ErrInvalidPayload, opID)
	}
	if !idPattern.MatchString(instanceID) {
		return fmt.Errorf("%w: instance_id %q", ErrInvalidPayload, instanceID)
	}
	if !incusPattern.MatchString(incusName) {
		return fmt.Errorf("%w: incus_name %q", ErrInvalidPayload, incusName)
	}
	return nil
}

// IsActionType reports whether t is one of the InstanceAction task types.
func IsActionType(t string) bool {
	switch t {
	case TypeInstanceStart, TypeInstanceStop, TypeInstanceRestart, TypeInstanceDelete:
		return true
	}
	return false
}

// Options returns the asynq options every Nimbo task uses: the node's queue, the operation id
// as the task id (so enqueueing an operation twice is a conflict, not a second job), retries,
// timeout and retention.
func Options(nodeID, operationID string) []asynq.Option {
	return []asynq.Option{
		asynq.Queue(Queue(nodeID)),
		asynq.TaskID(operationID),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(Timeout),
		asynq.Retention(Retention),
	}
}

// NewInstanceCreate builds the task for p on nodeID, after validating it.
func NewInstanceCreate(nodeID string, p InstanceCreate) (*asynq.Task, error) {
	if p.Version == 0 {
		p.Version = PayloadVersion
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal instance create: %w", err)
	}
	return asynq.NewTask(TypeInstanceCreate, b, Options(nodeID, p.OperationID)...), nil
}

// NewInstanceAction builds the task of the given action type for p on nodeID.
func NewInstanceAction(nodeID, taskType string, p InstanceAction) (*asynq.Task, error) {
	if !IsActionType(taskType) {
		return nil, fmt.Errorf("%w: %q is not an instance action", ErrInvalidPayload, taskType)
	}
	if p.Version == 0 {
		p.Version = PayloadVersion
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal instance action: %w", err)
	}
	return asynq.NewTask(taskType, b, Options(nodeID, p.OperationID)...), nil
}

// decode parses a payload and validates it.
func decode[T interface{ Validate() error }](b []byte) (T, error) {
	var p T
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
	}
	return p, p.Validate()
}

// DecodeInstanceCreate parses and validates a create payload.
func DecodeInstanceCreate(b []byte) (InstanceCreate, error) { return decode[InstanceCreate](b) }

// DecodeInstanceAction parses and validates an action payload.
func DecodeInstanceAction(b []byte) (InstanceAction, error) { return decode[InstanceAction](b) }

// InstanceResize asks a daemon to set the limits of an existing instance, running or stopped:
// limits.cpu, limits.memory and the size of its root disk. Applying it twice leaves the same
// configuration.
type InstanceResize struct {
	Version     int    `json:"v"`
	OperationID string `json:"operation_id"`
	InstanceID  string `json:"instance_id"`
	IncusName   string `json:"incus_name"`
	CPU         int    `json:"cpu"`
	MemoryMiB   int64  `json:"memory_mib"`
	DiskMiB     int64  `json:"disk_mib"`
}

// Validate reports whether the payload is well formed; the resources have the bounds of
// InstanceCreate.
func (p InstanceResize) Validate() error {
	if err := validateCommon(p.Version, p.OperationID, p.InstanceID, p.IncusName); err != nil {
		return err
	}
	return validateResources(p.CPU, p.MemoryMiB, p.DiskMiB)
}

// NewInstanceResize builds the resize task for p on nodeID, after validating it.
func NewInstanceResize(nodeID string, p InstanceResize) (*asynq.Task, error) {
	if p.Version == 0 {
		p.Version = PayloadVersion
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal instance resize: %w", err)
	}
	return asynq.NewTask(TypeInstanceResize, b, Options(nodeID, p.OperationID)...), nil
}

// DecodeInstanceResize parses and validates a resize payload.
func DecodeInstanceResize(b []byte) (InstanceResize, error) { return decode[InstanceResize](b) }
