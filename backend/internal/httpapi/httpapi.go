// Package httpapi is nimbo-panel's HTTP surface: the Fiber app, its middleware, the REST
// routes under /api/v1 and their handlers, and the single error handler.
package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/coupon"
	"github.com/nimbo-panel/nimbo/backend/internal/instance"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/metrics"
	"github.com/nimbo-panel/nimbo/backend/internal/node"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/order"
	"github.com/nimbo-panel/nimbo/backend/internal/payment"
	"github.com/nimbo-panel/nimbo/backend/internal/proration"
	"github.com/nimbo-panel/nimbo/backend/internal/queue"
	"github.com/nimbo-panel/nimbo/backend/internal/reseller"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/frontend"
)

// BodyLimit caps request bodies.
const BodyLimit = 1 << 20

// Deps are what the handlers use.
type Deps struct {
	Config    config.Config
	Log       *slog.Logger
	DB        *store.DB
	Redis     redis.UniversalClient
	Auth      *auth.Service
	Nodes     *node.Service
	Instances *instance.Service
	Ops       *ops.Service
	Billing   *billing.Service
	Resellers *reseller.Service
	// Invoices reads invoices for those allowed to see them.
	Invoices *invoice.Service
	// Coupons manages the provider's and resellers' coupons.
	Coupons *coupon.Service
	// Payments is the payment gateways service.
	Payments *payment.Service
	// Accounts is self-service sign-up, e-mail verification and password reset.
	Accounts *auth.Accounts
	// Notify delivers notifications and keeps each user's notification settings.
	Notify *notify.Service
	// Resizes changes subscription plans with proration.
	Resizes *proration.Service
	// Orders sells plans and manages subscriptions.
	Orders *order.Service
	// Metrics keeps the servers' usage history and lists the online nodes' images.
	Metrics *metrics.Service
	// Queue reads the asynq queues (the admin's queue view).
	Queue *queue.Queue
	// Done is closed when the panel shuts down; long polls answer at once then.
	Done <-chan struct{}
}

type handlers struct{ Deps }

// New builds the Fiber app. mount registers more routes (the node API) before the final
// not-found handler.
func New(d Deps, mount ...func(*fiber.App)) *fiber.App {
	eh := ErrorHandler(d.Log)
	app := fiber.New(fiber.Config{
		ErrorHandler:          eh,
		BodyLimit:             BodyLimit,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          150 * time.Second,
		IdleTimeout:           120 * time.Second,
		AppName:               "nimbo-panel",
	})
	h := &handlers{d}
	app.Use(requestID, accessLog(d.Log, eh), recoverer(d.Log), auditLog(d.DB, d.Log))
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", h.readyz)

	v1 := app.Group("/api/v1")
	v1.Post("/auth/login", h.login)
	v1.Post("/auth/logout", h.logout)

	// Middleware is attached per route (not per group) so an unknown path answers 404, not 401.
	authn := authenticate(d.Auth)
	read, write := requireScope(api.ScopeServersRead), requireScope(api.ScopeServersWrite)
	aread, awrite := requireScope(api.ScopeAdminRead), requireScope(api.ScopeAdminWrite)
	v1.Get("/me", authn, h.me)
	v1.Post("/me/2fa/enroll", authn, h.enrollTwoFactor)
	v1.Post("/me/2fa/confirm", authn, h.confirmTwoFactor)
	v1.Delete("/me/2fa", authn, h.disableTwoFactor)
	v1.Post("/me/2fa/recovery-codes", authn, h.regenerateRecoveryCodes)
	v1.Get("/me/sessions", authn, h.listSessions)
	v1.Delete("/me/sessions", authn, h.revokeOtherSessions)
	v1.Delete("/me/sessions/:id", authn, h.revokeSession)
	v1.Post("/tokens", authn, h.createToken)
	v1.Get("/tokens", authn, h.listTokens)
	v1.Delete("/tokens/:id", authn, h.deleteToken)

	v1.Get("/servers", authn, read, h.listServers)
	v1.Post("/servers", authn, write, h.createServer)
	v1.Get("/servers/:id", authn, read, h.getServer)
	v1.Delete("/servers/:id", authn, write, h.action(api.OpInstanceDelete))
	v1.Post("/servers/:id/start", authn, write, h.action(api.OpInstanceStart))
	v1.Post("/servers/:id/stop", authn, write, h.action(api.OpInstanceStop))
	v1.Post("/servers/:id/restart", authn, write, h.action(api.OpInstanceRestart))
	v1.Get("/servers/:id/operations", authn, read, h.serverOperations)
	v1.Get("/operations/:id", authn, read, h.getOperation)
	v1.Get("/operations/:id/wait", authn, read, h.waitOperation)

	v1.Post("/admin/users", authn, requireAdmin, awrite, h.createUser)
	v1.Get("/admin/users", authn, requireAdmin, aread, h.listUsers)
	v1.Get("/admin/users/:id", authn, requireAdmin, aread, h.getUser)
	v1.Post("/admin/nodes", authn, requireAdmin, awrite, h.createNode)
	v1.Get("/admin/nodes", authn, requireAdmin, aread, h.listNodes)
	v1.Get("/admin/nodes/:id", authn, requireAdmin, aread, h.getNode)
	v1.Delete("/admin/nodes/:id", authn, requireAdmin, awrite, h.deleteNode)
	v1.Get("/admin/operations", authn, requireAdmin, aread, h.adminOperations)
	h.mountQueues(v1, authn, aread)
	h.mountWallets(v1, authn, read, aread, awrite)
	h.mountPlans(v1, authn, read, aread, awrite)
	h.mountOrders(v1, authn, read, write, aread)
	h.mountResize(v1, authn, write, awrite)
	h.mountAccounts(v1, authn)
	h.mountAudit(v1, authn, aread)
	h.mountInvoices(v1, authn, read, aread)
	h.mountCoupons(v1, authn, aread, awrite)
	h.mountPayments(v1, authn, read, write)
	h.mountResellers(v1, authn, aread, awrite)
	h.mountMembers(v1, authn, read, write)
	h.mountMetrics(v1, authn, read)
	h.mountSettings(v1, authn, aread)

	for _, m := range mount {
		m(app)
	}
	// The web portal: GET/HEAD outside /api/ and /node/ (see spa.go).
	app.Use(SPA(frontend.Dist(), d.Log))
	app.Use(func(*fiber.Ctx) error { return apierr.NotFound("route not found") })
	return app
}

func (h *handlers) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.DB.Ping(ctx); err != nil {
		return apierr.Unavailable("database unreachable", err)
	}
	if err := h.Redis.Ping(ctx).Err(); err != nil {
		return apierr.Unavailable("redis unreachable", err)
	}
	return c.JSON(fiber.Map{"status": "ok"})
}
