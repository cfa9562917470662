package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
)

// mountPlans registers the plans catalogue: what customers may order, and the admin's
// management of it (create, change, archive, list including archived plans).
func (h *handlers) mountPlans(v1 fiber.Router, authn, read, aread, awrite fiber.Handler) {
	v1.Get("/plans", authn, read, h.customerPlans)
	v1.Get("/plans/:id", authn, read, h.customerPlan)
	v1.Post("/admin/plans", authn, requireAdmin, awrite, h.createPlan)
	v1.Get("/admin/plans", authn, requireAdmin, aread, h.adminPlans)
	v1.Get("/admin/plans/:id", authn, requireAdmin, aread, h.adminPlan)
	v1.Patch("/admin/plans/:id", authn, requireAdmin, awrite, h.updatePlan)
	v1.Delete("/admin/plans/:id", authn, requireAdmin, awrite, h.archivePlan)
}

func (h *handlers) plans(c *fiber.Ctx, filter billing.PlanFilter) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	rows, total, err := h.Billing.Plans(c.UserContext(), filter, page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.Plan, len(rows))
	for i, r := range rows {
		items[i] = billing.PlanAPI(r, filter.Customer)
	}
	if filter.Customer {
		if err := h.retailPlans(c, items); err != nil {
			return err
		}
	}
	return c.JSON(api.List[api.Plan]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) customerPlans(c *fiber.Ctx) error {
	return h.plans(c, billing.PlanFilter{Customer: true})
}

// adminPlans lists every plan; archived=true keeps the archived ones, archived=false the others.
func (h *handlers) adminPlans(c *fiber.Ctx) error {
	var f billing.PlanFilter
	switch c.Query("archived") {
	case "":
	case "true":
		f.Archived = new(bool)
		*f.Archived = true
	case "false":
		f.Archived = new(bool)
	default:
		return apierr.Validation(map[string]string{"archived": "must be true or false"})
	}
	return h.plans(c, f)
}

func (h *handlers) plan(c *fiber.Ctx, customer bool) error {
	r, err := h.Billing.Plan(c.UserContext(), strings.Clone(c.Params("id")), customer)
	if err != nil {
		return err
	}
	out := []api.Plan{billing.PlanAPI(r, customer)}
	if customer {
		if err := h.retailPlans(c, out); err != nil {
			return err
		}
	}
	return c.JSON(out[0])
}

func (h *handlers) customerPlan(c *fiber.Ctx) error { return h.plan(c, true) }

func (h *handlers) adminPlan(c *fiber.Ctx) error { return h.plan(c, false) }

func (h *handlers) createPlan(c *fiber.Ctx) error {
	var req api.CreatePlanRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	r, err := h.Billing.CreatePlan(c.UserContext(), req, principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "plan", r.ID, "", map[string]any{"name": r.Name})
	return c.Status(http.StatusCreated).JSON(billing.PlanAPI(r, false))
}

func (h *handlers) updatePlan(c *fiber.Ctx) error {
	var req api.UpdatePlanRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	r, err := h.Billing.UpdatePlan(c.UserContext(), strings.Clone(c.Params("id")), req, principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "plan", r.ID, "", map[string]any{"name": r.Name})
	return c.JSON(billing.PlanAPI(r, false))
}

// archivePlan is DELETE: the plan is archived (hidden from customers, kept for history).
func (h *handlers) archivePlan(c *fiber.Ctx) error {
	r, err := h.Billing.ArchivePlan(c.UserContext(), strings.Clone(c.Params("id")), principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "plan", r.ID, "", map[string]any{"name": r.Name})
	return c.JSON(billing.PlanAPI(r, false))
}
