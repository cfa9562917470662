package invoice_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

func openDB(t *testing.T, db testenv.Database) *store.DB {
	t.Helper()
	ctx := context.Background()
	d, err := store.Open(ctx, db.Driver, db.DSN, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func addUser(t *testing.T, d *store.DB) store.User {
	t.Helper()
	now := store.Now()
	u := store.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", PasswordHash: "x", Role: "customer",
		CreatedAt: now, UpdatedAt: now}
	if err := d.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

// TestIssueNumbersWithoutGapsAndStaysImmutable issues invoices concurrently for the provider
// and a reseller, then checks numbering per issuer, totals, and that the database refuses
// changes to an issued invoice and its lines.
func TestIssueNumbersWithoutGapsAndStaysImmutable(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		d := openDB(t, db)
		ctx := context.Background()
		u := addUser(t, d)
		reseller := uuid.NewString()
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := 0; i < 2*n; i++ {
			issuer := ""
			if i%2 == 1 {
				issuer = reseller
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- d.Transaction(func(tx *gorm.DB) error {
					_, _, err := invoice.Issue(ctx, tx, invoice.Draft{
						IssuerID: issuer, UserID: u.ID, Status: invoice.StatusPaid, Currency: "USD",
						Lines:    []invoice.Line{{Description: "Plan S, 1 month", Quantity: 1, UnitAmount: 500}, {Description: "Setup", Quantity: 2, UnitAmount: 100}},
						Discount: 50, SellerName: "Nimbo", BuyerEmail: u.Email,
					})
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, issuer := range []string{"", reseller} {
			var invs []store.Invoice
			if err := d.Where("issuer_id = ?", issuer).Order("number").Find(&invs).Error; err != nil {
				t.Fatal(err)
			}
			if len(invs) != n {
				t.Fatalf("issuer %q: %d invoices, want %d", issuer, len(invs), n)
			}
			for i, inv := range invs {
				if want := invoice.Number(issuer, int64(i+1)); inv.Number != want {
					t.Fatalf("invoice %d numbered %s, want %s", i, inv.Number, want)
				}
				if inv.Subtotal != 700 || inv.Total != 650 || inv.PaidAt == nil {
					t.Fatalf("invoice %s: subtotal %d total %d paid %v", inv.Number, inv.Subtotal, inv.Total, inv.PaidAt)
				}
			}
		}
		var inv store.Invoice
		if err := d.Where("issuer_id = ''").Order("number").Take(&inv).Error; err != nil {
			t.Fatal(err)
		}
		if err := d.Model(&store.Invoice{}).Where("id = ?", inv.ID).Update("total", 1).Error; err == nil {
			t.Fatal("changing an issued invoice's total succeeded")
		}
		if err := d.Model(&store.Invoice{}).Where("id = ?", inv.ID).Update("status", invoice.StatusVoid).Error; err == nil {
			t.Fatal("voiding a paid invoice succeeded")
		}
		if err := d.Where("id = ?", inv.ID).Delete(&store.Invoice{}).Error; err == nil {
			t.Fatal("deleting an invoice succeeded")
		}
		if err := d.Model(&store.InvoiceLine{}).Where("invoice_id = ?", inv.ID).Update("amount", 0).Error; err == nil {
			t.Fatal("changing an invoice line succeeded")
		}
		// An open invoice may become paid, once.
		var open store.Invoice
		err := d.Transaction(func(tx *gorm.DB) error {
			var err error
			open, _, err = invoice.Issue(ctx, tx, invoice.Draft{UserID: u.ID, Status: invoice.StatusOpen, Currency: "USD",
				Lines: []invoice.Line{{Description: "Renewal", Quantity: 1, UnitAmount: 500}}, SellerName: "Nimbo", BuyerEmail: u.Email})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		paid := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := invoice.MarkPaid(ctx, d.DB, open.ID, paid); err != nil {
			t.Fatal(err)
		}
		var got store.Invoice
		if err := d.Where("id = ?", open.ID).Take(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got.Status != invoice.StatusPaid || got.PaidAt == nil || !got.PaidAt.Equal(paid) || got.Total != 500 {
			t.Fatalf("marked paid: %+v", got)
		}
	})
}
