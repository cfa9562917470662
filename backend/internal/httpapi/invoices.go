package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// mountInvoices registers the invoice routes: the caller's own invoices, one invoice (JSON,
// HTML, PDF) for anyone allowed to read it, a server's invoices for those with the billing
// permission on it, a reseller's issued invoices and the admin's list of all.
func (h *handlers) mountInvoices(v1 fiber.Router, authn, read, aread fiber.Handler) {
	rread := requireScope(api.ScopeResellerRead)
	v1.Get("/invoices", authn, read, h.myInvoices)
	v1.Get("/invoices/:id", authn, read, h.getInvoice)
	v1.Get("/invoices/:id/html", authn, read, h.invoiceHTML)
	v1.Get("/invoices/:id/pdf", authn, read, h.invoicePDF)
	v1.Get("/servers/:id/invoices", authn, read, h.serverInvoices)
	v1.Get("/reseller/invoices", authn, requireReseller, rread, h.resellerInvoices)
	v1.Get("/admin/invoices", authn, requireAdmin, aread, h.adminInvoices)
}

// invoiceFilter reads the status filter and, for the lists that allow them, user_id and
// issuer_id (a user id, or "provider" for the provider's own invoices).
func invoiceFilter(c *fiber.Ctx, users, issuers bool) (invoice.Filter, error) {
	f := invoice.Filter{Status: strings.Clone(c.Query("status"))}
	bad := map[string]string{}
	if f.Status != "" && !invoice.ValidStatus(f.Status) {
		bad["status"] = "must be open, paid or void"
	}
	if users {
		f.UserID = strings.Clone(c.Query("user_id"))
		if f.UserID != "" && uuid.Validate(f.UserID) != nil {
			bad["user_id"] = "must be a user id"
		}
	}
	if issuers {
		f.IssuerID = strings.Clone(c.Query("issuer_id"))
		if f.IssuerID != "" && f.IssuerID != invoice.ProviderIssuer && uuid.Validate(f.IssuerID) != nil {
			bad["issuer_id"] = "must be a reseller's user id or provider"
		}
	}
	if len(bad) > 0 {
		return f, apierr.Validation(bad)
	}
	return f, nil
}

func (h *handlers) invoiceList(c *fiber.Ctx, f invoice.Filter) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	rows, total, err := h.Invoices.List(c.UserContext(), f, page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.Invoice, len(rows))
	for i, r := range rows {
		items[i] = invoice.API(r, nil)
	}
	return c.JSON(api.List[api.Invoice]{Items: items, Page: page, PerPage: perPage, Total: total})
}

// myInvoices lists the invoices billed to the caller, newest first.
func (h *handlers) myInvoices(c *fiber.Ctx) error {
	f, err := invoiceFilter(c, false, false)
	if err != nil {
		return err
	}
	f.UserID = principal(c).User.ID
	return h.invoiceList(c, f)
}

// serverInvoices lists the invoices of a server's subscriptions for those holding the
// billing permission on it (owner, its reseller, admins, billing sub-users), each of which
// they may also read on its own.
func (h *handlers) serverInvoices(c *fiber.Ctx) error {
	f, err := invoiceFilter(c, false, false)
	if err != nil {
		return err
	}
	v := viewer(c)
	srv, err := h.Instances.Authorize(c.UserContext(), v, strings.Clone(c.Params("id")), api.PermBilling)
	if err != nil {
		return err
	}
	// Each invoice listed must also be readable on its own: a reseller sees the server's
	// invoices it issued, not the provider's from before the customer was its own.
	f.ServerID, f.Viewer = srv.ID, &v
	return h.invoiceList(c, f)
}

// resellerInvoices lists the invoices the calling reseller issued to its customers.
func (h *handlers) resellerInvoices(c *fiber.Ctx) error {
	f, err := invoiceFilter(c, true, false)
	if err != nil {
		return err
	}
	f.IssuerID = principal(c).User.ID
	return h.invoiceList(c, f)
}

// adminInvoices lists every invoice, filtered by user_id, issuer_id and status.
func (h *handlers) adminInvoices(c *fiber.Ctx) error {
	f, err := invoiceFilter(c, true, true)
	if err != nil {
		return err
	}
	return h.invoiceList(c, f)
}

func (h *handlers) readInvoice(c *fiber.Ctx) (store.Invoice, []store.InvoiceLine, error) {
	return h.Invoices.Get(c.UserContext(), viewer(c), strings.Clone(c.Params("id")))
}

func (h *handlers) getInvoice(c *fiber.Ctx) error {
	inv, lines, err := h.readInvoice(c)
	if err != nil {
		return err
	}
	return c.JSON(invoice.API(inv, lines))
}

// invoiceHTML answers the printable page. The page is served from the API's origin, so it
// may run nothing and load nothing: its values are escaped, and the CSP forbids the rest.
func (h *handlers) invoiceHTML(c *fiber.Ctx) error {
	inv, lines, err := h.readInvoice(c)
	if err != nil {
		return err
	}
	page, err := invoice.HTML(inv, lines)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(page)
}

// invoicePDF answers the invoice as a PDF download named after its number.
func (h *handlers) invoicePDF(c *fiber.Ctx) error {
	inv, lines, err := h.readInvoice(c)
	if err != nil {
		return err
	}
	doc, err := invoice.PDF(inv, lines)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, "attachment; filename="+inv.Number+".pdf")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(doc)
}
