package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/proration"
)

// mountResize registers the resize routes: an admin's direct resize of any server (no money
// moves) and a plan change of a subscription with its proration.
func (h *handlers) mountResize(v1 fiber.Router, authn, write, awrite fiber.Handler) {
	v1.Post("/servers/:id/resize", authn, requireAdmin, awrite, h.resizeServer)
	v1.Post("/subscriptions/:id/resize", authn, write, h.resizeSubscription)
}

func (h *handlers) resizeServer(c *fiber.Ctx) error {
	var req api.ResizeServerRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	op, err := h.Instances.Resize(c.UserContext(), viewer(c), strings.Clone(c.Params("id")), req)
	if err != nil {
		return err
	}
	setAudit(c, "server", strings.Clone(c.Params("id")), "", map[string]any{
		"operation_id": op.ID, "cpu": req.CPU, "memory_mib": req.MemoryMiB, "disk_mib": req.DiskMiB})
	return c.Status(http.StatusAccepted).JSON(op.API())
}

func (h *handlers) resizeSubscription(c *fiber.Ctx) error {
	key := strings.Clone(c.Get(api.HeaderIdempotencyKey))
	if !proration.ValidKey(key) {
		return proration.BadKey(key)
	}
	var req api.ResizeSubscriptionRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	res, err := h.Resizes.Resize(c.UserContext(), viewer(c), strings.Clone(c.Params("id")), req, key)
	if err != nil {
		return err
	}
	setAudit(c, "subscription", res.Change.SubscriptionID, res.Change.UserID, map[string]any{
		"change_id": res.Change.ID, "from_plan_id": res.Change.FromPlanID, "to_plan_id": res.Change.ToPlanID,
		"amount": res.Change.Amount, "currency": res.Change.Currency, "operation_id": res.Operation.ID})
	status := http.StatusAccepted
	if res.Replayed {
		status = http.StatusOK
		c.Set(api.HeaderIdempotentReplayed, "true")
	}
	return c.Status(status).JSON(res.API())
}
