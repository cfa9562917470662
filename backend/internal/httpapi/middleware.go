package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
)

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-ID"

// SessionCookie is the name of the session cookie.
const SessionCookie = "nimbo_session"

type ctxKey int

const (
	keyRequestID ctxKey = iota
)

const (
	localRequestID = "nimbo.request_id"
	localPrincipal = "nimbo.principal"
)

// RequestID returns the request's id.
func RequestID(c *fiber.Ctx) string {
	if v, ok := c.Locals(localRequestID).(string); ok {
		return v
	}
	return ""
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch < 0x21 || ch > 0x7e {
			return false
		}
	}
	return true
}

// requestID takes a sane X-Request-ID from the client or makes one, echoes it, and puts it in
// the request context for logs.
func requestID(c *fiber.Ctx) error {
	rid := c.Get(HeaderRequestID)
	if validRequestID(rid) {
		rid = strings.Clone(rid)
	} else {
		rid = uuid.NewString()
	}
	c.Locals(localRequestID, rid)
	c.Set(HeaderRequestID, rid)
	c.SetUserContext(context.WithValue(c.UserContext(), keyRequestID, rid))
	return c.Next()
}

// recoverer turns a panic into a 500 answer (through the error handler) and logs the stack.
func recoverer(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "panic in handler", "request_id", RequestID(c), "panic", fmt.Sprint(r),
					"stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return c.Next()
	}
}

// accessLog logs every request: errors at warn/error, reads at debug, the rest at info.
func accessLog(log *slog.Logger, eh fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := eh(c, err); herr != nil {
				return herr
			}
		}
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case c.Method() == fiber.MethodGet && status < 400:
			level = slog.LevelDebug
		}
		if !log.Enabled(c.UserContext(), level) {
			return nil
		}
		log.Log(c.UserContext(), level, "http request", "request_id", RequestID(c), "method", c.Method(),
			"path", c.Path(), "status", status, "duration_ms", float64(time.Since(start).Microseconds())/1000,
			"ip", c.IP())
		return nil
	}
}

// LogHandler wraps h so records logged with a request context carry its request_id.
func LogHandler(h slog.Handler) slog.Handler { return ctxHandler{h} }

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if rid, ok := ctx.Value(keyRequestID).(string); ok {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "request_id" {
				has = true
				return false
			}
			return true
		})
		if !has {
			r.AddAttrs(slog.String("request_id", rid))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as)}
}
func (h ctxHandler) WithGroup(n string) slog.Handler { return ctxHandler{h.Handler.WithGroup(n)} }

// principal returns the authenticated caller.
func principal(c *fiber.Ctx) *auth.Principal {
	p, _ := c.Locals(localPrincipal).(*auth.Principal)
	return p
}

// authenticate loads the principal from a bearer token or the session cookie.
func authenticate(svc *auth.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var (
			p   *auth.Principal
			err error
		)
		if h := c.Get(fiber.HeaderAuthorization); h != "" {
			scheme, token, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
				return apierr.Unauthorized("malformed Authorization header")
			}
			p, err = svc.AuthenticateToken(c.UserContext(), token)
		} else if ck := c.Cookies(SessionCookie); ck != "" {
			p, err = svc.AuthenticateSession(c.UserContext(), ck)
		} else {
			return apierr.Unauthorized("authentication required")
		}
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		return c.Next()
	}
}

// requireScope answers 403 unless the credential carries scope.
func requireScope(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !principal(c).Has(scope) {
			return apierr.Forbidden("this credential lacks the " + scope + " scope")
		}
		return c.Next()
	}
}

// requireAdmin answers 403 unless the caller is an admin.
func requireAdmin(c *fiber.Ctx) error {
	if !principal(c).Admin() {
		return apierr.Forbidden("admin only")
	}
	return c.Next()
}

// requireReseller answers 403 unless the caller is a reseller.
func requireReseller(c *fiber.Ctx) error {
	if !principal(c).Reseller() {
		return apierr.Forbidden("reseller only")
	}
	return c.Next()
}
