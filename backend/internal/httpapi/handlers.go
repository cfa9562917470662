package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

func viewer(c *fiber.Ctx) ops.Viewer {
	p := principal(c)
	return ops.Viewer{UserID: p.User.ID, Admin: p.Admin(), Reseller: p.Reseller()}
}

func (h *handlers) login(c *fiber.Ctx) error {
	var req api.LoginRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	u, token, exp, err := h.Auth.Login(c.UserContext(), c.IP(), c.Get(fiber.HeaderUserAgent), req)
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: exp, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: h.Config.Secure()})
	setAuditActor(c, u.ID)
	setAudit(c, "user", u.ID, u.ID, nil)
	return c.JSON(auth.UserAPI(u))
}

func (h *handlers) logout(c *fiber.Ctx) error {
	if ck := c.Cookies(SessionCookie); ck != "" {
		if err := h.Auth.Logout(c.UserContext(), ck); err != nil {
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: h.Config.Secure()})
	return c.SendStatus(http.StatusNoContent)
}

// me answers the caller's account, read fresh (two_factor_enabled is not in the credential
// cache).
func (h *handlers) me(c *fiber.Ctx) error {
	u, err := h.Auth.GetUser(c.UserContext(), principal(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(auth.UserAPI(u))
}

func (h *handlers) createToken(c *fiber.Ctx) error {
	var req api.CreateTokenRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	t, err := h.Auth.CreateToken(c.UserContext(), principal(c), req)
	if err != nil {
		return err
	}
	setAudit(c, "api_token", t.ID, principal(c).User.ID, map[string]any{"name": t.Name, "scopes": t.Scopes})
	return c.Status(http.StatusCreated).JSON(t)
}

func (h *handlers) listTokens(c *fiber.Ctx) error {
	ts, err := h.Auth.ListTokens(c.UserContext(), principal(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.Token]{Items: ts, Page: 1, PerPage: len(ts), Total: int64(len(ts))})
}

func (h *handlers) deleteToken(c *fiber.Ctx) error {
	if err := h.Auth.DeleteToken(c.UserContext(), principal(c).User.ID, c.Params("id")); err != nil {
		return err
	}
	setAudit(c, "api_token", c.Params("id"), principal(c).User.ID, nil)
	return c.SendStatus(http.StatusNoContent)
}

func (h *handlers) createUser(c *fiber.Ctx) error {
	var req api.CreateUserRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	u, err := h.Auth.CreateUser(c.UserContext(), req.Email, req.Password, req.Role)
	if err != nil {
		return err
	}
	setAudit(c, "user", u.ID, u.ID, map[string]any{"role": u.Role})
	return c.Status(http.StatusCreated).JSON(auth.UserAPI(u))
}

func (h *handlers) listUsers(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	role := strings.Clone(c.Query("role"))
	switch role {
	case "", api.RoleAdmin, api.RoleReseller, api.RoleCustomer:
	default:
		return apierr.Validation(map[string]string{"role": "must be admin, reseller or customer"})
	}
	rows, total, err := h.Auth.ListUsers(c.UserContext(), auth.UserFilter{Q: q, Role: role}, page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.User, 0, len(rows))
	for _, u := range rows {
		items = append(items, auth.UserAPI(u))
	}
	return c.JSON(api.List[api.User]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getUser(c *fiber.Ctx) error {
	u, err := h.Auth.GetUser(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(auth.UserAPI(u))
}

func (h *handlers) createNode(c *fiber.Ctx) error {
	var req api.CreateNodeRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	n, token, exp, err := h.Nodes.Create(c.UserContext(), req.Name)
	if err != nil {
		return err
	}
	setAudit(c, "node", n.ID, "", map[string]any{"name": n.Name})
	base := strings.TrimRight(h.Config.PublicURL, "/")
	return c.Status(http.StatusCreated).JSON(api.CreateNodeResponse{
		Node:        node.API(n, node.Allocation{}),
		JoinToken:   token,
		JoinCommand: "nimbo-daemon join --panel " + base + " --token " + token,
		ExpiresAt:   exp,
	})
}

func (h *handlers) listNodes(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	items, total, err := h.Nodes.List(c.UserContext(), page, perPage)
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.Node]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getNode(c *fiber.Ctx) error {
	n, err := h.Nodes.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(n)
}

func (h *handlers) deleteNode(c *fiber.Ctx) error {
	if err := h.Nodes.Delete(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	setAudit(c, "node", c.Params("id"), "", nil)
	return c.SendStatus(http.StatusNoContent)
}

func (h *handlers) createServer(c *fiber.Ctx) error {
	if !principal(c).Admin() && !h.Config.Billing.FreeServers {
		return apierr.Forbidden("servers are bought through an order (POST /api/v1/orders); only admins create servers directly")
	}
	var req api.CreateServerRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	srv, op, err := h.Instances.Create(c.UserContext(), viewer(c), req)
	if err != nil {
		return err
	}
	setAudit(c, "server", srv.ID, srv.OwnerID, map[string]any{"name": srv.Name, "operation_id": op.ID})
	return c.Status(http.StatusAccepted).JSON(api.ServerAccepted{Server: srv.API(), Operation: op.API()})
}

func validServerStatus(s string) bool {
	switch s {
	case api.StatusCreating, api.StatusRunning, api.StatusStopped, api.StatusStarting, api.StatusStopping,
		api.StatusRestarting, api.StatusDeleting, api.StatusFrozen, api.StatusError, api.StatusMissing:
		return true
	}
	return false
}

func (h *handlers) listServers(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	f := instance.ListFilter{Page: page, PerPage: perPage, Status: c.Query("status"), Type: c.Query("type"),
		Q: c.Query("q"), NodeID: c.Query("node_id"), OwnerID: c.Query("owner_id")}
	fields := map[string]string{}
	if f.Status != "" && !validServerStatus(f.Status) {
		fields["status"] = "unknown status"
	}
	if f.Type != "" && f.Type != api.TypeContainer && f.Type != api.TypeVM {
		fields["type"] = "must be container or vm"
	}
	if len(f.Q) > 64 {
		fields["q"] = "must be at most 64 characters"
	}
	if f.NodeID != "" {
		if !v.Admin {
			return apierr.Forbidden("only admins may filter by node")
		}
		if uuid.Validate(f.NodeID) != nil {
			fields["node_id"] = "must be a node id"
		}
	}
	// owner_id narrows what the caller sees anyway: a reseller its customers', an admin anyone's.
	if f.OwnerID != "" && uuid.Validate(f.OwnerID) != nil {
		fields["owner_id"] = "must be a user id"
	}
	if len(fields) > 0 {
		return apierr.Validation(fields)
	}
	rows, total, err := h.Instances.List(c.UserContext(), v, f)
	if err != nil {
		return err
	}
	items := make([]api.Server, len(rows))
	for i := range rows {
		items[i] = rows[i].API()
	}
	return c.JSON(api.List[api.Server]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getServer(c *fiber.Ctx) error {
	srv, err := h.Instances.Get(c.UserContext(), viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := srv.API()
	if out.Permissions, err = h.Instances.Permissions(c.UserContext(), viewer(c), srv); err != nil {
		return err
	}
	return c.JSON(out)
}

// actionRequest is the optional body of stop, restart and delete.
type actionRequest struct {
	Force bool `json:"force"`
}

func (h *handlers) action(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var (
			req actionRequest
			err error
		)
		if kind == api.OpInstanceStart {
			err = DecodeJSON(c, &struct{}{}, true)
		} else {
			err = DecodeJSON(c, &req, true)
		}
		if err != nil {
			return err
		}
		op, err := h.Instances.Action(c.UserContext(), viewer(c), c.Params("id"), kind, req.Force)
		if err != nil {
			return err
		}
		// The entry belongs to the server's owner (the caller may be a sub-user, reseller or admin).
		if srv, gerr := h.Instances.Get(c.UserContext(), viewer(c), c.Params("id")); gerr == nil {
			setAudit(c, "server", srv.ID, srv.OwnerID, map[string]any{"operation_id": op.ID, "force": req.Force})
		}
		return c.Status(http.StatusAccepted).JSON(op.API())
	}
}

func opsList(rows []store.Operation, page, perPage int, total int64) api.List[api.Operation] {
	items := make([]api.Operation, len(rows))
	for i := range rows {
		items[i] = rows[i].API()
	}
	return api.List[api.Operation]{Items: items, Page: page, PerPage: perPage, Total: total}
}

func (h *handlers) serverOperations(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	srv, err := h.Instances.Get(c.UserContext(), viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	rows, total, err := h.Ops.List(c.UserContext(), ops.ListFilter{ServerID: srv.ID, Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	return c.JSON(opsList(rows, page, perPage, total))
}

func (h *handlers) getOperation(c *fiber.Ctx) error {
	op, err := h.Ops.Get(c.UserContext(), viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(op.API())
}

func (h *handlers) waitOperation(c *fiber.Ctx) error {
	timeout := 30
	if s := c.Query("timeout"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 120 {
			return apierr.Validation(map[string]string{"timeout": "must be an integer number of seconds from 1 to 120"})
		}
		timeout = n
	}
	id := strings.Clone(c.Params("id"))
	op, err := h.Ops.Wait(c.UserContext(), viewer(c), id, time.Duration(timeout)*time.Second, h.Done)
	if err != nil {
		return err
	}
	return c.JSON(op.API())
}

func (h *handlers) adminOperations(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	status := c.Query("status")
	switch status {
	case "", api.OpPending, api.OpRunning, api.OpSuccess, api.OpFailure:
	default:
		return apierr.Validation(map[string]string{"status": "must be pending, running, success or failure"})
	}
	rows, total, err := h.Ops.List(c.UserContext(), ops.ListFilter{Status: status, Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	return c.JSON(opsList(rows, page, perPage, total))
}
