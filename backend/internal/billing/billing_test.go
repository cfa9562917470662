package billing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

type ledger struct {
	t   testing.TB
	db  *store.DB
	svc *billing.Service
}

func newLedger(t testing.TB, tdb testenv.Database) *ledger {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, tdb.Driver, tdb.DSN, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return &ledger{t: t, db: db, svc: billing.New(db, log)}
}

func (l *ledger) user() string {
	l.t.Helper()
	now := store.Now()
	u := store.User{ID: uuid.NewString(), Email: testenv.Random(10) + "@example.com", PasswordHash: "x",
		Role: api.RoleCustomer, CreatedAt: now, UpdatedAt: now}
	if err := l.db.Create(&u).Error; err != nil {
		l.t.Fatal(err)
	}
	return u.ID
}

func (l *ledger) count(table string) int64 {
	l.t.Helper()
	var n int64
	if err := l.db.Table(table).Count(&n).Error; err != nil {
		l.t.Fatal(err)
	}
	return n
}

// check verifies a wallet's invariants and returns it: balance = SUM(amount) = the last
// balance_after, seq runs 1..N, each balance_after is the previous plus the amount and never
// below -limit (the highest credit limit the wallet had), and entry_count = N.
func (l *ledger) check(userID, currency string, limit int64) (store.Wallet, []store.LedgerEntry) {
	l.t.Helper()
	var w store.Wallet
	if err := l.db.Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error; err != nil {
		l.t.Fatal(err)
	}
	var es []store.LedgerEntry
	if err := l.db.Where("wallet_id = ?", w.ID).Order("seq").Find(&es).Error; err != nil {
		l.t.Fatal(err)
	}
	var sum int64
	if err := l.db.Raw("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE wallet_id = ?", w.ID).Scan(&sum).Error; err != nil {
		l.t.Fatal(err)
	}
	if sum != w.Balance {
		l.t.Fatalf("balance %d != SUM(amount) %d", w.Balance, sum)
	}
	if int64(len(es)) != w.EntryCount {
		l.t.Fatalf("entry_count %d, %d entries", w.EntryCount, len(es))
	}
	var prev int64
	for i, e := range es {
		if e.Seq != int64(i+1) || e.BalanceAfter != prev+e.Amount {
			l.t.Fatalf("entry %d: seq %d, balance_after %d after %d%+d", i, e.Seq, e.BalanceAfter, prev, e.Amount)
		}
		if e.BalanceAfter < -limit {
			l.t.Fatalf("entry %d: balance_after %d below -credit_limit %d", i, e.BalanceAfter, limit)
		}
		prev = e.BalanceAfter
	}
	if prev != w.Balance {
		l.t.Fatalf("last balance_after %d != balance %d", prev, w.Balance)
	}
	return w, es
}

func code(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprintf("untyped: %v", err)
}

func TestPostConcurrentMixed(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		l := newLedger(t, db)
		ctx := context.Background()
		uid := l.user()
		const (
			n      = 200
			topup  = 100
			charge = 150
			limit  = 500
		)
		if _, err := l.svc.SetCreditLimit(ctx, uid, "USD", limit, billing.ActorSystem); err != nil {
			t.Fatal(err)
		}
		var (
			wg                       sync.WaitGroup
			mu                       sync.Mutex
			topups, charges, refused int
			unexpected               []error
		)
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := billing.PostRequest{UserID: uid, Currency: "USD", Kind: api.EntryTopup, Amount: topup,
					IdempotencyKey: fmt.Sprintf("mixed-%d", i), ActorID: billing.ActorSystem}
				if i%2 == 1 {
					req.Kind, req.Amount = api.EntryCharge, -charge
				}
				_, err := l.svc.Post(ctx, req)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && i%2 == 0:
					topups++
				case err == nil:
					charges++
				case i%2 == 1 && code(err) == api.CodeInsufficientFunds:
					refused++
				default:
					unexpected = append(unexpected, err)
				}
			}()
		}
		wg.Wait()
		t.Logf("%s: %d concurrent postings in %v: %d top-ups, %d charges, %d charges refused",
			db.Driver, n, time.Since(start), topups, charges, refused)
		if len(unexpected) > 0 {
			t.Fatalf("%d unexpected errors, first: %v", len(unexpected), unexpected[0])
		}
		if topups != n/2 || charges+refused != n/2 {
			t.Fatalf("top-ups %d, charges %d + refused %d", topups, charges, refused)
		}
		// 100 top-ups of 100 and the 500 credit cover at most 70 charges of 150.
		if refused < 30 {
			t.Fatalf("only %d charges refused", refused)
		}
		w, es := l.check(uid, "USD", limit)
		if want := int64(topups*topup - charges*charge); w.Balance != want || len(es) != topups+charges {
			t.Fatalf("balance %d (want %d), %d entries", w.Balance, want, len(es))
		}
	})
}

func TestPostIdempotent(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		l := newLedger(t, db)
		ctx := context.Background()
		uid := l.user()
		req := billing.PostRequest{UserID: uid, Currency: "USD", Kind: api.EntryTopup, Amount: 1000,
			IdempotencyKey: "seq-1", Reason: "bank transfer", ActorID: billing.ActorSystem}
		first, err := l.svc.Post(ctx, req)
		if err != nil || first.Replayed || first.Entry.BalanceAfter != 1000 {
			t.Fatalf("first: %+v %v", first, err)
		}
		again, err := l.svc.Post(ctx, req)
		if err != nil || !again.Replayed || again.Entry.ID != first.Entry.ID || again.Entry.BalanceAfter != 1000 {
			t.Fatalf("replay: %+v %v", again, err)
		}
		// Surrounding spaces are not a different reason.
		req.Reason = "  bank transfer "
		if again, err := l.svc.Post(ctx, req); err != nil || !again.Replayed {
			t.Fatalf("replay with spaces: %+v %v", again, err)
		}

		// Same key, different parameters: refused, nothing written.
		for _, mut := range []func(*billing.PostRequest){
			func(r *billing.PostRequest) { r.Amount = 1001 },
			func(r *billing.PostRequest) { r.Kind = api.EntryRefund },
			func(r *billing.PostRequest) { r.Reason = "other" },
			func(r *billing.PostRequest) { r.Reference = "inv-1" },
		} {
			r := req
			mut(&r)
			if _, err := l.svc.Post(ctx, r); code(err) != api.CodeConflict {
				t.Fatalf("reused key %+v: %v", r, err)
			}
		}
		// The key is per wallet: the EUR wallet may use it.
		eur := req
		eur.Currency = "EUR"
		if res, err := l.svc.Post(ctx, eur); err != nil || res.Replayed {
			t.Fatalf("same key in another wallet: %+v %v", res, err)
		}
		if w, es := l.check(uid, "USD", 0); w.Balance != 1000 || len(es) != 1 {
			t.Fatalf("after reuse: balance %d, %d entries", w.Balance, len(es))
		}

		// 20 concurrent postings with one key on a wallet not created yet: one entry.
		const g = 20
		results := make([]billing.PostResult, g)
		errs := make([]error, g)
		var wg sync.WaitGroup
		for i := range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = l.svc.Post(ctx, billing.PostRequest{UserID: uid, Currency: "GBP",
					Kind: api.EntryTopup, Amount: 777, IdempotencyKey: "same-key", ActorID: billing.ActorSystem})
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range g {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if results[i].Entry.ID != results[0].Entry.ID || results[i].Entry.BalanceAfter != 777 {
				t.Fatalf("goroutine %d got %+v, goroutine 0 %+v", i, results[i].Entry, results[0].Entry)
			}
			if !results[i].Replayed {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d postings not replayed", fresh)
		}
		if w, es := l.check(uid, "GBP", 0); w.Balance != 777 || len(es) != 1 {
			t.Fatalf("concurrent key: balance %d, %d entries", w.Balance, len(es))
		}
	})
}

func TestPostRefused(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		l := newLedger(t, db)
		ctx := context.Background()
		uid, other := l.user(), l.user()
		base := billing.PostRequest{UserID: uid, Currency: "USD", Kind: api.EntryTopup, Amount: 500,
			IdempotencyKey: "base", ActorID: billing.ActorSystem}
		res, err := l.svc.Post(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		usd := res.Wallet.ID
		if _, err := l.svc.Post(ctx, billing.PostRequest{UserID: other, Currency: "EUR", Kind: api.EntryTopup,
			Amount: 1, IdempotencyKey: "x", ActorID: billing.ActorSystem}); err != nil {
			t.Fatal(err)
		}
		// A wallet whose next credit overflows int64 (set up directly: no posting reaches it).
		big, err := l.svc.Post(ctx, billing.PostRequest{UserID: other, Currency: "JPY", Kind: api.EntryTopup,
			Amount: 1, IdempotencyKey: "x", ActorID: billing.ActorSystem})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.db.Exec("UPDATE wallets SET balance = ? WHERE id = ?", int64(math.MaxInt64-10), big.Wallet.ID).Error; err != nil {
			t.Fatal(err)
		}
		entries, wallets := l.count("ledger_entries"), l.count("wallets")
		with := func(f func(*billing.PostRequest)) billing.PostRequest {
			r := base
			r.IdempotencyKey = "k-" + testenv.Random(8)
			f(&r)
			return r
		}
		for _, tc := range []struct {
			name string
			req  billing.PostRequest
			code string
		}{
			{"zero topup", with(func(r *billing.PostRequest) { r.Amount = 0 }), api.CodeValidation},
			{"negative topup", with(func(r *billing.PostRequest) { r.Amount = -5 }), api.CodeValidation},
			{"positive charge", with(func(r *billing.PostRequest) { r.Kind = api.EntryCharge }), api.CodeValidation},
			{"zero adjustment", with(func(r *billing.PostRequest) { r.Kind, r.Amount, r.Reason = api.EntryAdjustment, 0, "x" }), api.CodeValidation},
			{"adjustment without reason", with(func(r *billing.PostRequest) { r.Kind, r.Reason = api.EntryAdjustment, " " }), api.CodeValidation},
			{"huge amount", with(func(r *billing.PostRequest) { r.Amount = billing.MaxAmount + 1 }), api.CodeValidation},
			{"min int64", with(func(r *billing.PostRequest) { r.Kind, r.Amount = api.EntryCharge, math.MinInt64 }), api.CodeValidation},
			{"unknown kind", with(func(r *billing.PostRequest) { r.Kind = "gift" }), api.CodeValidation},
			{"unknown currency", with(func(r *billing.PostRequest) { r.Currency = "XXX" }), api.CodeValidation},
			{"lower-case currency", with(func(r *billing.PostRequest) { r.Currency = "usd" }), api.CodeValidation},
			{"no key", with(func(r *billing.PostRequest) { r.IdempotencyKey = "" }), api.CodeBadIdempotencyKey},
			{"long key", with(func(r *billing.PostRequest) { r.IdempotencyKey = string(make([]byte, 129)) }), api.CodeBadIdempotencyKey},
			{"key with space", with(func(r *billing.PostRequest) { r.IdempotencyKey = "a b" }), api.CodeBadIdempotencyKey},
			{"no actor", with(func(r *billing.PostRequest) { r.ActorID = "" }), api.CodeValidation},
			{"control chars in reason", with(func(r *billing.PostRequest) { r.Reason = "a\x00b" }), api.CodeValidation},
			{"unknown user", with(func(r *billing.PostRequest) { r.UserID = uuid.NewString() }), api.CodeNotFound},
			{"malformed user", with(func(r *billing.PostRequest) { r.UserID = "nope" }), api.CodeNotFound},
			{"wallet of another currency", with(func(r *billing.PostRequest) { r.UserID, r.WalletID, r.Currency = "", usd, "EUR" }), api.CodeValidation},
			{"wallet of another user", with(func(r *billing.PostRequest) { r.UserID, r.WalletID = other, usd }), api.CodeNotFound},
			{"unknown wallet", with(func(r *billing.PostRequest) { r.UserID, r.WalletID = "", uuid.NewString() }), api.CodeNotFound},
			{"insufficient funds", with(func(r *billing.PostRequest) { r.Kind, r.Amount = api.EntryCharge, -501 }), api.CodeInsufficientFunds},
			{"insufficient funds, new wallet", with(func(r *billing.PostRequest) { r.Currency, r.Kind, r.Amount = "CHF", api.EntryCharge, -1 }), api.CodeInsufficientFunds},
			{"negative adjustment past limit", with(func(r *billing.PostRequest) { r.Kind, r.Amount, r.Reason = api.EntryAdjustment, -501, "fix" }), api.CodeInsufficientFunds},
			{"overflow", billing.PostRequest{WalletID: big.Wallet.ID, Kind: api.EntryTopup, Amount: 11, IdempotencyKey: "o", ActorID: "a"}, api.CodeConflict},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := l.svc.Post(ctx, tc.req); code(err) != tc.code {
					t.Fatalf("got %v, want %s", err, tc.code)
				}
			})
		}
		if e, w := l.count("ledger_entries"), l.count("wallets"); e != entries || w != wallets {
			t.Fatalf("rows written: entries %d→%d, wallets %d→%d", entries, e, wallets, w)
		}
		// By wallet id, with the right currency or none, a debit down to the limit is accepted.
		if _, err := l.svc.Post(ctx, billing.PostRequest{WalletID: usd, Currency: "USD", Kind: api.EntryCharge,
			Amount: -500, IdempotencyKey: "to-zero", ActorID: billing.ActorSystem}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.svc.SetCreditLimit(ctx, uid, "USD", 250, billing.ActorSystem); err != nil {
			t.Fatal(err)
		}
		res, err = l.svc.Post(ctx, billing.PostRequest{WalletID: usd, Kind: api.EntryCharge, Amount: -250,
			IdempotencyKey: "to-limit", ActorID: billing.ActorSystem})
		if err != nil || res.Wallet.Balance != -250 {
			t.Fatalf("debit to the limit: %+v %v", res, err)
		}
		// Lowering the limit below the debt is allowed; further debits are refused, credits not.
		if _, err := l.svc.SetCreditLimit(ctx, uid, "USD", 0, billing.ActorSystem); err != nil {
			t.Fatal(err)
		}
		if _, err := l.svc.Post(ctx, billing.PostRequest{WalletID: usd, Kind: api.EntryCharge, Amount: -1,
			IdempotencyKey: "past", ActorID: billing.ActorSystem}); code(err) != api.CodeInsufficientFunds {
			t.Fatalf("debit past a lowered limit: %v", err)
		}
		if _, err := l.svc.Post(ctx, billing.PostRequest{WalletID: usd, Kind: api.EntryRefund, Amount: 50,
			IdempotencyKey: "refund", ActorID: billing.ActorSystem}); err != nil {
			t.Fatal(err)
		}
		if w, _ := l.check(uid, "USD", 250); w.Balance != -200 || w.CreditLimit != 0 {
			t.Fatalf("wallet %+v", w)
		}
		for _, limit := range []int64{-1, billing.MaxAmount + 1} {
			if _, err := l.svc.SetCreditLimit(ctx, uid, "USD", limit, billing.ActorSystem); code(err) != api.CodeValidation {
				t.Fatalf("credit limit %d: %v", limit, err)
			}
		}
	})
}

func TestLedgerAppendOnly(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		l := newLedger(t, db)
		res, err := l.svc.Post(context.Background(), billing.PostRequest{UserID: l.user(), Currency: "EUR",
			Kind: api.EntryTopup, Amount: 5, IdempotencyKey: "k", ActorID: billing.ActorSystem})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"UPDATE ledger_entries SET amount = 500 WHERE id = ?",
			"DELETE FROM ledger_entries WHERE id = ?",
		} {
			if err := l.db.Exec(q, res.Entry.ID).Error; err == nil {
				t.Fatalf("%s: allowed", q)
			}
		}
		if db.Driver == store.DriverPostgres {
			if err := l.db.Exec("TRUNCATE ledger_entries CASCADE").Error; err == nil {
				t.Fatal("truncate allowed")
			}
		}
		if n := l.count("ledger_entries"); n != 1 {
			t.Fatalf("%d entries", n)
		}
		// The schema refuses a zero amount, an unknown kind and a negative credit limit too.
		for _, q := range []string{
			"UPDATE wallets SET credit_limit = -1",
			"INSERT INTO ledger_entries (id, wallet_id, seq, kind, amount, balance_after, idempotency_key, fingerprint, actor_id, created_at) VALUES ('a', '" + res.Wallet.ID + "', 9, 'topup', 0, 5, 'z', 'f', 'x', CURRENT_TIMESTAMP)",
			"INSERT INTO ledger_entries (id, wallet_id, seq, kind, amount, balance_after, idempotency_key, fingerprint, actor_id, created_at) VALUES ('b', '" + res.Wallet.ID + "', 9, 'gift', 1, 5, 'z', 'f', 'x', CURRENT_TIMESTAMP)",
		} {
			if err := l.db.Exec(q).Error; err == nil {
				t.Fatalf("%s: allowed", q)
			}
		}
	})
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{1050, "USD", "10.50 USD"},
		{-1050, "EUR", "-10.50 EUR"},
		{5, "USD", "0.05 USD"},
		{-5, "USD", "-0.05 USD"},
		{0, "GBP", "0.00 GBP"},
		{1050, "JPY", "1050 JPY"},
		{1, "KWD", "0.001 KWD"},
		{math.MinInt64, "USD", "-92233720368547758.08 USD"},
		{math.MaxInt64, "JPY", "9223372036854775807 JPY"},
	} {
		if got := billing.Format(tc.amount, tc.currency); got != tc.want {
			t.Errorf("Format(%d, %s) = %q, want %q", tc.amount, tc.currency, got, tc.want)
		}
	}
	for code, want := range map[string]bool{"USD": true, "CNY": true, "JPY": true, "usd": false, "XXX": false, "": false, "USDT": false} {
		if billing.ValidCurrency(code) != want {
			t.Errorf("ValidCurrency(%q) != %v", code, want)
		}
	}
}
