package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
)

// fromFiber turns Fiber's own errors (no route, body too large, …) into typed errors.
func fromFiber(fe *fiber.Error) error {
	switch fe.Code {
	case http.StatusNotFound:
		return apierr.NotFound("route not found")
	case http.StatusMethodNotAllowed:
		return apierr.New(apierr.CodeMethodNotAllowed, "method not allowed")
	case http.StatusRequestEntityTooLarge:
		return apierr.New(apierr.CodeTooLarge, "request body too large")
	case http.StatusBadRequest:
		return apierr.InvalidJSON(fe.Message, nil)
	case http.StatusUnsupportedMediaType:
		return apierr.New(apierr.CodeUnsupportedMediaType, fe.Message)
	case http.StatusRequestTimeout:
		return apierr.New(api.CodeUnavailable, "request timeout")
	}
	return fe
}

// ErrorHandler is the one place where errors become HTTP answers.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			err = fromFiber(fe)
		}
		rid := RequestID(c)
		status, body, typed := apierr.Resolve(err, rid)
		if status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed", "request_id", rid, "method", c.Method(),
				"path", c.Path(), "status", status, "err", err)
		}
		if typed != nil && typed.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(typed.RetryAfter))
		}
		return c.Status(status).JSON(body)
	}
}
