package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/order"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// maxQueueNodes bounds how many nodes' queues one request reads (one Redis round trip each).
const maxQueueNodes = 500

// mountQueues registers the admin's view of the job queues.
func (h *handlers) mountQueues(v1 fiber.Router, authn, aread fiber.Handler) {
	v1.Get("/admin/queues", authn, requireAdmin, aread, h.adminQueues)
}

// adminQueues answers the panel's billing queue, then every node's job queue by node name.
func (h *handlers) adminQueues(c *fiber.Ctx) error {
	ctx := c.UserContext()
	nodes, _, err := h.Nodes.List(ctx, 1, maxQueueNodes)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(nodes)+1)
	names = append(names, h.Config.Redis.Prefix+order.QueuePanel)
	for _, n := range nodes {
		names = append(names, jobs.Queue(n.ID))
	}
	items, err := h.Queue.Stats(names...)
	if err != nil {
		return apierr.Unavailable("the job queues cannot be read: Redis is not answering", err)
	}
	for i, n := range nodes {
		items[i+1].NodeID, items[i+1].NodeName, items[i+1].NodeStatus = n.ID, n.Name, n.Status
	}
	return c.JSON(api.List[api.QueueStats]{Items: items, Page: 1, PerPage: len(items), Total: int64(len(items))})
}
