package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/order"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
	dapi "github.com/nimbo-panel/nimbo/daemon/api"
)

// recorder is a notify.Notifier that records what it is given.
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
}

func (r *recorder) Notify(_ context.Context, e notify.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// kinds returns the kinds notified to userID, in order, space-separated.
func (r *recorder) kinds(userID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for _, e := range r.events {
		if e.UserID == userID {
			ks = append(ks, e.Kind)
		}
	}
	return strings.Join(ks, " ")
}

// lastOp returns the newest operation of a server.
func (o *ordEnv) lastOp(serverID string) store.Operation {
	o.t.Helper()
	var op store.Operation
	if err := o.app.DB().Where("server_id = ?", serverID).Order("created_at DESC, id DESC").Take(&op).Error; err != nil {
		o.t.Fatal(err)
	}
	return op
}

// TestEngineRenewsOnceUnderConcurrentPasses: due subscriptions are renewed exactly once
// when passes run concurrently and again, with one invoice and one ledger entry per renewal;
// a subscription its wallet cannot pay stays unpaid within the grace period.
func TestEngineRenewsOnceUnderConcurrentPasses(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		rich := o.login("eng-rich@example.com", api.RoleCustomer)
		poor := o.login("eng-poor@example.com", api.RoleCustomer)
		p := o.plan(api.CreatePlanRequest{Name: "Eng S", PriceMonth: 1000})
		o.credit(rich.user.ID, "USD", 100_000)
		o.credit(poor.user.ID, "USD", 1000)
		var subs []string
		var latest time.Time
		for i := 0; i < 4; i++ {
			acc := o.mustOrder(rich, ordReq(p.ID, fmt.Sprintf("conc-%d", i)))
			o.provision(acc, true)
			subs = append(subs, acc.Subscription.ID)
			if pe := o.sub(acc.Subscription.ID).PeriodEnd; pe.After(latest) {
				latest = pe
			}
		}
		// A subscription whose server its owner deleted ends instead of renewing.
		gone := o.mustOrder(rich, ordReq(p.ID, "conc-gone"))
		o.provision(gone, true)
		if err := o.app.DB().Model(&store.Server{}).Where("id = ?", gone.Server.ID).Update("deleted_at", store.Now()).Error; err != nil {
			t.Fatal(err)
		}
		latest = o.sub(gone.Subscription.ID).PeriodEnd
		pacc := o.mustOrder(poor, ordReq(p.ID, "conc-poor"))
		o.provision(pacc, true)
		at := latest.Add(time.Minute)
		if pe := o.sub(pacc.Subscription.ID).PeriodEnd; pe.After(at) {
			at = pe.Add(time.Minute)
		}
		// Small batches so that the bulk renewal crosses batch boundaries.
		eng := o.app.Orders().Engine().WithBatch(2)
		var wg sync.WaitGroup
		stats := make([]order.Stats, 3)
		errs := make([]error, 3)
		for i := range stats {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stats[i], errs[i] = eng.Pass(context.Background(), at)
			}()
		}
		wg.Wait()
		renewed := 0
		for i := range stats {
			if errs[i] != nil {
				t.Fatalf("pass %d: %v", i, errs[i])
			}
			renewed += stats[i].Renewed
		}
		if st, err := eng.Pass(context.Background(), at.Add(time.Hour)); err != nil || st.Renewed != 0 {
			t.Fatalf("a later pass renewed again: %+v %v", st, err)
		}
		if renewed != 4 {
			t.Fatalf("renewed %d, want 4", renewed)
		}
		if b := o.balance(rich.user.ID, "USD"); b != 100_000-9*1000 {
			t.Fatalf("rich balance %d, want %d", b, 100_000-9*1000)
		}
		w, _ := o.ledgerCheck(rich.user.ID, "USD", 0)
		if w.EntryCount != 10 {
			t.Fatalf("%d entries, want 10", w.EntryCount)
		}
		if s := o.sub(gone.Subscription.ID); s.Status != api.SubscriptionCancelled || s.CancelledAt == nil {
			t.Fatalf("subscription of a deleted server: %s", s.Status)
		}
		for _, id := range subs {
			s := o.sub(id)
			if n := o.countWhere("invoices", "subscription_id = ?", id); n != 2 {
				t.Errorf("subscription %s has %d invoices, want 2", id, n)
			}
			if !s.PeriodStart.Equal(s.CreatedAt.AddDate(0, 1, 0)) || !s.PeriodEnd.Equal(s.CreatedAt.AddDate(0, 2, 0)) {
				t.Errorf("period %s–%s of a subscription created %s", s.PeriodStart, s.PeriodEnd, s.CreatedAt)
			}
			if n := o.countWhere("audit_log", "object_id = ? AND action = ? AND actor_id = ?", id, "subscription.renew", "system"); n != 1 {
				t.Errorf("%d renewal audit entries", n)
			}
		}
		// Invoice numbers have no gaps.
		var numbers []string
		o.app.DB().Model(&store.Invoice{}).Where("issuer_id = ''").Order("number").Pluck("number", &numbers)
		for i, n := range numbers {
			if want := fmt.Sprintf("INV-%06d", i+1); n != want {
				t.Fatalf("invoice %d is %s, want %s", i, n, want)
			}
		}
		if s := o.sub(pacc.Subscription.ID); s.Status != api.SubscriptionActive || o.balance(poor.user.ID, "USD") != 0 {
			t.Fatalf("unpaid subscription: %s, balance %d", s.Status, o.balance(poor.user.ID, "USD"))
		}
	})
}

// TestEngineDunningLifecycle drives one subscription through reminder, unpaid, grace →
// suspension (server stopped, start refused with server_suspended), top-up + Settle →
// unsuspended (server started), unpaid again → suspended → terminated (server deleted),
// with a notification at each step.
func TestEngineDunningLifecycle(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		cust := o.login("eng-dun@example.com", api.RoleCustomer)
		p := o.plan(api.CreatePlanRequest{Name: "Dun S", PriceMonth: 1000})
		o.credit(cust.user.ID, "USD", 1000)
		acc := o.mustOrder(cust, ordReq(p.ID, "dunning"))
		o.provision(acc, true)
		// Warn below 5.00 (the wallet is empty now: the first pass warns).
		if err := o.app.DB().Model(&store.Wallet{}).Where("user_id = ?", cust.user.ID).Update("low_balance_threshold", 500).Error; err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		sub := o.sub(acc.Subscription.ID)
		pe := sub.PeriodEnd

		if st := o.pass(pe.Add(-ordRemind-time.Hour), rec); st.Reminded != 0 || st.LowBalance != 1 {
			t.Fatalf("reminded too early: %+v", st)
		}
		if st := o.pass(pe.Add(-ordRemind+time.Hour), rec); st.Reminded != 1 {
			t.Fatalf("no reminder: %+v", st)
		}
		if st := o.pass(pe.Add(-time.Hour), rec); st.Reminded != 0 {
			t.Fatalf("reminded twice: %+v", st)
		}
		if st := o.pass(pe, rec); st.Unpaid != 1 || st.Renewed != 0 || st.Suspended != 0 {
			t.Fatalf("pass at the due date: %+v", st)
		}
		if st := o.pass(pe.Add(ordGrace-time.Minute), rec); st.Unpaid != 1 || st.Suspended != 0 {
			t.Fatalf("pass within the grace period: %+v", st)
		}
		suspendAt := pe.Add(ordGrace)
		if st := o.pass(suspendAt, rec); st.Suspended != 1 {
			t.Fatalf("pass after the grace period: %+v", st)
		}
		sub = o.sub(acc.Subscription.ID)
		srv := o.server(acc.Server.ID)
		stop := o.lastOp(acc.Server.ID)
		if sub.Status != api.SubscriptionSuspended || srv.SuspendedAt == nil || stop.Kind != api.OpInstanceStop || stop.UserID != nil {
			t.Fatalf("after suspension: sub %s, server suspended %v, op %s", sub.Status, srv.SuspendedAt, stop.Kind)
		}
		o.node.result(stop.ID, dapi.Result{Status: api.OpSuccess, State: "Stopped"})
		if st, e := cust.errCode("POST", "/api/v1/servers/"+acc.Server.ID+"/start", nil); st != 409 || e.Error.Code != api.CodeServerSuspended {
			t.Fatalf("start while suspended: %d %+v", st, e)
		}
		// Another pass does not stop it again nor renew.
		if st := o.pass(suspendAt.Add(time.Hour), rec); st.Suspended != 0 || st.Unsuspended != 0 {
			t.Fatalf("second pass while suspended: %+v", st)
		}
		// An explicit renewal without funds is refused.
		if st, e := cust.errCode("POST", "/api/v1/subscriptions/"+acc.Subscription.ID+"/renew", nil); st != 409 || e.Error.Code != api.CodeInsufficientFunds {
			t.Fatalf("renew without funds: %d %+v", st, e)
		}

		o.credit(cust.user.ID, "USD", 2500)
		payAt := suspendAt.Add(2 * time.Hour)
		if err := o.app.Orders().Engine().WithNotifier(rec).Settle(context.Background(), cust.user.ID, payAt); err != nil {
			t.Fatal(err)
		}
		sub = o.sub(acc.Subscription.ID)
		srv = o.server(acc.Server.ID)
		start := o.lastOp(acc.Server.ID)
		if sub.Status != api.SubscriptionActive || sub.SuspendedAt != nil || srv.SuspendedAt != nil || start.Kind != api.OpInstanceStart ||
			!sub.PeriodStart.Equal(payAt) || !sub.PeriodEnd.Equal(payAt.AddDate(0, 1, 0)) {
			t.Fatalf("after settle: %+v, server suspended %v, op %s", sub, srv.SuspendedAt, start.Kind)
		}
		o.node.result(start.ID, dapi.Result{Status: api.OpSuccess, State: "Running"})
		if b := o.balance(cust.user.ID, "USD"); b != 1500 {
			t.Fatalf("balance after settle = %d", b)
		}

		// Unpaid again: the next month cannot be paid past 1500 → suspended → terminated.
		o.credit(cust.user.ID, "USD", -1500)
		pe2 := sub.PeriodEnd
		if st := o.pass(pe2.Add(ordGrace), rec); st.Suspended != 1 {
			t.Fatalf("second suspension: %+v", st)
		}
		stop = o.lastOp(acc.Server.ID)
		o.node.result(stop.ID, dapi.Result{Status: api.OpSuccess, State: "Stopped"})
		if st := o.pass(pe2.Add(ordGrace+ordTerminate-time.Minute), rec); st.Terminated != 0 {
			t.Fatalf("terminated early: %+v", st)
		}
		if st := o.pass(pe2.Add(ordGrace+ordTerminate), rec); st.Terminated != 1 {
			t.Fatalf("not terminated: %+v", st)
		}
		del := o.lastOp(acc.Server.ID)
		if s := o.sub(acc.Subscription.ID); s.Status != api.SubscriptionTerminated || s.TerminatedAt == nil || del.Kind != api.OpInstanceDelete {
			t.Fatalf("after termination: %s, op %s", s.Status, del.Kind)
		}
		o.node.result(del.ID, dapi.Result{Status: api.OpSuccess})
		if srv := o.server(acc.Server.ID); srv.DeletedAt == nil {
			t.Fatal("server not deleted")
		}
		if st := o.pass(pe2.Add(ordGrace+ordTerminate+time.Hour), rec); st.Terminated != 0 || st.Failed != 0 {
			t.Fatalf("pass after termination: %+v", st)
		}
		want := "wallet.low_balance subscription.renewal_reminder subscription.suspended subscription.unsuspended " +
			"subscription.suspended wallet.low_balance subscription.terminated"
		if got := rec.kinds(cust.user.ID); got != want {
			t.Fatalf("notifications:\n got %s\nwant %s", got, want)
		}
		if n := o.countWhere("notification_outbox", "user_id = ? AND sent_at IS NULL", cust.user.ID); n != 0 {
			t.Fatalf("%d notifications left undelivered", n)
		}
	})
}

// TestEngineTrials: a trial costs nothing, converts at its end when the wallet can pay the
// first month, suspends otherwise; a second trial is refused.
func TestEngineTrials(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		payer := o.login("eng-trial-pay@example.com", api.RoleCustomer)
		broke := o.login("eng-trial-broke@example.com", api.RoleCustomer)
		p := o.plan(api.CreatePlanRequest{Name: "Trial S", PriceMonth: 1200, SetupFee: 300})
		req := ordReq(p.ID, "trial")
		req.Trial = true
		acc := o.mustOrder(payer, req)
		if acc.Order.Total != 0 || !acc.Order.Trial || acc.Subscription.TrialEndsAt == nil ||
			!acc.Subscription.TrialEndsAt.Equal(acc.Subscription.PeriodStart.AddDate(0, 0, 7)) {
			t.Fatalf("trial order: %+v", acc)
		}
		o.provision(acc, true)
		if s := o.sub(acc.Subscription.ID); s.Status != api.SubscriptionTrial || o.count("invoices") != 0 {
			t.Fatalf("trial subscription %s, %d invoices", s.Status, o.count("invoices"))
		}
		req2 := ordReq(p.ID, "trial-two")
		req2.Trial = true
		if st, _, _, code := o.order(payer, "trial-again", req2); st != 409 || code != api.CodeTrialUnavailable {
			t.Fatalf("second trial: %d %s", st, code)
		}
		bacc := o.mustOrder(broke, api.CreateOrderRequest{PlanID: p.ID, Cycle: api.CycleMonthly, ServerName: "trial", Image: "busybox", Trial: true})
		o.provision(bacc, true)
		o.credit(payer.user.ID, "USD", 1200)

		rec := &recorder{}
		ends := o.sub(acc.Subscription.ID).PeriodEnd
		if st := o.pass(ends.Add(-time.Hour), rec); st.Reminded != 2 || st.Converted != 0 {
			t.Fatalf("before the end: %+v", st)
		}
		end := ends
		if be := o.sub(bacc.Subscription.ID).PeriodEnd; be.After(end) {
			end = be
		}
		st := o.pass(end, rec)
		if st.Converted != 1 || st.Suspended != 1 {
			t.Fatalf("at the end: %+v", st)
		}
		s := o.sub(acc.Subscription.ID)
		if s.Status != api.SubscriptionActive || !s.PeriodStart.Equal(end) || !s.PeriodEnd.Equal(end.AddDate(0, 1, 0)) ||
			o.balance(payer.user.ID, "USD") != 0 || o.countWhere("invoices", "subscription_id = ?", s.ID) != 1 {
			t.Fatalf("converted: %+v balance %d", s, o.balance(payer.user.ID, "USD"))
		}
		b := o.sub(bacc.Subscription.ID)
		if b.Status != api.SubscriptionSuspended || o.lastOp(bacc.Server.ID).Kind != api.OpInstanceStop {
			t.Fatalf("unpaid trial: %s, op %s", b.Status, o.lastOp(bacc.Server.ID).Kind)
		}
		if got := rec.kinds(broke.user.ID); got != "subscription.trial_ending subscription.suspended" {
			t.Fatalf("notifications of the broke customer: %s", got)
		}
		// Paying through the API unsuspends (once the suspension's stop is done).
		o.node.result(o.lastOp(bacc.Server.ID).ID, dapi.Result{Status: api.OpSuccess, State: "Stopped"})
		o.credit(broke.user.ID, "USD", 1200)
		var rs api.Subscription
		broke.must(200, "POST", "/api/v1/subscriptions/"+bacc.Subscription.ID+"/renew", nil, &rs)
		if rs.Status != api.SubscriptionActive || o.balance(broke.user.ID, "USD") != 0 || o.lastOp(bacc.Server.ID).Kind != api.OpInstanceStart {
			t.Fatalf("renewed trial: %+v", rs)
		}
	})
}

// TestEngineHourlyMetering: an hourly subscription pays its first hour at the order, then
// each pass charges the completed hours once; unpaid hours lead to suspension after the
// grace period; cancelling charges the hour under way and deletes the server.
func TestEngineHourlyMetering(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		cust := o.login("eng-hourly@example.com", api.RoleCustomer)
		p := o.plan(api.CreatePlanRequest{Name: "Hourly S", PriceMonth: 5000, PriceHour: 7, SetupFee: 20})
		o.credit(cust.user.ID, "USD", 100)
		req := ordReq(p.ID, "meter")
		req.Cycle = api.CycleHourly
		acc := o.mustOrder(cust, req)
		if acc.Order.Total != 27 || acc.Subscription.Price != 7 {
			t.Fatalf("hourly order: %+v", acc.Order)
		}
		o.provision(acc, true)
		pe := o.sub(acc.Subscription.ID).PeriodEnd
		if pe.Minute() != 0 || pe.Second() != 0 || !pe.After(acc.Subscription.PeriodStart) {
			t.Fatalf("first metered boundary %s", pe)
		}
		rec := &recorder{}
		if st := o.pass(pe.Add(59*time.Minute), rec); st.Metered != 0 {
			t.Fatalf("metered an hour under way: %+v", st)
		}
		at := pe.Add(3*time.Hour + 30*time.Minute)
		if st := o.pass(at, rec); st.Metered != 1 {
			t.Fatalf("pass: %+v", st)
		}
		if st := o.pass(at, rec); st.Metered != 0 {
			t.Fatalf("metered twice: %+v", st)
		}
		if b := o.balance(cust.user.ID, "USD"); b != 100-27-21 {
			t.Fatalf("balance %d", b)
		}
		s := o.sub(acc.Subscription.ID)
		if !s.PeriodEnd.Equal(pe.Add(3 * time.Hour)) {
			t.Fatalf("metered up to %s", s.PeriodEnd)
		}
		var lines []store.InvoiceLine
		o.app.DB().Table("invoice_lines").Joins("JOIN invoices ON invoices.id = invoice_lines.invoice_id").
			Where("invoices.subscription_id = ? AND invoices.order_id IS NULL", s.ID).Find(&lines)
		if len(lines) != 1 || lines[0].Quantity != 3 || lines[0].UnitAmount != 7 || lines[0].Amount != 21 {
			t.Fatalf("metering invoice lines: %+v", lines)
		}
		// 52 left: 7 more hours pay 49, the 8th cannot be paid.
		far := s.PeriodEnd.Add(8 * time.Hour)
		if st := o.pass(far, rec); st.Metered != 0 || st.Unpaid != 1 {
			t.Fatalf("unpaid hours: %+v", st)
		}
		if st := o.pass(s.PeriodEnd.Add(ordGrace), rec); st.Suspended != 1 {
			t.Fatalf("hourly suspension: %+v", st)
		}
		o.node.result(o.lastOp(acc.Server.ID).ID, dapi.Result{Status: api.OpSuccess, State: "Stopped"})
		// Paying the hours metered up to the suspension lifts it.
		o.credit(cust.user.ID, "USD", 10_000)
		resumeAt := s.PeriodEnd.Add(ordGrace + 90*time.Minute)
		if err := o.app.Orders().Engine().Settle(context.Background(), cust.user.ID, resumeAt); err != nil {
			t.Fatal(err)
		}
		s2 := o.sub(acc.Subscription.ID)
		hours := int64(ordGrace / time.Hour)
		if s2.Status != api.SubscriptionActive || !s2.PeriodEnd.Equal(resumeAt.Truncate(time.Hour)) ||
			o.balance(cust.user.ID, "USD") != 52+10_000-hours*7 {
			t.Fatalf("after settle: %+v balance %d", s2, o.balance(cust.user.ID, "USD"))
		}
		o.node.result(o.lastOp(acc.Server.ID).ID, dapi.Result{Status: api.OpSuccess, State: "Running"})
		// Cancel: the next pass charges up to the end of the hour under way, then ends it.
		cust.must(200, "PATCH", "/api/v1/subscriptions/"+acc.Subscription.ID, `{"auto_renew":false}`, nil)
		before := o.balance(cust.user.ID, "USD")
		endAt := resumeAt.Add(2*time.Hour + 10*time.Minute)
		if st := o.pass(endAt, rec); st.Metered != 1 || st.Cancelled != 1 {
			t.Fatalf("cancel pass: %+v", st)
		}
		if paid := before - o.balance(cust.user.ID, "USD"); paid != 3*7 {
			t.Fatalf("final metering charged %d, want 21", paid)
		}
		if s := o.sub(acc.Subscription.ID); s.Status != api.SubscriptionCancelled || o.lastOp(acc.Server.ID).Kind != api.OpInstanceDelete {
			t.Fatalf("after cancel: %s", s.Status)
		}
	})
}

// TestEngineSubscriptionAccess: owners, their reseller, admins and billing sub-users see a
// subscription; others get 404; only the owner side changes it; bad filters are 422.
func TestEngineSubscriptionAccess(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		o := newOrdEnv(t, db)
		owner := o.login("eng-acc-owner@example.com", api.RoleCustomer)
		other := o.login("eng-acc-other@example.com", api.RoleCustomer)
		payer := o.login("eng-acc-payer@example.com", api.RoleCustomer)
		viewerOnly := o.login("eng-acc-power@example.com", api.RoleCustomer)
		res := o.loginReseller("eng-acc-res@example.com")
		stranger := o.loginReseller("eng-acc-res2@example.com")
		if err := o.app.DB().Model(&store.User{}).Where("id = ?", owner.user.ID).Update("reseller_id", res.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		p := o.plan(api.CreatePlanRequest{Name: "Acc S", PriceMonth: 100})
		o.credit(owner.user.ID, "USD", 1000)
		o.credit(res.user.ID, "USD", 1000)
		acc := o.mustOrder(owner, ordReq(p.ID, "acc"))
		o.provision(acc, true)
		now := store.Now()
		for _, m := range []store.ServerMember{
			{ServerID: acc.Server.ID, UserID: payer.user.ID, Permissions: "power billing", CreatedBy: owner.user.ID, CreatedAt: now, UpdatedAt: now},
			{ServerID: acc.Server.ID, UserID: viewerOnly.user.ID, Permissions: "power console", CreatedBy: owner.user.ID, CreatedAt: now, UpdatedAt: now},
		} {
			if err := o.app.DB().Create(&m).Error; err != nil {
				t.Fatal(err)
			}
		}
		path := "/api/v1/subscriptions/" + acc.Subscription.ID
		for _, c := range []struct {
			name string
			c    *client
			want int
		}{{"owner", owner, 200}, {"reseller", res, 200}, {"admin", o.admin, 200}, {"billing sub-user", payer, 200},
			{"power sub-user", viewerOnly, 404}, {"other customer", other, 404}, {"other reseller", stranger, 404}} {
			if st, _, b := c.c.do("GET", path, nil, nil); st != c.want {
				t.Errorf("GET as %s: %d %s", c.name, st, b)
			}
			var l api.List[api.Subscription]
			c.c.must(200, "GET", "/api/v1/subscriptions", nil, &l)
			if seen := l.Total == 1; seen != (c.want == 200) {
				t.Errorf("list as %s: %d items", c.name, l.Total)
			}
			if st, _, _ := c.c.do("GET", "/api/v1/orders/"+acc.Order.ID, nil, nil); (st == 200) != (c.c == owner || c.c == res || c.c == o.admin) {
				t.Errorf("order as %s: %d", c.name, st)
			}
		}
		if st, e := payer.errCode("PATCH", path, `{"auto_renew":false}`); st != 403 {
			t.Errorf("sub-user PATCH: %d %+v", st, e)
		}
		if st, _ := other.errCode("PATCH", path, `{"auto_renew":false}`); st != 404 {
			t.Errorf("stranger PATCH: %d", st)
		}
		for _, body := range []string{`{}`, `{"auto_renew":"no"}`, `{"auto_renew":false,"x":1}`} {
			if st, _ := owner.errCode("PATCH", path, body); st != 422 && st != 400 {
				t.Errorf("PATCH %s: %d", body, st)
			}
		}
		if st, e := payer.errCode("POST", path+"/renew", nil); st != 409 || e.Error.Code != api.CodeConflict {
			t.Errorf("renew with nothing due: %d %+v", st, e)
		}
		var s api.Subscription
		res.must(200, "PATCH", path, `{"auto_renew":false}`, &s)
		if s.AutoRenew {
			t.Fatal("auto_renew still on")
		}
		var l api.List[api.Subscription]
		o.admin.must(200, "GET", "/api/v1/admin/subscriptions?status=active&cycle=monthly&user_id="+owner.user.ID, nil, &l)
		if l.Total != 1 || l.Items[0].WholesalePrice == nil {
			t.Fatalf("admin list: %+v", l)
		}
		o.admin.must(200, "GET", "/api/v1/admin/subscriptions?due_before=2000-01-01T00:00:00Z", nil, &l)
		if l.Total != 0 {
			t.Fatalf("due_before filter: %d", l.Total)
		}
		for _, q := range []string{"status=nope", "cycle=weekly", "user_id=x", "due_before=yesterday", "per_page=1000"} {
			if st, _ := o.admin.errCode("GET", "/api/v1/admin/subscriptions?"+q, nil); st != 422 {
				t.Errorf("admin filter %s: %d", q, st)
			}
		}
		if st, _ := owner.errCode("GET", "/api/v1/admin/subscriptions", nil); st != 403 {
			t.Errorf("customer on the admin list: %d", st)
		}
		if st, _ := owner.errCode("GET", "/api/v1/subscriptions/not-an-id", nil); st != 404 {
			t.Errorf("malformed id: %d", st)
		}
	})
}
