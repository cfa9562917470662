// Package nodeapi serves the node API (/node/v1) that nimbo-daemon calls: join, heartbeat,
// operation progress and results, desired state and drift. Every call but join is
// authenticated with the node's bearer credential, and a node only ever sees its own
// operations and servers.
package nodeapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/httpapi"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

const localNode = "nimbo.node"

// Handlers serve the node API.
type Handlers struct {
	Config config.Config
	Nodes  *node.Service
	Ops    *ops.Service
}

// Mount registers the node API on app.
func (h *Handlers) Mount(app *fiber.App) {
	g := app.Group(dapi.PathPrefix)
	g.Post("/join", h.join)
	g.Post("/heartbeat", h.authenticate, h.heartbeat)
	g.Get("/operations/:id", h.authenticate, h.operation)
	g.Post("/operations/:id/progress", h.authenticate, h.progress)
	g.Post("/operations/:id/result", h.authenticate, h.result)
	g.Get("/instances", h.authenticate, h.instances)
	g.Post("/drift", h.authenticate, h.drift)
}

func (h *Handlers) interval() int {
	return int(h.Config.Nodes.HeartbeatInterval.Seconds())
}

func (h *Handlers) authenticate(c *fiber.Ctx) error {
	scheme, token, ok := strings.Cut(c.Get(dapi.HeaderAuth), " ")
	if !ok || !strings.EqualFold(scheme, dapi.AuthScheme) || token == "" {
		return apierr.Unauthorized("node credential required")
	}
	n, err := h.Nodes.Authenticate(c.UserContext(), token)
	if err != nil {
		return err
	}
	c.Locals(localNode, n)
	return c.Next()
}

func current(c *fiber.Ctx) store.Node {
	n, _ := c.Locals(localNode).(store.Node)
	return n
}

func (h *Handlers) join(c *fiber.Ctx) error {
	var req dapi.JoinRequest
	if err := httpapi.DecodeJSONCompat(c, &req); err != nil {
		return err
	}
	n, cred, err := h.Nodes.Join(c.UserContext(), req)
	if err != nil {
		return err
	}
	return c.JSON(dapi.JoinResponse{NodeID: n.ID, NodeName: n.Name, Credential: cred,
		RedisURL: h.Config.Nodes.RedisURL, HeartbeatIntervalSeconds: h.interval()})
}

func (h *Handlers) heartbeat(c *fiber.Ctx) error {
	var hb dapi.Heartbeat
	if err := httpapi.DecodeJSONCompat(c, &hb); err != nil {
		return err
	}
	if err := h.Nodes.Heartbeat(c.UserContext(), current(c).ID, hb); err != nil {
		return err
	}
	return c.JSON(dapi.HeartbeatResponse{HeartbeatIntervalSeconds: h.interval()})
}

func info(op store.Operation) dapi.OperationInfo {
	out := dapi.OperationInfo{ID: op.ID, Kind: op.Kind, Status: op.Status}
	if op.ServerID != nil {
		out.InstanceID = *op.ServerID
	}
	return out
}

func (h *Handlers) operation(c *fiber.Ctx) error {
	op, err := h.Ops.NodeOperation(c.UserContext(), current(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(info(op))
}

func (h *Handlers) progress(c *fiber.Ctx) error {
	var p dapi.Progress
	if err := httpapi.DecodeJSONCompat(c, &p); err != nil {
		return err
	}
	op, err := h.Ops.Progress(c.UserContext(), current(c).ID, c.Params("id"), p)
	if err != nil {
		return err
	}
	return c.JSON(info(op))
}

func (h *Handlers) result(c *fiber.Ctx) error {
	var r dapi.Result
	if err := httpapi.DecodeJSONCompat(c, &r); err != nil {
		return err
	}
	op, err := h.Ops.Finish(c.UserContext(), current(c).ID, c.Params("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(info(op))
}

func (h *Handlers) instances(c *fiber.Ctx) error {
	in, err := h.Nodes.Desired(c.UserContext(), current(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(dapi.DesiredState{Instances: in})
}

func (h *Handlers) drift(c *fiber.Ctx) error {
	var r dapi.DriftReport
	if err := httpapi.DecodeJSONCompat(c, &r); err != nil {
		return err
	}
	if err := h.Nodes.Drift(c.UserContext(), current(c).ID, r); err != nil {
		return err
	}
	return c.Status(http.StatusOK).JSON(fiber.Map{"status": "ok"})
}
