package app_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// Matrix rules of the reseller, sub-user, payment and resize routes.
var (
	// manualCredit: an admin credits anyone, a reseller only its own customers.
	manualCredit = rule{401, 403, 403, 403, 403, ok, 404, ok}
	// signedNotification: payment notifications are verified by signature, not by session:
	// an unsigned one is refused for everyone alike.
	signedNotification = rule{400, 400, 400, 400, 400, 400, 400, 400}
	// tokenRefused: e-mail tokens are the credential; an unknown one is refused for everyone.
	tokenRefused = rule{400, 400, 400, 400, 400, 400, 400, 400}
	// billingObject: a subscription of customer's server is visible to its owner, reseller,
	// admins and the server's sub-users holding the billing permission; to no one else.
	billingObject = rule{401, ok, 404, ok, 404, ok, 404, ok}
	// billingManage: changing it is for the owner, its reseller and admins.
	billingManage = rule{401, ok, 404, 403, 404, ok, 404, ok}
)

func init() {
	fresh := func() string { return "m-" + testenv.Random(10) + "@example.com" }
	for path, rc := range map[string]routeCase{
		// Resellers, managed by the admin.
		"POST /api/v1/admin/resellers": {rule: adminOnly, body: func(*fixture, string) any {
			return map[string]any{"email": fresh(), "password": "reseller-password-1", "brand_name": "Probe", "markup_bp": 1000}
		}},
		"GET /api/v1/admin/resellers":       {rule: adminOnly},
		"GET /api/v1/admin/resellers/:id":   {rule: adminOnly, params: params("id", "reseller")},
		"PATCH /api/v1/admin/resellers/:id": {rule: adminOnly, params: params("id", "reseller"), body: func(*fixture, string) any { return map[string]any{"markup_bp": 1500} }},
		// The reseller's own panel.
		"GET /api/v1/reseller/profile":   {rule: resellerOnly},
		"PATCH /api/v1/reseller/profile": {rule: resellerOnly, body: func(*fixture, string) any { return map[string]any{"brand_name": "Probe brand"} }},
		"POST /api/v1/reseller/customers": {rule: resellerOnly, body: func(*fixture, string) any {
			return map[string]any{"email": fresh(), "password": "customer-password-1"}
		}},
		"GET /api/v1/reseller/customers":             {rule: resellerOnly},
		"GET /api/v1/reseller/customers/:id":         {rule: resellerObject, params: params("id", "customer")},
		"GET /api/v1/reseller/customers/:id/wallets": {rule: resellerObject, params: params("id", "customer")},
		"GET /api/v1/reseller/prices":                {rule: resellerOnly},
		"PUT /api/v1/reseller/prices/:plan_id": {rule: resellerOnly, params: params("plan_id", "plan"), body: func(*fixture, string) any {
			return map[string]any{"price_month": 2000, "price_hour": 4, "setup_fee": 0}
		}},
		"DELETE /api/v1/reseller/prices/:plan_id": {rule: resellerOnly, params: params("plan_id", "plan")},
		"GET /api/v1/reseller/quota":              {rule: resellerOnly},
		"GET /api/v1/reseller/revenue":            {rule: resellerOnly},
		"GET /api/v1/branding":                    {rule: public},
		// Sub-users of customer's server.
		"GET /api/v1/servers/:id/members": {rule: serverManage, params: params("id", "server")},
		"POST /api/v1/servers/:id/members": {rule: serverManage, params: params("id", "server"), body: func(f *fixture, _ string) any {
			return map[string]any{"email": f.objects["other_email"], "permissions": []string{api.PermPower}}
		}},
		"PATCH /api/v1/servers/:id/members/:user_id": {rule: serverManage, params: params("id", "server", "user_id", "member"), body: func(*fixture, string) any {
			return map[string]any{"permissions": []string{api.PermPower}}
		}},
		"DELETE /api/v1/servers/:id/members/:user_id": {rule: serverManage, params: params("id", "server", "user_id", "member")},
		// Payments.
		"GET /api/v1/payments/gateways": {rule: signedIn},
		"POST /api/v1/payments": {rule: signedIn, body: func(*fixture, string) any {
			// Alipay's checkout is a signed redirect: no call leaves the machine.
			return map[string]any{"gateway": "alipay", "amount": 1000, "currency": "CNY"}
		}},
		"GET /api/v1/payments":     {rule: signedIn},
		"GET /api/v1/payments/:id": {rule: ownerObject, params: params("id", "payment")},
		"POST /api/v1/payments/manual": {rule: manualCredit, body: func(f *fixture, _ string) any {
			return map[string]any{"user_id": f.objects["customer"], "amount": 500, "currency": "USD", "reason": "matrix probe"}
		}},
		"POST /api/v1/payments/stripe/webhook": {rule: signedNotification, body: func(*fixture, string) any {
			return map[string]any{"id": "evt_probe", "type": "checkout.session.completed"}
		}},
		"POST /api/v1/payments/alipay/notify": {rule: signedNotification, body: func(*fixture, string) any {
			return raw{ct: "application/x-www-form-urlencoded", body: "notify_id=probe&out_trade_no=x&sign=bm90LWEtc2lnbmF0dXJl&sign_type=RSA2"}
		}},
		// Accounts, notifications, audit.
		"POST /api/v1/auth/signup": {rule: public, body: func(*fixture, string) any {
			return api.SignupRequest{Email: fresh(), Password: "probe-password-1"}
		}},
		"POST /api/v1/auth/verify-email":   {rule: tokenRefused, body: func(*fixture, string) any { return api.VerifyEmailRequest{Token: "unknown"} }},
		"POST /api/v1/auth/password-reset": {rule: public, body: func(*fixture, string) any { return api.PasswordResetRequest{Email: fresh()} }},
		"POST /api/v1/auth/password-reset/confirm": {rule: tokenRefused, body: func(*fixture, string) any {
			return api.PasswordResetConfirmRequest{Token: "unknown", Password: "probe-password-1"}
		}},
		"POST /api/v1/me/email/verification": {rule: signedIn},
		"GET /api/v1/me/notifications":       {rule: signedIn},
		"PUT /api/v1/me/notifications":       {rule: signedIn, body: func(*fixture, string) any { return map[string]any{"low_balance": []any{}} }},
		"GET /api/v1/audit":                  {rule: signedIn},
		"GET /api/v1/admin/audit":            {rule: adminOnly},
		// Orders and subscriptions.
		"POST /api/v1/orders": {rule: signedIn, body: func(f *fixture, _ string) any {
			return api.CreateOrderRequest{PlanID: f.objects["plan"], Cycle: "monthly", ServerName: "order-" + testenv.Random(6), Image: "busybox"}
		}},
		"POST /api/v1/orders/quote": {rule: signedIn, body: func(f *fixture, _ string) any {
			return map[string]any{"plan_id": f.objects["plan"], "cycle": "monthly"}
		}},
		"GET /api/v1/orders":                   {rule: signedIn},
		"GET /api/v1/orders/:id":               {rule: ownerObject, params: params("id", "order")},
		"GET /api/v1/subscriptions":            {rule: signedIn},
		"GET /api/v1/subscriptions/:id":        {rule: billingObject, params: params("id", "subscription")},
		"PATCH /api/v1/subscriptions/:id":      {rule: billingManage, params: params("id", "subscription"), body: func(*fixture, string) any { return map[string]any{"auto_renew": false} }},
		"POST /api/v1/subscriptions/:id/renew": {rule: billingObject, params: params("id", "subscription")},
		"GET /api/v1/admin/subscriptions":      {rule: adminOnly},
		// Resize.
		"POST /api/v1/servers/:id/resize": {rule: adminOnly, params: params("id", "server"), body: func(*fixture, string) any {
			return map[string]any{"cpu": 1, "memory_mib": 256, "disk_mib": 256}
		}},
		"POST /api/v1/subscriptions/:id/resize": {rule: serverPerm, params: params("id", "subscription"), body: func(f *fixture, _ string) any {
			return map[string]any{"plan_id": f.objects["plan2"]}
		}},
	} {
		matrix[path] = rc
	}
	fixtureExtras = append(fixtureExtras, billingFixture)
}

// billingFixture adds a second plan, an active monthly subscription of customer's server,
// a payment of customer, the sub-user to manage and another account's e-mail.
func billingFixture(t *testing.T, m *matrixEnv, f *fixture) {
	t.Helper()
	db := m.e.app.DB()
	now := store.Now()
	plan2 := store.Plan{ID: uuid.NewString(), Name: "matrix2-" + testenv.Random(8), Type: api.TypeContainer, CPU: 1, MemoryMiB: 256,
		DiskMiB: 512, PriceMonth: 1500, PriceHour: 3, Currency: "USD", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&plan2).Error; err != nil {
		t.Fatal(err)
	}
	f.objects["plan2"] = plan2.ID
	owner := m.p.u[customer]
	srv := f.objects["server"]
	sub := store.Subscription{ID: uuid.NewString(), UserID: owner.ID, ResellerID: owner.ResellerID, PlanID: f.objects["plan"],
		ServerID: &srv, Cycle: "monthly", Status: "active", Currency: "USD", Price: 1000, WholesalePrice: 1000, CPU: 1, MemoryMiB: 128,
		DiskMiB: 256, AutoRenew: true, PeriodStart: now.AddDate(0, 0, -10), PeriodEnd: now.AddDate(0, 0, 20), CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&sub).Error; err != nil {
		t.Fatal(err)
	}
	f.objects["subscription"] = sub.ID
	ord := store.Order{ID: uuid.NewString(), UserID: owner.ID, PlanID: f.objects["plan"], SubscriptionID: &sub.ID, ServerID: &srv,
		Status: "active", Cycle: "monthly", Currency: "USD", Subtotal: 1000, Total: 1000, ServerName: "m", IdempotencyKey: uuid.NewString(),
		Fingerprint: "x", CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&ord).Error; err != nil {
		t.Fatal(err)
	}
	f.objects["order"] = ord.ID
	pay := uuid.NewString()
	err := db.Exec(`INSERT INTO payments (id, user_id, gateway, amount, currency, status, created_by, idempotency_key, fingerprint, created_at, updated_at)
		VALUES (?, ?, 'stripe', 1000, 'USD', 'created', ?, ?, 'x', ?, ?)`, pay, owner.ID, owner.ID, "matrix-"+pay, now, now).Error
	if err != nil {
		t.Fatal(err)
	}
	f.objects["payment"] = pay
	f.objects["member"] = m.p.u[subWith].ID
	f.objects["reseller"] = m.p.u[reseller].ID
	f.objects["other_email"] = m.p.u[otherCustomer].Email
}
