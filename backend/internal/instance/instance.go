// Package instance manages servers (containers and virtual machines): validation, capacity-
// aware scheduling onto nodes, lifecycle actions and listing. Every change that touches
// infrastructure creates an operation and enqueues its task after the transaction commits.
package instance

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
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

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	imagePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$`)
)

// Overcommit are the factors applied to a node's totals when scheduling.
type Overcommit struct {
	CPU, Memory, Disk float64
}

// Service is the server service.
type Service struct {
	db    *store.DB
	q     *queue.Queue
	ops   *ops.Service
	log   *slog.Logger
	over  Overcommit
	quota QuotaChecker
}

// QuotaChecker enforces a reseller's resource quota inside a transaction (reseller.Service).
type QuotaChecker interface {
	CheckQuota(ctx context.Context, tx *gorm.DB, resellerID string, delta reseller.Resources) error
}

// New returns a Service; quota may be nil (no reseller quotas).
func New(db *store.DB, q *queue.Queue, o *ops.Service, over Overcommit, quota QuotaChecker, log *slog.Logger) *Service {
	return &Service{db: db, q: q, ops: o, over: over, quota: quota, log: log}
}

func validateCreate(req api.CreateServerRequest) map[string]string {
	f := map[string]string{}
	if !namePattern.MatchString(req.Name) {
		f["name"] = "must be 2-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"
	}
	if req.Type != api.TypeContainer && req.Type != api.TypeVM {
		f["type"] = "must be container or vm"
	}
	if !imagePattern.MatchString(req.Image) {
		f["image"] = "must be an image alias or fingerprint"
	}
	if req.CPU < 1 || req.CPU > jobs.MaxCPU {
		f["cpu"] = fmt.Sprintf("must be between 1 and %d", jobs.MaxCPU)
	}
	if req.MemoryMiB < jobs.MinMemoryMiB || req.MemoryMiB > jobs.MaxMemoryMiB {
		f["memory_mib"] = fmt.Sprintf("must be between %d and %d", jobs.MinMemoryMiB, jobs.MaxMemoryMiB)
	}
	if req.DiskMiB < jobs.MinDiskMiB || req.DiskMiB > jobs.MaxDiskMiB {
		f["disk_mib"] = fmt.Sprintf("must be between %d and %d", jobs.MinDiskMiB, jobs.MaxDiskMiB)
	}
	return f
}

// fits reports whether req fits on n next to its allocation a, and the memory left after it.
// A total the node has not reported (0) does not limit.
func (s *Service) fits(n store.Node, a node.Allocation, req api.CreateServerRequest) (bool, float64) {
	const mib = 1 << 20
	if n.CPUs > 0 && float64(a.CPU+req.CPU) > float64(n.CPUs)*s.over.CPU {
		return false, 0
	}
	memCap := float64(n.MemoryTotal) / mib * s.over.Memory
	if n.MemoryTotal > 0 && float64(a.MemoryMiB+req.MemoryMiB) > memCap {
		return false, 0
	}
	if n.DiskTotal > 0 && float64(a.DiskMiB+req.DiskMiB) > float64(n.DiskTotal)/mib*s.over.Disk {
		return false, 0
	}
	return true, memCap - float64(a.MemoryMiB+req.MemoryMiB)
}

// Create validates req, picks a node, and writes the server and its create operation in one
// transaction, then enqueues the task (the sweeper enqueues it later if Redis is down).
func (s *Service) Create(ctx context.Context, v ops.Viewer, req api.CreateServerRequest) (store.Server, store.Operation, error) {
	if req.NodeID != "" && !v.Admin {
		return store.Server{}, store.Operation{}, apierr.Forbidden("only admins may choose the node")
	}
	var (
		srv store.Server
		op  store.Operation
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		srv, op, err = s.CreateTx(ctx, tx, CreateOptions{OwnerID: v.UserID, ActorID: v.UserID}, req)
		return err
	})
	if err != nil {
		return store.Server{}, store.Operation{}, err
	}
	s.Enqueue(ctx, &op, srv)
	return srv, op, nil
}

// CreateOptions say whose server CreateTx writes and where it may run.
type CreateOptions struct {
	// OwnerID owns the server; ActorID is who asked (recorded on the operation).
	OwnerID, ActorID string
	// Nodes, when not empty, are the only nodes the scheduler may pick (a plan's nodes).
	Nodes []string
}

// CreateTx validates req, checks the owner's reseller quota, picks a node and writes the
// server and its create operation inside the caller's transaction tx. The caller commits and
// then calls Enqueue (the sweeper enqueues operations whose Enqueue was missed).
func (s *Service) CreateTx(ctx context.Context, tx *gorm.DB, o CreateOptions, req api.CreateServerRequest) (store.Server, store.Operation, error) {
	if f := validateCreate(req); len(f) > 0 {
		return store.Server{}, store.Operation{}, apierr.Validation(f)
	}
	var owner store.User
	if err := tx.WithContext(ctx).Select("id", "role", "reseller_id").Where("id = ?", o.OwnerID).Take(&owner).Error; err != nil {
		if store.IsNotFound(err) {
			return store.Server{}, store.Operation{}, apierr.NotFound("user not found")
		}
		return store.Server{}, store.Operation{}, fmt.Errorf("read owner: %w", err)
	}
	rid := ""
	switch {
	case owner.ResellerID != nil:
		rid = *owner.ResellerID
	case owner.Role == api.RoleReseller:
		rid = owner.ID
	}
	if rid != "" && s.quota != nil {
		delta := reseller.Resources{Servers: 1, CPU: int64(req.CPU), MemoryMiB: req.MemoryMiB, DiskMiB: req.DiskMiB}
		if err := s.quota.CheckQuota(ctx, tx, rid, delta); err != nil {
			return store.Server{}, store.Operation{}, err
		}
	}
	target, err := s.schedule(ctx, tx, req, o.Nodes)
	if err != nil {
		return store.Server{}, store.Operation{}, err
	}
	now := store.Now()
	id := uuid.NewString()
	srv := store.Server{
		ID: id, OwnerID: o.OwnerID, NodeID: target.ID, Name: req.Name,
		IncusName: req.Name + "-" + strings.ReplaceAll(id, "-", "")[:8], Type: req.Type, Image: req.Image,
		CPU: req.CPU, MemoryMiB: req.MemoryMiB, DiskMiB: req.DiskMiB, Status: api.StatusCreating,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.WithContext(ctx).Create(&srv).Error; err != nil {
		if store.IsDuplicate(err) {
			return store.Server{}, store.Operation{}, apierr.Conflict("you already have a server with this name")
		}
		return store.Server{}, store.Operation{}, fmt.Errorf("insert server: %w", err)
	}
	actor := o.ActorID
	op := store.Operation{
		ID: uuid.NewString(), Kind: api.OpInstanceCreate, Status: api.OpPending, ServerID: &srv.ID,
		NodeID: target.ID, UserID: &actor, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.WithContext(ctx).Create(&op).Error; err != nil {
		return store.Server{}, store.Operation{}, fmt.Errorf("insert operation: %w", err)
	}
	s.log.InfoContext(ctx, "server accepted", "server_id", srv.ID, "op_id", op.ID, "node_id", srv.NodeID, "incus_name", srv.IncusName)
	return srv, op, nil
}

// Enqueue queues op's task after its transaction committed. A failure is logged: the
// sweeper enqueues it later.
func (s *Service) Enqueue(ctx context.Context, op *store.Operation, srv store.Server) {
	s.enqueue(ctx, op, srv)
}

func (s *Service) enqueue(ctx context.Context, op *store.Operation, srv store.Server) {
	if err := s.q.Enqueue(ctx, *op, srv); err != nil {
		s.log.WarnContext(ctx, "enqueue failed, the sweeper will retry", "op_id", op.ID, "err", err)
		return
	}
	op.Enqueued = true
}

// schedule chooses the node for req inside tx (node rows locked on PostgreSQL).
func (s *Service) schedule(ctx context.Context, tx *gorm.DB, req api.CreateServerRequest, only []string) (store.Node, error) {
	if req.NodeID != "" {
		return s.named(ctx, tx, req)
	}
	var online []store.Node
	q := s.db.ForUpdate(tx.WithContext(ctx)).Where("status = ?", api.NodeOnline)
	if len(only) > 0 {
		q = q.Where("id IN ?", only)
	}
	if err := q.Order("id").Find(&online).Error; err != nil {
		return store.Node{}, fmt.Errorf("list online nodes: %w", err)
	}
	var withImage []store.Node
	for _, n := range online {
		if slices.Contains(node.StringList(n.Images), req.Image) {
			withImage = append(withImage, n)
		}
	}
	if len(withImage) == 0 {
		return store.Node{}, &apierr.Error{Code: api.CodeUnknownImage, Message: fmt.Sprintf("no online node has the image %q", req.Image),
			Fields: map[string]string{"image": "no online node has this image"}}
	}
	var capable []store.Node
	var reasons []string
	for _, n := range withImage {
		switch {
		case req.Type == api.TypeVM && n.VirtualMachines, req.Type == api.TypeContainer && n.Containers:
			capable = append(capable, n)
		case req.Type == api.TypeVM:
			r := n.VMReason
			if r == "" {
				r = "virtual machines unavailable"
			}
			reasons = append(reasons, n.Name+": "+r)
		}
	}
	if len(capable) == 0 {
		if req.Type == api.TypeVM {
			return store.Node{}, &apierr.Error{Code: api.CodeVMUnsupported,
				Message: "no node can run virtual machines: " + strings.Join(reasons, "; "),
				Fields:  map[string]string{"type": "no node can run virtual machines"}}
		}
		return store.Node{}, &apierr.Error{Code: api.CodeNoCapacity, Message: "no online node can run containers"}
	}
	ids := make([]string, 0, len(capable))
	for _, n := range capable {
		ids = append(ids, n.ID)
	}
	alloc, err := node.Allocations(ctx, tx, ids...)
	if err != nil {
		return store.Node{}, err
	}
	var (
		best     store.Node
		bestFree float64
		found    bool
	)
	for _, n := range capable {
		ok, free := s.fits(n, alloc[n.ID], req)
		if ok && (!found || free > bestFree) {
			best, bestFree, found = n, free, true
		}
	}
	if !found {
		return store.Node{}, &apierr.Error{Code: api.CodeNoCapacity, Message: "no node has room for this server"}
	}
	return best, nil
}

// named resolves an admin's explicit node choice. The node must exist and the image must be
// known to it or to an online node; it need not be online or capable: the daemon fails the
// operation fast if it cannot run it.
func (s *Service) named(ctx context.Context, tx *gorm.DB, req api.CreateServerRequest) (store.Node, error) {
	unknown := apierr.Validation(map[string]string{"node_id": "unknown node"})
	if uuid.Validate(req.NodeID) != nil {
		return store.Node{}, unknown
	}
	var nodes []store.Node
	if err := s.db.ForUpdate(tx).Where("id = ?", req.NodeID).Find(&nodes).Error; err != nil {
		return store.Node{}, fmt.Errorf("read node: %w", err)
	}
	if len(nodes) == 0 {
		return store.Node{}, unknown
	}
	n := nodes[0]
	if slices.Contains(node.StringList(n.Images), req.Image) {
		return n, nil
	}
	var online []store.Node
	if err := tx.WithContext(ctx).Select("images").Where("status = ?", api.NodeOnline).Find(&online).Error; err != nil {
		return store.Node{}, fmt.Errorf("list online nodes: %w", err)
	}
	for _, o := range online {
		if slices.Contains(node.StringList(o.Images), req.Image) {
			return n, nil
		}
	}
	return store.Node{}, &apierr.Error{Code: api.CodeUnknownImage, Message: fmt.Sprintf("no node has the image %q", req.Image),
		Fields: map[string]string{"image": "no node has this image"}}
}

func notFound() error { return apierr.NotFound("server not found") }

// Get returns a non-deleted server the viewer may see.
func (s *Service) Get(ctx context.Context, v ops.Viewer, id string) (store.Server, error) {
	return s.Authorize(ctx, v, id, "")
}

// PermManage is the right reserved to a server's owner, the owner's reseller and admins:
// deleting the server and managing its sub-users. Sub-users never hold it.
const PermManage = "manage"

// Permissions returns what the viewer may do on a server it can see: every permission plus
// PermManage for admins, the owner and the owner's reseller; a sub-user's own list otherwise.
func (s *Service) Permissions(ctx context.Context, v ops.Viewer, srv store.Server) ([]string, error) {
	if v.Admin || srv.OwnerID == v.UserID {
		return append(api.Permissions(), PermManage), nil
	}
	if v.Reseller {
		var n int64
		if err := s.db.WithContext(ctx).Model(&store.User{}).Where("id = ? AND reseller_id = ?", srv.OwnerID, v.UserID).Count(&n).Error; err != nil {
			return nil, fmt.Errorf("read owner: %w", err)
		}
		if n > 0 {
			return append(api.Permissions(), PermManage), nil
		}
	}
	var m store.ServerMember
	err := s.db.WithContext(ctx).Where("server_id = ? AND user_id = ?", srv.ID, v.UserID).Take(&m).Error
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read membership: %w", err)
	}
	return strings.Fields(m.Permissions), nil
}

// Authorize returns a non-deleted server the viewer may see and, when perm is not "", holds
// perm on (an api.Perm* value or PermManage). A server the viewer cannot see is not found;
// one it sees without the permission is forbidden.
func (s *Service) Authorize(ctx context.Context, v ops.Viewer, id, perm string) (store.Server, error) {
	var srv store.Server
	if uuid.Validate(id) != nil {
		return srv, notFound()
	}
	q := s.db.WithContext(ctx).Table("servers").Where("servers.id = ? AND servers.deleted_at IS NULL", id)
	if cond, args := v.ServerVisible("servers"); cond != "" {
		q = q.Where(cond, args...)
	}
	err := q.Take(&srv).Error
	if store.IsNotFound(err) {
		return srv, notFound()
	}
	if err != nil {
		return srv, fmt.Errorf("read server: %w", err)
	}
	if perm == "" {
		return srv, nil
	}
	perms, err := s.Permissions(ctx, v, srv)
	if err != nil {
		return srv, err
	}
	if !slices.Contains(perms, perm) {
		return srv, apierr.Forbidden(fmt.Sprintf("you do not have the %q permission on this server", perm))
	}
	return srv, nil
}

// ListFilter selects servers. OwnerID narrows the viewer's servers to one owner's (a
// reseller looking at one customer); it never widens what the viewer sees.
type ListFilter struct {
	Status, Type, Q, NodeID, OwnerID string
	Page, PerPage                    int
}

// serverColumns are the columns scanned by scanServer, in order.
const serverColumns = `id, owner_id, node_id, name, incus_name, type, image, cpu, memory_mib, disk_mib, status,
	usage_cpu_ns, usage_memory_bytes, usage_disk_bytes, usage_net_rx_bytes, usage_net_tx_bytes, usage_at,
	created_at, updated_at`

// List returns one page of the viewer's servers (all servers for admins), newest first, and
// the total. It is the API's hottest path: one indexed query carrying the total as a window
// count (plus a COUNT only when the page is past the end), scanned without GORM.
func (s *Service) List(ctx context.Context, v ops.Viewer, f ListFilter) ([]store.Server, int64, error) {
	var (
		conds []string // each with one "?" for its argument
		args  []any
	)
	add := func(cond string, arg ...any) {
		conds = append(conds, cond)
		args = append(args, arg...)
	}
	if cond, vargs := v.ServerVisible("servers"); cond != "" {
		add(cond, vargs...)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if f.NodeID != "" {
		add("node_id = ?", f.NodeID)
	}
	if f.OwnerID != "" {
		add("owner_id = ?", f.OwnerID)
	}
	if f.Q != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Q)
		add(`name LIKE ? ESCAPE '\'`, "%"+esc+"%")
	}
	// where renders the filter with placeholders numbered from first.
	where := func(first int) string {
		var b strings.Builder
		b.WriteString("deleted_at IS NULL")
		i := first
		for _, c := range conds {
			b.WriteString(" AND ")
			for {
				before, after, found := strings.Cut(c, "?")
				b.WriteString(before)
				if !found {
					break
				}
				b.WriteString(s.db.Placeholder(i))
				i++
				c = after
			}
		}
		return b.String()
	}
	n := len(args)
	// One round trip: the page walks the (partial) index in sort order and stops after LIMIT
	// rows; the total is an uncorrelated scalar subquery, evaluated once over the index. A
	// window count (COUNT(*) OVER ()) would make the page read and sort every matching row.
	q := "SELECT " + serverColumns + ", (SELECT COUNT(*) FROM servers WHERE " + where(n+1) + ") FROM servers WHERE " + where(1) +
		" ORDER BY created_at DESC, id DESC LIMIT " + s.db.Placeholder(2*n+1) + " OFFSET " + s.db.Placeholder(2*n+2)
	page := append(append(slices.Clone(args), args...), f.PerPage, (f.Page-1)*f.PerPage)
	out := make([]store.Server, 0, f.PerPage)
	var total int64
	rows, err := s.db.SQL.QueryContext(ctx, q, page...)
	if err != nil {
		return nil, 0, fmt.Errorf("list servers: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			srv     store.Server
			usageAt sql.NullTime
		)
		if err := rows.Scan(&srv.ID, &srv.OwnerID, &srv.NodeID, &srv.Name, &srv.IncusName, &srv.Type, &srv.Image,
			&srv.CPU, &srv.MemoryMiB, &srv.DiskMiB, &srv.Status, &srv.UsageCPUNs, &srv.UsageMemoryBytes,
			&srv.UsageDiskBytes, &srv.UsageNetRxBytes, &srv.UsageNetTxBytes, &usageAt, &srv.CreatedAt, &srv.UpdatedAt,
			&total); err != nil {
			return nil, 0, fmt.Errorf("scan server: %w", err)
		}
		if usageAt.Valid {
			t := usageAt.Time.UTC()
			srv.UsageAt = &t
		}
		srv.CreatedAt, srv.UpdatedAt = srv.CreatedAt.UTC(), srv.UpdatedAt.UTC()
		out = append(out, srv)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list servers: %w", err)
	}
	if len(out) == 0 && f.Page > 1 { // past the last page: the total still counts
		if err := s.db.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM servers WHERE "+where(1), args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count servers: %w", err)
		}
	}
	return out, total, nil
}

// transitional is the status a server takes while an action runs.
func transitional(kind string) string {
	switch kind {
	case api.OpInstanceStart:
		return api.StatusStarting
	case api.OpInstanceStop:
		return api.StatusStopping
	case api.OpInstanceRestart:
		return api.StatusRestarting
	}
	return api.StatusDeleting
}

// allowed reports whether the action makes sense from status.
func allowed(kind, status string) bool {
	switch kind {
	case api.OpInstanceStart:
		return status == api.StatusStopped || status == api.StatusError
	case api.OpInstanceStop, api.OpInstanceRestart:
		return status == api.StatusRunning || status == api.StatusFrozen || status == api.StatusError
	case api.OpInstanceDelete:
		return true
	}
	return false
}

// Action starts, stops, restarts or deletes a server. It is a conflict while another
// operation is in flight on the server, or when the action makes no sense in its status.
func (s *Service) Action(ctx context.Context, v ops.Viewer, id, kind string, force bool) (store.Operation, error) {
	perm := api.PermPower
	if kind == api.OpInstanceDelete {
		perm = PermManage
	}
	srv, err := s.Authorize(ctx, v, id, perm)
	if err != nil {
		return store.Operation{}, err
	}
	var op store.Operation
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.db.ForUpdate(tx).Where("id = ? AND deleted_at IS NULL", srv.ID).Take(&srv).Error; err != nil {
			if store.IsNotFound(err) {
				return notFound()
			}
			return fmt.Errorf("lock server: %w", err)
		}
		var n int64
		if err := tx.Model(&store.Operation{}).Where("server_id = ? AND status IN ?", srv.ID, store.InFlightStatuses).Count(&n).Error; err != nil {
			return fmt.Errorf("count in-flight operations: %w", err)
		}
		if n > 0 {
			return apierr.Conflict("another operation is in progress on this server")
		}
		if srv.SuspendedAt != nil && (kind == api.OpInstanceStart || kind == api.OpInstanceRestart) {
			return &apierr.Error{Code: api.CodeServerSuspended,
				Message: "this server is suspended for non-payment; pay what is due to start it again"}
		}
		if !allowed(kind, srv.Status) {
			return apierr.Conflict(fmt.Sprintf("cannot %s a server that is %s", strings.TrimPrefix(kind, "instance."), srv.Status))
		}
		now := store.Now()
		uid := v.UserID
		op = store.Operation{
			ID: uuid.NewString(), Kind: kind, Status: api.OpPending, ServerID: &srv.ID, NodeID: srv.NodeID,
			UserID: &uid, PrevStatus: srv.Status, ForceStop: force, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&op).Error; err != nil {
			return fmt.Errorf("insert operation: %w", err)
		}
		srv.Status, srv.UpdatedAt = transitional(kind), now
		if err := tx.Model(&store.Server{}).Where("id = ?", srv.ID).Updates(map[string]any{"status": srv.Status, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("update server: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Operation{}, err
	}
	s.log.InfoContext(ctx, "server action accepted", "server_id", srv.ID, "op_id", op.ID, "kind", kind, "node_id", srv.NodeID)
	s.enqueue(ctx, &op, srv)
	return op, nil
}
