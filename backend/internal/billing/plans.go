package billing

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// Bounds of a plan beyond those of a server's resources (jobs.MaxCPU and friends).
const (
	MaxPlanNameLength = 64
	// MaxTrafficGiB is 1 PiB a month.
	MaxTrafficGiB = 1 << 20
	MaxStock      = 1_000_000_000
	MaxPlanNodes  = 1000
)

// PlanFilter selects the plans of a list.
type PlanFilter struct {
	// Customer limits the list to what customers may order: active, not archived, in stock.
	Customer bool
	// Archived, for admins, keeps only archived (true) or only live (false) plans; nil keeps all.
	Archived *bool
}

// PlanRow is a plan with the nodes that may host it (none: any node).
type PlanRow struct {
	store.Plan
	NodeIDs []string
}

const currencyRule = "must be a supported ISO-4217 code in upper case, such as USD or EUR"

// validatePlan checks every field of p and of nodeIDs, into f.
func validatePlan(f map[string]string, p *store.Plan, nodeIDs []string) {
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case p.Name == "":
		f["name"] = "is required"
	case !utf8.ValidString(p.Name):
		f["name"] = "must be valid UTF-8"
	case utf8.RuneCountInString(p.Name) > MaxPlanNameLength:
		f["name"] = fmt.Sprintf("must be at most %d characters", MaxPlanNameLength)
	case strings.ContainsFunc(p.Name, func(r rune) bool { return !unicode.IsPrint(r) }):
		f["name"] = "must contain printable characters only"
	}
	if p.Type != api.TypeContainer && p.Type != api.TypeVM {
		f["type"] = "must be container or vm"
	}
	if p.CPU < 1 || p.CPU > jobs.MaxCPU {
		f["cpu"] = fmt.Sprintf("must be between 1 and %d", jobs.MaxCPU)
	}
	if p.MemoryMiB < jobs.MinMemoryMiB || p.MemoryMiB > jobs.MaxMemoryMiB {
		f["memory_mib"] = fmt.Sprintf("must be between %d and %d", jobs.MinMemoryMiB, jobs.MaxMemoryMiB)
	}
	if p.DiskMiB < jobs.MinDiskMiB || p.DiskMiB > jobs.MaxDiskMiB {
		f["disk_mib"] = fmt.Sprintf("must be between %d and %d", jobs.MinDiskMiB, jobs.MaxDiskMiB)
	}
	if p.TrafficGiB < 0 || p.TrafficGiB > MaxTrafficGiB {
		f["traffic_gib"] = fmt.Sprintf("must be between 0 (unmetered) and %d", MaxTrafficGiB)
	}
	for name, v := range map[string]int64{"price_month": p.PriceMonth, "price_hour": p.PriceHour, "setup_fee": p.SetupFee} {
		if v < 0 || v > MaxAmount {
			f[name] = fmt.Sprintf("must be from 0 to %d minor units", MaxAmount)
		}
	}
	if !ValidCurrency(p.Currency) {
		f["currency"] = currencyRule
	}
	if p.Stock != nil && (*p.Stock < 0 || *p.Stock > MaxStock) {
		f["stock"] = fmt.Sprintf("must be null (unlimited) or from 0 to %d", MaxStock)
	}
	if len(nodeIDs) > MaxPlanNodes {
		f["node_ids"] = fmt.Sprintf("must list at most %d nodes", MaxPlanNodes)
	}
}

// uniqueIDs returns ids sorted without duplicates.
func uniqueIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// checkNodes reports into f the node ids that are not existing nodes.
func checkNodes(tx *gorm.DB, f map[string]string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if uuid.Validate(id) != nil {
			f["node_ids"] = fmt.Sprintf("unknown node %q", id)
			return nil
		}
	}
	var found []string
	if err := tx.Model(&store.Node{}).Where("id IN ?", ids).Pluck("id", &found).Error; err != nil {
		return fmt.Errorf("read nodes: %w", err)
	}
	if len(found) == len(ids) {
		return nil
	}
	have := make(map[string]bool, len(found))
	for _, id := range found {
		have[id] = true
	}
	for _, id := range ids {
		if !have[id] {
			f["node_ids"] = fmt.Sprintf("unknown node %q", id)
			break
		}
	}
	return nil
}

// writeErr turns the constraint errors of a plan write into API errors.
func writeErr(err error, what string) error {
	switch {
	case store.IsDuplicate(err):
		return apierr.Conflict("a plan that is not archived already has this name")
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return apierr.Validation(map[string]string{"node_ids": "names a node that no longer exists"})
	}
	return fmt.Errorf("%s: %w", what, err)
}

// setNodes replaces the nodes of plan id.
func setNodes(tx *gorm.DB, id string, nodeIDs []string) error {
	if err := tx.Where("plan_id = ?", id).Delete(&store.PlanNode{}).Error; err != nil {
		return fmt.Errorf("delete plan nodes: %w", err)
	}
	if len(nodeIDs) == 0 {
		return nil
	}
	rows := make([]store.PlanNode, len(nodeIDs))
	for i, n := range nodeIDs {
		rows[i] = store.PlanNode{PlanID: id, NodeID: n}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return writeErr(err, "insert plan nodes")
	}
	return nil
}

// liveNameTaken reports whether a plan other than id, not archived, is called name.
func liveNameTaken(tx *gorm.DB, name, id string) (bool, error) {
	var n int64
	err := tx.Model(&store.Plan{}).Where("name = ? AND archived_at IS NULL AND id <> ?", name, id).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("read plan names: %w", err)
	}
	return n > 0, nil
}

// CreatePlan validates req and adds the plan and its nodes in one transaction. A name used
// by a live plan is a conflict; an unknown node is a validation error on node_ids.
func (s *Service) CreatePlan(ctx context.Context, req api.CreatePlanRequest, actorID string) (PlanRow, error) {
	now := store.Now()
	p := store.Plan{
		ID: uuid.NewString(), Name: req.Name, Type: req.Type, CPU: req.CPU, MemoryMiB: req.MemoryMiB,
		DiskMiB: req.DiskMiB, TrafficGiB: req.TrafficGiB, PriceMonth: req.PriceMonth, PriceHour: req.PriceHour,
		SetupFee: req.SetupFee, Currency: req.Currency, Stock: req.Stock, Active: req.Active == nil || *req.Active,
		CreatedAt: now, UpdatedAt: now,
	}
	f := map[string]string{}
	validatePlan(f, &p, req.NodeIDs)
	if len(f) > 0 {
		return PlanRow{}, apierr.Validation(f)
	}
	nodeIDs := uniqueIDs(req.NodeIDs)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkNodes(tx, f, nodeIDs); err != nil {
			return err
		}
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		if taken, err := liveNameTaken(tx, p.Name, p.ID); err != nil {
			return err
		} else if taken {
			return apierr.Conflict("a plan that is not archived already has this name")
		}
		// Select all columns so that false and NULL are written as given, not as defaults.
		if err := tx.Select("*").Create(&p).Error; err != nil {
			return writeErr(err, "insert plan")
		}
		return setNodes(tx, p.ID, nodeIDs)
	})
	if err != nil {
		return PlanRow{}, err
	}
	s.log.InfoContext(ctx, "plan created", "plan_id", p.ID, "name", p.Name, "actor_id", actorID)
	return PlanRow{Plan: p, NodeIDs: nodeIDs}, nil
}

// UpdatePlan applies the fields req carries to the plan, validates the result and writes it
// with its nodes in one transaction. An archived plan is a conflict: it is kept as it was.
func (s *Service) UpdatePlan(ctx context.Context, id string, req api.UpdatePlanRequest, actorID string) (PlanRow, error) {
	if uuid.Validate(id) != nil {
		return PlanRow{}, apierr.NotFound("plan not found")
	}
	var row PlanRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var p store.Plan
		err := s.db.ForUpdate(tx).Where("id = ?", id).Take(&p).Error
		if store.IsNotFound(err) {
			return apierr.NotFound("plan not found")
		}
		if err != nil {
			return fmt.Errorf("lock plan: %w", err)
		}
		if p.ArchivedAt != nil {
			return apierr.Conflict("the plan is archived and cannot be changed")
		}
		nodeIDs, err := planNodes(tx, p.ID)
		if err != nil {
			return err
		}
		applyPatch(&p, req)
		var newNodes []string
		if req.NodeIDs != nil {
			newNodes = *req.NodeIDs
		}
		f := map[string]string{}
		validatePlan(f, &p, newNodes)
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		if req.NodeIDs != nil {
			nodeIDs = uniqueIDs(newNodes)
			if err := checkNodes(tx, f, nodeIDs); err != nil {
				return err
			}
			if len(f) > 0 {
				return apierr.Validation(f)
			}
		}
		if taken, err := liveNameTaken(tx, p.Name, p.ID); err != nil {
			return err
		} else if taken {
			return apierr.Conflict("a plan that is not archived already has this name")
		}
		p.UpdatedAt = store.Now()
		if err := tx.Select("*").Omit("id", "created_at", "archived_at").Where("id = ?", p.ID).Updates(&p).Error; err != nil {
			return writeErr(err, "update plan")
		}
		if req.NodeIDs != nil {
			if err := setNodes(tx, p.ID, nodeIDs); err != nil {
				return err
			}
		}
		row = PlanRow{Plan: p, NodeIDs: nodeIDs}
		return nil
	})
	if err != nil {
		return PlanRow{}, err
	}
	s.log.InfoContext(ctx, "plan updated", "plan_id", row.ID, "name", row.Name, "actor_id", actorID)
	return row, nil
}

func applyPatch(p *store.Plan, req api.UpdatePlanRequest) {
	setStr := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set64 := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	setStr(&p.Name, req.Name)
	setStr(&p.Type, req.Type)
	setStr(&p.Currency, req.Currency)
	if req.CPU != nil {
		p.CPU = *req.CPU
	}
	set64(&p.MemoryMiB, req.MemoryMiB)
	set64(&p.DiskMiB, req.DiskMiB)
	set64(&p.TrafficGiB, req.TrafficGiB)
	set64(&p.PriceMonth, req.PriceMonth)
	set64(&p.PriceHour, req.PriceHour)
	set64(&p.SetupFee, req.SetupFee)
	if req.Stock.Set {
		p.Stock = nil
		if !req.Stock.Null {
			v := req.Stock.Value
			p.Stock = &v
		}
	}
	if req.Active != nil {
		p.Active = *req.Active
	}
}

// ArchivePlan hides the plan from customers for good and keeps it for history; its name
// becomes free for a new plan. Archiving an archived plan changes nothing.
func (s *Service) ArchivePlan(ctx context.Context, id, actorID string) (PlanRow, error) {
	if uuid.Validate(id) != nil {
		return PlanRow{}, apierr.NotFound("plan not found")
	}
	var row PlanRow
	archived := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var p store.Plan
		err := s.db.ForUpdate(tx).Where("id = ?", id).Take(&p).Error
		if store.IsNotFound(err) {
			return apierr.NotFound("plan not found")
		}
		if err != nil {
			return fmt.Errorf("lock plan: %w", err)
		}
		if p.ArchivedAt == nil {
			now := store.Now()
			if err := tx.Model(&store.Plan{}).Where("id = ?", id).
				Updates(map[string]any{"archived_at": now, "updated_at": now}).Error; err != nil {
				return fmt.Errorf("archive plan: %w", err)
			}
			p.ArchivedAt, p.UpdatedAt, archived = &now, now, true
		}
		nodeIDs, err := planNodes(tx, p.ID)
		row = PlanRow{Plan: p, NodeIDs: nodeIDs}
		return err
	})
	if err != nil {
		return PlanRow{}, err
	}
	if archived {
		s.log.InfoContext(ctx, "plan archived", "plan_id", row.ID, "name", row.Name, "actor_id", actorID)
	}
	return row, nil
}

func planNodes(tx *gorm.DB, id string) ([]string, error) {
	ids := []string{}
	if err := tx.Model(&store.PlanNode{}).Where("plan_id = ?", id).Order("node_id").Pluck("node_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("read plan nodes: %w", err)
	}
	return ids, nil
}

// customerVisible limits q to plans customers may order.
func customerVisible(q *gorm.DB) *gorm.DB {
	return q.Where("active = ? AND archived_at IS NULL AND (stock IS NULL OR stock > 0)", true)
}

// Plan returns one plan with its nodes. For a customer, an inactive or archived plan is not
// found (one out of stock is returned, with stock 0).
func (s *Service) Plan(ctx context.Context, id string, customer bool) (PlanRow, error) {
	if uuid.Validate(id) != nil {
		return PlanRow{}, apierr.NotFound("plan not found")
	}
	db := s.db.WithContext(ctx)
	q := db.Where("id = ?", id)
	if customer {
		q = q.Where("active = ? AND archived_at IS NULL", true)
	}
	var p store.Plan
	err := q.Take(&p).Error
	if store.IsNotFound(err) {
		return PlanRow{}, apierr.NotFound("plan not found")
	}
	if err != nil {
		return PlanRow{}, fmt.Errorf("read plan: %w", err)
	}
	nodeIDs, err := planNodes(db, p.ID)
	if err != nil {
		return PlanRow{}, err
	}
	return PlanRow{Plan: p, NodeIDs: nodeIDs}, nil
}

// Plans returns one page of the plans filter selects, cheapest first for customers and by
// name for admins, with their nodes and the total count.
func (s *Service) Plans(ctx context.Context, filter PlanFilter, page, perPage int) ([]PlanRow, int64, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&store.Plan{})
	order := "name, id"
	switch {
	case filter.Customer:
		q = customerVisible(q)
		order = "price_month, name, id"
	case filter.Archived != nil && *filter.Archived:
		q = q.Where("archived_at IS NOT NULL")
	case filter.Archived != nil:
		q = q.Where("archived_at IS NULL")
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count plans: %w", err)
	}
	ps := []store.Plan{}
	if err := q.Order(order).Limit(perPage).Offset((page - 1) * perPage).Find(&ps).Error; err != nil {
		return nil, 0, fmt.Errorf("list plans: %w", err)
	}
	rows := make([]PlanRow, len(ps))
	idx := make(map[string]int, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		rows[i] = PlanRow{Plan: p, NodeIDs: []string{}}
		idx[p.ID], ids[i] = i, p.ID
	}
	if len(ids) > 0 {
		var pns []store.PlanNode
		if err := db.Where("plan_id IN ?", ids).Order("plan_id, node_id").Find(&pns).Error; err != nil {
			return nil, 0, fmt.Errorf("list plan nodes: %w", err)
		}
		for _, pn := range pns {
			r := &rows[idx[pn.PlanID]]
			r.NodeIDs = append(r.NodeIDs, pn.NodeID)
		}
	}
	return rows, total, nil
}

// PlanAPI converts a plan to its wire form; customers do not see its nodes.
func PlanAPI(r PlanRow, customer bool) api.Plan {
	exp, _ := Exponent(r.Currency)
	p := api.Plan{
		ID: r.ID, Name: r.Name, Type: r.Type, CPU: r.CPU, MemoryMiB: r.MemoryMiB, DiskMiB: r.DiskMiB,
		TrafficGiB: r.TrafficGiB, PriceMonth: r.PriceMonth, PriceHour: r.PriceHour, SetupFee: r.SetupFee,
		Currency: r.Currency, Exponent: exp, Stock: r.Stock, Active: r.Active, ArchivedAt: r.ArchivedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if !customer {
		p.NodeIDs = r.NodeIDs
	}
	return p
}
