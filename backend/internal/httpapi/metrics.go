package httpapi

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/metrics"
)

// mountMetrics registers a server's usage history (for those who may see the server) and the
// images servers can be created from (for every signed-in user).
func (h *handlers) mountMetrics(v1 fiber.Router, authn, read fiber.Handler) {
	v1.Get("/servers/:id/metrics", authn, read, h.serverMetrics)
	v1.Get("/images", authn, read, h.images)
}

// serverMetrics answers GET /api/v1/servers/:id/metrics?range=1h|6h|24h|7d|30d.
func (h *handlers) serverMetrics(c *fiber.Ctx) error {
	srv, err := h.Instances.Authorize(c.UserContext(), viewer(c), strings.Clone(c.Params("id")), "")
	if err != nil {
		return err
	}
	r, err := metrics.ParseRange(c.Query("range"))
	if err != nil {
		return err
	}
	out, err := h.Metrics.Series(c.UserContext(), srv, r, time.Now())
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// images answers GET /api/v1/images?plan_id=…: the image aliases of the online nodes (of the
// plan's nodes, when it names some).
func (h *handlers) images(c *fiber.Ctx) error {
	var nodeIDs []string
	if id := strings.Clone(c.Query("plan_id")); id != "" {
		if uuid.Validate(id) != nil {
			return apierr.Validation(map[string]string{"plan_id": "must be a plan id"})
		}
		admin := principal(c).Admin()
		p, err := h.Billing.Plan(c.UserContext(), id, !admin)
		if err != nil {
			return err
		}
		if p.ArchivedAt != nil {
			return apierr.NotFound("plan not found")
		}
		nodeIDs = p.NodeIDs
	}
	items, err := h.Metrics.Images(c.UserContext(), nodeIDs)
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.Image]{Items: items, Page: 1, PerPage: len(items), Total: int64(len(items))})
}
