package order

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// TestLedgerFingerprintMatchesBilling checks that the entries the bulk renewal writes carry
// the fingerprint billing computes for the same posting, so that a later PostTx with the same
// key replays the entry instead of refusing it as a conflicting reuse.
func TestLedgerFingerprintMatchesBilling(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		d, err := store.Open(ctx, db.Driver, db.DSN, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		if _, err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		u := store.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", PasswordHash: "x", Role: api.RoleCustomer,
			CreatedAt: now, UpdatedAt: now}
		if err := d.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		bill := billing.New(d, log)
		if _, err := bill.Post(ctx, billing.PostRequest{UserID: u.ID, Currency: "EUR", Kind: api.EntryTopup, Amount: 10_000,
			IdempotencyKey: "fp-topup", ActorID: "test"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			kind, reason, ref string
			amount            int64
		}{
			{api.EntryCharge, "Renewal: Small", "sub-1", -1234},
			{api.EntrySettlement, "Wholesale Renewal: Ünïcode plan", "sub-2", -1},
			{api.EntryCharge, "", "", -99},
		}
		for i, c := range cases {
			var got store.LedgerEntry
			err := d.Transaction(func(tx *gorm.DB) error {
				res, err := bill.PostTx(ctx, tx, billing.PostRequest{UserID: u.ID, Currency: "EUR", Kind: c.kind, Amount: c.amount,
					IdempotencyKey: "fp-" + c.kind + "-" + string(rune('a'+i)), Reason: c.reason, Reference: c.ref, ActorID: billing.ActorSystem})
				got = res.Entry
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := ledgerFingerprint("EUR", c.kind, c.amount, c.reason, c.ref); got.Fingerprint != want {
				t.Errorf("case %d: billing fingerprint %s, bulk renewal computes %s", i, got.Fingerprint, want)
			}
		}
	})
}

// TestPercentOfRoundsHalfUp checks coupon percentages in basis points, including amounts
// whose product with the rate overflows int64.
func TestPercentOfRoundsHalfUp(t *testing.T) {
	for _, c := range []struct{ v, bp, want int64 }{
		{1000, 1000, 100}, {1005, 1000, 101}, {1004, 1000, 100}, {1, 5000, 1}, {0, 10000, 0}, {999, 10000, 999},
		{billing.MaxAmount * 2, 2500, billing.MaxAmount / 2},
	} {
		if got := percentOf(c.v, c.bp); got != c.want {
			t.Errorf("percentOf(%d, %d) = %d, want %d", c.v, c.bp, got, c.want)
		}
	}
}
