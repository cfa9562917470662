package httpapi

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
)

// mountAudit registers the audit-log readers: the caller's own entries (its actions and the
// changes to its objects; a reseller's also its customers'), and the admin's full log.
func (h *handlers) mountAudit(v1 fiber.Router, authn, aread fiber.Handler) {
	v1.Get("/audit", authn, h.myAudit)
	v1.Get("/admin/audit", authn, requireAdmin, aread, h.adminAudit)
}

// auditParams names the query parameters the audit lists accept.
const auditParams = "page, per_page, actor_id, owner_id, object_type, object_id, action, from, to"

func knownAuditParam(k string) bool {
	switch k {
	case "page", "per_page", "actor_id", "owner_id", "object_type", "object_id", "action", "from", "to":
		return true
	}
	return false
}

// auditIdent checks an id-like filter: 1..max printable ASCII characters without spaces.
func auditIdent(v string, max int) bool {
	if len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}

// auditFilter reads and validates every query parameter of an audit list.
func auditFilter(c *fiber.Ctx) (audit.Filter, error) {
	fields := map[string]string{}
	for k := range c.Queries() {
		if !knownAuditParam(k) {
			fields[k] = "unknown query parameter; known: " + auditParams
		}
	}
	page, perPage, err := paging(c)
	if err != nil {
		return audit.Filter{}, err
	}
	f := audit.Filter{Page: page, PerPage: perPage,
		ActorID: strings.Clone(c.Query("actor_id")), OwnerID: strings.Clone(c.Query("owner_id")),
		ObjectType: strings.Clone(c.Query("object_type")), ObjectID: strings.Clone(c.Query("object_id")),
		ActionPrefix: strings.Clone(c.Query("action"))}
	if !auditIdent(f.ActorID, 64) {
		fields["actor_id"] = "must be a user id, system or anonymous"
	}
	if !auditIdent(f.OwnerID, 64) {
		fields["owner_id"] = "must be a user id"
	}
	if len(f.ObjectType) > 32 || strings.IndexFunc(f.ObjectType, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) >= 0 {
		fields["object_type"] = "must be at most 32 lower-case letters and underscores, such as server"
	}
	if !auditIdent(f.ObjectID, 128) {
		fields["object_id"] = "must be at most 128 printable characters without spaces"
	}
	if len(f.ActionPrefix) > 256 || !utf8.ValidString(f.ActionPrefix) || strings.IndexFunc(f.ActionPrefix, unicode.IsControl) >= 0 {
		fields["action"] = "must be at most 256 characters of text, the start of an action such as POST /api/v1/servers"
	}
	for name, dst := range map[string]**time.Time{"from": &f.From, "to": &f.To} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fields[name] = "must be an RFC 3339 time, such as 2025-01-31T12:00:00Z"
			continue
		}
		*dst = &t
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		fields["to"] = "must be after from"
	}
	if len(fields) > 0 {
		return audit.Filter{}, apierr.Validation(fields)
	}
	return f, nil
}

func (h *handlers) auditList(c *fiber.Ctx, r audit.Reader) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	rows, total, err := audit.List(c.UserContext(), h.DB.DB, r, f)
	if err != nil {
		return err
	}
	items := make([]api.AuditEntry, len(rows))
	for i, e := range rows {
		items[i] = e.API()
	}
	return c.JSON(api.List[api.AuditEntry]{Items: items, Page: f.Page, PerPage: f.PerPage, Total: total})
}

// myAudit lists the entries the caller made or that concern its objects (a reseller's: also
// its customers'); an admin calling it gets the same view, not the whole log.
func (h *handlers) myAudit(c *fiber.Ctx) error {
	p := principal(c)
	return h.auditList(c, audit.Reader{UserID: p.User.ID, Reseller: p.Reseller()})
}

// adminAudit lists the whole log.
func (h *handlers) adminAudit(c *fiber.Ctx) error {
	return h.auditList(c, audit.Reader{UserID: principal(c).User.ID, Admin: true})
}
