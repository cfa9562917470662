package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
)

const spaTestIndex = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>`

var spaTestJS = strings.Repeat("console.log('nimbo portal');\n", 40)

// spaTestApp is the order New uses: API routes, then the portal, then the JSON 404.
func spaTestApp(t *testing.T, fsys fstest.MapFS) *fiber.App {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(log)})
	app.Use(requestID)
	app.Get("/api/v1/ping", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true}) })
	app.Use(SPA(fsys, log))
	app.Use(func(*fiber.Ctx) error { return apierr.NotFound("route not found") })
	return app
}

func spaBuilt() fstest.MapFS {
	return fstest.MapFS{
		".gitkeep":                {Data: nil},
		"index.html":              {Data: []byte(spaTestIndex)},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		"assets/index-abc123.js":  {Data: []byte(spaTestJS)},
		"assets/index-abc123.css": {Data: []byte("body{margin:0}")},
	}
}

type spaAnswer struct {
	status int
	header http.Header
	body   string
}

func spaDo(t *testing.T, app *fiber.App, method, path string, hdr map[string]string) spaAnswer {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return spaAnswer{resp.StatusCode, resp.Header, string(b)}
}

func TestSPAServesBuild(t *testing.T) {
	app := spaTestApp(t, spaBuilt())
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string // exact body, or "" to skip
		ctype, cache       string // prefixes; "" to skip
		jsonCode           string // the error code of a JSON answer
	}{
		{"root is index", "GET", "/", 200, spaTestIndex, "text/html", cacheRevalidate, ""},
		{"client route", "GET", "/servers/5b0c6f7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", 200, spaTestIndex, "text/html", cacheRevalidate, ""},
		{"nested client route", "GET", "/admin/users", 200, spaTestIndex, "text/html", cacheRevalidate, ""},
		{"index by name", "GET", "/index.html", 200, spaTestIndex, "text/html", cacheRevalidate, ""},
		{"hashed asset", "GET", "/assets/index-abc123.js", 200, spaTestJS, "text/javascript", cacheImmutable, ""},
		{"hashed css", "GET", "/assets/index-abc123.css", 200, "body{margin:0}", "text/css", cacheImmutable, ""},
		{"unhashed file", "GET", "/favicon.svg", 200, "", "image/svg+xml", cacheRevalidate, ""},
		{"missing asset is 404", "GET", "/assets/index-old999.js", 404, "", "application/json", "", api.CodeNotFound},
		{"missing file is 404", "GET", "/robots.txt", 404, "", "application/json", "", api.CodeNotFound},
		{"dotfile hidden", "GET", "/.gitkeep", 404, "", "application/json", "", api.CodeNotFound},
		{"unknown api path stays JSON", "GET", "/api/v1/nope", 404, "", "application/json", "", api.CodeNotFound},
		{"api root stays JSON", "GET", "/api", 404, "", "application/json", "", api.CodeNotFound},
		{"node api stays JSON", "GET", "/node/v1/whatever", 404, "", "application/json", "", api.CodeNotFound},
		{"api route still works", "GET", "/api/v1/ping", 200, `{"ok":true}`, "application/json", "", ""},
		{"post is not the portal", "POST", "/servers", 404, "", "application/json", "", api.CodeNotFound},
		{"delete is not the portal", "DELETE", "/", 404, "", "application/json", "", api.CodeNotFound},
		{"head of a route", "HEAD", "/servers", 200, "", "text/html", cacheRevalidate, ""},
		{"dot segments stay inside", "GET", "/assets/../index.html", 200, spaTestIndex, "text/html", cacheRevalidate, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := spaDo(t, app, tc.method, tc.path, nil)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.body != "" && a.body != tc.body {
				t.Fatalf("body %q, want %q", a.body, tc.body)
			}
			if tc.method == "HEAD" && a.body != "" {
				t.Fatalf("HEAD answered a body of %d bytes", len(a.body))
			}
			if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Fatalf("Content-Type %q, want %q…", ct, tc.ctype)
			}
			if tc.cache != "" && a.header.Get("Cache-Control") != tc.cache {
				t.Fatalf("Cache-Control %q, want %q", a.header.Get("Cache-Control"), tc.cache)
			}
			if tc.jsonCode != "" {
				var e api.Error
				if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error.Code != tc.jsonCode {
					t.Fatalf("want JSON error %s, got %s", tc.jsonCode, a.body)
				}
			}
			if strings.HasPrefix(tc.ctype, "text/html") {
				if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") ||
					!strings.Contains(csp, "frame-ancestors 'none'") {
					t.Fatalf("page without a strict CSP: %q", csp)
				}
				if a.header.Get("X-Content-Type-Options") != "nosniff" {
					t.Fatal("no X-Content-Type-Options: nosniff")
				}
			}
		})
	}
}

// TestSPAContentSecurityPolicy checks the portal's policy directive by directive: a
// reseller's logo (an https URL on another host) may load, and nothing else widens.
func TestSPAContentSecurityPolicy(t *testing.T) {
	app := spaTestApp(t, spaBuilt())
	for _, p := range []string{"/", "/reseller/branding", "/index.html"} {
		a := spaDo(t, app, "GET", p, nil)
		got := map[string][]string{}
		for _, d := range strings.Split(a.header.Get("Content-Security-Policy"), ";") {
			f := strings.Fields(d)
			if len(f) == 0 {
				continue
			}
			if _, dup := got[f[0]]; dup {
				t.Fatalf("%s: directive %s twice", p, f[0])
			}
			got[f[0]] = f[1:]
		}
		want := map[string][]string{
			"default-src":     {"'self'"},
			"script-src":      {"'self'"},
			"style-src":       {"'self'", "'unsafe-inline'"},
			"img-src":         {"'self'", "data:", "https:"},
			"connect-src":     {"'self'"},
			"font-src":        {"'self'"},
			"object-src":      {"'none'"},
			"base-uri":        {"'self'"},
			"form-action":     {"'self'"},
			"frame-ancestors": {"'none'"},
		}
		if len(got) != len(want) {
			t.Fatalf("%s: directives %v, want %v", p, got, want)
		}
		for name, sources := range want {
			if strings.Join(got[name], " ") != strings.Join(sources, " ") {
				t.Errorf("%s: %s %q, want %q", p, name, got[name], sources)
			}
		}
	}
}

func TestSPAConditionalAndGzip(t *testing.T) {
	app := spaTestApp(t, spaBuilt())
	first := spaDo(t, app, "GET", "/assets/index-abc123.js", nil)
	etag := first.header.Get("ETag")
	if first.status != 200 || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("first answer %d, ETag %q", first.status, etag)
	}
	for _, tc := range []struct {
		name, inm string
		status    int
	}{
		{"same etag", etag, 304},
		{"weak form", "W/" + etag, 304},
		{"in a list", `"other", ` + etag, 304},
		{"star", "*", 304},
		{"other etag", `"other"`, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := spaDo(t, app, "GET", "/assets/index-abc123.js", map[string]string{"If-None-Match": tc.inm})
			if a.status != tc.status {
				t.Fatalf("status %d, want %d", a.status, tc.status)
			}
			if tc.status == 304 && a.body != "" {
				t.Fatalf("304 with a body: %q", a.body)
			}
		})
	}
	for _, tc := range []struct {
		name, accept string
		gzip         bool
	}{
		{"gzip", "gzip, deflate, br", true},
		{"gzip with q", "br;q=1.0, gzip;q=0.8", true},
		{"gzip refused", "gzip;q=0, identity", false},
		{"none", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := spaDo(t, app, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": tc.accept})
			if got := a.header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
				t.Fatalf("gzip %v, want %v", got, tc.gzip)
			}
			body := a.body
			if tc.gzip {
				zr, err := gzip.NewReader(bytes.NewReader([]byte(a.body)))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			if body != spaTestJS {
				t.Fatalf("decoded body differs (%d bytes)", len(body))
			}
			if !strings.Contains(a.header.Get("Vary"), "Accept-Encoding") {
				t.Fatalf("no Vary: Accept-Encoding (%q)", a.header.Get("Vary"))
			}
		})
	}
}

func TestSPANotBuilt(t *testing.T) {
	app := spaTestApp(t, fstest.MapFS{".gitkeep": {Data: nil}})
	for _, p := range []string{"/", "/servers", "/account/security"} {
		a := spaDo(t, app, "GET", p, nil)
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(a.body, "was not built") || !strings.Contains(a.body, "npm run build") {
			t.Fatalf("GET %s: %d %q %s", p, a.status, a.header.Get("Content-Type"), a.body)
		}
	}
	if a := spaDo(t, app, "GET", "/api/v1/nope", nil); a.status != 404 || !strings.Contains(a.body, api.CodeNotFound) {
		t.Fatalf("unknown API path: %d %s", a.status, a.body)
	}
}

// TestSPAMountedInNew checks New's order: API routes and their JSON 404 win over the portal.
func TestSPAMountedInNew(t *testing.T) {
	app := testApp(t)
	for _, tc := range []struct {
		method, path string
		status       int
		html         bool
	}{
		{"GET", "/", 200, true},
		{"GET", "/servers", 200, true},
		{"GET", "/healthz", 200, false},
		{"GET", "/api/v1/nope", 404, false},
		{"GET", "/node/v1/nope", 404, false},
		{"POST", "/servers", 404, false},
	} {
		a := spaDo(t, app, tc.method, tc.path, nil)
		isHTML := strings.HasPrefix(a.header.Get("Content-Type"), "text/html")
		if a.status != tc.status || isHTML != tc.html {
			t.Fatalf("%s %s: %d %q", tc.method, tc.path, a.status, a.header.Get("Content-Type"))
		}
	}
}
