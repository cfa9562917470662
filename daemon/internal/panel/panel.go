// Package panel is the daemon's client of the panel's node API (daemon/api). Every call but
// Join carries the node credential as a bearer token. Network errors, 429 and 5xx answers
// are retried with exponential backoff, bounded by the context and a maximum number of
// attempts; any other 4xx answer is a permanent *Error.
package panel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nimbo-panel/nimbo/daemon/api"
)

// Error is a non-2xx answer of the panel, decoded from its error envelope.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the envelope's machine-readable code, e.g. "not_found".
	Code string
	// Message is the envelope's human-readable message.
	Message string
	// RequestID is the panel's request id, for its logs.
	RequestID string
	// Method and Path say which call failed.
	Method, Path string
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("panel %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, msg)
	if e.RequestID != "" {
		s += " (request_id " + e.RequestID + ")"
	}
	return s
}

// Temporary reports whether retrying the call may succeed (429 or 5xx).
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// IsPermanent reports whether err is a panel answer that retrying cannot change (a 4xx
// other than 429).
func IsPermanent(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && !pe.Temporary()
}

// Client calls the node API of one panel. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	credential  string
	http        *http.Client
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	userAgent   string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client (30 s timeout per attempt).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetry sets the number of attempts per call (at least 1) and the backoff bounds.
func WithRetry(attempts int, minBackoff, maxBackoff time.Duration) Option {
	return func(c *Client) {
		c.maxAttempts = max(attempts, 1)
		c.minBackoff = minBackoff
		c.maxBackoff = max(maxBackoff, minBackoff)
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the panel at baseURL authenticating with credential (may be empty
// for Join).
func New(baseURL, credential string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("panel url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("panel url %q is not an http(s) URL", baseURL)
	}
	c := &Client{
		base:        u,
		credential:  credential,
		http:        &http.Client{Timeout: 30 * time.Second},
		maxAttempts: 6,
		minBackoff:  200 * time.Millisecond,
		maxBackoff:  5 * time.Second,
		userAgent:   "nimbo-daemon",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Join exchanges a one-time join token for the node's credential.
func (c *Client) Join(ctx context.Context, req api.JoinRequest) (api.JoinResponse, error) {
	var out api.JoinResponse
	err := c.do(ctx, http.MethodPost, api.PathJoin, false, req, &out)
	return out, err
}

// Heartbeat sends hb and returns the interval the panel expects.
func (c *Client) Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatResponse, error) {
	var out api.HeartbeatResponse
	err := c.do(ctx, http.MethodPost, api.PathHeartbeat, true, hb, &out)
	return out, err
}

// Progress reports the progress of operation opID.
func (c *Client) Progress(ctx context.Context, opID string, p api.Progress) error {
	return c.do(ctx, http.MethodPost, opPath(api.PathProgress, opID), true, p, nil)
}

// Result reports the final result of operation opID. Reporting it twice is harmless.
func (c *Client) Result(ctx context.Context, opID string, r api.Result) error {
	return c.do(ctx, http.MethodPost, opPath(api.PathResult, opID), true, r, nil)
}

// Operation fetches what the panel knows about operation opID.
func (c *Client) Operation(ctx context.Context, opID string) (api.OperationInfo, error) {
	var out api.OperationInfo
	err := c.do(ctx, http.MethodGet, opPath(api.PathOperation, opID), true, nil, &out)
	return out, err
}

// DesiredInstances fetches the instances the panel expects on this node.
func (c *Client) DesiredInstances(ctx context.Context) (api.DesiredState, error) {
	var out api.DesiredState
	err := c.do(ctx, http.MethodGet, api.PathInstances, true, nil, &out)
	return out, err
}

// Drift reports what differs between the panel and Incus.
func (c *Client) Drift(ctx context.Context, d api.DriftReport) error {
	return c.do(ctx, http.MethodPost, api.PathDrift, true, d, nil)
}

func opPath(tmpl, opID string) string {
	return strings.Replace(tmpl, "{id}", url.PathEscape(opID), 1)
}

func (c *Client) do(ctx context.Context, method, path string, auth bool, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("panel %s %s: marshal: %w", method, path, err)
		}
		body = b
	}
	backoff := c.minBackoff
	var lastErr error
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, method, path, auth, body, out)
		if err == nil {
			return nil
		}
		lastErr = err
		if IsPermanent(err) || ctx.Err() != nil || attempt >= c.maxAttempts {
			return lastErr
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (giving up: %w)", lastErr, ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, c.maxBackoff)
	}
}

func (c *Client) once(ctx context.Context, method, path string, auth bool, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// path is already escaped (opPath), so it is appended to the URL as text.
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return fmt.Errorf("panel %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set(api.HeaderAuth, api.AuthScheme+" "+c.credential)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("panel %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("panel %s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		pe := &Error{Status: resp.StatusCode, Method: method, Path: path, RequestID: resp.Header.Get("X-Request-ID")}
		var env api.Error
		if json.Unmarshal(data, &env) == nil {
			pe.Code, pe.Message = env.Error.Code, env.Error.Message
			if env.RequestID != "" {
				pe.RequestID = env.RequestID
			}
		}
		return pe
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("panel %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
