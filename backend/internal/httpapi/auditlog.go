package httpapi

import (
	"log/slog"
	"maps"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

const localAudit = "nimbo.audit"

// auditInfo is what a handler says about the object its request changed.
type auditInfo struct {
	ActorID, ObjectType, ObjectID, OwnerID string
	Details                                map[string]any
	// Skip marks a POST that changes nothing (a price quote).
	Skip bool
}

// skipAudit marks a request that uses POST but changes nothing: it is not audited.
func skipAudit(c *fiber.Ctx) { auditOf(c).Skip = true }

// setAudit names the object a state-changing request changed and the user it belongs to (who
// may read the entry). Without it the entry names the route's :id and the caller as owner.
func setAudit(c *fiber.Ctx, objectType, objectID, ownerID string, details map[string]any) {
	a := auditOf(c)
	a.ObjectType, a.ObjectID, a.OwnerID, a.Details = objectType, objectID, ownerID, details
}

// setAuditActor names the actor of a request without a principal (a login, a sign-up, a
// payment notification).
func setAuditActor(c *fiber.Ctx, actorID string) { auditOf(c).ActorID = actorID }

func auditOf(c *fiber.Ctx) *auditInfo {
	a, _ := c.Locals(localAudit).(*auditInfo)
	if a == nil {
		a = &auditInfo{}
		c.Locals(localAudit, a)
	}
	return a
}

// auditLog records every successful state-changing request under /api/v1 (any method but
// GET, HEAD and OPTIONS answered below 400) in the audit log: actor, action (method and
// route pattern, e.g. "POST /api/v1/servers/:id/stop": c.Route() after c.Next() is the route
// that matched), object, owner, IP and request id; a call with an API token also names the
// token (details.token_id). A failed write is logged, not returned: the change itself has been
// committed already.
func auditLog(db *store.DB, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return err
		}
		if err != nil || c.Response().StatusCode() >= 400 || !strings.HasPrefix(c.Path(), "/api/v1/") {
			return err
		}
		a := auditOf(c)
		if a.Skip {
			return nil
		}
		actor := a.ActorID
		details := a.Details
		if p := principal(c); p != nil {
			actor = p.User.ID
			if p.TokenID != "" {
				// Name the API token that made the change (a copy: the handler's map is its own).
				details = make(map[string]any, len(a.Details)+1)
				maps.Copy(details, a.Details)
				details["token_id"] = p.TokenID
			}
		}
		if actor == "" {
			actor = "anonymous"
		}
		objectType, objectID := a.ObjectType, a.ObjectID
		if objectID == "" {
			objectID = c.Params("id")
		}
		owner := a.OwnerID
		if owner == "" && actor != "anonymous" {
			owner = actor
		}
		e := audit.Entry{ActorID: actor, Action: c.Method() + " " + c.Route().Path, ObjectType: objectType,
			ObjectID: objectID, OwnerID: owner, IP: c.IP(), RequestID: RequestID(c)}
		if rerr := audit.Record(c.UserContext(), db.DB, e, details); rerr != nil {
			log.ErrorContext(c.UserContext(), "audit log write failed", "err", rerr, "action", e.Action)
		}
		return nil
	}
}
