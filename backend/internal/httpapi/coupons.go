package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/coupon"
)

// mountCoupons registers coupon management: the admin's routes over every coupon (creating
// the provider's own) and each reseller's over its own coupons only.
func (h *handlers) mountCoupons(v1 fiber.Router, authn, aread, awrite fiber.Handler) {
	admin := []fiber.Handler{authn, requireAdmin}
	rsl := []fiber.Handler{authn, requireReseller}
	rread, rwrite := requireScope(api.ScopeResellerRead), requireScope(api.ScopeResellerWrite)
	for _, r := range []struct {
		prefix      string
		guard       []fiber.Handler
		read, write fiber.Handler
	}{
		{"/admin/coupons", admin, aread, awrite},
		{"/reseller/coupons", rsl, rread, rwrite},
	} {
		with := func(scope fiber.Handler, hf fiber.Handler) []fiber.Handler {
			return append(append(append([]fiber.Handler{}, r.guard...), scope), hf)
		}
		v1.Post(r.prefix, with(r.write, h.createCoupon)...)
		v1.Get(r.prefix, with(r.read, h.listCoupons)...)
		v1.Get(r.prefix+"/:id", with(r.read, h.getCoupon)...)
		v1.Patch(r.prefix+"/:id", with(r.write, h.updateCoupon)...)
		v1.Delete(r.prefix+"/:id", with(r.write, h.deactivateCoupon)...)
		v1.Get(r.prefix+"/:id/redemptions", with(r.read, h.couponRedemptions)...)
	}
}

// couponScope is whose coupons the caller manages: a reseller its own, an admin all.
func couponScope(c *fiber.Ctx) coupon.Scope {
	if p := principal(c); p.Reseller() {
		return coupon.Scope{ResellerID: p.User.ID}
	}
	return coupon.Scope{}
}

func (h *handlers) createCoupon(c *fiber.Ctx) error {
	var req api.CreateCouponRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	sc := couponScope(c)
	r, err := h.Coupons.Create(c.UserContext(), sc, req, principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "coupon", r.ID, principal(c).User.ID, map[string]any{"code": r.Code})
	return c.Status(http.StatusCreated).JSON(coupon.API(r))
}

// listCoupons lists the caller's coupons, newest first; filters active=true|false, code (a
// prefix) and, for admins, owner_id (a reseller's id, or provider).
func (h *handlers) listCoupons(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	sc := couponScope(c)
	f := coupon.Filter{Code: strings.Clone(c.Query("code"))}
	bad := map[string]string{}
	switch c.Query("active") {
	case "":
	case "true":
		f.Active = new(bool)
		*f.Active = true
	case "false":
		f.Active = new(bool)
	default:
		bad["active"] = "must be true or false"
	}
	if len(f.Code) > 32 {
		bad["code"] = "must be at most 32 characters"
	}
	if owner := strings.Clone(c.Query("owner_id")); owner != "" {
		switch {
		case sc.ResellerID != "":
			bad["owner_id"] = "is for admins only"
		case owner != "provider" && uuid.Validate(owner) != nil:
			bad["owner_id"] = "must be a reseller's user id or provider"
		}
		f.OwnerID = owner
	}
	if len(bad) > 0 {
		return apierr.Validation(bad)
	}
	rows, total, err := h.Coupons.List(c.UserContext(), sc, f, page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.Coupon, len(rows))
	for i, r := range rows {
		items[i] = coupon.API(r)
	}
	return c.JSON(api.List[api.Coupon]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getCoupon(c *fiber.Ctx) error {
	r, err := h.Coupons.Get(c.UserContext(), couponScope(c), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(coupon.API(r))
}

func (h *handlers) updateCoupon(c *fiber.Ctx) error {
	var req api.UpdateCouponRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	r, err := h.Coupons.Update(c.UserContext(), couponScope(c), strings.Clone(c.Params("id")), req, principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "coupon", r.ID, principal(c).User.ID, map[string]any{"code": r.Code})
	return c.JSON(coupon.API(r))
}

// deactivateCoupon is DELETE: the coupon stops working at checkout and is kept, with its
// redemption history.
func (h *handlers) deactivateCoupon(c *fiber.Ctx) error {
	r, err := h.Coupons.Deactivate(c.UserContext(), couponScope(c), strings.Clone(c.Params("id")), principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "coupon", r.ID, principal(c).User.ID, map[string]any{"code": r.Code})
	return c.JSON(coupon.API(r))
}

func (h *handlers) couponRedemptions(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	rs, total, err := h.Coupons.Redemptions(c.UserContext(), couponScope(c), strings.Clone(c.Params("id")), page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.CouponRedemption, len(rs))
	for i, r := range rs {
		items[i] = coupon.RedemptionAPI(r)
	}
	return c.JSON(api.List[api.CouponRedemption]{Items: items, Page: page, PerPage: perPage, Total: total})
}
