package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/order"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// ordEnv is a panel for order and billing tests: no free servers, a long scheduler interval
// (the tests drive the engine's clock themselves), one fake node and an admin.
type ordEnv struct {
	*env
	admin *client
	node  *fakeNode
}

const (
	ordGrace     = 48 * time.Hour
	ordTerminate = 10 * 24 * time.Hour
	ordRemind    = 72 * time.Hour
)

func newOrdEnv(t *testing.T, db testenv.Database, mut ...func(*config.Config)) *ordEnv {
	t.Helper()
	base := func(c *config.Config) {
		c.Billing.FreeServers = false
		c.Billing.Interval = time.Hour
		c.Billing.GracePeriod = ordGrace
		c.Billing.TerminateAfter = ordTerminate
		c.Billing.ReminderBefore = ordRemind
		c.Billing.TrialDays = 7
		c.Billing.SellerName = "Nimbo Test Provider"
		c.Billing.SellerEmail = "billing@provider.test"
		// The fake node sends no periodic heartbeats: keep it online for the whole test.
		c.Nodes.HeartbeatInterval = time.Hour
	}
	e := newEnv(t, db, append([]func(*config.Config){base}, mut...)...)
	admin := e.login("ord-admin@example.com", api.RoleAdmin)
	n := e.addNode(admin, "ord-node", defaultHeartbeat())
	return &ordEnv{env: e, admin: admin, node: n}
}

// plan creates a plan as the admin.
func (o *ordEnv) plan(req api.CreatePlanRequest) api.Plan {
	o.t.Helper()
	if req.Type == "" {
		req.Type, req.CPU, req.MemoryMiB, req.DiskMiB = api.TypeContainer, 1, 128, 256
	}
	if req.Currency == "" {
		req.Currency = "USD"
	}
	var p api.Plan
	o.admin.must(201, "POST", "/api/v1/admin/plans", req, &p)
	return p
}

// credit posts a top-up (positive) or a charge (negative) to a user's wallet as the admin.
func (o *ordEnv) credit(userID, currency string, amount int64) {
	o.t.Helper()
	kind := api.EntryTopup
	if amount < 0 {
		kind, amount = api.EntryCharge, -amount
	}
	body := fmt.Sprintf(`{"currency":%q,"kind":%q,"amount":%d}`, currency, kind, amount)
	st, _, b, err := o.admin.post("POST", "/api/v1/admin/users/"+userID+"/wallet/entries", "ord-"+uuid.NewString(), body)
	if err != nil || st != 201 {
		o.t.Fatalf("wallet entry: %d %s %v", st, b, err)
	}
}

// balance reads a wallet balance from the database (0 without a wallet).
func (o *ordEnv) balance(userID, currency string) int64 {
	o.t.Helper()
	var bs []int64
	if err := o.app.DB().Model(&store.Wallet{}).Where("user_id = ? AND currency = ?", userID, currency).Pluck("balance", &bs).Error; err != nil {
		o.t.Fatal(err)
	}
	if len(bs) == 0 {
		return 0
	}
	return bs[0]
}

// entries returns "kind:amount" of a user's wallet entries in order.
func (o *ordEnv) entries(userID, currency string) []string {
	o.t.Helper()
	var es []store.LedgerEntry
	if err := o.app.DB().Table("ledger_entries").Select("ledger_entries.*").
		Joins("JOIN wallets ON wallets.id = ledger_entries.wallet_id").
		Where("wallets.user_id = ? AND wallets.currency = ?", userID, currency).Order("seq").Find(&es).Error; err != nil {
		o.t.Fatal(err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s:%d", e.Kind, e.Amount)
	}
	return out
}

// order places an order and returns the status, the answer and the error code.
func (o *ordEnv) order(c *client, key string, req any) (int, http.Header, api.OrderAccepted, string) {
	o.t.Helper()
	var body string
	switch b := req.(type) {
	case string:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			o.t.Fatal(err)
		}
		body = string(j)
	}
	st, h, b, err := c.post("POST", "/api/v1/orders", key, body)
	if err != nil {
		o.t.Fatal(err)
	}
	var acc api.OrderAccepted
	var ae api.Error
	if st < 300 {
		if err := json.Unmarshal(b, &acc); err != nil {
			o.t.Fatalf("decode %s: %v", b, err)
		}
	} else if err := json.Unmarshal(b, &ae); err != nil {
		o.t.Fatalf("decode error %d %q: %v", st, b, err)
	}
	return st, h, acc, ae.Error.Code
}

// mustOrder places an order that must be accepted (201).
func (o *ordEnv) mustOrder(c *client, req api.CreateOrderRequest) api.OrderAccepted {
	o.t.Helper()
	st, _, acc, code := o.order(c, "ord-"+uuid.NewString(), req)
	if st != 201 {
		o.t.Fatalf("order %+v: %d %s", req, st, code)
	}
	return acc
}

// provision finishes an order's create operation as the node would.
func (o *ordEnv) provision(acc api.OrderAccepted, ok bool) {
	o.t.Helper()
	r := dapi.Result{Status: api.OpSuccess, State: "Running"}
	if !ok {
		r = dapi.Result{Status: api.OpFailure, Error: "image unpack failed"}
	}
	o.node.result(acc.Operation.ID, r)
}

// sub reads a subscription from the database.
func (o *ordEnv) sub(id string) store.Subscription {
	o.t.Helper()
	var s store.Subscription
	if err := o.app.DB().Where("id = ?", id).Take(&s).Error; err != nil {
		o.t.Fatal(err)
	}
	return s
}

// server reads a server row (deleted or not).
func (o *ordEnv) server(id string) store.Server {
	o.t.Helper()
	var s store.Server
	if err := o.app.DB().Where("id = ?", id).Take(&s).Error; err != nil {
		o.t.Fatal(err)
	}
	return s
}

// countWhere counts the rows of table matching cond.
func (o *ordEnv) countWhere(table, cond string, args ...any) int64 {
	o.t.Helper()
	var n int64
	if err := o.app.DB().Table(table).Where(cond, args...).Count(&n).Error; err != nil {
		o.t.Fatal(err)
	}
	return n
}

// pass runs one billing pass at now through a recording notifier.
func (o *ordEnv) pass(now time.Time, rec *recorder) order.Stats {
	o.t.Helper()
	eng := o.app.Orders().Engine()
	if rec != nil {
		eng = eng.WithNotifier(rec)
	}
	st, err := eng.Pass(context.Background(), now)
	if err != nil {
		o.t.Fatalf("pass at %s: %v", now, err)
	}
	return st
}

// coupon inserts a coupon row (the coupon API is another area's; orders read the table).
func (o *ordEnv) coupon(c store.Coupon) store.Coupon {
	o.t.Helper()
	now := store.Now()
	c.ID, c.CreatedAt, c.UpdatedAt = uuid.NewString(), now, now
	if c.PlanIDs == "" {
		c.PlanIDs = "[]"
	}
	if err := o.app.DB().Create(&c).Error; err != nil {
		o.t.Fatal(err)
	}
	if !c.Active {
		if err := o.app.DB().Model(&store.Coupon{}).Where("id = ?", c.ID).Update("active", false).Error; err != nil {
			o.t.Fatal(err)
		}
	}
	return c
}

// loginReseller creates an account with the reseller role and logs it in.
func (o *ordEnv) loginReseller(email string) *client {
	o.t.Helper()
	u, err := o.app.Auth().CreateUser(context.Background(), email, "password-"+email, api.RoleCustomer)
	if err != nil {
		o.t.Fatal(err)
	}
	if err := o.app.DB().Model(&store.User{}).Where("id = ?", u.ID).Update("role", api.RoleReseller).Error; err != nil {
		o.t.Fatal(err)
	}
	c := &client{e: o.env}
	st, h, b := c.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: "password-" + email}, &c.user)
	if st != 200 {
		o.t.Fatalf("login %s: %d %s", email, st, b)
	}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "nimbo_session" {
			c.cookie = ck.Value
		}
	}
	return c
}

func ordReq(planID, name string) api.CreateOrderRequest {
	return api.CreateOrderRequest{PlanID: planID, Cycle: api.CycleMonthly, ServerName: name, Image: "busybox"}
}

// TestOrderProvisioningRefundsOnceOnFailure orders with a coupon, fails the provisioning
// (twice: a duplicate result) and checks that the customer is refunded exactly once, the
// stock and the coupon use come back, a credit note is issued and the customer is told; a
// second order succeeds and activates its subscription.
func TestOrderProvisioningRefundsOnceOnFailure(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		cust := o.login("ord-fail@example.com", api.RoleCustomer)
		stock := int64(5)
		p := o.plan(api.CreatePlanRequest{Name: "Fail S", PriceMonth: 1000, PriceHour: 2, SetupFee: 100, Stock: &stock})
		c := o.coupon(store.Coupon{Code: "TENOFF", Kind: "percent", Value: 1000, OncePerCustomer: true, Active: true})
		o.credit(cust.user.ID, "USD", 5000)

		req := ordReq(p.ID, "web-fail")
		req.CouponCode = "tenoff"
		acc := o.mustOrder(cust, req)
		if acc.Order.Subtotal != 1100 || acc.Order.Discount != 110 || acc.Order.Total != 990 || acc.Order.Status != api.OrderProvisioning ||
			acc.Subscription.Status != api.SubscriptionPending || acc.Server.Status != api.StatusCreating ||
			acc.Operation.Kind != api.OpInstanceCreate {
			t.Fatalf("order answer: %+v", acc)
		}
		if got := o.balance(cust.user.ID, "USD"); got != 4010 {
			t.Fatalf("balance after order = %d, want 4010", got)
		}
		var cp store.Coupon
		o.app.DB().Where("id = ?", c.ID).Take(&cp)
		var pl store.Plan
		o.app.DB().Where("id = ?", p.ID).Take(&pl)
		if cp.Uses != 1 || *pl.Stock != 4 || o.countWhere("invoices", "order_id = ?", acc.Order.ID) != 1 {
			t.Fatalf("after order: coupon uses %d, stock %d, invoices %d", cp.Uses, *pl.Stock, o.countWhere("invoices", "order_id = ?", acc.Order.ID))
		}

		o.provision(acc, false)
		o.provision(acc, false) // a duplicate result changes nothing
		if got := o.balance(cust.user.ID, "USD"); got != 5000 {
			t.Fatalf("balance after failed provisioning = %d, want 5000", got)
		}
		if got := strings.Join(o.entries(cust.user.ID, "USD"), " "); got != "topup:5000 charge:-990 refund:990" {
			t.Fatalf("ledger = %s", got)
		}
		o.app.DB().Where("id = ?", c.ID).Take(&cp)
		o.app.DB().Where("id = ?", p.ID).Take(&pl)
		if cp.Uses != 0 || *pl.Stock != 5 || o.countWhere("coupon_redemptions", "coupon_id = ?", c.ID) != 0 {
			t.Fatalf("after failure: coupon uses %d, stock %d", cp.Uses, *pl.Stock)
		}
		var inv []store.Invoice
		o.app.DB().Where("order_id = ?", acc.Order.ID).Order("number").Find(&inv)
		if len(inv) != 2 || inv[0].Total != 990 || inv[1].Total != -990 || inv[1].Status != "paid" ||
			inv[0].SellerName != "Nimbo Test Provider" || inv[0].IssuerID != "" {
			t.Fatalf("invoices: %+v", inv)
		}
		var got api.Order
		cust.must(200, "GET", "/api/v1/orders/"+acc.Order.ID, nil, &got)
		if got.Status != api.OrderFailed || got.Error == "" {
			t.Fatalf("order after failure: %+v", got)
		}
		if s := o.sub(acc.Subscription.ID); s.Status != api.SubscriptionCancelled {
			t.Fatalf("subscription after failure: %s", s.Status)
		}
		if srv := o.server(acc.Server.ID); srv.DeletedAt == nil {
			t.Fatal("the failed server row is still live")
		}
		// The customer is told by the next pass (the outbox), once.
		rec := &recorder{}
		o.pass(time.Now(), rec)
		o.pass(time.Now(), rec)
		if k := rec.kinds(cust.user.ID); k != "order.provisioning_failed" {
			t.Fatalf("notifications = %q", k)
		}

		// The coupon is usable again, and a successful order activates its subscription.
		acc2 := o.mustOrder(cust, req)
		o.provision(acc2, true)
		var s api.Subscription
		cust.must(200, "GET", "/api/v1/subscriptions/"+acc2.Subscription.ID, nil, &s)
		if s.Status != api.SubscriptionActive || s.WholesalePrice != nil || !s.PeriodEnd.Equal(s.PeriodStart.AddDate(0, 1, 0)) {
			t.Fatalf("subscription after success: %+v", s)
		}
		cust.must(200, "GET", "/api/v1/orders/"+acc2.Order.ID, nil, &got)
		if got.Status != api.OrderActive {
			t.Fatalf("order after success: %s", got.Status)
		}
		if b := o.balance(cust.user.ID, "USD"); b != 4010 {
			t.Fatalf("balance after second order = %d", b)
		}
	})
}

// TestOrderIdempotentReplay: the same key and body replays the first order; the same key
// with another body is a conflict; concurrent duplicates place one order.
func TestOrderIdempotentReplay(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		cust := o.login("ord-replay@example.com", api.RoleCustomer)
		p := o.plan(api.CreatePlanRequest{Name: "Replay S", PriceMonth: 700})
		o.credit(cust.user.ID, "USD", 10_000)
		req := ordReq(p.ID, "replay")
		st, _, first, code := o.order(cust, "k-replay-1", req)
		if st != 201 {
			t.Fatalf("first: %d %s", st, code)
		}
		st, h, again, _ := o.order(cust, "k-replay-1", req)
		if st != 200 || h.Get(api.HeaderIdempotentReplayed) != "true" || again.Order.ID != first.Order.ID ||
			again.Operation.ID != first.Operation.ID || again.Server.ID != first.Server.ID {
			t.Fatalf("replay: %d %v %+v", st, h, again)
		}
		other := req
		other.ServerName = "replay-other"
		if st, _, _, code := o.order(cust, "k-replay-1", other); st != 409 || code != api.CodeConflict {
			t.Fatalf("same key, other body: %d %s", st, code)
		}
		// Ten concurrent requests with one new key: one order.
		fast := cust.pooled(t)
		req2 := ordReq(p.ID, "replay-burst")
		body, _ := json.Marshal(req2)
		type res struct {
			st  int
			err error
		}
		out := make(chan res, 10)
		for i := 0; i < 10; i++ {
			go func() {
				st, _, _, err := fast.post("POST", "/api/v1/orders", "k-replay-burst", string(body))
				out <- res{st, err}
			}()
		}
		created := 0
		for i := 0; i < 10; i++ {
			r := <-out
			if r.err != nil || (r.st != 201 && r.st != 200) {
				t.Fatalf("burst: %d %v", r.st, r.err)
			}
			if r.st == 201 {
				created++
			}
		}
		if created != 1 || o.countWhere("orders", "user_id = ?", cust.user.ID) != 2 {
			t.Fatalf("burst created %d orders (%d in total)", created, o.countWhere("orders", "user_id = ?", cust.user.ID))
		}
		if b := o.balance(cust.user.ID, "USD"); b != 10_000-2*700 {
			t.Fatalf("balance = %d", b)
		}
	})
}

// TestOrderBadInput: invalid requests answer 4xx and write nothing.
func TestOrderBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		cust := o.login("ord-bad@example.com", api.RoleCustomer)
		zero := int64(0)
		p := o.plan(api.CreatePlanRequest{Name: "Bad S", PriceMonth: 1000})
		huge := o.plan(api.CreatePlanRequest{Name: "Bad Huge", PriceMonth: 1_000_000_000_000_000, SetupFee: 1_000_000_000_000_000})
		empty := o.plan(api.CreatePlanRequest{Name: "Bad Empty", PriceMonth: 10, Stock: &zero})
		gone := o.plan(api.CreatePlanRequest{Name: "Bad Gone", PriceMonth: 10})
		free := o.plan(api.CreatePlanRequest{Name: "Bad Free"})
		o.admin.must(200, "DELETE", "/api/v1/admin/plans/"+gone.ID, nil, nil)
		o.coupon(store.Coupon{Code: "EURO5", Kind: "fixed", Value: 500, Currency: "EUR", Active: true})
		o.credit(cust.user.ID, "USD", 500)
		ok := fmt.Sprintf(`{"plan_id":%q,"cycle":"monthly","server_name":"bad","image":"busybox"}`, p.ID)
		cases := []struct {
			name, key, body string
			status          int
			code            string
		}{
			{"no key", "", ok, 400, api.CodeBadIdempotencyKey},
			{"key with space", "a b", ok, 400, api.CodeBadIdempotencyKey},
			{"unknown field", "k1", strings.Replace(ok, `"cycle"`, `"price":-5,"cycle"`, 1), 400, api.CodeInvalidJSON},
			{"number plan", "k2", `{"plan_id":5,"cycle":"monthly","server_name":"bad","image":"busybox"}`, 400, api.CodeInvalidJSON},
			{"overflowing trial flag", "k3", strings.Replace(ok, `"cycle"`, `"trial":99999999999999999999,"cycle"`, 1), 400, api.CodeInvalidJSON},
			{"malformed plan id", "k4", `{"plan_id":"x","cycle":"monthly","server_name":"bad","image":"busybox"}`, 422, api.CodeValidation},
			{"unknown plan", "k5", strings.Replace(ok, p.ID, uuid.NewString(), 1), 404, api.CodeNotFound},
			{"archived plan", "k6", strings.Replace(ok, p.ID, gone.ID, 1), 404, api.CodeNotFound},
			{"weekly", "k7", strings.Replace(ok, "monthly", "weekly", 1), 422, api.CodeValidation},
			{"bad name", "k8", strings.Replace(ok, `"bad"`, `"Bad Name!"`, 1), 422, api.CodeValidation},
			{"hourly trial", "k9", strings.Replace(ok, `"monthly"`, `"hourly","trial":true`, 1), 422, api.CodeValidation},
			{"overflowing price", "k10", strings.Replace(ok, p.ID, huge.ID, 1), 422, api.CodeValidation},
			{"coupon currency", "k11", strings.Replace(ok, `"cycle"`, `"coupon_code":"EURO5","cycle"`, 1), 422, api.CodeCurrencyMismatch},
			{"unknown coupon", "k12", strings.Replace(ok, `"cycle"`, `"coupon_code":"NOPE-NOPE","cycle"`, 1), 422, api.CodeCouponInvalid},
			{"out of stock", "k13", strings.Replace(ok, p.ID, empty.ID, 1), 409, api.CodeOutOfStock},
			{"insufficient funds", "k14", ok, 409, api.CodeInsufficientFunds},
			{"unknown image", "k15", strings.Replace(strings.Replace(ok, `"busybox"`, `"debian-12"`, 1), p.ID, free.ID, 1), 422, api.CodeUnknownImage},
			{"not json", "k16", `plan please`, 400, api.CodeInvalidJSON},
		}
		o.credit(cust.user.ID, "USD", -500) // an empty wallet for "insufficient funds"
		for _, c := range cases {
			st, _, b, err := cust.post("POST", "/api/v1/orders", c.key, c.body)
			if err != nil {
				t.Fatal(err)
			}
			var ae api.Error
			_ = json.Unmarshal(b, &ae)
			if st != c.status || ae.Error.Code != c.code {
				t.Errorf("%s: %d %s, want %d %s", c.name, st, b, c.status, c.code)
			}
		}
		// Wrong content type.
		st, _, _ := cust.do("POST", "/api/v1/orders", raw{ct: "text/plain", body: ok}, nil)
		if st != 400 && st != 415 {
			t.Errorf("text/plain: %d", st)
		}
		for _, table := range []string{"orders", "subscriptions", "servers", "invoices", "coupon_redemptions"} {
			if n := o.count(table); n != 0 {
				t.Errorf("%s has %d rows after refused orders", table, n)
			}
		}
		if got := strings.Join(o.entries(cust.user.ID, "USD"), " "); got != "topup:500 charge:-500" {
			t.Errorf("ledger = %s", got)
		}
		var pl store.Plan
		o.app.DB().Where("id = ?", empty.ID).Take(&pl)
		if *pl.Stock != 0 {
			t.Errorf("stock = %d", *pl.Stock)
		}
		// Quotes validate the same way and write nothing.
		if st, e := cust.errCode("POST", "/api/v1/orders/quote", `{"plan_id":"x","cycle":"monthly"}`); st != 422 || e.Error.Code != api.CodeValidation {
			t.Errorf("bad quote: %d %+v", st, e)
		}
	})
}

// TestOrderCoupons covers percent and fixed coupons, expiry, use limits, once per customer,
// plan restrictions, owner scope and inactive coupons; quotes preview the same discounts.
func TestOrderCoupons(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		a := o.login("ord-cpn-a@example.com", api.RoleCustomer)
		b := o.login("ord-cpn-b@example.com", api.RoleCustomer)
		p := o.plan(api.CreatePlanRequest{Name: "Cpn S", PriceMonth: 2000, SetupFee: 500})
		q := o.plan(api.CreatePlanRequest{Name: "Cpn M", PriceMonth: 4000})
		o.credit(a.user.ID, "USD", 100_000)
		o.credit(b.user.ID, "USD", 100_000)
		past := time.Now().Add(-time.Hour)
		one := int64(1)
		rid := uuid.NewString()
		now := store.Now()
		if err := o.app.DB().Create(&store.User{ID: rid, Email: "ord-cpn-res@example.com", PasswordHash: "x", Role: api.RoleReseller,
			CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			t.Fatal(err)
		}
		planOnly, _ := json.Marshal([]string{q.ID})
		o.coupon(store.Coupon{Code: "PCT25", Kind: "percent", Value: 2500, OncePerCustomer: true, Active: true})
		o.coupon(store.Coupon{Code: "FIX300", Kind: "fixed", Value: 300, Currency: "USD", OncePerCustomer: false, Active: true})
		o.coupon(store.Coupon{Code: "FIXBIG", Kind: "fixed", Value: 999_999, Currency: "USD", OncePerCustomer: false, Active: true})
		o.coupon(store.Coupon{Code: "OLD", Kind: "percent", Value: 1000, ExpiresAt: &past, Active: true})
		o.coupon(store.Coupon{Code: "ONCE", Kind: "percent", Value: 1000, MaxUses: &one, OncePerCustomer: false, Active: true})
		o.coupon(store.Coupon{Code: "MONLY", Kind: "percent", Value: 1000, PlanIDs: string(planOnly), Active: true})
		o.coupon(store.Coupon{Code: "OFF", Kind: "percent", Value: 1000, Active: false})
		o.coupon(store.Coupon{Code: "RESELLER", Kind: "percent", Value: 1000, OwnerID: &rid, Active: true})

		var qt api.OrderQuote
		a.must(200, "POST", "/api/v1/orders/quote", api.QuoteRequest{PlanID: p.ID, Cycle: api.CycleMonthly, CouponCode: "PCT25"}, &qt)
		if qt.Subtotal != 2500 || qt.Discount != 625 || qt.Total != 1875 || !qt.TrialAvailable || qt.TrialDays != 7 {
			t.Fatalf("quote: %+v", qt)
		}
		n := 0
		try := func(c *client, planID, code string) (int, string, api.OrderAccepted) {
			n++
			req := ordReq(planID, fmt.Sprintf("cpn-%d", n))
			req.CouponCode = code
			st, _, acc, ec := o.order(c, fmt.Sprintf("cpn-key-%d", n), req)
			return st, ec, acc
		}
		cases := []struct {
			name     string
			c        *client
			plan     string
			code     string
			status   int
			errCode  string
			discount int64
		}{
			{"percent", a, p.ID, "pct25", 201, "", 625},
			{"percent reused", a, p.ID, "PCT25", 422, api.CodeCouponInvalid, 0},
			{"percent other customer", b, p.ID, "PCT25", 201, "", 625},
			{"fixed", a, p.ID, "FIX300", 201, "", 300},
			{"fixed again (not once per customer)", a, p.ID, "FIX300", 201, "", 300},
			{"fixed above the price", a, p.ID, "FIXBIG", 201, "", 2500},
			{"expired", a, p.ID, "OLD", 422, api.CodeCouponInvalid, 0},
			{"max uses", a, p.ID, "ONCE", 201, "", 250},
			{"max uses reached", b, p.ID, "ONCE", 422, api.CodeCouponInvalid, 0},
			{"wrong plan", a, p.ID, "MONLY", 422, api.CodeCouponInvalid, 0},
			{"right plan", a, q.ID, "MONLY", 201, "", 400},
			{"inactive", a, p.ID, "OFF", 422, api.CodeCouponInvalid, 0},
			{"another owner's", a, p.ID, "RESELLER", 422, api.CodeCouponInvalid, 0},
		}
		for _, c := range cases {
			st, code, acc := try(c.c, c.plan, c.code)
			if st != c.status || code != c.errCode || (st == 201 && acc.Order.Discount != c.discount) {
				t.Errorf("%s: %d %s discount %d, want %d %s %d", c.name, st, code, acc.Order.Discount, c.status, c.errCode, c.discount)
			}
			if st == 201 && acc.Order.Total != acc.Order.Subtotal-acc.Order.Discount {
				t.Errorf("%s: total %d of %d - %d", c.name, acc.Order.Total, acc.Order.Subtotal, acc.Order.Discount)
			}
		}
		if got := o.countWhere("coupon_redemptions", "1 = 1"); got != 7 {
			t.Errorf("%d redemptions, want 7", got)
		}
	})
}

// TestOrderResellerSettlement: a reseller's customer pays the reseller's retail price and the
// reseller's wallet pays the wholesale price in the same transaction; an empty reseller
// wallet refuses the order (409 reseller_insufficient_funds, naming the support address) and
// writes nothing; renewals settle both sides again.
func TestOrderResellerSettlement(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		res := o.loginReseller("ord-res@example.com")
		cust := o.login("ord-res-cust@example.com", api.RoleCustomer)
		now := store.Now()
		if err := o.app.DB().Model(&store.User{}).Where("id = ?", cust.user.ID).Update("reseller_id", res.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := o.app.DB().Create(&store.ResellerProfile{UserID: res.user.ID, BrandName: "Resold Cloud", SupportEmail: "help@resold.test",
			MarkupBP: 5000, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			t.Fatal(err)
		}
		p := o.plan(api.CreatePlanRequest{Name: "Res S", PriceMonth: 1000, SetupFee: 200})
		o.credit(cust.user.ID, "USD", 10_000)

		st, _, _, code := o.order(cust, "res-1", ordReq(p.ID, "res-web"))
		if st != 409 || code != api.CodeResellerFunds {
			t.Fatalf("empty reseller wallet: %d %s", st, code)
		}
		_, _, b, _ := cust.post("POST", "/api/v1/orders", "res-1b", mustJSON(t, ordReq(p.ID, "res-web")))
		if !strings.Contains(string(b), "help@resold.test") {
			t.Errorf("refusal does not name the support address: %s", b)
		}
		for _, table := range []string{"orders", "subscriptions", "servers", "invoices"} {
			if n := o.count(table); n != 0 {
				t.Fatalf("%s has %d rows after the refusal", table, n)
			}
		}
		if got := strings.Join(o.entries(cust.user.ID, "USD"), " "); got != "topup:10000" {
			t.Fatalf("customer ledger after refusal: %s", got)
		}

		o.credit(res.user.ID, "USD", 1500)
		acc := o.mustOrder(cust, ordReq(p.ID, "res-web"))
		// Retail = +50 %: 1500 + 300 setup; wholesale 1200.
		if acc.Order.Total != 1800 || acc.Subscription.Price != 1500 || acc.Subscription.ResellerID != res.user.ID {
			t.Fatalf("order: %+v", acc)
		}
		if c, r := o.balance(cust.user.ID, "USD"), o.balance(res.user.ID, "USD"); c != 8200 || r != 300 {
			t.Fatalf("balances after order: customer %d reseller %d", c, r)
		}
		var inv store.Invoice
		o.app.DB().Where("order_id = ?", acc.Order.ID).Take(&inv)
		if inv.IssuerID != res.user.ID || inv.SellerName != "Resold Cloud" || inv.SellerEmail != "help@resold.test" || inv.Total != 1800 {
			t.Fatalf("invoice: %+v", inv)
		}
		o.provision(acc, true)
		// The reseller sees the subscription with its wholesale price; the customer does not.
		var rs api.Subscription
		res.must(200, "GET", "/api/v1/subscriptions/"+acc.Subscription.ID, nil, &rs)
		if rs.WholesalePrice == nil || *rs.WholesalePrice != 1000 {
			t.Fatalf("reseller view: %+v", rs)
		}
		// Renewal: the reseller cannot pay the wholesale month (300 left) → unpaid; after a
		// top-up of the reseller, Settle (for the reseller) renews.
		pe := o.sub(acc.Subscription.ID).PeriodEnd
		if s := o.pass(pe, nil); s.Renewed != 0 || s.Unpaid != 1 {
			t.Fatalf("pass with an empty reseller wallet: %+v", s)
		}
		if c := o.balance(cust.user.ID, "USD"); c != 8200 {
			t.Fatalf("the customer was charged while the reseller could not pay: %d", c)
		}
		o.credit(res.user.ID, "USD", 1000)
		if err := o.app.Orders().Engine().Settle(context.Background(), res.user.ID, pe.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if c, r := o.balance(cust.user.ID, "USD"), o.balance(res.user.ID, "USD"); c != 6700 || r != 300 {
			t.Fatalf("balances after renewal: customer %d reseller %d", c, r)
		}
		if got := strings.Join(o.entries(res.user.ID, "USD"), " "); got != "topup:1500 settlement:-1200 topup:1000 settlement:-1000" {
			t.Fatalf("reseller ledger: %s", got)
		}
		if s := o.sub(acc.Subscription.ID); !s.PeriodEnd.Equal(pe.AddDate(0, 1, 0)) || s.Status != api.SubscriptionActive {
			t.Fatalf("after renewal: %s %s", s.Status, s.PeriodEnd)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOrderEmailVerificationRequired: with mail.require_verification, an unverified
// account cannot order (403) and nothing is written.
func TestOrderEmailVerificationRequired(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db, func(c *config.Config) { c.Mail.RequireVerification = true })
		cust := o.login("ord-unverified@example.com", api.RoleCustomer)
		if err := o.app.DB().Model(&store.User{}).Where("id = ?", cust.user.ID).Update("email_verified_at", nil).Error; err != nil {
			t.Fatal(err)
		}
		p := o.plan(api.CreatePlanRequest{Name: "Verify S", PriceMonth: 10})
		o.credit(cust.user.ID, "USD", 100)
		if st, _, _, code := o.order(cust, "verify-1", ordReq(p.ID, "verify")); st != 403 || code != api.CodeEmailNotVerified {
			t.Fatalf("unverified: %d %s", st, code)
		}
		if o.count("orders") != 0 || o.balance(cust.user.ID, "USD") != 100 {
			t.Fatal("a refused order wrote something")
		}
		if err := o.app.DB().Model(&store.User{}).Where("id = ?", cust.user.ID).Update("email_verified_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		o.mustOrder(cust, ordReq(p.ID, "verify"))
	})
}
