package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	incus "github.com/lxc/incus/v6/client"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/app"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/stack"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Billing policy of the test's own panel process (the one whose engine the test drives).
const (
	e2eGrace     = 48 * time.Hour
	e2eTerminate = 10 * 24 * time.Hour
)

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// billingRig is a running stack plus a second panel process, built in the test on the same
// database and Redis, whose billing engine the test drives with a controllable clock.
type billingRig struct {
	t     *testing.T
	s     *stack.Stack
	c     incus.InstanceServer
	panel *app.App
}

func newBillingRig(t *testing.T, driver string) *billingRig {
	// The stack's own panel runs its billing pass hourly: nothing in this test waits for it.
	t.Setenv("NIMBO_BILLING_INTERVAL", "1h")
	s := newStack(t, driver)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Database.Driver, cfg.Database.DSN = driver, s.DatabaseDSN
	cfg.Redis.URL, cfg.Nodes.RedisURL = st.env.RedisURL, st.env.RedisURL
	cfg.Billing.Interval = time.Hour
	cfg.Billing.GracePeriod = e2eGrace
	cfg.Billing.TerminateAfter = e2eTerminate
	logger := slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("second panel: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close second panel: %v", err)
		}
	})
	return &billingRig{t: t, s: s, c: lxd(t), panel: a}
}

// order places an order with an idempotency key as token's user.
func (r *billingRig) order(token string, req api.CreateOrderRequest) api.OrderAccepted {
	r.t.Helper()
	b, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, r.s.URL+"/api/v1/orders", bytes.NewReader(b))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+token)
	hr.Header.Set(api.HeaderIdempotencyKey, "e2e-"+uuid.NewString())
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("order: %d %s", resp.StatusCode, body)
	}
	var acc api.OrderAccepted
	if err := json.Unmarshal(body, &acc); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { removeInstance(r.c, acc.Server.IncusName) })
	return acc
}

// topup credits a user's USD wallet (the manual gateway, on the shared database).
func (r *billingRig) topup(userID string, amount int64) {
	r.t.Helper()
	if _, err := r.panel.Billing().Post(context.Background(), billing.PostRequest{UserID: userID, Currency: "USD",
		Kind: api.EntryTopup, Amount: amount, IdempotencyKey: "e2e-" + uuid.NewString(), ActorID: "e2e"}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *billingRig) pass(at time.Time) {
	r.t.Helper()
	if _, err := r.panel.Orders().Engine().Pass(context.Background(), at); err != nil {
		r.t.Fatalf("pass at %s: %v", at, err)
	}
}

func (r *billingRig) sub(id string) store.Subscription {
	r.t.Helper()
	var s store.Subscription
	if err := r.panel.DB().Where("id = ?", id).Take(&s).Error; err != nil {
		r.t.Fatal(err)
	}
	return s
}

// waitLast waits for the newest operation of a server, which must be of kind, to succeed.
func (r *billingRig) waitLast(serverID, kind string) {
	r.t.Helper()
	var op store.Operation
	if err := r.panel.DB().Where("server_id = ?", serverID).Order("created_at DESC, id DESC").Take(&op).Error; err != nil {
		r.t.Fatal(err)
	}
	if op.Kind != kind {
		r.t.Fatalf("newest operation of %s is %s, want %s", serverID, op.Kind, kind)
	}
	got, err := r.s.WaitOperation(context.Background(), r.s.AdminToken, op.ID, 2*time.Minute)
	if err != nil {
		r.t.Fatal(err)
	}
	if got.Status != api.OpSuccess {
		r.t.Fatalf("%s operation: %s %s", kind, got.Status, got.Error)
	}
}

func (r *billingRig) wantLXD(name, status string) {
	r.t.Helper()
	if got := lxdStatus(r.t, r.c, name); got != status {
		r.t.Fatalf("LXD status of %s = %q, want %q", name, got, status)
	}
}

func (r *billingRig) balance(userID string) int64 {
	r.t.Helper()
	w, err := r.panel.Billing().Wallet(context.Background(), userID, "USD")
	if err != nil {
		r.t.Fatal(err)
	}
	return w.Balance
}

// TestBillingLifecycle is the acceptance test of orders and the billing engine against real
// LXD: order → container running; renewal charged a month later; funds run out → suspended
// past the grace period (container stopped, start refused); top-up + Settle → unsuspended
// (running); unpaid again → suspended → terminated (container gone). Trials: one converts on
// payment, one without funds is suspended (stopped).
func TestBillingLifecycle(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			r := newBillingRig(t, driver)
			ctx := context.Background()
			var plan api.Plan
			resp, err := r.s.Do(ctx, http.MethodPost, "/api/v1/admin/plans", r.s.AdminToken, api.CreatePlanRequest{
				Name: "E2E Small", Type: api.TypeContainer, CPU: 1, MemoryMiB: 128, DiskMiB: 512, PriceMonth: 1000, PriceHour: 2,
				Currency: "USD"})
			if err != nil || resp.Status != http.StatusCreated {
				t.Fatalf("plan: %v %d %s", err, resp.Status, resp.Body)
			}
			if err := resp.Decode(&plan); err != nil {
				t.Fatal(err)
			}

			t.Run("monthly dunning", func(t *testing.T) {
				r.t = t
				custID, token, err := r.s.CreateCustomer(ctx)
				if err != nil {
					t.Fatal(err)
				}
				r.topup(custID, 2000)
				acc := r.order(token, api.CreateOrderRequest{PlanID: plan.ID, Cycle: api.CycleMonthly, ServerName: tempName("bill"),
					Image: r.s.Opts.Env.Image})
				op, err := r.s.WaitOperation(ctx, token, acc.Operation.ID, 2*time.Minute)
				if err != nil || op.Status != api.OpSuccess {
					t.Fatalf("provisioning: %v %+v", err, op)
				}
				r.wantLXD(acc.Server.IncusName, "Running")
				if s := r.sub(acc.Subscription.ID); s.Status != api.SubscriptionActive {
					t.Fatalf("subscription after provisioning: %s", s.Status)
				}

				pe := r.sub(acc.Subscription.ID).PeriodEnd
				r.pass(pe.Add(time.Minute))
				if b := r.balance(custID); b != 0 {
					t.Fatalf("balance after the renewal = %d, want 0", b)
				}
				pe2 := r.sub(acc.Subscription.ID).PeriodEnd
				if !pe2.Equal(pe.AddDate(0, 1, 0)) {
					t.Fatalf("renewed to %s, want %s", pe2, pe.AddDate(0, 1, 0))
				}

				r.pass(pe2.Add(e2eGrace))
				if s := r.sub(acc.Subscription.ID); s.Status != api.SubscriptionSuspended {
					t.Fatalf("after the grace period: %s", s.Status)
				}
				r.waitLast(acc.Server.ID, api.OpInstanceStop)
				r.wantLXD(acc.Server.IncusName, "Stopped")
				resp, err := r.s.Do(ctx, http.MethodPost, "/api/v1/servers/"+acc.Server.ID+"/start", token, nil)
				if err != nil || resp.Status != http.StatusConflict || resp.ErrorCode() != api.CodeServerSuspended {
					t.Fatalf("start while suspended: %v %d %s", err, resp.Status, resp.Body)
				}

				r.topup(custID, 1000)
				payAt := pe2.Add(e2eGrace + time.Hour)
				if err := r.panel.Orders().Engine().Settle(ctx, custID, payAt); err != nil {
					t.Fatal(err)
				}
				if s := r.sub(acc.Subscription.ID); s.Status != api.SubscriptionActive {
					t.Fatalf("after settle: %s", s.Status)
				}
				r.waitLast(acc.Server.ID, api.OpInstanceStart)
				r.wantLXD(acc.Server.IncusName, "Running")

				pe3 := r.sub(acc.Subscription.ID).PeriodEnd
				r.pass(pe3.Add(e2eGrace))
				s := r.sub(acc.Subscription.ID)
				if s.Status != api.SubscriptionSuspended {
					t.Fatalf("second suspension: %s", s.Status)
				}
				r.waitLast(acc.Server.ID, api.OpInstanceStop)
				r.wantLXD(acc.Server.IncusName, "Stopped")
				r.pass(s.SuspendedAt.Add(e2eTerminate))
				if s := r.sub(acc.Subscription.ID); s.Status != api.SubscriptionTerminated {
					t.Fatalf("after terminate_after: %s", s.Status)
				}
				r.waitLast(acc.Server.ID, api.OpInstanceDelete)
				if names := instancesFor(t, r.c, acc.Server.ID); len(names) != 0 {
					t.Fatalf("container still in LXD after termination: %v", names)
				}
			})

			t.Run("trials", func(t *testing.T) {
				r.t = t
				payerID, payerToken, err := r.s.CreateCustomer(ctx)
				if err != nil {
					t.Fatal(err)
				}
				_, brokeToken, err := r.s.CreateCustomer(ctx)
				if err != nil {
					t.Fatal(err)
				}
				trial := func(token string) api.OrderAccepted {
					acc := r.order(token, api.CreateOrderRequest{PlanID: plan.ID, Cycle: api.CycleMonthly, ServerName: tempName("trial"),
						Image: r.s.Opts.Env.Image, Trial: true})
					op, err := r.s.WaitOperation(ctx, token, acc.Operation.ID, 2*time.Minute)
					if err != nil || op.Status != api.OpSuccess {
						t.Fatalf("trial provisioning: %v %+v", err, op)
					}
					return acc
				}
				pacc, bacc := trial(payerToken), trial(brokeToken)
				r.wantLXD(pacc.Server.IncusName, "Running")
				r.wantLXD(bacc.Server.IncusName, "Running")
				r.topup(payerID, 1000)
				end := r.sub(bacc.Subscription.ID).PeriodEnd
				r.pass(end)
				if s := r.sub(pacc.Subscription.ID); s.Status != api.SubscriptionActive || r.balance(payerID) != 0 {
					t.Fatalf("paid trial: %s, balance %d", s.Status, r.balance(payerID))
				}
				r.wantLXD(pacc.Server.IncusName, "Running")
				if s := r.sub(bacc.Subscription.ID); s.Status != api.SubscriptionSuspended {
					t.Fatalf("unpaid trial: %s", s.Status)
				}
				r.waitLast(bacc.Server.ID, api.OpInstanceStop)
				r.wantLXD(bacc.Server.IncusName, "Stopped")
			})
		})
	}
}
