package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// mountMembers registers a server's sub-users, managed by those holding instance.PermManage
// on it (its owner, the owner's reseller, admins).
func (h *handlers) mountMembers(v1 fiber.Router, authn, read, write fiber.Handler) {
	v1.Get("/servers/:id/members", authn, read, h.listMembers)
	v1.Post("/servers/:id/members", authn, write, h.addMember)
	v1.Patch("/servers/:id/members/:user_id", authn, write, h.updateMember)
	v1.Delete("/servers/:id/members/:user_id", authn, write, h.removeMember)
}

// managedServer is the server of the request's :id when the caller may manage it: not found
// when it cannot see it, forbidden when it sees it as a sub-user.
func (h *handlers) managedServer(c *fiber.Ctx) (store.Server, error) {
	return h.Instances.Authorize(c.UserContext(), viewer(c), strings.Clone(c.Params("id")), instance.PermManage)
}

func (h *handlers) listMembers(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	srv, err := h.managedServer(c)
	if err != nil {
		return err
	}
	items, total, err := h.Resellers.Members(c.UserContext(), srv, page, perPage)
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.ServerMember]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) addMember(c *fiber.Ctx) error {
	srv, err := h.managedServer(c)
	if err != nil {
		return err
	}
	var req api.AddMemberRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	m, err := h.Resellers.AddMember(c.UserContext(), srv, req.Email, req.Permissions, principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "server", srv.ID, srv.OwnerID, map[string]any{"member": m.UserID, "permissions": m.Permissions})
	return c.Status(http.StatusCreated).JSON(m)
}

func (h *handlers) updateMember(c *fiber.Ctx) error {
	srv, err := h.managedServer(c)
	if err != nil {
		return err
	}
	var req api.UpdateMemberRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.Permissions == nil {
		return apierr.Validation(map[string]string{"permissions": "is required (an array, [] for none)"})
	}
	uid := strings.Clone(c.Params("user_id"))
	m, err := h.Resellers.UpdateMember(c.UserContext(), srv, uid, *req.Permissions)
	if err != nil {
		return err
	}
	setAudit(c, "server", srv.ID, srv.OwnerID, map[string]any{"member": uid, "permissions": m.Permissions})
	return c.JSON(m)
}

func (h *handlers) removeMember(c *fiber.Ctx) error {
	srv, err := h.managedServer(c)
	if err != nil {
		return err
	}
	uid := strings.Clone(c.Params("user_id"))
	if err := h.Resellers.RemoveMember(c.UserContext(), srv, uid); err != nil {
		return err
	}
	setAudit(c, "server", srv.ID, srv.OwnerID, map[string]any{"member": uid, "removed": true})
	return c.SendStatus(http.StatusNoContent)
}
