package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/audit"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// batchAttempts bounds the retries of a bulk renewal transaction that failed (a deadlock
// with a concurrent order on PostgreSQL aborts one of them).
const batchAttempts = 3

// ledgerFingerprint is billing's fingerprint of a posting (the hash a replay of the same key
// must match), for the entries the bulk renewal writes without billing.PostTx. A test checks
// that both agree.
func ledgerFingerprint(currency, kind string, amount int64, reason, reference string) string {
	h := sha256.New()
	for _, part := range []string{"v1", currency, kind, strconv.FormatInt(amount, 10), reason, reference} {
		_, _ = h.Write([]byte(strconv.Itoa(len(part)) + ":" + part + ";"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// renewAll renews every active monthly subscription whose period ended by now and whose
// wallets (the customer's, and the reseller's for the wholesale price) can pay, in batches of
// e.batch subscriptions per transaction. A reader walks the due subscriptions in
// (period_end, id) order — the order of the subscriptions_due index, so each step reads only
// its rows — and hands batches of ids to e.workers transactions running side by side (one on
// SQLite, whose writers serialize). Refused subscriptions are left to the per-subscription
// step, which handles grace and suspension one by one.
func (e *Engine) renewAll(ctx context.Context, now time.Time, st *Stats) error {
	workers := e.workers
	if e.s.db.Driver != store.DriverPostgres || workers < 1 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []string)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		cancel()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ids := range batches {
				var (
					fx  effects
					err error
				)
				for attempt := 1; attempt <= batchAttempts; attempt++ {
					if fx, err = e.renewBatch(ctx, now, ids); err == nil || ctx.Err() != nil {
						break
					}
					e.s.log.WarnContext(ctx, "billing: bulk renewal batch failed", "first", ids[0], "attempt", attempt, "err", err)
				}
				if err != nil {
					fail(fmt.Errorf("bulk renewal: %w", err))
					continue
				}
				e.after(ctx, &fx)
				mu.Lock()
				st.add(fx.stats)
				mu.Unlock()
			}
		}()
	}
	err := e.dueBatches(ctx, now, batches)
	close(batches)
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dueBatches sends the ids of the due monthly subscriptions, e.batch at a time, in
// (period_end, id) order.
func (e *Engine) dueBatches(ctx context.Context, now time.Time, out chan<- []string) error {
	var (
		lastEnd time.Time
		lastID  string
	)
	for {
		var rows []struct {
			ID        string
			PeriodEnd time.Time
		}
		q := e.s.db.WithContext(ctx).Model(&store.Subscription{}).Select("id, period_end").
			Where("status = ? AND cycle = ? AND auto_renew = ? AND period_end <= ?", api.SubscriptionActive, api.CycleMonthly, true, now)
		if lastID != "" {
			q = q.Where("period_end >= ? AND (period_end > ? OR id > ?)", lastEnd, lastEnd, lastID)
		}
		if err := q.Order("period_end, id").Limit(e.batch).Scan(&rows).Error; err != nil {
			return fmt.Errorf("list due renewals: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		select {
		case out <- ids:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(rows) < e.batch {
			return nil
		}
		lastEnd, lastID = rows[len(rows)-1].PeriodEnd, rows[len(rows)-1].ID
	}
}

type walletKey struct{ user, currency string }

// renewBatch renews the subscriptions ids that are still due, in one transaction: the
// subscriptions (locked, skipping those a concurrent pass holds), their wallets (locked,
// customers' first), the keys already posted, then one insert per table of ledger entries,
// invoices, invoice lines and audit entries, and updates of the wallets and subscriptions.
func (e *Engine) renewBatch(ctx context.Context, now time.Time, ids []string) (effects, error) {
	var fx effects
	pg := e.s.db.Driver == store.DriverPostgres
	err := e.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fx = effects{plans: map[string]string{}, sellers: map[string]seller{}}
		var subs []store.Subscription
		// A subscription whose server was deleted is left to the per-subscription step, which
		// ends it.
		q := tx.Where(`id IN ? AND status = ? AND cycle = ? AND auto_renew = ? AND period_end <= ? AND NOT EXISTS
			(SELECT 1 FROM servers sv WHERE sv.id = subscriptions.server_id AND sv.deleted_at IS NOT NULL)`,
			ids, api.SubscriptionActive, api.CycleMonthly, true, now).Order("id")
		if pg {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&subs).Error; err != nil {
			return fmt.Errorf("select due renewals: %w", err)
		}
		if len(subs) == 0 {
			return nil
		}

		customers, resellers, planIDs := set{}, set{}, set{}
		for i := range subs {
			utcTimes(&subs[i])
		}
		for _, s := range subs {
			customers.add(s.UserID)
			planIDs.add(s.PlanID)
			if s.ResellerID != nil && s.WholesalePrice > 0 {
				resellers.add(*s.ResellerID)
			}
		}
		emails, err := pluckMap(tx, "users", "email", customers.list())
		if err != nil {
			return err
		}
		names, err := pluckMap(tx, "plans", "name", planIDs.list())
		if err != nil {
			return err
		}
		wallets := map[walletKey]*store.Wallet{}
		byID := map[string]*store.Wallet{}
		lock := func(ids []string) error {
			if len(ids) == 0 {
				return nil
			}
			var ws []store.Wallet
			if err := e.s.db.ForUpdate(tx.Where("user_id IN ?", ids)).Order("id").Find(&ws).Error; err != nil {
				return fmt.Errorf("lock wallets: %w", err)
			}
			for i := range ws {
				if _, seen := byID[ws[i].ID]; !seen {
					w := ws[i]
					wallets[walletKey{w.UserID, w.Currency}], byID[w.ID] = &w, &w
				}
			}
			return nil
		}
		if err := lock(customers.list()); err != nil {
			return err
		}
		var onlyResellers []string
		for _, r := range resellers.list() {
			if !customers[r] {
				onlyResellers = append(onlyResellers, r)
			}
		}
		if err := lock(onlyResellers); err != nil {
			return err
		}
		// Keys already posted (a replay) are paid: their charge is not written again.
		var keys, walletIDs []string
		for _, s := range subs {
			k := renewKey(s.ID, s.PeriodEnd)
			keys = append(keys, k, k+":settlement")
		}
		for id := range byID {
			walletIDs = append(walletIDs, id)
		}
		posted := set{}
		if len(walletIDs) > 0 {
			var rows []struct {
				WalletID       string
				IdempotencyKey string
			}
			if err := tx.Table("ledger_entries").Select("wallet_id, idempotency_key").
				Where("wallet_id IN ? AND idempotency_key IN ?", walletIDs, keys).Scan(&rows).Error; err != nil {
				return fmt.Errorf("read posted keys: %w", err)
			}
			for _, r := range rows {
				posted.add(r.WalletID + "\x00" + r.IdempotencyKey)
			}
		}

		ts := store.Now()
		var (
			entries  []store.LedgerEntry
			renewed  []store.Subscription
			newEnds  []time.Time
			audits   []audit.Entry
			touched  = set{}
			byIssuer = map[string][]int{} // issuer → indexes into renewed
		)
		post := func(w *store.Wallet, kind string, amount int64, key, reason, ref string) {
			w.Balance += amount
			w.EntryCount++
			entries = append(entries, store.LedgerEntry{
				ID: uuid.NewString(), WalletID: w.ID, Seq: w.EntryCount, Kind: kind, Amount: amount, BalanceAfter: w.Balance,
				IdempotencyKey: key, Fingerprint: ledgerFingerprint(w.Currency, kind, amount, reason, ref), Reason: reason,
				Reference: ref, ActorID: billing.ActorSystem, CreatedAt: ts,
			})
			touched.add(w.ID)
		}
		for _, s := range subs {
			key := renewKey(s.ID, s.PeriodEnd)
			cw := wallets[walletKey{s.UserID, s.Currency}]
			var rw *store.Wallet
			needC := s.Price > 0 && (cw == nil || !posted[cw.ID+"\x00"+key])
			needR := s.ResellerID != nil && s.WholesalePrice > 0
			if needR {
				rw = wallets[walletKey{*s.ResellerID, s.Currency}]
				needR = rw == nil || !posted[rw.ID+"\x00"+key+":settlement"]
			}
			if (needC && !canPay(cw, s.Price)) || (needR && !canPay(rw, s.WholesalePrice)) {
				continue // refused: the per-subscription step handles grace and suspension
			}
			name := names[s.PlanID]
			reason := "Renewal: " + name
			if needC {
				post(cw, api.EntryCharge, -s.Price, key, reason, s.ID)
			}
			if needR {
				post(rw, api.EntrySettlement, -s.WholesalePrice, key+":settlement", "Wholesale "+reason, s.ID)
			}
			end := s.PeriodEnd.AddDate(0, 1, 0)
			issuer := ""
			if s.ResellerID != nil {
				issuer = *s.ResellerID
			}
			byIssuer[issuer] = append(byIssuer[issuer], len(renewed))
			renewed = append(renewed, s)
			newEnds = append(newEnds, end)
			details, _ := json.Marshal(map[string]any{"amount": s.Price, "currency": s.Currency, "period_start": s.PeriodEnd, "period_end": end})
			audits = append(audits, audit.Entry{ID: uuid.NewString(), ActorID: audit.SystemActor, Action: "subscription.renew",
				ObjectType: "subscription", ObjectID: s.ID, OwnerID: s.UserID, Details: string(details), CreatedAt: ts})
		}
		if len(renewed) == 0 {
			return nil
		}
		// Invoices: one paid invoice per renewal, numbered per issuer from a reserved range.
		var (
			invs  []store.Invoice
			lines []store.InvoiceLine
		)
		issuers := make([]string, 0, len(byIssuer))
		for is := range byIssuer {
			issuers = append(issuers, is)
		}
		sort.Strings(issuers)
		for _, is := range issuers {
			idx := byIssuer[is]
			k := int64(len(idx))
			var first int64
			if err := tx.Raw(`INSERT INTO invoice_counters (issuer_id, next) VALUES (?, ?)
				ON CONFLICT (issuer_id) DO UPDATE SET next = invoice_counters.next + ? RETURNING next - ?`, is, k+1, k, k).
				Scan(&first).Error; err != nil {
				return fmt.Errorf("reserve invoice numbers: %w", err)
			}
			var issuerPtr *string
			if is != "" {
				issuerPtr = &is
			}
			sl, err := e.seller(ctx, tx, issuerPtr, &fx)
			if err != nil {
				return err
			}
			for j, i := range idx {
				s := renewed[i]
				from, to := s.PeriodEnd, newEnds[i]
				paid := now
				inv := store.Invoice{
					ID: uuid.NewString(), Number: invoice.Number(is, first+int64(j)), IssuerID: is, UserID: s.UserID,
					SubscriptionID: &renewed[i].ID, Status: invoice.StatusPaid, Currency: s.Currency, Subtotal: s.Price,
					Total: s.Price, PeriodStart: &from, PeriodEnd: &to, SellerName: sl.name, SellerEmail: sl.email,
					BuyerEmail: emails[s.UserID], IssuedAt: now, PaidAt: &paid, CreatedAt: ts,
				}
				invs = append(invs, inv)
				lines = append(lines, store.InvoiceLine{ID: uuid.NewString(), InvoiceID: inv.ID, Position: 1,
					Description: fmt.Sprintf("%s, %s to %s", names[s.PlanID], day(from), day(to)), Quantity: 1,
					UnitAmount: s.Price, Amount: s.Price})
			}
		}
		rows := bulkRows{entries: entries, invoices: invs, lines: lines, audits: audits, subs: renewed, ends: newEnds, ts: ts}
		for _, id := range touched.list() {
			rows.wallets = append(rows.wallets, *byID[id])
		}
		write := e.writeGeneric
		if pg {
			write = e.writePostgres
		}
		if err := write(ctx, tx, rows); err != nil {
			return err
		}
		for id := range touched {
			ids, err := lowBalance(ctx, tx, *byID[id])
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				fx.notes = append(fx.notes, ids...)
				fx.stats.LowBalance++
			}
		}
		fx.stats.Renewed = len(renewed)
		return nil
	})
	return fx, err
}

// bulkRows are the writes of one bulk renewal batch.
type bulkRows struct {
	entries  []store.LedgerEntry
	invoices []store.Invoice
	lines    []store.InvoiceLine
	audits   []audit.Entry
	// wallets take their new balance and entry count; subs move to [period end, ends[i]).
	wallets []store.Wallet
	subs    []store.Subscription
	ends    []time.Time
	ts      time.Time
}

// writeGeneric writes a batch with multi-row inserts and CASE updates (SQLite).
func (e *Engine) writeGeneric(_ context.Context, tx *gorm.DB, r bulkRows) error {
	if len(r.entries) > 0 {
		if err := tx.CreateInBatches(&r.entries, 1000).Error; err != nil {
			return fmt.Errorf("insert ledger entries: %w", err)
		}
		if err := e.updateWallets(tx, r.wallets, r.ts); err != nil {
			return err
		}
	}
	if err := tx.CreateInBatches(&r.invoices, 1000).Error; err != nil {
		return fmt.Errorf("insert invoices: %w", err)
	}
	if err := tx.CreateInBatches(&r.lines, 1000).Error; err != nil {
		return fmt.Errorf("insert invoice lines: %w", err)
	}
	if err := e.updatePeriods(tx, r.subs, r.ends, r.ts); err != nil {
		return err
	}
	if err := tx.CreateInBatches(&r.audits, 1000).Error; err != nil {
		return fmt.Errorf("insert audit entries: %w", err)
	}
	return nil
}

// writePostgres writes a batch on PostgreSQL with one statement per table, each row column
// passed as one array parameter (INSERT … SELECT FROM unnest, UPDATE … FROM unnest): a few
// round trips and no per-row parameters to parse.
func (e *Engine) writePostgres(ctx context.Context, tx *gorm.DB, r bulkRows) error {
	pool := tx.Statement.ConnPool
	exec := func(what, q string, args ...any) error {
		if _, err := pool.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if n := len(r.entries); n > 0 {
		var (
			id, wallet, kind, key, fp, reason, ref, actor = make([]string, n), make([]string, n), make([]string, n),
				make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			seq, amount, after = make([]int64, n), make([]int64, n), make([]int64, n)
			at                 = make([]time.Time, n)
		)
		for i, x := range r.entries {
			id[i], wallet[i], kind[i], key[i], fp[i], reason[i], ref[i], actor[i] = x.ID, x.WalletID, x.Kind, x.IdempotencyKey,
				x.Fingerprint, x.Reason, x.Reference, x.ActorID
			seq[i], amount[i], after[i], at[i] = x.Seq, x.Amount, x.BalanceAfter, x.CreatedAt
		}
		if err := exec("insert ledger entries", `INSERT INTO ledger_entries (id, wallet_id, seq, kind, amount, balance_after,
			idempotency_key, fingerprint, reason, reference, actor_id, created_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])`,
			id, wallet, seq, kind, amount, after, key, fp, reason, ref, actor, at); err != nil {
			return err
		}
		wid, bal, cnt := make([]string, len(r.wallets)), make([]int64, len(r.wallets)), make([]int64, len(r.wallets))
		for i, w := range r.wallets {
			wid[i], bal[i], cnt[i] = w.ID, w.Balance, w.EntryCount
		}
		if err := exec("update wallets", `UPDATE wallets w SET balance = v.balance, entry_count = v.cnt, updated_at = $4
			FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, balance, cnt) WHERE w.id = v.id`,
			wid, bal, cnt, r.ts); err != nil {
			return err
		}
	}
	n := len(r.invoices)
	var (
		id, number, issuer, user, sub, status, cur, seller, sellerMail, buyer = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
		subtotal, discount, total           = make([]int64, n), make([]int64, n), make([]int64, n)
		pstart, pend, issued, paid, created = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		lid, linv, desc                     = make([]string, len(r.lines)), make([]string, len(r.lines)), make([]string, len(r.lines))
		pos                                 = make([]int64, len(r.lines))
		qty, unit, amt                      = make([]int64, len(r.lines)), make([]int64, len(r.lines)), make([]int64, len(r.lines))
	)
	for i, x := range r.invoices {
		id[i], number[i], issuer[i], user[i], sub[i], status[i], cur[i] = x.ID, x.Number, x.IssuerID, x.UserID, *x.SubscriptionID,
			x.Status, x.Currency
		seller[i], sellerMail[i], buyer[i] = x.SellerName, x.SellerEmail, x.BuyerEmail
		subtotal[i], discount[i], total[i] = x.Subtotal, x.Discount, x.Total
		pstart[i], pend[i], issued[i], paid[i], created[i] = *x.PeriodStart, *x.PeriodEnd, x.IssuedAt, *x.PaidAt, x.CreatedAt
	}
	if err := exec("insert invoices", `INSERT INTO invoices (id, number, issuer_id, user_id, subscription_id, status, currency,
		subtotal, discount, total, period_start, period_end, seller_name, seller_email, buyer_email, issued_at, paid_at, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
		$9::bigint[], $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::text[],
		$16::timestamptz[], $17::timestamptz[], $18::timestamptz[])`,
		id, number, issuer, user, sub, status, cur, subtotal, discount, total, pstart, pend, seller, sellerMail, buyer,
		issued, paid, created); err != nil {
		return err
	}
	for i, l := range r.lines {
		lid[i], linv[i], desc[i], pos[i], qty[i], unit[i], amt[i] = l.ID, l.InvoiceID, l.Description, int64(l.Position),
			l.Quantity, l.UnitAmount, l.Amount
	}
	if err := exec("insert invoice lines", `INSERT INTO invoice_lines (id, invoice_id, position, description, quantity,
		unit_amount, amount) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::bigint[],
		$7::bigint[])`, lid, linv, pos, desc, qty, unit, amt); err != nil {
		return err
	}
	sid := make([]string, len(r.subs))
	for i, s := range r.subs {
		sid[i] = s.ID
	}
	if err := exec("advance subscriptions", `UPDATE subscriptions s SET period_start = s.period_end, period_end = v.pe,
		updated_at = $3 FROM unnest($1::text[], $2::timestamptz[]) AS v(id, pe) WHERE s.id = v.id`, sid, r.ends, r.ts); err != nil {
		return err
	}
	aid, actor, action, otype, oid, owner, details := make([]string, len(r.audits)), make([]string, len(r.audits)),
		make([]string, len(r.audits)), make([]string, len(r.audits)), make([]string, len(r.audits)), make([]string, len(r.audits)),
		make([]string, len(r.audits))
	aat := make([]time.Time, len(r.audits))
	for i, a := range r.audits {
		aid[i], actor[i], action[i], otype[i], oid[i], owner[i], details[i], aat[i] = a.ID, a.ActorID, a.Action, a.ObjectType,
			a.ObjectID, a.OwnerID, a.Details, a.CreatedAt
	}
	return exec("insert audit entries", `INSERT INTO audit_log (id, actor_id, action, object_type, object_id, owner_id, details,
		created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::timestamptz[])`, aid, actor, action, otype, oid, owner, details, aat)
}

// canPay reports whether w can be debited amount without going below its credit limit.
func canPay(w *store.Wallet, amount int64) bool {
	return w != nil && w.Balance-amount >= -w.CreditLimit
}

// cast is how a bound parameter of a CASE branch gets its column's type: PostgreSQL types an
// untyped parameter of CASE as text; SQLite takes the value as it comes.
func (e *Engine) cast(typ string) string {
	if e.s.db.Driver == store.DriverPostgres {
		return "CAST(? AS " + typ + ")"
	}
	return "?"
}

// updateWallets writes the new balance and entry count of the touched wallets in one
// statement.
func (e *Engine) updateWallets(tx *gorm.DB, ws []store.Wallet, ts time.Time) error {
	ids := make([]string, len(ws))
	var bal, cnt strings.Builder
	args := make([]any, 0, 4*len(ws)+2)
	cntArgs := make([]any, 0, 2*len(ws))
	bal.WriteString("UPDATE wallets SET balance = CASE id")
	cnt.WriteString(" END, entry_count = CASE id")
	for i, w := range ws {
		ids[i] = w.ID
		bal.WriteString(" WHEN ? THEN " + e.cast("BIGINT"))
		cnt.WriteString(" WHEN ? THEN " + e.cast("BIGINT"))
		args = append(args, w.ID, w.Balance)
		cntArgs = append(cntArgs, w.ID, w.EntryCount)
	}
	args = append(append(args, cntArgs...), ts, ids)
	res := tx.Exec(bal.String()+cnt.String()+" END, updated_at = ? WHERE id IN ?", args...)
	if res.Error != nil {
		return fmt.Errorf("update wallets: %w", res.Error)
	}
	if res.RowsAffected != int64(len(ids)) {
		return fmt.Errorf("updated %d of %d wallets", res.RowsAffected, len(ids))
	}
	return nil
}

// updatePeriods moves each renewed subscription to its next period in one statement.
func (e *Engine) updatePeriods(tx *gorm.DB, subs []store.Subscription, ends []time.Time, ts time.Time) error {
	var b strings.Builder
	args := make([]any, 0, 2*len(subs)+2)
	ids := make([]string, len(subs))
	b.WriteString("UPDATE subscriptions SET period_start = period_end, period_end = CASE id")
	for i, s := range subs {
		b.WriteString(" WHEN ? THEN " + e.cast("TIMESTAMPTZ"))
		args = append(args, s.ID, ends[i])
		ids[i] = s.ID
	}
	b.WriteString(" END, updated_at = ? WHERE id IN ?")
	args = append(args, ts, ids)
	res := tx.Exec(b.String(), args...)
	if res.Error != nil {
		return fmt.Errorf("advance subscriptions: %w", res.Error)
	}
	if res.RowsAffected != int64(len(subs)) {
		return fmt.Errorf("advanced %d of %d subscriptions", res.RowsAffected, len(subs))
	}
	return nil
}

// set is a set of strings.
type set map[string]bool

func (s set) add(v string) { s[v] = true }

// list returns the members sorted.
func (s set) list() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// pluckMap reads column of the rows of table with the ids, as id → value.
func pluckMap(tx *gorm.DB, table, column string, ids []string) (map[string]string, error) {
	var rows []struct {
		ID    string
		Value string
	}
	if err := tx.Table(table).Select("id, "+column+" AS value").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.ID] = r.Value
	}
	return m, nil
}
