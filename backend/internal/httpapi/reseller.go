package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/reseller"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// maxQueryLength bounds the q filter of the reseller lists.
const maxQueryLength = 254

// mountResellers registers the reseller tier: the admin's management of resellers, a
// reseller's own API (branding, customers, prices, quota, revenue) and the public branding.
func (h *handlers) mountResellers(v1 fiber.Router, authn, aread, awrite fiber.Handler) {
	rread, rwrite := requireScope(api.ScopeResellerRead), requireScope(api.ScopeResellerWrite)
	v1.Get("/branding", h.branding)

	v1.Post("/admin/resellers", authn, requireAdmin, awrite, h.createReseller)
	v1.Get("/admin/resellers", authn, requireAdmin, aread, h.listResellers)
	v1.Get("/admin/resellers/:id", authn, requireAdmin, aread, h.getReseller)
	v1.Patch("/admin/resellers/:id", authn, requireAdmin, awrite, h.updateReseller)

	v1.Get("/reseller/profile", authn, requireReseller, rread, h.resellerProfile)
	v1.Patch("/reseller/profile", authn, requireReseller, rwrite, h.updateResellerProfile)
	v1.Post("/reseller/customers", authn, requireReseller, rwrite, h.createResellerCustomer)
	v1.Get("/reseller/customers", authn, requireReseller, rread, h.listResellerCustomers)
	v1.Get("/reseller/customers/:id", authn, requireReseller, rread, h.getResellerCustomer)
	v1.Get("/reseller/customers/:id/wallets", authn, requireReseller, rread, h.resellerCustomerWallets)
	v1.Get("/reseller/prices", authn, requireReseller, rread, h.resellerPrices)
	v1.Put("/reseller/prices/:plan_id", authn, requireReseller, rwrite, h.setResellerPrice)
	v1.Delete("/reseller/prices/:plan_id", authn, requireReseller, rwrite, h.deleteResellerPrice)
	v1.Get("/reseller/quota", authn, requireReseller, rread, h.resellerQuota)
	v1.Get("/reseller/revenue", authn, requireReseller, rread, h.resellerRevenue)
}

// listQuery reads the optional q filter of a list.
func listQuery(c *fiber.Ctx) (string, error) {
	q := strings.Clone(c.Query("q"))
	if len(q) > maxQueryLength {
		return "", apierr.Validation(map[string]string{"q": "must be at most 254 characters"})
	}
	return q, nil
}

func (h *handlers) branding(c *fiber.Ctx) error {
	b, err := h.Resellers.Branding(c.UserContext(), strings.Clone(c.Hostname()), api.Branding{
		Name: h.Config.Billing.SellerName, SupportEmail: h.Config.Billing.SellerEmail})
	if err != nil {
		return err
	}
	c.Vary(fiber.HeaderHost)
	return c.JSON(b)
}

func (h *handlers) createReseller(c *fiber.Ctx) error {
	var req api.CreateResellerRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	r, err := h.Resellers.CreateReseller(c.UserContext(), req)
	if err != nil {
		return err
	}
	setAudit(c, "reseller", r.ID, r.ID, map[string]any{"markup_bp": r.MarkupBP, "domain": r.Domain})
	return c.Status(http.StatusCreated).JSON(r)
}

func (h *handlers) listResellers(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	items, total, err := h.Resellers.Resellers(c.UserContext(), q, page, perPage)
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.Reseller]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getReseller(c *fiber.Ctx) error {
	r, err := h.Resellers.Reseller(c.UserContext(), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (h *handlers) updateReseller(c *fiber.Ctx) error {
	var req api.UpdateResellerRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	r, err := h.Resellers.UpdateReseller(c.UserContext(), strings.Clone(c.Params("id")), req)
	if err != nil {
		return err
	}
	setAudit(c, "reseller", r.ID, r.ID, map[string]any{"markup_bp": r.MarkupBP, "quota": r.Quota})
	return c.JSON(r)
}

func (h *handlers) resellerProfile(c *fiber.Ctx) error {
	r, err := h.Resellers.Reseller(c.UserContext(), principal(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (h *handlers) updateResellerProfile(c *fiber.Ctx) error {
	var req api.UpdateBrandingRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	me := principal(c).User.ID
	r, err := h.Resellers.UpdateBranding(c.UserContext(), me, req)
	if err != nil {
		return err
	}
	setAudit(c, "reseller", me, me, map[string]any{"brand_name": r.BrandName, "domain": r.Domain})
	return c.JSON(r)
}

func (h *handlers) createResellerCustomer(c *fiber.Ctx) error {
	var req api.CreateCustomerRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	u, err := h.Resellers.CreateCustomer(c.UserContext(), principal(c).User.ID, req)
	if err != nil {
		return err
	}
	setAudit(c, "user", u.ID, u.ID, nil)
	return c.Status(http.StatusCreated).JSON(auth.UserAPI(u))
}

func (h *handlers) listResellerCustomers(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	rows, total, err := h.Resellers.Customers(c.UserContext(), principal(c).User.ID, q, page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.User, len(rows))
	for i, u := range rows {
		items[i] = auth.UserAPI(u)
	}
	return c.JSON(api.List[api.User]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getResellerCustomer(c *fiber.Ctx) error {
	u, err := h.Resellers.Customer(c.UserContext(), principal(c).User.ID, strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(auth.UserAPI(u))
}

// resellerCustomerWallets lists the wallets of one of the calling reseller's customers (404
// for anyone else's account).
func (h *handlers) resellerCustomerWallets(c *fiber.Ctx) error {
	u, err := h.Resellers.Customer(c.UserContext(), principal(c).User.ID, strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return h.wallets(c, u.ID)
}

func (h *handlers) resellerPrices(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	items, total, err := h.Resellers.Prices(c.UserContext(), principal(c).User.ID, page, perPage)
	if err != nil {
		return err
	}
	return c.JSON(api.List[api.ResellerPrice]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) setResellerPrice(c *fiber.Ctx) error {
	var req api.SetResellerPriceRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	me := principal(c).User.ID
	p, err := h.Resellers.SetPrice(c.UserContext(), me, strings.Clone(c.Params("plan_id")), req)
	if err != nil {
		return err
	}
	setAudit(c, "reseller_price", p.PlanID, me, map[string]any{"retail": p.Retail})
	return c.JSON(p)
}

func (h *handlers) deleteResellerPrice(c *fiber.Ctx) error {
	me := principal(c).User.ID
	p, err := h.Resellers.DeletePrice(c.UserContext(), me, strings.Clone(c.Params("plan_id")))
	if err != nil {
		return err
	}
	setAudit(c, "reseller_price", p.PlanID, me, nil)
	return c.JSON(p)
}

func (h *handlers) resellerQuota(c *fiber.Ctx) error {
	q, err := h.Resellers.Quota(c.UserContext(), principal(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(q)
}

// resellerRevenue reads from and to (RFC 3339; default the current calendar month, UTC).
func (h *handlers) resellerRevenue(c *fiber.Ctx) error {
	from, to := reseller.MonthOf(time.Now())
	f := map[string]string{}
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		s := c.Query(name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			f[name] = "must be an RFC 3339 time such as 2025-01-01T00:00:00Z"
			continue
		}
		*dst = t
	}
	if len(f) == 0 && !from.Before(to) {
		f["to"] = "must be after from"
	}
	if len(f) > 0 {
		return apierr.Validation(f)
	}
	r, err := h.Resellers.Revenue(c.UserContext(), principal(c).User.ID, from, to)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// retailPlans replaces, for a customer of a reseller, the prices of plans (the provider's
// wholesale prices) with the reseller's retail prices.
func (h *handlers) retailPlans(c *fiber.Ctx, plans []api.Plan) error {
	rid := principal(c).User.ResellerID
	if rid == "" || len(plans) == 0 {
		return nil
	}
	in := make([]store.Plan, len(plans))
	for i, p := range plans {
		in[i] = store.Plan{ID: p.ID, PriceMonth: p.PriceMonth, PriceHour: p.PriceHour, SetupFee: p.SetupFee, Currency: p.Currency}
	}
	prices, err := h.Resellers.Retail(c.UserContext(), rid, in)
	if err != nil {
		return err
	}
	for i, pr := range prices {
		plans[i].PriceMonth, plans[i].PriceHour, plans[i].SetupFee = pr.Month, pr.Hour, pr.Setup
	}
	return nil
}
