// Package invoice issues numbered, immutable invoices and renders them as HTML and PDF.
package invoice

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Invoice statuses.
const (
	StatusOpen = "open"
	StatusPaid = "paid"
	StatusVoid = "void"
)

// Line is one line of a draft: Quantity × UnitAmount (minor units, may be negative for a
// credit or a discount line).
type Line struct {
	Description string
	Quantity    int64
	UnitAmount  int64
}

// Draft is an invoice to issue. IssuerID is "" for the provider or the reseller's user id;
// the seller and buyer fields are snapshots printed on the invoice. Discount (≥ 0) is taken
// off the sum of the lines. Status is StatusPaid (PaidAt defaults to the issue time) or
// StatusOpen.
type Draft struct {
	IssuerID       string
	UserID         string
	SubscriptionID *string
	OrderID        *string
	Status         string
	Currency       string
	Lines          []Line
	Discount       int64
	PeriodStart    *time.Time
	PeriodEnd      *time.Time
	DueAt          *time.Time
	PaidAt         *time.Time
	SellerName     string
	SellerEmail    string
	BuyerEmail     string
	IssuedAt       time.Time
}

// Number formats the n-th invoice of an issuer: INV-000042 for the provider,
// INV-<first 8 hex digits of the reseller id>-000042 for a reseller.
func Number(issuerID string, n int64) string {
	if issuerID == "" {
		return fmt.Sprintf("INV-%06d", n)
	}
	return fmt.Sprintf("INV-%s-%06d", strings.ToUpper(strings.ReplaceAll(issuerID, "-", "")[:8]), n)
}

// Issue numbers and writes d with its lines inside tx — the transaction that moves the money
// it documents. Numbers are per issuer, without gaps: the counter row is locked until tx ends.
func Issue(ctx context.Context, tx *gorm.DB, d Draft) (store.Invoice, []store.InvoiceLine, error) {
	if d.Status != StatusPaid && d.Status != StatusOpen {
		return store.Invoice{}, nil, fmt.Errorf("invoice status %q is not paid or open", d.Status)
	}
	if len(d.Lines) == 0 {
		return store.Invoice{}, nil, errors.New("invoice without lines")
	}
	if d.Discount < 0 {
		return store.Invoice{}, nil, errors.New("negative invoice discount")
	}
	var subtotal int64
	lines := make([]store.InvoiceLine, len(d.Lines))
	for i, l := range d.Lines {
		amt, ok := mul(l.Quantity, l.UnitAmount)
		if !ok || (amt > 0 && subtotal > math.MaxInt64-amt) || (amt < 0 && subtotal < math.MinInt64-amt) {
			return store.Invoice{}, nil, errors.New("invoice amount overflows")
		}
		subtotal += amt
		lines[i] = store.InvoiceLine{ID: uuid.NewString(), Position: i + 1, Description: l.Description,
			Quantity: l.Quantity, UnitAmount: l.UnitAmount, Amount: amt}
	}
	tx = tx.WithContext(ctx)
	var next int64
	err := tx.Raw(`INSERT INTO invoice_counters (issuer_id, next) VALUES (?, 2)
		ON CONFLICT (issuer_id) DO UPDATE SET next = invoice_counters.next + 1 RETURNING next - 1`, d.IssuerID).Scan(&next).Error
	if err != nil {
		return store.Invoice{}, nil, fmt.Errorf("next invoice number: %w", err)
	}
	now := store.Now()
	issued := d.IssuedAt
	if issued.IsZero() {
		issued = now
	}
	inv := store.Invoice{
		ID: uuid.NewString(), Number: Number(d.IssuerID, next), IssuerID: d.IssuerID, UserID: d.UserID,
		SubscriptionID: d.SubscriptionID, OrderID: d.OrderID, Status: d.Status, Currency: d.Currency,
		Subtotal: subtotal, Discount: d.Discount, Total: subtotal - d.Discount, PeriodStart: d.PeriodStart,
		PeriodEnd: d.PeriodEnd, SellerName: d.SellerName, SellerEmail: d.SellerEmail, BuyerEmail: d.BuyerEmail,
		IssuedAt: issued.UTC().Truncate(time.Microsecond), DueAt: d.DueAt, PaidAt: d.PaidAt, CreatedAt: now,
	}
	if inv.Status == StatusPaid && inv.PaidAt == nil {
		inv.PaidAt = &inv.IssuedAt
	}
	if err := tx.Create(&inv).Error; err != nil {
		return store.Invoice{}, nil, fmt.Errorf("insert invoice: %w", err)
	}
	for i := range lines {
		lines[i].InvoiceID = inv.ID
	}
	if err := tx.Create(&lines).Error; err != nil {
		return store.Invoice{}, nil, fmt.Errorf("insert invoice lines: %w", err)
	}
	return inv, lines, nil
}

// MarkPaid turns an open invoice paid at t inside tx; an invoice already paid is left alone.
func MarkPaid(ctx context.Context, tx *gorm.DB, id string, t time.Time) error {
	res := tx.WithContext(ctx).Model(&store.Invoice{}).Where("id = ? AND status = ?", id, StatusOpen).
		Updates(map[string]any{"status": StatusPaid, "paid_at": t.UTC().Truncate(time.Microsecond)})
	if res.Error != nil {
		return fmt.Errorf("mark invoice paid: %w", res.Error)
	}
	return nil
}

func mul(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}
