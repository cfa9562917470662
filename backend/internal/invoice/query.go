package invoice

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Service reads invoices for the people allowed to see them.
type Service struct {
	db  *store.DB
	log *slog.Logger
}

// New returns a Service.
func New(db *store.DB, log *slog.Logger) *Service { return &Service{db: db, log: log} }

// Filter selects the invoices of a list. Empty fields select everything.
type Filter struct {
	// UserID keeps the invoices billed to this user.
	UserID string
	// IssuerID keeps the invoices of one issuer; ProviderIssuer keeps the provider's.
	IssuerID string
	// Status keeps open, paid or void invoices.
	Status string
	// ServerID keeps the invoices of the subscriptions of this server.
	ServerID string
	// Viewer, when set, keeps only the invoices it may read (see Visible).
	Viewer *ops.Viewer
}

// ProviderIssuer is the Filter.IssuerID (and query value) that selects the invoices the
// provider issued (an empty issuer_id).
const ProviderIssuer = "provider"

// ValidStatus reports whether s is an invoice status.
func ValidStatus(s string) bool { return s == StatusOpen || s == StatusPaid || s == StatusVoid }

func notFound() error { return apierr.NotFound("invoice not found") }

// billingMember is the SQL condition (on an invoices row) that holds when user ? is a
// sub-user with the billing permission on the live server of the invoice's subscription.
const billingMember = `EXISTS (SELECT 1 FROM subscriptions bs
	JOIN server_members bm ON bm.server_id = bs.server_id
	JOIN servers bsv ON bsv.id = bs.server_id AND bsv.deleted_at IS NULL
	WHERE bs.id = invoices.subscription_id AND bm.user_id = ?
	AND (' ' || bm.permissions || ' ') LIKE '% ` + api.PermBilling + ` %')`

// Visible is an SQL condition on an invoices row that holds when v may read it, with its
// arguments; it is "" for admins. An invoice is visible to the user it bills, to the reseller
// that issued it, and to a sub-user with the billing permission on the server of its
// subscription.
func Visible(v ops.Viewer) (string, []any) {
	if v.Admin {
		return "", nil
	}
	cond, args := "(invoices.user_id = ?", []any{v.UserID}
	if v.Reseller {
		cond += " OR invoices.issuer_id = ?"
		args = append(args, v.UserID)
	}
	return cond + " OR " + billingMember + ")", append(args, v.UserID)
}

// Get returns an invoice v may read, with its lines in order; any other is not found.
func (s *Service) Get(ctx context.Context, v ops.Viewer, id string) (store.Invoice, []store.InvoiceLine, error) {
	var inv store.Invoice
	if uuid.Validate(id) != nil {
		return inv, nil, notFound()
	}
	db := s.db.WithContext(ctx)
	q := db.Table("invoices").Where("invoices.id = ?", id)
	if cond, args := Visible(v); cond != "" {
		q = q.Where(cond, args...)
	}
	err := q.Take(&inv).Error
	if store.IsNotFound(err) {
		return inv, nil, notFound()
	}
	if err != nil {
		return inv, nil, fmt.Errorf("read invoice: %w", err)
	}
	lines := []store.InvoiceLine{}
	if err := db.Where("invoice_id = ?", inv.ID).Order("position").Find(&lines).Error; err != nil {
		return inv, nil, fmt.Errorf("read invoice lines: %w", err)
	}
	return inv, lines, nil
}

// List returns one page of the invoices f selects, newest first, and the total count. The
// caller decides who may read them and sets the filter accordingly (a user's own, a
// reseller's issued, a server's for those with the billing permission on it, limited to
// what the Viewer may read).
func (s *Service) List(ctx context.Context, f Filter, page, perPage int) ([]store.Invoice, int64, error) {
	q := s.db.WithContext(ctx).Table("invoices")
	if f.Viewer != nil {
		if cond, args := Visible(*f.Viewer); cond != "" {
			q = q.Where(cond, args...)
		}
	}
	if f.UserID != "" {
		q = q.Where("invoices.user_id = ?", f.UserID)
	}
	switch f.IssuerID {
	case "":
	case ProviderIssuer:
		q = q.Where("invoices.issuer_id = ''")
	default:
		q = q.Where("invoices.issuer_id = ?", f.IssuerID)
	}
	if f.Status != "" {
		q = q.Where("invoices.status = ?", f.Status)
	}
	if f.ServerID != "" {
		q = q.Where("invoices.subscription_id IN (SELECT id FROM subscriptions WHERE server_id = ?)", f.ServerID)
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count invoices: %w", err)
	}
	invs := []store.Invoice{}
	err := q.Order("invoices.issued_at DESC, invoices.created_at DESC, invoices.id DESC").
		Limit(perPage).Offset((page - 1) * perPage).Find(&invs).Error
	if err != nil {
		return nil, 0, fmt.Errorf("list invoices: %w", err)
	}
	return invs, total, nil
}

// API converts an invoice to its wire form; lines nil leaves them out.
func API(inv store.Invoice, lines []store.InvoiceLine) api.Invoice {
	exp, _ := billing.Exponent(inv.Currency)
	out := api.Invoice{
		ID: inv.ID, Number: inv.Number, IssuerID: inv.IssuerID, UserID: inv.UserID,
		SubscriptionID: inv.SubscriptionID, OrderID: inv.OrderID, Status: inv.Status, Currency: inv.Currency,
		Exponent: exp, Subtotal: inv.Subtotal, Discount: inv.Discount, Total: inv.Total,
		PeriodStart: inv.PeriodStart, PeriodEnd: inv.PeriodEnd, SellerName: inv.SellerName,
		SellerEmail: inv.SellerEmail, BuyerEmail: inv.BuyerEmail, IssuedAt: inv.IssuedAt, DueAt: inv.DueAt,
		PaidAt: inv.PaidAt,
	}
	if lines != nil {
		out.Lines = make([]api.InvoiceLine, len(lines))
		for i, l := range lines {
			out.Lines[i] = api.InvoiceLine{Position: l.Position, Description: l.Description, Quantity: l.Quantity,
				UnitAmount: l.UnitAmount, Amount: l.Amount}
		}
	}
	return out
}
