package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// post sends a JSON body with an optional Idempotency-Key; safe to call from goroutines (it
// returns errors instead of failing the test).
func (c *client) post(method, path, key, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, c.e.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(api.HeaderIdempotencyKey, key)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "nimbo_session", Value: c.cookie})
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.e.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// pooled returns c on its own HTTP client whose connections are closed at cleanup (before the
// server shuts down), for tests that open many connections at once.
func (c *client) pooled(t *testing.T) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	e := *c.e
	e.hc = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	cc := *c
	cc.e = &e
	return &cc
}

// entry posts a ledger entry as c and decodes the answer.
func (c *client) entry(userID, key, body string) (int, http.Header, api.LedgerEntry, api.Error) {
	c.e.t.Helper()
	st, h, b, err := c.post("POST", "/api/v1/admin/users/"+userID+"/wallet/entries", key, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	var (
		e   api.LedgerEntry
		ae  api.Error
		out any = &e
	)
	if st >= 400 {
		out = &ae
	}
	if err := json.Unmarshal(b, out); err != nil {
		c.e.t.Fatalf("decode %s: %v", b, err)
	}
	return st, h, e, ae
}

// ledgerCheck verifies the wallet invariants in the database: balance = SUM(amount) = last
// balance_after, seq 1..N, each balance_after the previous plus its amount and ≥ -limit.
func (e *env) ledgerCheck(userID, currency string, limit int64) (store.Wallet, []store.LedgerEntry) {
	e.t.Helper()
	db := e.app.DB()
	var w store.Wallet
	if err := db.Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error; err != nil {
		e.t.Fatal(err)
	}
	var es []store.LedgerEntry
	if err := db.Where("wallet_id = ?", w.ID).Order("seq").Find(&es).Error; err != nil {
		e.t.Fatal(err)
	}
	var sum int64
	if err := db.Raw("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE wallet_id = ?", w.ID).Scan(&sum).Error; err != nil {
		e.t.Fatal(err)
	}
	var prev int64
	for i, le := range es {
		if le.Seq != int64(i+1) || le.BalanceAfter != prev+le.Amount || le.BalanceAfter < -limit {
			e.t.Fatalf("entry %d: seq %d, balance_after %d after %d%+d (limit %d)", i, le.Seq, le.BalanceAfter, prev, le.Amount, limit)
		}
		prev = le.BalanceAfter
	}
	if sum != w.Balance || prev != w.Balance || int64(len(es)) != w.EntryCount {
		e.t.Fatalf("balance %d, SUM %d, last balance_after %d, entry_count %d, %d entries", w.Balance, sum, prev, w.EntryCount, len(es))
	}
	return w, es
}

func TestWalletConcurrentHTTP(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)
		const (
			n      = 200
			topup  = 100
			charge = 150
			limit  = 500
		)
		var w api.Wallet
		admin.must(200, "PATCH", "/api/v1/admin/users/"+cust.user.ID+"/wallets/USD", `{"credit_limit":500}`, &w)
		fast := admin.pooled(t)
		if w.CreditLimit != limit || w.Balance != 0 || w.Currency != "USD" || w.Exponent != 2 {
			t.Fatalf("wallet %+v", w)
		}
		var (
			wg                       sync.WaitGroup
			mu                       sync.Mutex
			topups, charges, refused int
			unexpected               []string
		)
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"currency":"USD","kind":"topup","amount":%d}`, topup)
				if i%2 == 1 {
					body = fmt.Sprintf(`{"currency":"USD","kind":"charge","amount":%d,"reason":"server hours"}`, charge)
				}
				st, _, b, err := fast.post("POST", "/api/v1/admin/users/"+cust.user.ID+"/wallet/entries", fmt.Sprintf("h-%d", i), body)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					unexpected = append(unexpected, err.Error())
				case st == 201 && i%2 == 0:
					topups++
				case st == 201:
					charges++
				case st == 409 && i%2 == 1 && strings.Contains(string(b), api.CodeInsufficientFunds):
					refused++
				default:
					unexpected = append(unexpected, fmt.Sprintf("%d %s", st, b))
				}
			}()
		}
		wg.Wait()
		t.Logf("%s: %d concurrent HTTP postings in %v: %d top-ups, %d charges, %d charges refused",
			db.Driver, n, time.Since(start), topups, charges, refused)
		if len(unexpected) > 0 {
			t.Fatalf("%d unexpected answers, first: %s", len(unexpected), unexpected[0])
		}
		if topups != n/2 || charges+refused != n/2 || refused < 30 {
			t.Fatalf("top-ups %d, charges %d, refused %d", topups, charges, refused)
		}
		dbw, es := e.ledgerCheck(cust.user.ID, "USD", limit)
		want := int64(topups*topup - charges*charge)
		if dbw.Balance != want || len(es) != topups+charges {
			t.Fatalf("balance %d (want %d), %d entries", dbw.Balance, want, len(es))
		}
		for _, le := range es {
			if le.ActorID != admin.user.ID || (le.Kind == api.EntryCharge) != (le.Amount == -charge) {
				t.Fatalf("entry %+v", le)
			}
		}
		// The customer sees the same numbers, newest entry first.
		var ws api.List[api.Wallet]
		cust.must(200, "GET", "/api/v1/wallets", nil, &ws)
		if len(ws.Items) != 1 || ws.Items[0].Balance != want || ws.Items[0].CreditLimit != limit {
			t.Fatalf("customer wallets %+v", ws)
		}
		var page api.List[api.LedgerEntry]
		cust.must(200, "GET", "/api/v1/wallets/USD/entries?per_page=100&page=2", nil, &page)
		if page.Total != int64(len(es)) || len(page.Items) != len(es)-100 || page.Items[0].Seq != int64(len(es)-100) {
			t.Fatalf("page 2: total %d, %d items, first seq %d", page.Total, len(page.Items), page.Items[0].Seq)
		}
		cust.must(200, "GET", "/api/v1/wallets/USD/entries?per_page=1", nil, &page)
		if last := es[len(es)-1]; len(page.Items) != 1 || page.Items[0].ID != last.ID || page.Items[0].BalanceAfter != want ||
			page.Items[0].ActorID != admin.user.ID || page.Items[0].Currency != "USD" {
			t.Fatalf("newest entry %+v", page.Items)
		}
	})
}

func TestWalletIdempotencyHTTP(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)
		body := `{"currency":"EUR","kind":"topup","amount":2500,"reason":"wire 42","reference":"bank-42"}`
		st, h, first, _ := admin.entry(cust.user.ID, "topup-1", body)
		if st != 201 || h.Get(api.HeaderIdempotentReplayed) != "" || first.Amount != 2500 || first.BalanceAfter != 2500 ||
			first.Reason != "wire 42" || first.Reference != "bank-42" || first.ActorID != admin.user.ID || first.Kind != api.EntryTopup {
			t.Fatalf("first: %d %+v", st, first)
		}
		st, h, again, _ := admin.entry(cust.user.ID, "topup-1", body)
		if st != 200 || h.Get(api.HeaderIdempotentReplayed) != "true" || again.ID != first.ID ||
			again.BalanceAfter != first.BalanceAfter || !again.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("replay: %d %q %+v", st, h.Get(api.HeaderIdempotentReplayed), again)
		}
		// Same key, other parameters: 409, nothing written.
		for _, other := range []string{
			`{"currency":"EUR","kind":"topup","amount":2501,"reason":"wire 42","reference":"bank-42"}`,
			`{"currency":"EUR","kind":"refund","amount":2500,"reason":"wire 42","reference":"bank-42"}`,
			`{"currency":"EUR","kind":"topup","amount":2500,"reason":"wire 43","reference":"bank-42"}`,
			`{"currency":"EUR","kind":"topup","amount":2500,"reason":"wire 42"}`,
		} {
			st, _, _, ae := admin.entry(cust.user.ID, "topup-1", other)
			if st != 409 || ae.Error.Code != api.CodeConflict || !strings.Contains(ae.Error.Message, "idempotency key reused with different parameters") {
				t.Fatalf("reused key with %s: %d %+v", other, st, ae)
			}
		}
		if n := e.count("ledger_entries"); n != 1 {
			t.Fatalf("%d entries after reuse", n)
		}
		// 20 concurrent requests with one key: one 201, nineteen 200 replays, one entry.
		const g = 20
		type answer struct {
			st  int
			rep string
			e   api.LedgerEntry
			err error
		}
		answers := make([]answer, g)
		fast := admin.pooled(t)
		var wg sync.WaitGroup
		for i := range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, h, b, err := fast.post("POST", "/api/v1/admin/users/"+cust.user.ID+"/wallet/entries", "charge-1",
					`{"currency":"EUR","kind":"charge","amount":700}`)
				a := answer{st: st, err: err}
				if err == nil {
					a.rep = h.Get(api.HeaderIdempotentReplayed)
					a.err = json.Unmarshal(b, &a.e)
				}
				answers[i] = a
			}()
		}
		wg.Wait()
		created := 0
		for i, a := range answers {
			if a.err != nil {
				t.Fatalf("request %d: %v", i, a.err)
			}
			switch {
			case a.st == 201 && a.rep == "":
				created++
			case a.st == 200 && a.rep == "true":
			default:
				t.Fatalf("request %d: %d replayed=%q", i, a.st, a.rep)
			}
			if a.e.ID != answers[0].e.ID || a.e.Amount != -700 || a.e.BalanceAfter != 1800 {
				t.Fatalf("request %d: %+v vs %+v", i, a.e, answers[0].e)
			}
		}
		if created != 1 {
			t.Fatalf("%d requests created an entry", created)
		}
		if w, es := e.ledgerCheck(cust.user.ID, "EUR", 0); w.Balance != 1800 || len(es) != 2 {
			t.Fatalf("balance %d, %d entries", w.Balance, len(es))
		}
	})
}

func TestWalletBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		cust := e.login("cust@example.com", api.RoleCustomer)
		entries := "/api/v1/admin/users/" + cust.user.ID + "/wallet/entries"
		ok := `{"currency":"USD","kind":"topup","amount":1000}`
		for _, tc := range []struct {
			name, method, path, key, body string
			status                        int
			code, field                   string
		}{
			{"missing key", "POST", entries, "", ok, 400, api.CodeBadIdempotencyKey, ""},
			{"long key", "POST", entries, strings.Repeat("k", 129), ok, 400, api.CodeBadIdempotencyKey, ""},
			{"key with space", "POST", entries, "a b", ok, 400, api.CodeBadIdempotencyKey, ""},
			{"key not ascii", "POST", entries, "clé", ok, 400, api.CodeBadIdempotencyKey, ""},
			{"zero amount", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":0}`, 422, api.CodeValidation, "amount"},
			{"negative topup", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":-1}`, 422, api.CodeValidation, "amount"},
			{"negative charge", "POST", entries, "k", `{"currency":"USD","kind":"charge","amount":-100}`, 422, api.CodeValidation, "amount"},
			{"negative refund", "POST", entries, "k", `{"currency":"USD","kind":"refund","amount":-100}`, 422, api.CodeValidation, "amount"},
			{"zero adjustment", "POST", entries, "k", `{"currency":"USD","kind":"adjustment","amount":0,"reason":"x"}`, 422, api.CodeValidation, "amount"},
			{"adjustment without reason", "POST", entries, "k", `{"currency":"USD","kind":"adjustment","amount":5}`, 422, api.CodeValidation, "reason"},
			{"amount over max", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":1000000000000001}`, 422, api.CodeValidation, "amount"},
			{"adjustment under -max", "POST", entries, "k", `{"currency":"USD","kind":"adjustment","amount":-1000000000000001,"reason":"x"}`, 422, api.CodeValidation, "amount"},
			{"amount overflows int64", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":9223372036854775808}`, 400, api.CodeInvalidJSON, "amount"},
			{"amount 1e40", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":1e40}`, 400, api.CodeInvalidJSON, "amount"},
			{"fractional amount", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":10.5}`, 400, api.CodeInvalidJSON, "amount"},
			{"string amount", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":"10"}`, 400, api.CodeInvalidJSON, "amount"},
			{"unknown currency", "POST", entries, "k", `{"currency":"XXX","kind":"topup","amount":1}`, 422, api.CodeValidation, "currency"},
			{"lower-case currency", "POST", entries, "k", `{"currency":"usd","kind":"topup","amount":1}`, 422, api.CodeValidation, "currency"},
			{"missing currency", "POST", entries, "k", `{"kind":"topup","amount":1}`, 422, api.CodeValidation, "currency"},
			{"unknown kind", "POST", entries, "k", `{"currency":"USD","kind":"gift","amount":1}`, 422, api.CodeValidation, "kind"},
			{"settlement kind", "POST", entries, "k", `{"currency":"USD","kind":"settlement","amount":1}`, 422, api.CodeValidation, "kind"},
			{"long reason", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":1,"reason":"` + strings.Repeat("r", 501) + `"}`, 422, api.CodeValidation, "reason"},
			{"unknown field", "POST", entries, "k", `{"currency":"USD","kind":"topup","amount":1,"wallet_id":"x"}`, 400, api.CodeInvalidJSON, "wallet_id"},
			{"malformed", "POST", entries, "k", `{"currency":`, 400, api.CodeInvalidJSON, ""},
			{"empty body", "POST", entries, "k", ``, 400, api.CodeInvalidJSON, ""},
			{"unknown user", "POST", "/api/v1/admin/users/00000000-0000-4000-8000-000000000000/wallet/entries", "k", ok, 404, api.CodeNotFound, ""},
			{"malformed user", "POST", "/api/v1/admin/users/nope/wallet/entries", "k", ok, 404, api.CodeNotFound, ""},
			{"insufficient funds", "POST", entries, "k", `{"currency":"USD","kind":"charge","amount":1}`, 409, api.CodeInsufficientFunds, ""},
			{"credit limit missing", "PATCH", "/api/v1/admin/users/" + cust.user.ID + "/wallets/USD", "", `{}`, 422, api.CodeValidation, "credit_limit"},
			{"credit limit negative", "PATCH", "/api/v1/admin/users/" + cust.user.ID + "/wallets/USD", "", `{"credit_limit":-1}`, 422, api.CodeValidation, "credit_limit"},
			{"credit limit huge", "PATCH", "/api/v1/admin/users/" + cust.user.ID + "/wallets/USD", "", `{"credit_limit":1000000000000001}`, 422, api.CodeValidation, "credit_limit"},
			{"credit limit float", "PATCH", "/api/v1/admin/users/" + cust.user.ID + "/wallets/USD", "", `{"credit_limit":1.5}`, 400, api.CodeInvalidJSON, "credit_limit"},
			{"credit limit bad currency", "PATCH", "/api/v1/admin/users/" + cust.user.ID + "/wallets/ABC", "", `{"credit_limit":1}`, 422, api.CodeValidation, "currency"},
			{"credit limit unknown user", "PATCH", "/api/v1/admin/users/00000000-0000-4000-8000-000000000000/wallets/USD", "", `{"credit_limit":1}`, 404, api.CodeNotFound, ""},
			{"entries bad currency", "GET", "/api/v1/wallets/usd/entries", "", "", 422, api.CodeValidation, "currency"},
			{"entries bad page", "GET", "/api/v1/wallets/USD/entries?page=0", "", "", 422, api.CodeValidation, "page"},
			{"entries bad per_page", "GET", "/api/v1/wallets/USD/entries?per_page=101", "", "", 422, api.CodeValidation, "per_page"},
			{"entries of no wallet", "GET", "/api/v1/wallets/USD/entries", "", "", 404, api.CodeNotFound, ""},
			{"admin wallets of unknown user", "GET", "/api/v1/admin/users/00000000-0000-4000-8000-000000000000/wallets", "", "", 404, api.CodeNotFound, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := admin
				if strings.HasPrefix(tc.path, "/api/v1/wallets") {
					c = cust
				}
				st, _, b, err := c.post(tc.method, tc.path, tc.key, tc.body)
				if err != nil {
					t.Fatal(err)
				}
				var ae api.Error
				if err := json.Unmarshal(b, &ae); err != nil {
					t.Fatalf("error body %q: %v", b, err)
				}
				if st != tc.status || ae.Error.Code != tc.code || ae.Error.Message == "" || ae.RequestID == "" {
					t.Fatalf("got %d %+v, want %d %s", st, ae, tc.status, tc.code)
				}
				if tc.field != "" && ae.Error.Fields[tc.field] == "" {
					t.Fatalf("field %q not named: %+v", tc.field, ae.Error)
				}
				if tc.code == api.CodeBadIdempotencyKey && !strings.Contains(ae.Error.Message, api.HeaderIdempotencyKey) {
					t.Fatalf("message does not name the header: %q", ae.Error.Message)
				}
			})
		}
		if en, w := e.count("ledger_entries"), e.count("wallets"); en != 0 || w != 0 {
			t.Fatalf("rows written: ledger_entries=%d wallets=%d", en, w)
		}
	})
}

func TestWalletAuthorization(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("admin@example.com", api.RoleAdmin)
		alice := e.login("alice@example.com", api.RoleCustomer)
		bob := e.login("bob@example.com", api.RoleCustomer)
		for _, p := range []struct{ user, body string }{
			{alice.user.ID, `{"currency":"USD","kind":"topup","amount":100}`},
			{bob.user.ID, `{"currency":"USD","kind":"topup","amount":200}`},
			{bob.user.ID, `{"currency":"JPY","kind":"adjustment","amount":300,"reason":"welcome credit"}`},
		} {
			if st, _, _, ae := admin.entry(p.user, "k-"+testenv.Random(6), p.body); st != 201 {
				t.Fatalf("post %s: %d %+v", p.body, st, ae)
			}
		}
		adminRoutes := []struct{ method, path, body string }{
			{"POST", "/api/v1/admin/users/" + alice.user.ID + "/wallet/entries", `{"currency":"USD","kind":"topup","amount":1}`},
			{"POST", "/api/v1/admin/users/" + bob.user.ID + "/wallet/entries", `{"currency":"USD","kind":"topup","amount":1}`},
			{"PATCH", "/api/v1/admin/users/" + alice.user.ID + "/wallets/USD", `{"credit_limit":100000}`},
			{"GET", "/api/v1/admin/users/" + bob.user.ID + "/wallets", ""},
			{"GET", "/api/v1/admin/users/" + bob.user.ID + "/wallets/USD/entries", ""},
		}
		for _, r := range adminRoutes {
			if st, _, b, err := alice.post(r.method, r.path, "k-x", r.body); err != nil || st != 403 || !strings.Contains(string(b), api.CodeForbidden) {
				t.Fatalf("customer %s %s: %d %s %v", r.method, r.path, st, b, err)
			}
		}
		anon := e.anon()
		for _, r := range append(adminRoutes, struct{ method, path, body string }{"GET", "/api/v1/wallets", ""},
			struct{ method, path, body string }{"GET", "/api/v1/wallets/USD/entries", ""}) {
			if st, _, b, err := anon.post(r.method, r.path, "k-x", r.body); err != nil || st != 401 || !strings.Contains(string(b), api.CodeUnauthorized) {
				t.Fatalf("anonymous %s %s: %d %s %v", r.method, r.path, st, b, err)
			}
		}
		// Each customer sees only their own wallets and entries.
		var ws api.List[api.Wallet]
		alice.must(200, "GET", "/api/v1/wallets", nil, &ws)
		if len(ws.Items) != 1 || ws.Items[0].UserID != alice.user.ID || ws.Items[0].Balance != 100 {
			t.Fatalf("alice's wallets %+v", ws.Items)
		}
		bob.must(200, "GET", "/api/v1/wallets", nil, &ws)
		if len(ws.Items) != 2 || ws.Items[0].Currency != "JPY" || ws.Items[0].Balance != 300 || ws.Items[0].Exponent != 0 ||
			ws.Items[1].Currency != "USD" || ws.Items[1].Balance != 200 {
			t.Fatalf("bob's wallets %+v", ws.Items)
		}
		if st, ae := alice.errCode("GET", "/api/v1/wallets/JPY/entries", nil); st != 404 || ae.Error.Code != api.CodeNotFound {
			t.Fatalf("alice reads a currency only bob has: %d %+v", st, ae)
		}
		var page api.List[api.LedgerEntry]
		alice.must(200, "GET", "/api/v1/wallets/USD/entries", nil, &page)
		if page.Total != 1 || len(page.Items) != 1 || page.Items[0].Amount != 100 || page.Items[0].ActorID != admin.user.ID {
			t.Fatalf("alice's entries %+v", page)
		}
		// The admin reads any user's wallets and entries; nothing was written by the refused calls.
		admin.must(200, "GET", "/api/v1/admin/users/"+bob.user.ID+"/wallets", nil, &ws)
		if len(ws.Items) != 2 {
			t.Fatalf("admin view of bob %+v", ws.Items)
		}
		admin.must(200, "GET", "/api/v1/admin/users/"+bob.user.ID+"/wallets/JPY/entries", nil, &page)
		if page.Total != 1 || page.Items[0].Reason != "welcome credit" || page.Items[0].Kind != api.EntryAdjustment {
			t.Fatalf("admin view of bob's JPY %+v", page)
		}
		if n := e.count("ledger_entries"); n != 3 {
			t.Fatalf("%d entries", n)
		}
		// A token without servers:read cannot read wallets.
		var tok api.Token
		admin.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "ops", Scopes: []string{api.ScopeAdminRead}}, &tok)
		reader := &client{e: e, bearer: tok.Secret}
		if st, _ := reader.errCode("GET", "/api/v1/wallets", nil); st != 403 {
			t.Fatalf("token without servers:read: %d", st)
		}
		if st, _ := reader.errCode("GET", "/api/v1/admin/users/"+bob.user.ID+"/wallets", nil); st != 200 {
			t.Fatalf("admin:read token: %d", st)
		}
		if st, _, b, _ := reader.post("POST", "/api/v1/admin/users/"+bob.user.ID+"/wallet/entries", "k-y", `{"currency":"USD","kind":"topup","amount":1}`); st != 403 {
			t.Fatalf("admin:read token posts: %d %s", st, b)
		}
	})
}
