package httpapi

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// listSessions answers the caller's live sessions, the current one marked.
func (h *handlers) listSessions(c *fiber.Ctx) error {
	ss, err := h.Auth.ListSessions(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.Session]{Items: ss, Page: 1, PerPage: len(ss), Total: int64(len(ss))})
}

// revokeSession ends one of the caller's sessions; revoking the current one also clears the
// cookie.
func (h *handlers) revokeSession(c *fiber.Ctx) error {
	p, id := principal(c), c.Params("id")
	if err := h.Auth.RevokeSession(c.UserContext(), p.User.ID, id); err != nil {
		return err
	}
	setAudit(c, "session", id, p.User.ID, nil)
	if p.SessionID != "" && id == p.SessionID {
		h.clearSessionCookie(c)
	}
	return c.SendStatus(http.StatusNoContent)
}

// revokeOtherSessions ends every session of the caller but the current one; called with an
// API token it ends them all.
func (h *handlers) revokeOtherSessions(c *fiber.Ctx) error {
	p := principal(c)
	n, err := h.Auth.RevokeOtherSessions(c.UserContext(), p.User.ID, p.SessionID)
	if err != nil {
		return err
	}
	setAudit(c, "session", "", p.User.ID, map[string]any{"revoked": n})
	return c.JSON(api.RevokeSessionsResult{Revoked: n})
}

// clearSessionCookie tells the browser to forget the session cookie.
func (h *handlers) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: h.Config.Secure()})
}
