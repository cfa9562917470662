package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
)

func testApp(t *testing.T) *fiber.App {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Deps{Config: config.Default(), Log: log}, func(app *fiber.App) {
		app.Get("/test/panic", func(*fiber.Ctx) error { panic("kaboom secret") })
		app.Get("/test/internal", func(*fiber.Ctx) error { return errors.New("db password is hunter2") })
		app.Post("/test/decode", func(c *fiber.Ctx) error {
			var v struct {
				A int    `json:"a"`
				B string `json:"b"`
			}
			if err := DecodeJSON(c, &v, false); err != nil {
				return err
			}
			return c.JSON(v)
		})
	})
}

func call(t *testing.T, app *fiber.App, method, path, ct, body string) (int, api.Error, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var e api.Error
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body not JSON: %s", b)
		}
		if e.RequestID == "" || e.RequestID != resp.Header.Get(HeaderRequestID) {
			t.Fatalf("request id %q vs header %q", e.RequestID, resp.Header.Get(HeaderRequestID))
		}
	}
	return resp.StatusCode, e, string(b)
}

func TestErrorHandling(t *testing.T) {
	app := testApp(t)
	for _, tc := range []struct {
		name, method, path, ct, body string
		status                       int
		code                         string
		field                        string
	}{
		{"panic", "GET", "/test/panic", "", "", 500, api.CodeInternal, ""},
		{"internal", "GET", "/test/internal", "", "", 500, api.CodeInternal, ""},
		{"unknown route", "GET", "/api/v1/nope", "", "", 404, api.CodeNotFound, ""},
		{"wrong method", "PUT", "/healthz", "", "", 404, api.CodeNotFound, ""},
		{"malformed", "POST", "/test/decode", "application/json", `{"a":`, 400, api.CodeInvalidJSON, ""},
		{"unknown field", "POST", "/test/decode", "application/json", `{"a":1,"zz":2}`, 400, api.CodeInvalidJSON, "zz"},
		{"trailing", "POST", "/test/decode", "application/json", `{"a":1}x`, 400, api.CodeInvalidJSON, ""},
		{"two values", "POST", "/test/decode", "application/json", `{"a":1}{"a":2}`, 400, api.CodeInvalidJSON, ""},
		{"type", "POST", "/test/decode", "application/json", `{"a":"x"}`, 400, api.CodeInvalidJSON, "a"},
		{"empty", "POST", "/test/decode", "application/json", ``, 400, api.CodeInvalidJSON, ""},
		{"no content type", "POST", "/test/decode", "", `{"a":1}`, 415, "unsupported_media_type", ""},
		{"text", "POST", "/test/decode", "text/plain", `{"a":1}`, 415, "unsupported_media_type", ""},
		{"ok with charset", "POST", "/test/decode", "application/json; charset=utf-8", `{"a":1,"b":"x"}`, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, e, raw := call(t, app, tc.method, tc.path, tc.ct, tc.body)
			if st != tc.status || e.Error.Code != tc.code {
				t.Fatalf("got %d %s, want %d %s", st, raw, tc.status, tc.code)
			}
			if st >= 500 && (e.Error.Message != "internal error" || strings.Contains(raw, "hunter2") || strings.Contains(raw, "kaboom")) {
				t.Fatalf("5xx leaks: %s", raw)
			}
			if tc.field != "" && e.Error.Fields[tc.field] == "" {
				t.Fatalf("field %s not named: %s", tc.field, raw)
			}
		})
	}
}

func TestRequestIDEcho(t *testing.T) {
	app := testApp(t)
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set(HeaderRequestID, "abc-123")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get(HeaderRequestID) != "abc-123" {
		t.Fatalf("got %q", resp.Header.Get(HeaderRequestID))
	}
	req = httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set(HeaderRequestID, strings.Repeat("x", 300))
	resp, _ = app.Test(req)
	if got := resp.Header.Get(HeaderRequestID); len(got) != 36 {
		t.Fatalf("oversized id not replaced: %q", got)
	}
}
