package instance

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/queue"
	"github.com/nimbo-panel/nimbo/backend/internal/reseller"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// validateResize checks the requested size with the bounds of a create.
func validateResize(req api.ResizeServerRequest) map[string]string {
	all := validateCreate(api.CreateServerRequest{CPU: req.CPU, MemoryMiB: req.MemoryMiB, DiskMiB: req.DiskMiB})
	f := map[string]string{}
	for _, k := range []string{"cpu", "memory_mib", "disk_mib"} {
		if msg, ok := all[k]; ok {
			f[k] = msg
		}
	}
	return f
}

// resizable reports whether a server in status may be resized: it exists on its node and no
// action is changing it.
func resizable(status string) bool {
	switch status {
	case api.StatusRunning, api.StatusStopped, api.StatusFrozen:
		return true
	}
	return false
}

// Resize sets a server's resources (admins only; no money moves): it writes a resize
// operation and enqueues its task. The server row takes the new size when the operation
// succeeds (FinishResize).
func (s *Service) Resize(ctx context.Context, v ops.Viewer, id string, req api.ResizeServerRequest) (store.Operation, error) {
	srv, err := s.Authorize(ctx, v, id, "")
	if err != nil {
		return store.Operation{}, err
	}
	if !v.Admin {
		return store.Operation{}, apierr.Forbidden("only admins resize a server directly; customers change the plan of its subscription")
	}
	var op store.Operation
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		srv, op, err = s.ResizeTx(ctx, tx, ResizeOptions{ServerID: srv.ID, ActorID: v.UserID}, req)
		return err
	})
	if err != nil {
		return store.Operation{}, err
	}
	s.enqueue(ctx, &op, srv)
	return op, nil
}

// ResizeOptions say which server ResizeTx resizes, for whom, and where it may run.
type ResizeOptions struct {
	ServerID string
	// ActorID is who asked (recorded on the operation).
	ActorID string
	// Nodes, when not empty, are the nodes the new size may run on (a plan's nodes); the
	// server's node must be one of them.
	Nodes []string
}

// ResizeTx validates req and, inside the caller's transaction tx, locks the server, refuses
// while another operation is in flight on it or when its node's daemon does not advertise the
// instance:resize job (conflict), checks the owner's reseller quota
// when a resource grows (quota_exceeded) and that the server's node has room for the growth,
// counting the server's current size as freed and the growth of resizes still in flight
// (no_capacity, with the node overcommit factors). It writes the resize operation and its
// server_resizes row, and returns the server (still at its current size) and the operation.
// The caller commits, then calls Enqueue.
func (s *Service) ResizeTx(ctx context.Context, tx *gorm.DB, o ResizeOptions, req api.ResizeServerRequest) (store.Server, store.Operation, error) {
	if f := validateResize(req); len(f) > 0 {
		return store.Server{}, store.Operation{}, apierr.Validation(f)
	}
	tx = tx.WithContext(ctx)
	var srv store.Server
	if uuid.Validate(o.ServerID) != nil {
		return srv, store.Operation{}, notFound()
	}
	if err := s.db.ForUpdate(tx).Where("id = ? AND deleted_at IS NULL", o.ServerID).Take(&srv).Error; err != nil {
		if store.IsNotFound(err) {
			return srv, store.Operation{}, notFound()
		}
		return srv, store.Operation{}, fmt.Errorf("lock server: %w", err)
	}
	var n int64
	if err := tx.Model(&store.Operation{}).Where("server_id = ? AND status IN ?", srv.ID, store.InFlightStatuses).Count(&n).Error; err != nil {
		return srv, store.Operation{}, fmt.Errorf("count in-flight operations: %w", err)
	}
	if n > 0 {
		return srv, store.Operation{}, apierr.Conflict("another operation is in progress on this server")
	}
	if !resizable(srv.Status) {
		return srv, store.Operation{}, apierr.Conflict(fmt.Sprintf("cannot resize a server that is %s", srv.Status))
	}
	if len(o.Nodes) > 0 && !slices.Contains(o.Nodes, srv.NodeID) {
		return srv, store.Operation{}, apierr.Validation(map[string]string{
			"plan_id": "this plan is not offered on the node the server runs on"})
	}
	var nd store.Node
	if err := tx.Select("id", "job_types").Where("id = ?", srv.NodeID).Take(&nd).Error; err != nil {
		return srv, store.Operation{}, fmt.Errorf("read node: %w", err)
	}
	if !slices.Contains(node.StringList(nd.JobTypes), jobs.TypeInstanceResize) {
		return srv, store.Operation{}, apierr.Conflict("the daemon of this server's node cannot resize instances yet; upgrade it first")
	}
	grow := reseller.Resources{
		CPU:       max(int64(req.CPU-srv.CPU), 0),
		MemoryMiB: max(req.MemoryMiB-srv.MemoryMiB, 0),
		DiskMiB:   max(req.DiskMiB-srv.DiskMiB, 0),
	}
	growing := grow.CPU > 0 || grow.MemoryMiB > 0 || grow.DiskMiB > 0
	if growing {
		if err := s.checkResizeQuota(ctx, tx, srv, grow); err != nil {
			return srv, store.Operation{}, err
		}
		if err := s.checkResizeRoom(ctx, tx, srv, req); err != nil {
			return srv, store.Operation{}, err
		}
	}
	now := store.Now()
	actor := o.ActorID
	op := store.Operation{
		ID: uuid.NewString(), Kind: api.OpInstanceResize, Status: api.OpPending, ServerID: &srv.ID, NodeID: srv.NodeID,
		UserID: &actor, PrevStatus: srv.Status, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&op).Error; err != nil {
		return srv, store.Operation{}, fmt.Errorf("insert operation: %w", err)
	}
	r := queue.Resize{OperationID: op.ID, ServerID: srv.ID, CPU: req.CPU, MemoryMiB: req.MemoryMiB, DiskMiB: req.DiskMiB,
		PrevCPU: srv.CPU, PrevMemoryMiB: srv.MemoryMiB, PrevDiskMiB: srv.DiskMiB, CreatedAt: now}
	if err := tx.Create(&r).Error; err != nil {
		return srv, store.Operation{}, fmt.Errorf("insert resize: %w", err)
	}
	s.log.InfoContext(ctx, "server resize accepted", "server_id", srv.ID, "op_id", op.ID, "node_id", srv.NodeID,
		"cpu", req.CPU, "memory_mib", req.MemoryMiB, "disk_mib", req.DiskMiB)
	return srv, op, nil
}

// pendingGrowth sums, per dimension, what resizes still in flight add to their servers'
// current sizes, over the servers matched by cond (a condition on servers with its args).
func pendingGrowth(ctx context.Context, tx *gorm.DB, cond string, args ...any) (reseller.Resources, error) {
	var g reseller.Resources
	q := `SELECT COALESCE(SUM(CASE WHEN r.cpu > s.cpu THEN r.cpu - s.cpu ELSE 0 END), 0) AS cpu,
		COALESCE(SUM(CASE WHEN r.memory_mib > s.memory_mib THEN r.memory_mib - s.memory_mib ELSE 0 END), 0) AS memory_mib,
		COALESCE(SUM(CASE WHEN r.disk_mib > s.disk_mib THEN r.disk_mib - s.disk_mib ELSE 0 END), 0) AS disk_mib
		FROM server_resizes r JOIN operations o ON o.id = r.operation_id JOIN servers s ON s.id = r.server_id
		WHERE o.status IN ? AND s.deleted_at IS NULL AND ` + cond
	if err := tx.WithContext(ctx).Raw(q, append([]any{store.InFlightStatuses}, args...)...).Scan(&g).Error; err != nil {
		return g, fmt.Errorf("sum pending resizes: %w", err)
	}
	return g, nil
}

// checkResizeQuota checks the owner's reseller quota for grow, plus the growth of the
// reseller's other resizes still in flight (their servers do not show it yet).
func (s *Service) checkResizeQuota(ctx context.Context, tx *gorm.DB, srv store.Server, grow reseller.Resources) error {
	if s.quota == nil {
		return nil
	}
	var owner store.User
	if err := tx.Select("id", "role", "reseller_id").Where("id = ?", srv.OwnerID).Take(&owner).Error; err != nil {
		return fmt.Errorf("read owner: %w", err)
	}
	rid := ""
	switch {
	case owner.ResellerID != nil:
		rid = *owner.ResellerID
	case owner.Role == api.RoleReseller:
		rid = owner.ID
	}
	if rid == "" {
		return nil
	}
	pending, err := pendingGrowth(ctx, tx, "(s.owner_id = ? OR s.owner_id IN (SELECT id FROM users WHERE reseller_id = ?))", rid, rid)
	if err != nil {
		return err
	}
	// Only the dimensions this resize grows are checked; the pending growth counts in them.
	delta := reseller.Resources{}
	if grow.CPU > 0 {
		delta.CPU = grow.CPU + pending.CPU
	}
	if grow.MemoryMiB > 0 {
		delta.MemoryMiB = grow.MemoryMiB + pending.MemoryMiB
	}
	if grow.DiskMiB > 0 {
		delta.DiskMiB = grow.DiskMiB + pending.DiskMiB
	}
	return s.quota.CheckQuota(ctx, tx, rid, delta)
}

// checkResizeRoom checks, with the node row locked, that the server's node has room for the
// dimensions req grows: its allocation without the server's current size, plus in-flight
// resizes of other servers, plus req, within the overcommitted totals. A dimension that does
// not grow is not checked (shrinking is always allowed, even on an overcommitted node).
func (s *Service) checkResizeRoom(ctx context.Context, tx *gorm.DB, srv store.Server, req api.ResizeServerRequest) error {
	var n store.Node
	if err := s.db.ForUpdate(tx).Where("id = ?", srv.NodeID).Take(&n).Error; err != nil {
		return fmt.Errorf("lock node: %w", err)
	}
	alloc, err := node.Allocations(ctx, tx, n.ID)
	if err != nil {
		return err
	}
	pending, err := pendingGrowth(ctx, tx, "s.node_id = ? AND s.id <> ?", n.ID, srv.ID)
	if err != nil {
		return err
	}
	a := alloc[n.ID]
	a.CPU += int(pending.CPU) - srv.CPU
	a.MemoryMiB += pending.MemoryMiB - srv.MemoryMiB
	a.DiskMiB += pending.DiskMiB - srv.DiskMiB
	const mib = 1 << 20
	var full []string
	if req.CPU > srv.CPU && n.CPUs > 0 && float64(a.CPU+req.CPU) > float64(n.CPUs)*s.over.CPU {
		full = append(full, "CPU")
	}
	if req.MemoryMiB > srv.MemoryMiB && n.MemoryTotal > 0 && float64(a.MemoryMiB+req.MemoryMiB) > float64(n.MemoryTotal)/mib*s.over.Memory {
		full = append(full, "memory")
	}
	if req.DiskMiB > srv.DiskMiB && n.DiskTotal > 0 && float64(a.DiskMiB+req.DiskMiB) > float64(n.DiskTotal)/mib*s.over.Disk {
		full = append(full, "disk")
	}
	if len(full) > 0 {
		return &apierr.Error{Code: api.CodeNoCapacity,
			Message: "the server's node has no room for this size (" + strings.Join(full, ", ") + ")"}
	}
	return nil
}

// FinishResize is an ops.FinishHook: when a resize operation succeeds, the server row takes
// the size it asked for, in the transaction that records the result. A failed resize leaves
// the server at its old size.
func (s *Service) FinishResize(ctx context.Context, tx *gorm.DB, op store.Operation) error {
	if op.Kind != api.OpInstanceResize || op.Status != api.OpSuccess || op.ServerID == nil {
		return nil
	}
	var r queue.Resize
	if err := tx.WithContext(ctx).Where("operation_id = ?", op.ID).Take(&r).Error; err != nil {
		return fmt.Errorf("read resize of operation %s: %w", op.ID, err)
	}
	err := tx.WithContext(ctx).Model(&store.Server{}).Where("id = ?", r.ServerID).Updates(map[string]any{
		"cpu": r.CPU, "memory_mib": r.MemoryMiB, "disk_mib": r.DiskMiB, "updated_at": store.Now(),
	}).Error
	if err != nil {
		return fmt.Errorf("apply resize to server: %w", err)
	}
	return nil
}
