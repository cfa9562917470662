// Package node manages the hosts running nimbo-daemon: registration and join tokens, node
// credentials, heartbeats, drift reports and offline detection.
package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// Secret prefixes and lifetimes.
const (
	JoinTokenPrefix  = "nimbo_join_"
	CredentialPrefix = "nimbo_node_"
	JoinTokenTTL     = 24 * time.Hour
)

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$`)

// Service is the node service.
type Service struct {
	db  *store.DB
	log *slog.Logger
	// hooks run inside each heartbeat's transaction (OnHeartbeat).
	hooks []HeartbeatHook
}

// HeartbeatHook runs inside the transaction that records a heartbeat of node nodeID, after
// its servers took their usage; at is the usage time stored on them. An error fails the
// heartbeat (the daemon sends it again).
type HeartbeatHook func(ctx context.Context, tx *gorm.DB, nodeID string, at time.Time, hb dapi.Heartbeat) error

// OnHeartbeat registers h; call it while building the app, before serving.
func (s *Service) OnHeartbeat(h HeartbeatHook) { s.hooks = append(s.hooks, h) }

// New returns a Service.
func New(db *store.DB, log *slog.Logger) *Service { return &Service{db: db, log: log} }

// Allocation is what Nimbo servers reserve on a node.
type Allocation struct {
	NodeID    string `gorm:"column:node_id"`
	CPU       int    `gorm:"column:cpu"`
	MemoryMiB int64  `gorm:"column:memory_mib"`
	DiskMiB   int64  `gorm:"column:disk_mib"`
}

// Allocations sums the resources of non-deleted servers per node, reading through tx.
func Allocations(ctx context.Context, tx *gorm.DB, nodeIDs ...string) (map[string]Allocation, error) {
	var rows []Allocation
	q := tx.WithContext(ctx).Table("servers").
		Select("node_id, COALESCE(SUM(cpu), 0) AS cpu, COALESCE(SUM(memory_mib), 0) AS memory_mib, COALESCE(SUM(disk_mib), 0) AS disk_mib").
		Where("deleted_at IS NULL").Group("node_id")
	if len(nodeIDs) > 0 {
		q = q.Where("node_id IN ?", nodeIDs)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sum allocations: %w", err)
	}
	out := make(map[string]Allocation, len(rows))
	for _, r := range rows {
		out[r.NodeID] = r
	}
	return out, nil
}

// StringList decodes a JSON string array column (empty on error).
func StringList(s string) []string {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil || out == nil {
		return []string{}
	}
	return out
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// API converts a node row and its allocation to the wire form.
func API(n store.Node, a Allocation) api.Node {
	out := api.Node{
		ID: n.ID, Name: n.Name, Status: n.Status, Version: n.Version, Hostname: n.Hostname,
		LastSeenAt: n.LastSeenAt, CreatedAt: n.CreatedAt,
		Capabilities: api.NodeCapabilities{
			Containers: n.Containers, VirtualMachines: n.VirtualMachines, VMReason: n.VMReason,
			ServerName: n.ServerName, ServerVersion: n.ServerVersion, StorageDriver: n.StorageDriver,
		},
		Resources: api.NodeResources{
			CPUs: n.CPUs, MemoryTotal: n.MemoryTotal, MemoryUsed: n.MemoryUsed, DiskTotal: n.DiskTotal,
			DiskUsed: n.DiskUsed, AllocatedCPU: a.CPU, AllocatedMemoryMiB: a.MemoryMiB, AllocatedDiskMiB: a.DiskMiB,
		},
		Images:   StringList(n.Images),
		JobTypes: StringList(n.JobTypes),
	}
	if n.Drift != nil {
		var d api.NodeDrift
		if json.Unmarshal([]byte(*n.Drift), &d) == nil {
			out.Drift = &d
		}
	}
	return out
}

// Create registers a node and issues its join token.
func (s *Service) Create(ctx context.Context, name string) (store.Node, string, time.Time, error) {
	if !namePattern.MatchString(name) {
		return store.Node{}, "", time.Time{}, apierr.Validation(map[string]string{
			"name": "must be 1-63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	token := auth.NewSecret(JoinTokenPrefix)
	h := auth.HashSecret(token)
	exp := store.Now().Add(JoinTokenTTL)
	n := store.Node{ID: uuid.NewString(), Name: name, Status: api.NodePending, JoinTokenHash: &h,
		JoinTokenExpiresAt: &exp, Images: "[]", JobTypes: "[]"}
	if err := s.db.WithContext(ctx).Create(&n).Error; err != nil {
		if store.IsDuplicate(err) {
			return store.Node{}, "", time.Time{}, apierr.Conflict("a node with this name already exists")
		}
		return store.Node{}, "", time.Time{}, fmt.Errorf("insert node: %w", err)
	}
	return n, token, exp, nil
}

// ByName finds a node by name.
func (s *Service) ByName(ctx context.Context, name string) (store.Node, error) {
	var n store.Node
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&n).Error
	if store.IsNotFound(err) {
		return n, apierr.NotFound("node not found")
	}
	if err != nil {
		return n, fmt.Errorf("read node: %w", err)
	}
	return n, nil
}

// IssueJoinToken replaces a node's join token with a fresh one.
func (s *Service) IssueJoinToken(ctx context.Context, id string) (string, time.Time, error) {
	token := auth.NewSecret(JoinTokenPrefix)
	exp := store.Now().Add(JoinTokenTTL)
	res := s.db.WithContext(ctx).Model(&store.Node{}).Where("id = ?", id).
		Updates(map[string]any{"join_token_hash": auth.HashSecret(token), "join_token_expires_at": exp, "updated_at": store.Now()})
	if res.Error != nil {
		return "", time.Time{}, fmt.Errorf("issue join token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return "", time.Time{}, apierr.NotFound("node not found")
	}
	return token, exp, nil
}

// Get returns one node with its allocation.
func (s *Service) Get(ctx context.Context, id string) (api.Node, error) {
	n, err := s.Row(ctx, id)
	if err != nil {
		return api.Node{}, err
	}
	alloc, err := Allocations(ctx, s.db.DB, id)
	if err != nil {
		return api.Node{}, err
	}
	return API(n, alloc[id]), nil
}

// Row reads a node row; a missing one (or malformed id) is not_found.
func (s *Service) Row(ctx context.Context, id string) (store.Node, error) {
	var n store.Node
	if uuid.Validate(id) != nil {
		return n, apierr.NotFound("node not found")
	}
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&n).Error
	if store.IsNotFound(err) {
		return n, apierr.NotFound("node not found")
	}
	if err != nil {
		return n, fmt.Errorf("read node: %w", err)
	}
	return n, nil
}

// List returns one page of nodes by name and the total.
func (s *Service) List(ctx context.Context, page, perPage int) ([]api.Node, int64, error) {
	var (
		rows  []store.Node
		total int64
	)
	if err := s.db.WithContext(ctx).Model(&store.Node{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count nodes: %w", err)
	}
	if err := s.db.WithContext(ctx).Order("name").Limit(perPage).Offset((page - 1) * perPage).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list nodes: %w", err)
	}
	ids := make([]string, 0, len(rows))
	for _, n := range rows {
		ids = append(ids, n.ID)
	}
	alloc := map[string]Allocation{}
	if len(ids) > 0 {
		var err error
		if alloc, err = Allocations(ctx, s.db.DB, ids...); err != nil {
			return nil, 0, err
		}
	}
	out := make([]api.Node, 0, len(rows))
	for _, n := range rows {
		out = append(out, API(n, alloc[n.ID]))
	}
	return out, total, nil
}

// Delete removes a node that has no servers left (409 otherwise).
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, err := s.Row(ctx, id); err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&store.Server{}).Where("node_id = ? AND deleted_at IS NULL", id).Count(&n).Error; err != nil {
			return fmt.Errorf("count servers: %w", err)
		}
		if n > 0 {
			return apierr.Conflict(fmt.Sprintf("the node still has %d servers", n))
		}
		if err := tx.Model(&store.Operation{}).Where("node_id = ? AND status IN ?", id, store.InFlightStatuses).Count(&n).Error; err != nil {
			return fmt.Errorf("count operations: %w", err)
		}
		if n > 0 {
			return apierr.Conflict("the node has operations in flight")
		}
		// A live plan restricted to this node would silently become placeable anywhere.
		if err := tx.Table("plan_nodes").Joins("JOIN plans ON plans.id = plan_nodes.plan_id").
			Where("plan_nodes.node_id = ? AND plans.archived_at IS NULL", id).Count(&n).Error; err != nil {
			return fmt.Errorf("count plans: %w", err)
		}
		if n > 0 {
			return apierr.Conflict(fmt.Sprintf("the node is listed by %d live plans; remove it from them first", n))
		}
		if err := tx.Where("id = ?", id).Delete(&store.Node{}).Error; err != nil {
			return fmt.Errorf("delete node: %w", err)
		}
		return nil
	})
}

// Join exchanges a valid, unused, unexpired join token for a node credential.
func (s *Service) Join(ctx context.Context, req dapi.JoinRequest) (store.Node, string, error) {
	if req.Token == "" {
		return store.Node{}, "", apierr.Unauthorized("join token is missing")
	}
	h := auth.HashSecret(req.Token)
	cred := auth.NewSecret(CredentialPrefix)
	ch := auth.HashSecret(cred)
	now := store.Now()
	var n store.Node
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := s.db.ForUpdate(tx).Where("join_token_hash = ?", h).Take(&n).Error
		if store.IsNotFound(err) {
			return apierr.Unauthorized("join token is invalid or already used")
		}
		if err != nil {
			return fmt.Errorf("read node: %w", err)
		}
		if n.JoinTokenExpiresAt == nil || !n.JoinTokenExpiresAt.After(now) {
			return apierr.Unauthorized("join token has expired")
		}
		res := tx.Model(&store.Node{}).Where("id = ? AND join_token_hash = ?", n.ID, h).Updates(map[string]any{
			"join_token_hash": nil, "join_token_expires_at": nil, "credential_hash": ch, "joined_at": now,
			"hostname": truncate(req.Hostname, 253), "version": truncate(req.Version, 64), "updated_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("join node: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return apierr.Unauthorized("join token is invalid or already used")
		}
		return nil
	})
	if err != nil {
		return store.Node{}, "", err
	}
	s.log.InfoContext(ctx, "node joined", "node_id", n.ID, "node", n.Name, "hostname", req.Hostname)
	return n, cred, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Authenticate resolves a node credential.
func (s *Service) Authenticate(ctx context.Context, credential string) (store.Node, error) {
	var n store.Node
	if credential == "" {
		return n, apierr.Unauthorized("node credential is missing")
	}
	err := s.db.WithContext(ctx).Where("credential_hash = ?", auth.HashSecret(credential)).Take(&n).Error
	if store.IsNotFound(err) {
		return n, apierr.Unauthorized("node credential is invalid")
	}
	if err != nil {
		return n, fmt.Errorf("read node: %w", err)
	}
	return n, nil
}

// ServerStatus maps an instance state reported by a daemon to the server status it means, or
// "" for a state the panel does not know.
func ServerStatus(state string) string {
	switch state {
	case dapi.StateRunning:
		return api.StatusRunning
	case dapi.StateStopped:
		return api.StatusStopped
	case dapi.StateFrozen:
		return api.StatusFrozen
	case dapi.StateError:
		return api.StatusError
	}
	return ""
}

// StateStatus maps a daemon instance state to a server status ("" when unknown).
func StateStatus(state string) string { return ServerStatus(state) }

const inFlight = `EXISTS (SELECT 1 FROM operations o WHERE o.server_id = servers.id AND o.status IN ('pending', 'running'))`

// Heartbeat records what a node reported and marks it online. Servers it reports get their
// usage and, when no operation is in flight on them, their status.
func (s *Service) Heartbeat(ctx context.Context, nodeID string, hb dapi.Heartbeat) error {
	now := store.Now()
	images := slices.Clone(hb.Images)
	slices.Sort(images)
	images = slices.Compact(images)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&store.Node{}).Where("id = ?", nodeID).Updates(map[string]any{
			"status": api.NodeOnline, "last_seen_at": now, "version": truncate(hb.Version, 64),
			"job_types": jsonList(hb.JobTypes), "images": jsonList(images),
			"containers": hb.Capabilities.Containers, "virtual_machines": hb.Capabilities.VirtualMachines,
			"vm_reason": hb.Capabilities.VMReason, "server_name": hb.Capabilities.ServerName,
			"server_version": hb.Capabilities.ServerVersion, "storage_driver": hb.Capabilities.StorageDriver,
			"cpus": hb.Resources.CPUs, "memory_total": hb.Resources.MemoryTotal, "memory_used": hb.Resources.MemoryUsed,
			"disk_total": hb.Resources.DiskTotal, "disk_used": hb.Resources.DiskUsed, "updated_at": now,
		}).Error
		if err != nil {
			return fmt.Errorf("update node: %w", err)
		}
		for _, in := range hb.Instances {
			if uuid.Validate(in.InstanceID) != nil {
				continue
			}
			u := in.Usage
			set := "usage_cpu_ns = ?, usage_memory_bytes = ?, usage_disk_bytes = ?, usage_net_rx_bytes = ?, usage_net_tx_bytes = ?, usage_at = ?, updated_at = ?"
			args := []any{u.CPUNanoseconds, u.MemoryBytes, u.DiskBytes, u.NetRxBytes, u.NetTxBytes, now, now}
			if st := ServerStatus(in.State); st != "" {
				// Keep the status while an operation is in flight, and when an operation
				// result observed it after this heartbeat's states were read (node clock):
				// the heartbeat is then older news.
				keep := inFlight
				if !hb.CollectedAt.IsZero() {
					keep = "(" + inFlight + " OR (state_observed_at IS NOT NULL AND state_observed_at > ?))"
					set += ", status = CASE WHEN " + keep + " THEN status ELSE ? END"
					set += ", state_observed_at = CASE WHEN " + keep + " THEN state_observed_at ELSE ? END"
					at := hb.CollectedAt.UTC()
					args = append(args, at, st, at, at)
				} else {
					set += ", status = CASE WHEN " + keep + " THEN status ELSE ? END"
					args = append(args, st)
				}
			}
			args = append(args, in.InstanceID, nodeID)
			if err := tx.Exec("UPDATE servers SET "+set+" WHERE id = ? AND node_id = ? AND deleted_at IS NULL", args...).Error; err != nil {
				return fmt.Errorf("update server %s: %w", in.InstanceID, err)
			}
		}
		for _, h := range s.hooks {
			if err := h(ctx, tx, nodeID, now, hb); err != nil {
				return err
			}
		}
		return nil
	})
}

// Desired lists the node's non-deleted servers, flagging those with an operation in flight.
func (s *Service) Desired(ctx context.Context, nodeID string) ([]dapi.DesiredInstance, error) {
	var rows []struct {
		ID        string
		IncusName string
		InFlight  bool
	}
	err := s.db.WithContext(ctx).Raw(`SELECT id, incus_name, `+inFlight+` AS in_flight
		FROM servers WHERE node_id = ? AND deleted_at IS NULL ORDER BY created_at, id`, nodeID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list desired: %w", err)
	}
	out := make([]dapi.DesiredInstance, 0, len(rows))
	for _, r := range rows {
		out = append(out, dapi.DesiredInstance{InstanceID: r.ID, IncusName: r.IncusName, InFlight: r.InFlight})
	}
	return out, nil
}

// Drift stores a node's reconciliation report; its servers that Incus lacks and that have no
// operation in flight become "missing".
func (s *Service) Drift(ctx context.Context, nodeID string, rep dapi.DriftReport) error {
	d := api.NodeDrift{MissingInIncus: rep.MissingInIncus, UnknownToPanel: rep.UnknownToPanel, CheckedAt: rep.CheckedAt}
	if d.MissingInIncus == nil {
		d.MissingInIncus = []string{}
	}
	if d.UnknownToPanel == nil {
		d.UnknownToPanel = []string{}
	}
	if d.CheckedAt.IsZero() {
		d.CheckedAt = store.Now()
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode drift: %w", err)
	}
	now := store.Now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&store.Node{}).Where("id = ?", nodeID).Updates(map[string]any{"drift": string(b), "updated_at": now}).Error; err != nil {
			return fmt.Errorf("store drift: %w", err)
		}
		var ids []string
		for _, id := range rep.MissingInIncus {
			if uuid.Validate(id) == nil {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		err := tx.Exec("UPDATE servers SET status = ?, updated_at = ? WHERE id IN ? AND node_id = ? AND deleted_at IS NULL AND NOT "+inFlight,
			api.StatusMissing, now, ids, nodeID).Error
		if err != nil {
			return fmt.Errorf("mark missing: %w", err)
		}
		return nil
	})
}

// MarkOffline sets nodes not seen since cutoff offline and returns how many changed.
func (s *Service) MarkOffline(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&store.Node{}).
		Where("status = ? AND (last_seen_at IS NULL OR last_seen_at < ?)", api.NodeOnline, cutoff.UTC()).
		Updates(map[string]any{"status": api.NodeOffline, "updated_at": store.Now()})
	if res.Error != nil {
		return 0, fmt.Errorf("mark nodes offline: %w", res.Error)
	}
	return res.RowsAffected, nil
}
