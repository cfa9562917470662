package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Cache policies of the portal's files: Vite names everything under assets/ by its content
// hash, so those never change; index.html and the other files are revalidated (ETag) each time.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// spaCSP is the Content-Security-Policy of the portal's pages: only its own scripts, styles
// and API. Images may also come from any https origin: a reseller's logo is an https URL on
// its own host (images run nothing; scripts, styles, frames and connections stay 'self').
const spaCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// notBuiltPage answers the portal's routes of a binary built without the portal.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nimbo: web portal not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>Nimbo</h1>
<p>The web portal was not built into this nimbo-panel binary.</p>
<p>Build it with <code>make build</code>, or run <code>npm ci &amp;&amp; npm run build</code> in
<code>frontend/</code> and then rebuild nimbo-panel (<code>go build ./backend/cmd/nimbo-panel</code>).</p>
<p>The REST API answers under <code>/api/v1</code>.</p>
</body></html>
`

// spaFile is one file of the portal, read once at start.
type spaFile struct {
	body  []byte
	gz    []byte // gzip of body, when that is smaller; nil otherwise
	ctype string
	etag  string
	cache string
	html  bool
}

// spa serves the portal from memory.
type spa struct {
	files map[string]*spaFile // by URL path ("/index.html", "/assets/index-abc.js")
	index *spaFile            // nil when the portal was not built
}

// SPA returns the handler of the web portal built into fsys (see package frontend): for GET
// and HEAD of any path outside /api/ and /node/ it answers the file at that path (files under
// /assets/ cached for a year, the others revalidated by ETag, gzip when the client accepts it)
// or, for a path without a file extension, index.html so the portal's client-side routes
// work. Everything else goes to the next handler (the JSON 404). Without index.html in fsys it
// answers a short page saying how to build the portal.
func SPA(fsys fs.FS, log *slog.Logger) fiber.Handler {
	s, err := loadSPA(fsys)
	if err != nil {
		log.Error("web portal: cannot read the embedded build; serving the not-built page", "err", err)
		s = &spa{files: map[string]*spaFile{}}
	}
	return s.handle
}

func loadSPA(fsys fs.FS) (*spa, error) {
	s := &spa{files: map[string]*spaFile{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		f, err := newSPAFile(p, b)
		if err != nil {
			return err
		}
		s.files["/"+p] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk portal build: %w", err)
	}
	s.index = s.files["/index.html"]
	return s, nil
}

func newSPAFile(p string, b []byte) (*spaFile, error) {
	ctype := mime.TypeByExtension(path.Ext(p))
	if ctype == "" {
		ctype = http.DetectContentType(b)
	}
	sum := sha256.Sum256(b)
	f := &spaFile{
		body:  b,
		ctype: ctype,
		etag:  `"` + hex.EncodeToString(sum[:12]) + `"`,
		cache: cacheRevalidate,
		html:  strings.HasPrefix(ctype, "text/html"),
	}
	if strings.HasPrefix(p, "assets/") {
		f.cache = cacheImmutable
	}
	if compressible(ctype) && len(b) > 256 {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip %s: %w", p, err)
		}
		if _, err := zw.Write(b); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", p, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", p, err)
		}
		if buf.Len() < len(b) {
			f.gz = buf.Bytes()
		}
	}
	return f, nil
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg") || strings.Contains(ctype, "xml")
}

// apiPath tells the paths the portal never answers: the REST API and the node API.
func apiPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/node" || strings.HasPrefix(p, "/node/")
}

func (s *spa) handle(c *fiber.Ctx) error {
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead {
		return c.Next()
	}
	p := path.Clean("/" + c.Path())
	if apiPath(p) {
		return c.Next()
	}
	if f, ok := s.files[p]; ok {
		return s.send(c, f)
	}
	// A missing file (a stale hashed asset, /favicon.ico) is a 404, never the HTML page that
	// a browser would try to run as a script.
	if path.Ext(p) != "" {
		return c.Next()
	}
	if s.index == nil {
		c.Set(fiber.HeaderCacheControl, cacheRevalidate)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(notBuiltPage)
	}
	return s.send(c, s.index)
}

func (s *spa) send(c *fiber.Ctx, f *spaFile) error {
	c.Set(fiber.HeaderContentType, f.ctype)
	c.Set(fiber.HeaderCacheControl, f.cache)
	c.Set(fiber.HeaderETag, f.etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if f.html {
		c.Set(fiber.HeaderContentSecurityPolicy, spaCSP)
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	}
	if f.gz != nil {
		c.Vary(fiber.HeaderAcceptEncoding)
	}
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && etagMatch(match, f.etag) {
		return c.SendStatus(http.StatusNotModified)
	}
	if f.gz != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.gz)
	}
	return c.Send(f.body)
}

// etagMatch tells whether an If-None-Match header names etag (weak or strong) or is "*".
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip tells whether an Accept-Encoding header allows gzip (not with q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
