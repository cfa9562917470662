package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/order"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// mountOrders registers orders and subscriptions: buying a plan (and a price preview), the
// caller's orders and subscriptions (a reseller's include its customers'; a sub-user with
// the billing permission sees and renews the subscription of that server), cancelling or
// resuming renewal, paying what is due, and the admin's view of every subscription.
func (h *handlers) mountOrders(v1 fiber.Router, authn, read, write, aread fiber.Handler) {
	v1.Post("/orders", authn, write, h.createOrder)
	v1.Post("/orders/quote", authn, read, h.quoteOrder)
	v1.Get("/orders", authn, read, h.listOrders)
	v1.Get("/orders/:id", authn, read, h.getOrder)
	v1.Get("/subscriptions", authn, read, h.listSubscriptions)
	v1.Get("/subscriptions/:id", authn, read, h.getSubscription)
	v1.Patch("/subscriptions/:id", authn, write, h.updateSubscription)
	v1.Post("/subscriptions/:id/renew", authn, write, h.renewSubscription)
	v1.Get("/admin/subscriptions", authn, requireAdmin, aread, h.adminSubscriptions)
}

func (h *handlers) createOrder(c *fiber.Ctx) error {
	key := strings.Clone(c.Get(api.HeaderIdempotencyKey))
	if !billing.ValidKey(key) {
		return billing.BadKey(key)
	}
	var req api.CreateOrderRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	p := principal(c)
	placed, err := h.Orders.Create(c.UserContext(), p.User.ID, key, req)
	if err != nil {
		return err
	}
	setAudit(c, "order", placed.Order.ID, p.User.ID, map[string]any{"plan_id": placed.Order.PlanID,
		"total": placed.Order.Total, "currency": placed.Order.Currency, "replayed": placed.Replayed})
	status := http.StatusCreated
	if placed.Replayed {
		status = http.StatusOK
		c.Set(api.HeaderIdempotentReplayed, "true")
	}
	return c.Status(status).JSON(api.OrderAccepted{
		Order: order.OrderAPI(placed.Order), Subscription: order.SubscriptionAPI(placed.Subscription, p.Admin()),
		Server: placed.Server.API(), Operation: placed.Operation.API(),
	})
}

func (h *handlers) quoteOrder(c *fiber.Ctx) error {
	skipAudit(c)
	var req api.QuoteRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	q, err := h.Orders.Quote(c.UserContext(), principal(c).User.ID, req)
	if err != nil {
		return err
	}
	return c.JSON(q)
}

func (h *handlers) listOrders(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	f := order.OrderFilter{Status: c.Query("status"), Page: page, PerPage: perPage}
	switch f.Status {
	case "", api.OrderProvisioning, api.OrderActive, api.OrderFailed, api.OrderRefunded:
	default:
		return apierr.Validation(map[string]string{"status": "must be provisioning, active, failed or refunded"})
	}
	rows, total, err := h.Orders.Orders(c.UserContext(), viewer(c), f)
	if err != nil {
		return err
	}
	items := make([]api.Order, len(rows))
	for i, o := range rows {
		items[i] = order.OrderAPI(o)
	}
	return c.JSON(api.List[api.Order]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getOrder(c *fiber.Ctx) error {
	o, err := h.Orders.Order(c.UserContext(), viewer(c), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(order.OrderAPI(o))
}

// subscriptionAPI shows the wholesale price to admins and to the subscription's reseller.
func subscriptionAPI(c *fiber.Ctx, s store.Subscription) api.Subscription {
	p := principal(c)
	return order.SubscriptionAPI(s, p.Admin() || (p.Reseller() && s.ResellerID != nil && *s.ResellerID == p.User.ID))
}

func validSubscriptionStatus(s string) bool {
	switch s {
	case "", api.SubscriptionPending, api.SubscriptionTrial, api.SubscriptionActive, api.SubscriptionSuspended,
		api.SubscriptionTerminated, api.SubscriptionCancelled:
		return true
	}
	return false
}

// subscriptions lists the subscriptions the caller sees; admin adds the admin filters.
func (h *handlers) subscriptions(c *fiber.Ctx, admin bool) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	f := order.SubscriptionFilter{Status: c.Query("status"), Cycle: c.Query("cycle"), Page: page, PerPage: perPage}
	fields := map[string]string{}
	if !validSubscriptionStatus(f.Status) {
		fields["status"] = "must be pending, trial, active, suspended, terminated or cancelled"
	}
	if f.Cycle != "" && f.Cycle != api.CycleMonthly && f.Cycle != api.CycleHourly {
		fields["cycle"] = "must be monthly or hourly"
	}
	// server_id is open to everyone (the server page finds its subscription): it only narrows.
	if v := c.Query("server_id"); v != "" {
		if uuid.Validate(v) != nil {
			fields["server_id"] = "must be an id"
		}
		f.ServerID = strings.Clone(v)
	}
	if admin {
		for name, dst := range map[string]*string{"user_id": &f.UserID, "reseller_id": &f.ResellerID, "plan_id": &f.PlanID} {
			if v := c.Query(name); v != "" {
				if uuid.Validate(v) != nil {
					fields[name] = "must be an id"
				}
				*dst = strings.Clone(v)
			}
		}
		if v := c.Query("due_before"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fields["due_before"] = "must be an RFC 3339 time, such as 2030-01-31T00:00:00Z"
			}
			f.DueBefore = &t
		}
	}
	if len(fields) > 0 {
		return apierr.Validation(fields)
	}
	f.Status, f.Cycle = strings.Clone(f.Status), strings.Clone(f.Cycle)
	rows, total, err := h.Orders.Subscriptions(c.UserContext(), viewer(c), f)
	if err != nil {
		return err
	}
	items := make([]api.Subscription, len(rows))
	for i, s := range rows {
		items[i] = subscriptionAPI(c, s)
	}
	return c.JSON(api.List[api.Subscription]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) listSubscriptions(c *fiber.Ctx) error { return h.subscriptions(c, false) }

func (h *handlers) adminSubscriptions(c *fiber.Ctx) error { return h.subscriptions(c, true) }

func (h *handlers) getSubscription(c *fiber.Ctx) error {
	s, err := h.Orders.Subscription(c.UserContext(), viewer(c), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(subscriptionAPI(c, s))
}

func (h *handlers) updateSubscription(c *fiber.Ctx) error {
	var req api.UpdateSubscriptionRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.AutoRenew == nil {
		return apierr.Validation(map[string]string{"auto_renew": "is required"})
	}
	s, err := h.Orders.SetAutoRenew(c.UserContext(), viewer(c), strings.Clone(c.Params("id")), *req.AutoRenew)
	if err != nil {
		return err
	}
	setAudit(c, "subscription", s.ID, s.UserID, map[string]any{"auto_renew": *req.AutoRenew})
	return c.JSON(subscriptionAPI(c, s))
}

func (h *handlers) renewSubscription(c *fiber.Ctx) error {
	s, _, err := h.Orders.Renew(c.UserContext(), viewer(c), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	setAudit(c, "subscription", s.ID, s.UserID, nil)
	return c.JSON(subscriptionAPI(c, s))
}
