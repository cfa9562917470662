package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/proration"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// rzPeriodStart is the start of the monthly period of the subscriptions of these tests; the
// period is 30 days long.
var rzPeriodStart = time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC)

const rzPeriod = 30 * 24 * time.Hour

// rzWorld is a node, an admin, and helpers to insert plans, servers and subscriptions
// directly through the store.
type rzWorld struct {
	e     *env
	admin *client
	node  *fakeNode
}

func newRzWorld(t *testing.T, db testenv.Database) *rzWorld {
	e := newEnv(t, db)
	admin := e.login("rz-admin@example.com", api.RoleAdmin)
	return &rzWorld{e: e, admin: admin, node: e.addNode(admin, "rz-node", defaultHeartbeat())}
}

// clockAt sets the proration clock to the period start plus d.
func (w *rzWorld) clockAt(d time.Duration) {
	at := rzPeriodStart.Add(d)
	w.e.app.Resizes().SetClock(func() time.Time { return at })
}

func (w *rzWorld) create(v any) {
	w.e.t.Helper()
	if err := w.e.app.DB().Create(v).Error; err != nil {
		w.e.t.Fatalf("insert %T: %v", v, err)
	}
}

// plan inserts an active plan priced per month (and 1/700 of it per hour).
func (w *rzWorld) plan(name, typ, currency string, cpu int, mem, disk, month int64, stock *int64) store.Plan {
	now := store.Now()
	p := store.Plan{ID: uuid.NewString(), Name: name, Type: typ, CPU: cpu, MemoryMiB: mem, DiskMiB: disk,
		PriceMonth: month, PriceHour: month / 700, Currency: currency, Stock: stock, Active: true, CreatedAt: now, UpdatedAt: now}
	w.create(&p)
	return p
}

// subscribe inserts a running server of plan for owner and its subscription.
func (w *rzWorld) subscribe(owner api.User, p store.Plan, status, cycle string, price, wholesale int64, resellerID *string) (store.Server, store.Subscription) {
	now := store.Now()
	id := uuid.NewString()
	name := "rz-" + strings.ReplaceAll(id, "-", "")[:10]
	srv := store.Server{ID: id, OwnerID: owner.ID, NodeID: w.node.id, Name: name, IncusName: name, Type: p.Type,
		Image: "busybox", CPU: p.CPU, MemoryMiB: p.MemoryMiB, DiskMiB: p.DiskMiB, Status: api.StatusRunning,
		CreatedAt: now, UpdatedAt: now}
	w.create(&srv)
	sub := store.Subscription{ID: uuid.NewString(), UserID: owner.ID, ResellerID: resellerID, PlanID: p.ID, ServerID: &srv.ID,
		Cycle: cycle, Status: status, Currency: p.Currency, Price: price, WholesalePrice: wholesale, CPU: p.CPU,
		MemoryMiB: p.MemoryMiB, DiskMiB: p.DiskMiB, AutoRenew: true, PeriodStart: rzPeriodStart,
		PeriodEnd: rzPeriodStart.Add(rzPeriod), CreatedAt: now, UpdatedAt: now}
	if status == "trial" {
		end := rzPeriodStart.Add(7 * 24 * time.Hour)
		sub.TrialEndsAt = &end
	}
	w.create(&sub)
	return srv, sub
}

// reseller logs in a new account and makes it a reseller (accounts are created as customers).
func (w *rzWorld) reseller(email string) *client {
	w.e.t.Helper()
	c := w.e.login(email, api.RoleCustomer)
	if err := w.e.app.DB().Model(&store.User{}).Where("id = ?", c.user.ID).Update("role", api.RoleReseller).Error; err != nil {
		w.e.t.Fatal(err)
	}
	w.e.app.Auth().DropCachedUser(c.user.ID)
	c.user.Role = api.RoleReseller
	return c
}

func (w *rzWorld) topup(userID, currency string, amount int64) {
	w.e.t.Helper()
	_, err := w.e.app.Billing().Post(context.Background(), billing.PostRequest{UserID: userID, Currency: currency,
		Kind: api.EntryTopup, Amount: amount, IdempotencyKey: "rz-topup-" + uuid.NewString(), ActorID: "rz-test"})
	if err != nil {
		w.e.t.Fatalf("top up: %v", err)
	}
}

func (w *rzWorld) balance(userID, currency string) int64 {
	w.e.t.Helper()
	var wl store.Wallet
	err := w.e.app.DB().Where("user_id = ? AND currency = ?", userID, currency).Take(&wl).Error
	if store.IsNotFound(err) {
		return 0
	}
	if err != nil {
		w.e.t.Fatal(err)
	}
	return wl.Balance
}

func (w *rzWorld) sub(id string) store.Subscription {
	w.e.t.Helper()
	var s store.Subscription
	if err := w.e.app.DB().Where("id = ?", id).Take(&s).Error; err != nil {
		w.e.t.Fatal(err)
	}
	return s
}

func (w *rzWorld) server(id string) store.Server {
	w.e.t.Helper()
	var s store.Server
	if err := w.e.app.DB().Where("id = ?", id).Take(&s).Error; err != nil {
		w.e.t.Fatal(err)
	}
	return s
}

func (w *rzWorld) change(id string) proration.Change {
	w.e.t.Helper()
	var c proration.Change
	if err := w.e.app.DB().Where("id = ?", id).Take(&c).Error; err != nil {
		w.e.t.Fatal(err)
	}
	return c
}

func (w *rzWorld) invoice(id string) (store.Invoice, []store.InvoiceLine) {
	w.e.t.Helper()
	var inv store.Invoice
	if err := w.e.app.DB().Where("id = ?", id).Take(&inv).Error; err != nil {
		w.e.t.Fatal(err)
	}
	var lines []store.InvoiceLine
	if err := w.e.app.DB().Where("invoice_id = ?", id).Order("position").Find(&lines).Error; err != nil {
		w.e.t.Fatal(err)
	}
	return inv, lines
}

// snapshot counts the rows a plan change writes.
func (w *rzWorld) snapshot() string {
	return fmt.Sprint(w.e.count("operations"), w.e.count("server_resizes"), w.e.count("subscription_changes"),
		w.e.count("invoices"), w.e.count("ledger_entries"))
}

// rzPost posts body (JSON-encoded unless a string) to path with an idempotency key.
func rzPost(c *client, path, key string, body any) (int, http.Header, []byte) {
	c.e.t.Helper()
	b, ok := body.(string)
	if !ok {
		j, err := json.Marshal(body)
		if err != nil {
			c.e.t.Fatal(err)
		}
		b = string(j)
	}
	req, err := http.NewRequest("POST", c.e.base+path, strings.NewReader(b))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(api.HeaderIdempotencyKey, key)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "nimbo_session", Value: c.cookie})
	}
	resp, err := c.e.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// rzResize posts a plan change with an idempotency key.
func rzResize(c *client, subID, planID, key string) (int, http.Header, []byte, api.SubscriptionChange) {
	c.e.t.Helper()
	var out api.SubscriptionChange
	st, h, b := rzPost(c, "/api/v1/subscriptions/"+subID+"/resize", key, api.ResizeSubscriptionRequest{PlanID: planID})
	if st < 300 {
		if err := json.Unmarshal(b, &out); err != nil {
			c.e.t.Fatalf("decode %s: %v", b, err)
		}
	}
	return st, h, b, out
}

// rzMust posts a plan change and fails unless the answer has status want.
func rzMust(c *client, want int, subID, planID, key string) api.SubscriptionChange {
	c.e.t.Helper()
	st, _, b, out := rzResize(c, subID, planID, key)
	if st != want {
		c.e.t.Fatalf("resize subscription: %d %s, want %d", st, b, want)
	}
	return out
}

// rzErr posts a plan change and returns the status and the error code.
func rzErr(c *client, subID, planID, key string) (int, string) {
	c.e.t.Helper()
	st, _, b, _ := rzResize(c, subID, planID, key)
	var e api.Error
	if st >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			c.e.t.Fatalf("error body %s: %v", b, err)
		}
	}
	return st, e.Error.Code
}

func TestResizeSubscriptionUpgradeProratesAndApplies(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		cust := w.e.login("rz-up@example.com", api.RoleCustomer)
		five := int64(5)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, &five)
		srv, sub := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		w.topup(cust.user.ID, "USD", 5000)
		w.clockAt(rzPeriod / 2)

		ch := rzMust(cust, 202, sub.ID, large.ID, "rz-up-1")
		// Half the period is left: half the difference of 2000, exactly.
		if ch.Amount != 1000 || ch.Price != 3000 || ch.RemainingSeconds != int64(rzPeriod/2/time.Second) ||
			ch.PeriodSeconds != int64(rzPeriod/time.Second) || ch.Status != api.ChangePending || ch.FromPlanID != small.ID ||
			ch.ToPlanID != large.ID || ch.Cycle != "monthly" || ch.InvoiceID == "" || ch.Operation.Kind != api.OpInstanceResize ||
			ch.Operation.Status != api.OpPending || ch.Operation.ServerID != srv.ID {
			t.Fatalf("change = %+v", ch)
		}
		if got := w.balance(cust.user.ID, "USD"); got != 4000 {
			t.Fatalf("balance after upgrade = %d, want 4000", got)
		}
		var entry store.LedgerEntry
		if err := w.e.app.DB().Where("idempotency_key = ?", "resize:"+sub.ID+":rz-up-1").Take(&entry).Error; err != nil {
			t.Fatal(err)
		}
		if entry.Kind != api.EntryCharge || entry.Amount != -1000 || entry.ActorID != cust.user.ID {
			t.Fatalf("ledger entry = %+v", entry)
		}
		inv, lines := w.invoice(ch.InvoiceID)
		if inv.Status != "paid" || inv.Total != 1000 || inv.IssuerID != "" || inv.UserID != cust.user.ID ||
			inv.SubscriptionID == nil || *inv.SubscriptionID != sub.ID || len(lines) != 1 ||
			lines[0].Description != "Upgrade from Small to Large, 15 days (prorated)" || lines[0].Amount != 1000 {
			t.Fatalf("invoice = %+v lines %+v", inv, lines)
		}
		// The subscription has its new terms; the stock moved; the server keeps its size
		// until the resize succeeds.
		s := w.sub(sub.ID)
		if s.PlanID != large.ID || s.Price != 3000 || s.CPU != 2 || s.MemoryMiB != 1024 || s.DiskMiB != 4096 {
			t.Fatalf("subscription = %+v", s)
		}
		var lp store.Plan
		if err := w.e.app.DB().Where("id = ?", large.ID).Take(&lp).Error; err != nil || *lp.Stock != 4 {
			t.Fatalf("large plan stock = %v (%v), want 4", lp.Stock, err)
		}
		var got api.Server
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &got)
		if got.CPU != 1 || got.MemoryMiB != 512 || got.DiskMiB != 2048 {
			t.Fatalf("server before the resize finished = %+v, want the old size", got)
		}
		// The task on the node's queue carries the new size.
		info, err := w.e.insp.GetTaskInfo(jobs.Queue(w.node.id), ch.Operation.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := jobs.DecodeInstanceResize(info.Payload)
		if err != nil || info.Type != jobs.TypeInstanceResize || p.CPU != 2 || p.MemoryMiB != 1024 || p.DiskMiB != 4096 ||
			p.InstanceID != srv.ID || p.IncusName != srv.IncusName {
			t.Fatalf("task %s payload %+v (%v)", info.Type, p, err)
		}

		// The same key and body replay the change; nothing more is written.
		before := w.snapshot()
		st, h, b, again := rzResize(cust, sub.ID, large.ID, "rz-up-1")
		if st != 200 || h.Get(api.HeaderIdempotentReplayed) != "true" || again.ID != ch.ID || again.Amount != 1000 || again.Operation.ID != ch.Operation.ID {
			t.Fatalf("replay: %d %v %s", st, h, b)
		}
		// The same key with another plan is a conflict; another change while the resize runs too.
		if st, code := rzErr(cust, sub.ID, small.ID, "rz-up-1"); st != 409 || code != api.CodeConflict {
			t.Fatalf("key reused with another plan: %d %s", st, code)
		}
		if st, code := rzErr(cust, sub.ID, small.ID, "rz-up-2"); st != 409 || code != api.CodeConflict {
			t.Fatalf("change while resizing: %d %s", st, code)
		}
		if after := w.snapshot(); after != before || w.balance(cust.user.ID, "USD") != 4000 {
			t.Fatalf("rows %s → %s, balance %d: a replay or a refused change wrote something", before, after, w.balance(cust.user.ID, "USD"))
		}

		// The node reports success: the server takes the new size, the change is applied.
		w.node.result(ch.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &got)
		if got.CPU != 2 || got.MemoryMiB != 1024 || got.DiskMiB != 4096 || got.Status != api.StatusRunning {
			t.Fatalf("server after the resize = %+v", got)
		}
		if c := w.change(ch.ID); c.Status != api.ChangeApplied || c.CreditInvoiceID != nil {
			t.Fatalf("change after success = %+v", c)
		}
		if got := w.balance(cust.user.ID, "USD"); got != 4000 {
			t.Fatalf("balance after success = %d, want 4000", got)
		}
	})
}

func TestResizeSubscriptionDowngradeCreditsOnSuccess(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		cust := w.e.login("rz-down@example.com", api.RoleCustomer)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, nil)
		srv, sub := w.subscribe(cust.user, large, "active", "monthly", 3000, 0, nil)
		w.topup(cust.user.ID, "USD", 100)
		w.clockAt(20 * 24 * time.Hour) // 10 of 30 days left

		ch := rzMust(cust, 202, sub.ID, small.ID, "rz-down-1")
		// −2000 × 10/30 = −666.67, rounded half away from zero.
		if ch.Amount != -667 || ch.InvoiceID != "" || ch.Price != 1000 {
			t.Fatalf("change = %+v", ch)
		}
		if got := w.balance(cust.user.ID, "USD"); got != 100 {
			t.Fatalf("balance before the resize succeeded = %d, want 100 (credits come on delivery)", got)
		}
		w.node.result(ch.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		if got := w.balance(cust.user.ID, "USD"); got != 767 {
			t.Fatalf("balance after the downgrade = %d, want 767", got)
		}
		var entry store.LedgerEntry
		if err := w.e.app.DB().Where("idempotency_key = ?", "resize:"+sub.ID+":rz-down-1").Take(&entry).Error; err != nil {
			t.Fatal(err)
		}
		if entry.Kind != api.EntryRefund || entry.Amount != 667 || entry.ActorID != billing.ActorSystem {
			t.Fatalf("credit entry = %+v", entry)
		}
		c := w.change(ch.ID)
		if c.Status != api.ChangeApplied || c.CreditInvoiceID == nil {
			t.Fatalf("change = %+v", c)
		}
		inv, lines := w.invoice(*c.CreditInvoiceID)
		if inv.Total != -667 || len(lines) != 1 || lines[0].Description != "Downgrade from Large to Small, 10 days (prorated credit)" {
			t.Fatalf("credit invoice = %+v %+v", inv, lines)
		}
		if s := w.server(srv.ID); s.CPU != 1 || s.MemoryMiB != 512 || s.DiskMiB != 2048 {
			t.Fatalf("server after downgrade = %+v", s)
		}
		// Replaying the request after the change settled still answers it, applied.
		st, _, _, again := rzResize(cust, sub.ID, small.ID, "rz-down-1")
		if st != 200 || again.Status != api.ChangeApplied || again.Operation.Status != api.OpSuccess {
			t.Fatalf("replay after success: %d %+v", st, again)
		}
	})
}

func TestResizeSubscriptionFailedResizeRefunds(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		cust := w.e.login("rz-fail@example.com", api.RoleCustomer)
		two, three := int64(2), int64(3)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, &two)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, &three)
		srv, sub := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		w.topup(cust.user.ID, "USD", 5000)
		w.clockAt(rzPeriod / 2)

		ch := rzMust(cust, 202, sub.ID, large.ID, "rz-fail-1")
		if w.balance(cust.user.ID, "USD") != 4000 {
			t.Fatalf("balance after upgrade = %d", w.balance(cust.user.ID, "USD"))
		}
		w.node.result(ch.Operation.ID, dapi.Result{Status: api.OpFailure, Error: "disk quota not supported"})

		s := w.server(srv.ID)
		if s.CPU != 1 || s.MemoryMiB != 512 || s.DiskMiB != 2048 || s.Status != api.StatusRunning {
			t.Fatalf("server after a failed resize = %+v, want the old size, running", s)
		}
		if got := w.balance(cust.user.ID, "USD"); got != 5000 {
			t.Fatalf("balance after the refund = %d, want 5000", got)
		}
		sb := w.sub(sub.ID)
		if sb.PlanID != small.ID || sb.Price != 1000 || sb.CPU != 1 || sb.MemoryMiB != 512 || sb.DiskMiB != 2048 {
			t.Fatalf("subscription after a failed resize = %+v, want its old terms", sb)
		}
		c := w.change(ch.ID)
		if c.Status != api.ChangeReverted || c.CreditInvoiceID == nil {
			t.Fatalf("change = %+v", c)
		}
		inv, lines := w.invoice(*c.CreditInvoiceID)
		if inv.Total != -1000 || len(lines) != 1 || !strings.HasPrefix(lines[0].Description, "Refund: the resize failed") {
			t.Fatalf("credit note = %+v %+v", inv, lines)
		}
		for _, p := range []struct {
			id   string
			want int64
		}{{small.ID, 2}, {large.ID, 3}} {
			var pl store.Plan
			if err := w.e.app.DB().Where("id = ?", p.id).Take(&pl).Error; err != nil || *pl.Stock != p.want {
				t.Fatalf("stock of %s = %v, want %d", p.id, pl.Stock, p.want)
			}
		}
		// A late duplicate result changes nothing (the operation is finished).
		w.node.result(ch.Operation.ID, dapi.Result{Status: api.OpFailure, Error: "again"})
		if got := w.balance(cust.user.ID, "USD"); got != 5000 {
			t.Fatalf("balance after a duplicate result = %d", got)
		}
	})
}

func TestResizeSubscriptionRefusalsWriteNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		ctx := context.Background()
		cust := w.e.login("rz-poor@example.com", api.RoleCustomer)
		zero := int64(0)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, nil)
		soldOut := w.plan("Sold out", api.TypeContainer, "USD", 2, 1024, 4096, 3000, &zero)
		euro := w.plan("Euro", api.TypeContainer, "EUR", 2, 1024, 4096, 3000, nil)
		vm := w.plan("VM", api.TypeVM, "USD", 2, 1024, 4096, 3000, nil)
		archived := w.plan("Old", api.TypeContainer, "USD", 2, 1024, 4096, 3000, nil)
		if err := w.e.app.DB().Model(&store.Plan{}).Where("id = ?", archived.ID).Update("archived_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		huge := w.plan("Huge", api.TypeContainer, "USD", 64, 1<<20, 4096, 3000, nil)
		_, sub := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		_, trial := w.subscribe(cust.user, small, "trial", "monthly", 1000, 0, nil)
		_, suspended := w.subscribe(cust.user, small, "suspended", "monthly", 1000, 0, nil)
		w.topup(cust.user.ID, "USD", 100)
		w.clockAt(rzPeriod / 2)

		tests := []struct {
			name, sub, plan, key string
			status               int
			code                 string
		}{
			{"insufficient funds", sub.ID, large.ID, "rz-k1", 409, api.CodeInsufficientFunds},
			{"out of stock", sub.ID, soldOut.ID, "rz-k2", 409, api.CodeOutOfStock},
			{"other currency", sub.ID, euro.ID, "rz-k3", 422, api.CodeCurrencyMismatch},
			{"other instance type", sub.ID, vm.ID, "rz-k4", 422, api.CodeValidation},
			{"archived plan", sub.ID, archived.ID, "rz-k5", 422, api.CodeValidation},
			{"unknown plan", sub.ID, uuid.NewString(), "rz-k6", 422, api.CodeValidation},
			{"malformed plan id", sub.ID, "nope", "rz-k7", 422, api.CodeValidation},
			{"the current plan", sub.ID, small.ID, "rz-k8", 422, api.CodeValidation},
			{"no room on the node", sub.ID, huge.ID, "rz-k9", 409, api.CodeNoCapacity},
			{"a trial", trial.ID, large.ID, "rz-k10", 409, api.CodeConflict},
			{"a suspended subscription", suspended.ID, large.ID, "rz-k11", 409, api.CodeConflict},
			{"unknown subscription", uuid.NewString(), large.ID, "rz-k12", 404, api.CodeNotFound},
			{"no idempotency key", sub.ID, large.ID, "", 400, api.CodeBadIdempotencyKey},
			{"a key too long", sub.ID, large.ID, strings.Repeat("k", api.MaxResizeKeyLength+1), 400, api.CodeBadIdempotencyKey},
		}
		before := w.snapshot()
		for _, tt := range tests {
			if st, code := rzErr(cust, tt.sub, tt.plan, tt.key); st != tt.status || code != tt.code {
				t.Errorf("%s: %d %s, want %d %s", tt.name, st, code, tt.status, tt.code)
			}
		}
		// Unknown fields and bad JSON are refused too.
		for _, body := range []string{`{"plan_id":"` + large.ID + `","extra":1}`, `{"plan_id":`, `[]`} {
			st, _, b := rzPost(cust, "/api/v1/subscriptions/"+sub.ID+"/resize", "rz-json", body)
			if st != 400 {
				t.Errorf("body %s: %d %s, want 400", body, st, b)
			}
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("rows %s → %s: a refused change wrote something", before, after)
		}
		if s := w.sub(sub.ID); s.PlanID != small.ID || s.Price != 1000 || s.CPU != 1 {
			t.Fatalf("subscription changed: %+v", s)
		}
		if w.balance(cust.user.ID, "USD") != 100 {
			t.Fatal("balance changed")
		}
		var so store.Plan
		if err := w.e.app.DB().WithContext(ctx).Where("id = ?", soldOut.ID).Take(&so).Error; err != nil || *so.Stock != 0 {
			t.Fatalf("sold-out stock = %v (%v)", so.Stock, err)
		}
		// After a top-up, the same key goes through: a refusal does not burn the key.
		w.topup(cust.user.ID, "USD", 900)
		if ch := rzMust(cust, 202, sub.ID, large.ID, "rz-k1"); ch.Amount != 1000 {
			t.Fatalf("after top-up: %+v", ch)
		}
		if got := w.balance(cust.user.ID, "USD"); got != 0 {
			t.Fatalf("balance = %d, want 0", got)
		}
	})
}

func TestResizeSubscriptionHourlyIsNotProrated(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		cust := w.e.login("rz-hourly@example.com", api.RoleCustomer)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 7000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 14000, nil)
		_, sub := w.subscribe(cust.user, small, "active", "hourly", 10, 0, nil)
		w.clockAt(rzPeriod / 2)
		before := w.e.count("ledger_entries") + w.e.count("invoices")
		ch := rzMust(cust, 202, sub.ID, large.ID, "rz-hourly-1")
		if ch.Amount != 0 || ch.Price != 20 || ch.Cycle != "hourly" || ch.InvoiceID != "" {
			t.Fatalf("hourly change = %+v", ch)
		}
		if s := w.sub(sub.ID); s.Price != 20 || s.PlanID != large.ID {
			t.Fatalf("subscription = %+v", s)
		}
		if after := w.e.count("ledger_entries") + w.e.count("invoices"); after != before {
			t.Fatalf("an hourly change moved money: %d → %d rows", before, after)
		}
	})
}

func TestResizeSubscriptionWho(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		owner := w.e.login("rz-owner@example.com", api.RoleCustomer)
		other := w.e.login("rz-other@example.com", api.RoleCustomer)
		stranger := w.reseller("rz-reseller@example.com")
		onlySettings := w.e.login("rz-settings@example.com", api.RoleCustomer)
		both := w.e.login("rz-both@example.com", api.RoleCustomer)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, nil)
		srv, sub := w.subscribe(owner.user, small, "active", "monthly", 1000, 0, nil)
		w.topup(owner.user.ID, "USD", 10000)
		w.clockAt(rzPeriod / 2)
		now := store.Now()
		w.create(&store.ServerMember{ServerID: srv.ID, UserID: onlySettings.user.ID, Permissions: "power settings", CreatedBy: owner.user.ID, CreatedAt: now, UpdatedAt: now})
		w.create(&store.ServerMember{ServerID: srv.ID, UserID: both.user.ID, Permissions: "settings billing", CreatedBy: owner.user.ID, CreatedAt: now, UpdatedAt: now})

		before := w.snapshot()
		for i, tt := range []struct {
			name   string
			c      *client
			status int
			code   string
		}{
			{"another customer", other, 404, api.CodeNotFound},
			{"a reseller of other customers", stranger, 404, api.CodeNotFound},
			{"a sub-user without billing", onlySettings, 403, api.CodeForbidden},
		} {
			if st, code := rzErr(tt.c, sub.ID, large.ID, fmt.Sprintf("rz-who-%d", i)); st != tt.status || code != tt.code {
				t.Errorf("%s: %d %s, want %d %s", tt.name, st, code, tt.status, tt.code)
			}
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("rows %s → %s after refused callers", before, after)
		}
		// A sub-user with settings and billing may; the owner pays.
		ch := rzMust(both, 202, sub.ID, large.ID, "rz-who-both")
		if ch.Amount != 1000 || w.balance(owner.user.ID, "USD") != 9000 || w.balance(both.user.ID, "USD") != 0 {
			t.Fatalf("sub-user change %+v; owner balance %d", ch, w.balance(owner.user.ID, "USD"))
		}
		w.node.result(ch.Operation.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		// An admin may too (back to small: a credit on delivery).
		ch = rzMust(w.admin, 202, sub.ID, small.ID, "rz-who-admin")
		if ch.Amount != -1000 {
			t.Fatalf("admin change %+v", ch)
		}
		// The admin's direct resize route is not for customers.
		if st, e := owner.errCode("POST", "/api/v1/servers/"+srv.ID+"/resize", api.ResizeServerRequest{CPU: 2, MemoryMiB: 512, DiskMiB: 2048}); st != 403 || e.Error.Code != api.CodeForbidden {
			t.Fatalf("customer direct resize: %d %+v", st, e)
		}
	})
}

func TestResizeSubscriptionOfResellerCustomer(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		res := w.reseller("rz-res@example.com")
		cust := w.e.login("rz-rescust@example.com", api.RoleCustomer)
		if err := w.e.app.DB().Model(&store.User{}).Where("id = ?", cust.user.ID).Update("reseller_id", res.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		quota := int64(1)
		now := store.Now()
		prof := store.ResellerProfile{UserID: res.user.ID, BrandName: "Res Hosting", SupportEmail: "help@res.example",
			MarkupBP: 5000, QuotaCPU: &quota, CreatedAt: now, UpdatedAt: now}
		w.create(&prof)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, nil)
		rid := res.user.ID
		srv, sub := w.subscribe(cust.user, small, "active", "monthly", 1500, 1000, &rid)
		w.topup(cust.user.ID, "USD", 10000)
		w.clockAt(rzPeriod / 2)

		before := w.snapshot()
		// Growing beyond the reseller's CPU quota (1, used by this server) is refused.
		if st, code := rzErr(cust, sub.ID, large.ID, "rz-res-1"); st != 409 || code != api.CodeQuotaExceeded {
			t.Fatalf("beyond quota: %d %s", st, code)
		}
		quota = 2
		if err := w.e.app.DB().Model(&store.ResellerProfile{}).Where("user_id = ?", res.user.ID).Update("quota_cpu", quota).Error; err != nil {
			t.Fatal(err)
		}
		// Within quota, but the reseller's wallet cannot pay its wholesale share.
		if st, code := rzErr(cust, sub.ID, large.ID, "rz-res-1"); st != 409 || code != api.CodeResellerFunds {
			t.Fatalf("empty reseller wallet: %d %s", st, code)
		}
		if after := w.snapshot(); after != before || w.balance(cust.user.ID, "USD") != 10000 {
			t.Fatalf("rows %s → %s, customer balance %d: a refused change wrote something", before, after, w.balance(cust.user.ID, "USD"))
		}
		// Funded, the reseller makes the change for its customer: the customer pays half of
		// the retail difference (4500 − 1500), the reseller half of the wholesale one.
		w.topup(res.user.ID, "USD", 5000)
		ch := rzMust(res, 202, sub.ID, large.ID, "rz-res-1")
		if ch.Amount != 1500 || ch.Price != 4500 {
			t.Fatalf("change = %+v", ch)
		}
		if c, r := w.balance(cust.user.ID, "USD"), w.balance(res.user.ID, "USD"); c != 8500 || r != 4000 {
			t.Fatalf("balances customer %d reseller %d, want 8500 and 4000", c, r)
		}
		inv, lines := w.invoice(ch.InvoiceID)
		if inv.IssuerID != res.user.ID || inv.SellerName != "Res Hosting" || inv.SellerEmail != "help@res.example" ||
			inv.BuyerEmail != "rz-rescust@example.com" || inv.Total != 1500 || len(lines) != 1 {
			t.Fatalf("invoice = %+v", inv)
		}
		if s := w.sub(sub.ID); s.Price != 4500 || s.WholesalePrice != 3000 {
			t.Fatalf("subscription = %+v", s)
		}
		// A failed resize gives both their money back.
		w.node.result(ch.Operation.ID, dapi.Result{Status: api.OpFailure, Error: "no"})
		if c, r := w.balance(cust.user.ID, "USD"), w.balance(res.user.ID, "USD"); c != 10000 || r != 5000 {
			t.Fatalf("after failure: customer %d reseller %d, want 10000 and 5000", c, r)
		}
		if s := w.server(srv.ID); s.CPU != 1 {
			t.Fatalf("server = %+v", s)
		}
	})
}

func TestResizeServerByAdmin(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		cust := w.e.login("rz-adm-cust@example.com", api.RoleCustomer)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		srv, _ := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		path := "/api/v1/servers/" + srv.ID + "/resize"
		before := w.snapshot()
		for _, tt := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"zero cpu", api.ResizeServerRequest{CPU: 0, MemoryMiB: 512, DiskMiB: 2048}, 422, api.CodeValidation},
			{"too little memory", api.ResizeServerRequest{CPU: 1, MemoryMiB: 1, DiskMiB: 2048}, 422, api.CodeValidation},
			{"too much disk", api.ResizeServerRequest{CPU: 1, MemoryMiB: 512, DiskMiB: jobs.MaxDiskMiB + 1}, 422, api.CodeValidation},
			// The node has 4 CPUs (×4 overcommit), 8 GiB and 100 GiB.
			{"more cpu than the node", api.ResizeServerRequest{CPU: 17, MemoryMiB: 512, DiskMiB: 2048}, 409, api.CodeNoCapacity},
			{"more memory than the node", api.ResizeServerRequest{CPU: 1, MemoryMiB: 8193, DiskMiB: 2048}, 409, api.CodeNoCapacity},
			{"unknown field", `{"cpu":2,"memory_mib":512,"disk_mib":2048,"gpu":1}`, 400, api.CodeInvalidJSON},
		} {
			if st, e := w.admin.errCode("POST", path, tt.body); st != tt.status || e.Error.Code != tt.code {
				t.Errorf("%s: %d %+v, want %d %s", tt.name, st, e, tt.status, tt.code)
			}
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("rows %s → %s after refused admin resizes", before, after)
		}
		if st, e := w.admin.errCode("POST", "/api/v1/servers/"+uuid.NewString()+"/resize", api.ResizeServerRequest{CPU: 1, MemoryMiB: 512, DiskMiB: 2048}); st != 404 {
			t.Errorf("unknown server: %d %+v", st, e)
		}
		// A server on a node whose daemon predates resizing cannot be resized.
		oldHB := defaultHeartbeat()
		oldHB.JobTypes = []string{jobs.TypeInstanceCreate, jobs.TypeInstanceStart, jobs.TypeInstanceStop,
			jobs.TypeInstanceRestart, jobs.TypeInstanceDelete}
		oldNode := w.e.addNode(w.admin, "rz-old-node", oldHB)
		onOld, _ := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		if err := w.e.app.DB().Model(&store.Server{}).Where("id = ?", onOld.ID).Update("node_id", oldNode.id).Error; err != nil {
			t.Fatal(err)
		}
		before = w.snapshot()
		if st, e := w.admin.errCode("POST", "/api/v1/servers/"+onOld.ID+"/resize", api.ResizeServerRequest{CPU: 1, MemoryMiB: 256, DiskMiB: 2048}); st != 409 || e.Error.Code != api.CodeConflict {
			t.Errorf("resize on an old daemon: %d %+v", st, e)
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("rows %s → %s after refusals", before, after)
		}
		// The whole node (the server's current size counted as freed) fits.
		var op api.Operation
		w.admin.must(202, "POST", path, api.ResizeServerRequest{CPU: 16, MemoryMiB: 8192, DiskMiB: 100 * 1024}, &op)
		if op.Kind != api.OpInstanceResize || op.Status != api.OpPending || op.ServerID != srv.ID {
			t.Fatalf("operation = %+v", op)
		}
		if st, e := w.admin.errCode("POST", path, api.ResizeServerRequest{CPU: 2, MemoryMiB: 512, DiskMiB: 2048}); st != 409 || e.Error.Code != api.CodeConflict {
			t.Fatalf("second resize while one runs: %d %+v", st, e)
		}
		// A failure keeps the old size and the status.
		w.node.result(op.ID, dapi.Result{Status: api.OpFailure, Error: "nope"})
		if s := w.server(srv.ID); s.CPU != 1 || s.MemoryMiB != 512 || s.DiskMiB != 2048 || s.Status != api.StatusRunning {
			t.Fatalf("after a failed resize: %+v", s)
		}
		// A resize still in flight holds its growth on the node: another server cannot take it.
		other, _ := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		otherPath := "/api/v1/servers/" + other.ID + "/resize"
		w.admin.must(202, "POST", path, api.ResizeServerRequest{CPU: 1, MemoryMiB: 4096, DiskMiB: 2048}, &op)
		if st, e := w.admin.errCode("POST", otherPath, api.ResizeServerRequest{CPU: 1, MemoryMiB: 4200, DiskMiB: 2048}); st != 409 || e.Error.Code != api.CodeNoCapacity {
			t.Fatalf("growth beyond what a pending resize leaves: %d %+v", st, e)
		}
		w.node.result(op.ID, dapi.Result{Status: api.OpFailure, Error: "nope"})
		var op2 api.Operation
		w.admin.must(202, "POST", otherPath, api.ResizeServerRequest{CPU: 1, MemoryMiB: 4200, DiskMiB: 2048}, &op2)
		w.node.result(op2.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateRunning})
		if s := w.server(other.ID); s.MemoryMiB != 4200 {
			t.Fatalf("other server after its resize: %+v", s)
		}
		// Success on a stopped server: the new size and the reported state; no money moved.
		if err := w.e.app.DB().Model(&store.Server{}).Where("id = ?", srv.ID).Update("status", api.StatusStopped).Error; err != nil {
			t.Fatal(err)
		}
		entries := w.e.count("ledger_entries")
		w.admin.must(202, "POST", path, api.ResizeServerRequest{CPU: 3, MemoryMiB: 300, DiskMiB: 1000}, &op)
		w.node.result(op.ID, dapi.Result{Status: api.OpSuccess, State: dapi.StateStopped})
		var got api.Server
		cust.must(200, "GET", "/api/v1/servers/"+srv.ID, nil, &got)
		if got.CPU != 3 || got.MemoryMiB != 300 || got.DiskMiB != 1000 || got.Status != api.StatusStopped {
			t.Fatalf("after a successful resize: %+v", got)
		}
		if w.e.count("ledger_entries") != entries {
			t.Fatal("an admin resize moved money")
		}
	})
}

func TestResizeSubscriptionConcurrentRequests(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		w := newRzWorld(t, db)
		cust := w.e.login("rz-conc@example.com", api.RoleCustomer)
		small := w.plan("Small", api.TypeContainer, "USD", 1, 512, 2048, 1000, nil)
		large := w.plan("Large", api.TypeContainer, "USD", 2, 1024, 4096, 3000, nil)
		_, sub := w.subscribe(cust.user, small, "active", "monthly", 1000, 0, nil)
		w.topup(cust.user.ID, "USD", 5000)
		w.clockAt(rzPeriod / 2)

		// Six requests at once: three with one key, three with keys of their own. Exactly one
		// change is made; its key replays it (200); the others find the subscription on that
		// plan already (422) or its resize running (409).
		keys := []string{"rz-c-same", "rz-c-same", "rz-c-same", "rz-c-a", "rz-c-b", "rz-c-c"}
		statuses := make([]int, len(keys))
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Go(func() { statuses[i], _, _, _ = rzResize(cust, sub.ID, large.ID, k) })
		}
		wg.Wait()
		count := map[int]int{}
		for _, st := range statuses {
			count[st]++
		}
		if count[202] != 1 || count[202]+count[200]+count[409]+count[422] != len(keys) {
			t.Fatalf("statuses %v, want one 202 and the rest 200, 409 or 422", statuses)
		}
		for i, st := range statuses {
			if st == 202 && keys[i] == "rz-c-same" && count[200] != 2 {
				t.Fatalf("statuses %v: the winning key's other requests must replay", statuses)
			}
		}
		if got := w.balance(cust.user.ID, "USD"); got != 4000 {
			t.Fatalf("balance = %d, want 4000: charged once", got)
		}
		if n := w.e.count("subscription_changes"); n != 1 {
			t.Fatalf("%d changes, want 1", n)
		}
	})
}
