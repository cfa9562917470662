package httpapi

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/payment"
)

// mountPayments registers the payment routes: the enabled gateways, checkouts and the
// caller's payments, manual payments (admins, resellers), and the gateways' notifications,
// which carry no credentials and are verified by their signatures instead.
func (h *handlers) mountPayments(v1 fiber.Router, authn, read, write fiber.Handler) {
	v1.Get("/payments/gateways", authn, h.paymentGateways)
	v1.Post("/payments/stripe/webhook", h.paymentNotification(api.GatewayStripe))
	v1.Post("/payments/alipay/notify", h.paymentNotification(api.GatewayAlipay))
	v1.Post("/payments/manual", authn, h.manualPayment)
	v1.Post("/payments", authn, write, h.createPayment)
	v1.Get("/payments", authn, read, h.listPayments)
	v1.Get("/payments/:id", authn, read, h.getPayment)
}

func (h *handlers) paymentGateways(c *fiber.Ctx) error {
	return c.JSON(api.PaymentGatewayList{Items: h.Payments.Gateways()})
}

func (h *handlers) createPayment(c *fiber.Ctx) error {
	key := strings.Clone(c.Get(api.HeaderIdempotencyKey))
	var req api.CreatePaymentRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	p := principal(c)
	res, err := h.Payments.Create(c.UserContext(), p.User.ID, key, req)
	if err != nil {
		return err
	}
	setAudit(c, "payment", res.Payment.ID, res.Payment.UserID, map[string]any{"gateway": res.Payment.Gateway,
		"amount": res.Payment.Amount, "currency": res.Payment.Currency})
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		c.Set(api.HeaderIdempotentReplayed, "true")
	}
	return c.Status(status).JSON(api.CreatePaymentResponse{Payment: payment.API(res.Payment), RedirectURL: res.RedirectURL})
}

// manualPayment records money received outside the panel: admins (admin:write) for anyone,
// resellers (reseller:write) for their own customers; customers are forbidden.
func (h *handlers) manualPayment(c *fiber.Ctx) error {
	p := principal(c)
	switch {
	case p.Admin():
		if !p.Has(api.ScopeAdminWrite) {
			return apierr.Forbidden("this credential lacks the " + api.ScopeAdminWrite + " scope")
		}
	case p.Reseller():
		if !p.Has(api.ScopeResellerWrite) {
			return apierr.Forbidden("this credential lacks the " + api.ScopeResellerWrite + " scope")
		}
	default:
		return apierr.Forbidden("only admins and resellers record manual payments")
	}
	key := strings.Clone(c.Get(api.HeaderIdempotencyKey))
	var req api.ManualPaymentRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	pay, replayed, err := h.Payments.Manual(c.UserContext(), viewer(c), key, req)
	if err != nil {
		return err
	}
	setAudit(c, "payment", pay.ID, pay.UserID, map[string]any{"gateway": pay.Gateway, "amount": pay.Amount,
		"currency": pay.Currency, "reason": pay.Reason})
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
		c.Set(api.HeaderIdempotentReplayed, "true")
	}
	return c.Status(status).JSON(payment.API(pay))
}

func (h *handlers) listPayments(c *fiber.Ctx) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	f := payment.ListFilter{UserID: strings.Clone(c.Query("user_id")), Status: strings.Clone(c.Query("status")),
		Gateway: strings.Clone(c.Query("gateway")), Page: page, PerPage: perPage}
	ps, total, err := h.Payments.List(c.UserContext(), viewer(c), f)
	if err != nil {
		return err
	}
	items := make([]api.Payment, len(ps))
	for i, p := range ps {
		items[i] = payment.API(p)
	}
	return c.JSON(api.List[api.Payment]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) getPayment(c *fiber.Ctx) error {
	p, err := h.Payments.Get(c.UserContext(), viewer(c), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(payment.API(p))
}

// paymentNotification handles a gateway's notification: verified by its signature over the
// raw body, applied once. Stripe is answered {"status": …}; Alipay the plain text "success"
// it expects (anything else makes it deliver again). Refusals are JSON errors (400 mostly).
func (h *handlers) paymentNotification(gateway string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		setAuditActor(c, "gateway:"+gateway)
		hdr := http.Header{}
		c.Request().Header.VisitAll(func(k, v []byte) { hdr.Add(string(k), string(v)) })
		res, err := h.Payments.Notify(c.UserContext(), gateway, payment.Delivery{Header: hdr, Body: bytes.Clone(c.Body())})
		if err != nil {
			return err
		}
		if res.Payment.ID != "" {
			setAudit(c, "payment", res.Payment.ID, res.Payment.UserID, map[string]any{"gateway": gateway, "status": res.Status})
		}
		if gateway == api.GatewayAlipay {
			c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
			return c.SendString("success")
		}
		return c.JSON(api.NotificationResult{Status: res.Status, PaymentID: res.Payment.ID})
	}
}
