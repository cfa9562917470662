package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/mail/smtptest"
	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// withMail points the panel's mail at a test SMTP server.
func withMail(s *smtptest.Server) func(*config.Config) {
	return func(c *config.Config) {
		c.Mail.Host, c.Mail.Port, c.Mail.TLS, c.Mail.From = s.Host, s.Port, "none", "Nimbo <noreply@nimbo.test>"
	}
}

var tokenInLink = regexp.MustCompile(`/(verify-email|reset-password)\?token=([a-z2-7]+)`)

// mailedToken returns the link base and token of the newest mail to rcpt whose link path is
// kind ("verify-email" or "reset-password").
func mailedToken(t *testing.T, s *smtptest.Server, rcpt, kind string) (string, string) {
	t.Helper()
	msgs := s.To(rcpt)
	for i := len(msgs) - 1; i >= 0; i-- {
		text := msgs[i].Text()
		if m := tokenInLink.FindStringSubmatchIndex(text); m != nil && text[m[2]:m[3]] == kind {
			start := strings.LastIndex(text[:m[0]], "http")
			return text[start:m[0]], text[m[4]:m[5]]
		}
	}
	t.Fatalf("no %s mail to %s among %d", kind, rcpt, len(msgs))
	return "", ""
}

// hostCall sends a JSON request with a Host header and returns the status, the session
// cookie it set (if any) and the body.
func hostCall(e *env, method, path, host string, body any, out any) (int, string, []byte) {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	rb, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(rb, out); err != nil {
			e.t.Fatalf("decode %s: %v", rb, err)
		}
	}
	cookie := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == "nimbo_session" {
			cookie = ck.Value
		}
	}
	return resp.StatusCode, cookie, rb
}

// signup creates an account through the API and returns a client signed in with the
// cookie the sign-up answered.
func (e *env) signup(email, password string) *client {
	e.t.Helper()
	st, cookie, b := hostCall(e, "POST", "/api/v1/auth/signup", "127.0.0.1", api.SignupRequest{Email: email, Password: password}, nil)
	if st != 201 || cookie == "" {
		e.t.Fatalf("signup %s: %d %s (cookie %q)", email, st, b, cookie)
	}
	c := &client{e: e, cookie: cookie}
	_ = json.Unmarshal(b, &c.user)
	return c
}

// insertToken stores a one-time token of kind for userID with the given expiry, as the
// service would, and returns its secret.
func (e *env) insertToken(kind, userID string, expires time.Time) string {
	e.t.Helper()
	secret := auth.NewSecret("")
	row := auth.AccountToken{ID: uuid.NewString(), Kind: kind, UserID: userID, TokenHash: auth.HashSecret(secret),
		ExpiresAt: expires.UTC(), CreatedAt: store.Now().Add(-48 * time.Hour)}
	if err := e.app.DB().Create(&row).Error; err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func TestAccountsSignupVerifyEmail(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		smtp := smtptest.Start(t, smtptest.Options{})
		e := newEnv(t, db, withMail(smtp))
		ann := e.signup("Signup-Ann@Example.com", "correct horse battery")
		if ann.user.Email != "signup-ann@example.com" || ann.user.Role != api.RoleCustomer || ann.user.EmailVerified || ann.user.ResellerID != "" {
			t.Fatalf("signed-up user: %+v", ann.user)
		}
		var me api.User
		ann.must(200, "GET", "/api/v1/me", nil, &me)
		if me.ID != ann.user.ID || me.EmailVerified {
			t.Fatalf("me after sign-up: %+v", me)
		}
		msgs := smtp.To("signup-ann@example.com")
		if len(msgs) != 1 || !strings.Contains(msgs[0].Header("Subject"), "Confirm your e-mail address") {
			t.Fatalf("verification mails: %d %+v", len(msgs), msgs)
		}
		base, token := mailedToken(t, smtp, "signup-ann@example.com", "verify-email")
		if base != e.cfg.PublicURL {
			t.Errorf("link base %q, want %q", base, e.cfg.PublicURL)
		}
		var hash string
		if err := e.app.DB().Raw("SELECT token_hash FROM account_tokens WHERE user_id = ?", ann.user.ID).Scan(&hash).Error; err != nil {
			t.Fatal(err)
		}
		if hash != auth.HashSecret(token) || strings.Contains(hash, token) {
			t.Errorf("stored %q is not the SHA-256 of the mailed token", hash)
		}
		anon := e.anon()
		var verified api.User
		anon.must(200, "POST", "/api/v1/auth/verify-email", api.VerifyEmailRequest{Token: token}, &verified)
		if !verified.EmailVerified || verified.ID != ann.user.ID {
			t.Fatalf("verify answer: %+v", verified)
		}
		ann.must(200, "GET", "/api/v1/me", nil, &me)
		if !me.EmailVerified {
			t.Fatal("me not verified after verify-email")
		}
		if st, body := anon.errCode("POST", "/api/v1/auth/verify-email", api.VerifyEmailRequest{Token: token}); st != 400 || body.Error.Code != api.CodeInvalidToken {
			t.Fatalf("token reuse: %d %+v", st, body)
		}
		if st, body := anon.errCode("POST", "/api/v1/auth/verify-email", api.VerifyEmailRequest{Token: auth.NewSecret("")}); st != 400 || body.Error.Code != api.CodeInvalidToken {
			t.Fatalf("unknown token: %d %+v", st, body)
		}
		if st, body := ann.errCode("POST", "/api/v1/me/email/verification", nil); st != 409 || body.Error.Code != api.CodeConflict {
			t.Fatalf("re-send when verified: %d %+v", st, body)
		}

		// The same address again (any case) is a conflict and writes nothing.
		users := e.count("users")
		if st, body := anon.errCode("POST", "/api/v1/auth/signup", api.SignupRequest{Email: "SIGNUP-ANN@example.com", Password: "another password"}); st != 409 || body.Error.Code != api.CodeConflict {
			t.Fatalf("duplicate sign-up: %d %+v", st, body)
		}
		if e.count("users") != users {
			t.Fatal("duplicate sign-up wrote a user")
		}

		// An expired token is refused; a re-sent link works, and the expired one stays refused.
		bob := e.signup("signup-bob@example.com", "correct horse battery")
		expired := e.insertToken(auth.TokenVerifyEmail, bob.user.ID, time.Now().Add(-time.Minute))
		if st, body := anon.errCode("POST", "/api/v1/auth/verify-email", api.VerifyEmailRequest{Token: expired}); st != 400 || body.Error.Code != api.CodeInvalidToken {
			t.Fatalf("expired token: %d %+v", st, body)
		}
		var acc api.Accepted
		bob.must(202, "POST", "/api/v1/me/email/verification", nil, &acc)
		if n := len(smtp.To("signup-bob@example.com")); n != 2 {
			t.Fatalf("bob has %d mails, want sign-up and re-send", n)
		}
		_, fresh := mailedToken(t, smtp, "signup-bob@example.com", "verify-email")
		anon.must(200, "POST", "/api/v1/auth/verify-email", api.VerifyEmailRequest{Token: fresh}, &verified)
		if !verified.EmailVerified || verified.ID != bob.user.ID {
			t.Fatalf("bob verify: %+v", verified)
		}

		// Accounts an admin creates count as verified.
		admin := e.login("signup-admin@example.com", api.RoleAdmin)
		var created api.User
		admin.must(201, "POST", "/api/v1/admin/users", api.CreateUserRequest{Email: "made-by-admin@example.com", Password: "password-123", Role: api.RoleCustomer}, &created)
		if !created.EmailVerified {
			t.Fatalf("admin-created user not verified: %+v", created)
		}
		admin.must(200, "GET", "/api/v1/admin/users/"+created.ID, nil, &created)
		if !created.EmailVerified {
			t.Fatalf("admin-created user read back not verified: %+v", created)
		}
		if n := len(smtp.To("made-by-admin@example.com")); n != 0 {
			t.Fatalf("admin-created user got %d mails", n)
		}
	})
}

// insertReseller creates a reseller account with a portal domain and returns its id.
func (e *env) insertReseller(email, domain, brand string) string {
	e.t.Helper()
	now := store.Now()
	hash, err := auth.HashPassword("password-"+email, auth.DefaultPasswordParams())
	if err != nil {
		e.t.Fatal(err)
	}
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: api.RoleReseller, EmailVerifiedAt: &now,
		CreatedAt: now, UpdatedAt: now}
	if err := e.app.DB().Create(&u).Error; err != nil {
		e.t.Fatal(err)
	}
	p := store.ResellerProfile{UserID: u.ID, BrandName: brand, Domain: &domain, CreatedAt: now, UpdatedAt: now}
	if err := e.app.DB().Create(&p).Error; err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func TestAccountsSignupOnResellerDomain(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		smtp := smtptest.Start(t, smtptest.Options{})
		e := newEnv(t, db, withMail(smtp))
		rid := e.insertReseller("signup-reseller@example.com", "portal.signup-reseller.test", "Acme Cloud")
		var u api.User
		st, cookie, b := hostCall(e, "POST", "/api/v1/auth/signup", "Portal.Signup-Reseller.test:8443",
			api.SignupRequest{Email: "signup-dora@example.com", Password: "correct horse battery"}, &u)
		if st != 201 || cookie == "" || u.ResellerID != rid {
			t.Fatalf("sign-up on the reseller's domain: %d %s", st, b)
		}
		var stored store.User
		if err := e.app.DB().Where("id = ?", u.ID).Take(&stored).Error; err != nil || stored.ResellerID == nil || *stored.ResellerID != rid {
			t.Fatalf("stored reseller_id: %+v %v", stored.ResellerID, err)
		}
		msgs := smtp.To("signup-dora@example.com")
		if len(msgs) != 1 || msgs[0].Header("Subject") != "Confirm your e-mail address for Acme Cloud" {
			t.Fatalf("branded mail: %+v", msgs)
		}
		// PublicURL is http here, so the link keeps it (https would use the reseller's domain).
		if base, _ := mailedToken(t, smtp, "signup-dora@example.com", "verify-email"); base != e.cfg.PublicURL {
			t.Errorf("link base %q", base)
		}
		var erin api.User
		st, _, b = hostCall(e, "POST", "/api/v1/auth/signup", "elsewhere.test",
			api.SignupRequest{Email: "signup-erin@example.com", Password: "correct horse battery"}, &erin)
		if st != 201 || erin.ID == "" || erin.ResellerID != "" {
			t.Fatalf("sign-up on another host: %d %s", st, b)
		}
	})
}

func TestAccountsPasswordReset(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		smtp := smtptest.Start(t, smtptest.Options{})
		e := newEnv(t, db, withMail(smtp))
		carol := e.login("reset-carol@example.com", api.RoleCustomer)
		second := &client{e: e}
		st, h, b := second.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: "reset-carol@example.com", Password: "password-reset-carol@example.com"}, nil)
		if st != 200 {
			t.Fatalf("second login: %d %s", st, b)
		}
		for _, ck := range (&http.Response{Header: h}).Cookies() {
			if ck.Name == "nimbo_session" {
				second.cookie = ck.Value
			}
		}
		anon := e.anon()
		var acc api.Accepted
		anon.must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "RESET-carol@example.com"}, &acc)
		// An address without an account gets the same answer and no mail.
		anon.must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "nobody-here@example.com"}, &acc)
		if n := len(smtp.To("nobody-here@example.com")); n != 0 {
			t.Fatalf("mail sent to an address without an account: %d", n)
		}
		_, token := mailedToken(t, smtp, "reset-carol@example.com", "reset-password")

		// A bad new password is refused and does not use the token up.
		if st, body := anon.errCode("POST", "/api/v1/auth/password-reset/confirm", api.PasswordResetConfirmRequest{Token: token, Password: "short"}); st != 422 || body.Error.Fields["password"] == "" {
			t.Fatalf("short password: %d %+v", st, body)
		}
		var u api.User
		anon.must(200, "POST", "/api/v1/auth/password-reset/confirm", api.PasswordResetConfirmRequest{Token: token, Password: "a brand new password"}, &u)
		if u.ID != carol.user.ID || !u.EmailVerified {
			t.Fatalf("confirm answer: %+v", u)
		}
		for _, c := range []*client{carol, second} {
			if st, _ := c.errCode("GET", "/api/v1/me", nil); st != 401 {
				t.Fatalf("old session after reset: %d, want 401", st)
			}
		}
		if e.count("sessions") != 0 {
			t.Fatal("sessions left after reset")
		}
		if st, _ := anon.errCode("POST", "/api/v1/auth/login", api.LoginRequest{Email: "reset-carol@example.com", Password: "password-reset-carol@example.com"}); st != 401 {
			t.Fatalf("old password: %d", st)
		}
		anon.must(200, "POST", "/api/v1/auth/login", api.LoginRequest{Email: "reset-carol@example.com", Password: "a brand new password"}, nil)
		if st, body := anon.errCode("POST", "/api/v1/auth/password-reset/confirm", api.PasswordResetConfirmRequest{Token: token, Password: "yet another password"}); st != 400 || body.Error.Code != api.CodeInvalidToken {
			t.Fatalf("reused reset token: %d %+v", st, body)
		}
		expired := e.insertToken(auth.TokenPasswordReset, carol.user.ID, time.Now().Add(-time.Second))
		if st, body := anon.errCode("POST", "/api/v1/auth/password-reset/confirm", api.PasswordResetConfirmRequest{Token: expired, Password: "yet another password"}); st != 400 || body.Error.Code != api.CodeInvalidToken {
			t.Fatalf("expired reset token: %d %+v", st, body)
		}
		// A verification token is not a reset token.
		verify := e.insertToken(auth.TokenVerifyEmail, carol.user.ID, time.Now().Add(time.Hour))
		if st, body := anon.errCode("POST", "/api/v1/auth/password-reset/confirm", api.PasswordResetConfirmRequest{Token: verify, Password: "yet another password"}); st != 400 || body.Error.Code != api.CodeInvalidToken {
			t.Fatalf("verify token used to reset: %d %+v", st, body)
		}

		// Concurrent confirmations of one token: exactly one wins.
		anon.must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "reset-carol@example.com"}, &acc)
		_, token2 := mailedToken(t, smtp, "reset-carol@example.com", "reset-password")
		if token2 == token {
			t.Fatal("second reset mailed the same token")
		}
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := &client{e: e}
				statuses[i], _, _ = c.do("POST", "/api/v1/auth/password-reset/confirm",
					api.PasswordResetConfirmRequest{Token: token2, Password: fmt.Sprintf("concurrent password %d", i)}, nil)
			})
		}
		wg.Wait()
		won := -1
		for i, st := range statuses {
			switch {
			case st == 200 && won == -1:
				won = i
			case st == 200:
				t.Fatalf("two confirmations succeeded: %v", statuses)
			case st != 400:
				t.Fatalf("confirmation answered %d: %v", st, statuses)
			}
		}
		if won == -1 {
			t.Fatalf("no confirmation succeeded: %v", statuses)
		}
		anon.must(200, "POST", "/api/v1/auth/login", api.LoginRequest{Email: "reset-carol@example.com", Password: fmt.Sprintf("concurrent password %d", won)}, nil)
	})
}

func TestAccountsRateLimits(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		smtp := smtptest.Start(t, smtptest.Options{})
		e := newEnv(t, db, withMail(smtp))
		anon := e.anon()
		limited := func(what string, st int, body api.Error) {
			t.Helper()
			if st != 429 || body.Error.Code != api.CodeRateLimited {
				t.Fatalf("%s: %d %+v, want 429", what, st, body)
			}
		}
		// Sign-ups: 10 per IP per hour (duplicates count too).
		fay := e.signup("limit-fay@example.com", "correct horse battery")
		for i := 0; i < 9; i++ {
			if st, _ := anon.errCode("POST", "/api/v1/auth/signup", api.SignupRequest{Email: "limit-fay@example.com", Password: "correct horse battery"}); st != 409 {
				t.Fatalf("duplicate sign-up %d: %d", i, st)
			}
		}
		users := e.count("users")
		st, hdr, b := anon.do("POST", "/api/v1/auth/signup", api.SignupRequest{Email: "limit-gus@example.com", Password: "correct horse battery"}, nil)
		if st != 429 || hdr.Get("Retry-After") == "" {
			t.Fatalf("11th sign-up: %d %s (Retry-After %q)", st, b, hdr.Get("Retry-After"))
		}
		if e.count("users") != users {
			t.Fatal("a rate-limited sign-up wrote a user")
		}
		// Password resets: 3 per address, 10 per IP, whether or not the address has an account.
		for i := 0; i < 3; i++ {
			anon.must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "limit-fay@example.com"}, nil)
		}
		st, body := anon.errCode("POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "limit-fay@example.com"})
		limited("4th reset of one address", st, body)
		if n := len(smtp.To("limit-fay@example.com")); n != 4 {
			t.Fatalf("fay has %d mails, want the sign-up and 3 resets", n)
		}
		for i := 0; i < 6; i++ {
			anon.must(202, "POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: fmt.Sprintf("limit-nobody%d@example.com", i)}, nil)
		}
		st, body = anon.errCode("POST", "/api/v1/auth/password-reset", api.PasswordResetRequest{Email: "limit-other@example.com"})
		limited("11th reset from one IP", st, body)
		// Verification re-sends: 3 per user.
		for i := 0; i < 3; i++ {
			fay.must(202, "POST", "/api/v1/me/email/verification", nil, nil)
		}
		st, body = fay.errCode("POST", "/api/v1/me/email/verification", nil)
		limited("4th re-send", st, body)
	})
}

func TestAccountsBadInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		smtp := smtptest.Start(t, smtptest.Options{})
		e := newEnv(t, db, withMail(smtp))
		anon := e.anon()
		before := map[string]int64{}
		for _, tb := range []string{"users", "account_tokens", "sessions", "audit_log"} {
			before[tb] = e.count(tb)
		}
		long := strings.Repeat("a", 250) + "@example.com"
		cases := []struct {
			name, path string
			body       any
			status     int
			code       string
			field      string
		}{
			{"signup malformed email", "/api/v1/auth/signup", `{"email":"not-an-email","password":"correct horse"}`, 422, api.CodeValidation, "email"},
			{"signup email with name", "/api/v1/auth/signup", `{"email":"Ann <ann@example.com>","password":"correct horse"}`, 422, api.CodeValidation, "email"},
			{"signup long email", "/api/v1/auth/signup", `{"email":"` + long + `","password":"correct horse"}`, 422, api.CodeValidation, "email"},
			{"signup short password", "/api/v1/auth/signup", `{"email":"bad-input@example.com","password":"short"}`, 422, api.CodeValidation, "password"},
			{"signup huge password", "/api/v1/auth/signup", `{"email":"bad-input@example.com","password":"` + strings.Repeat("p", 2000) + `"}`, 422, api.CodeValidation, "password"},
			{"signup unknown field", "/api/v1/auth/signup", `{"email":"bad-input@example.com","password":"correct horse","role":"admin"}`, 400, api.CodeInvalidJSON, "role"},
			{"signup wrong type", "/api/v1/auth/signup", `{"email":1,"password":"correct horse"}`, 400, api.CodeInvalidJSON, "email"},
			{"signup empty body", "/api/v1/auth/signup", raw{ct: "application/json", body: ""}, 400, api.CodeInvalidJSON, ""},
			{"signup trailing data", "/api/v1/auth/signup", `{"email":"bad-input@example.com","password":"correct horse"}{}`, 400, api.CodeInvalidJSON, ""},
			{"signup form body", "/api/v1/auth/signup", raw{ct: "application/x-www-form-urlencoded", body: "email=a@b.c"}, 415, "unsupported_media_type", ""},
			{"verify missing token", "/api/v1/auth/verify-email", `{}`, 422, api.CodeValidation, "token"},
			{"verify huge token", "/api/v1/auth/verify-email", `{"token":"` + strings.Repeat("x", 5000) + `"}`, 400, api.CodeInvalidToken, ""},
			{"verify unknown field", "/api/v1/auth/verify-email", `{"token":"x","extra":1}`, 400, api.CodeInvalidJSON, "extra"},
			{"reset malformed email", "/api/v1/auth/password-reset", `{"email":"nope"}`, 422, api.CodeValidation, "email"},
			{"reset missing email", "/api/v1/auth/password-reset", `{}`, 422, api.CodeValidation, "email"},
			{"confirm missing token", "/api/v1/auth/password-reset/confirm", `{"password":"correct horse"}`, 422, api.CodeValidation, "token"},
			{"confirm garbage token", "/api/v1/auth/password-reset/confirm", `{"token":"garbage","password":"correct horse"}`, 400, api.CodeInvalidToken, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				st, body := anon.errCode("POST", tc.path, tc.body)
				if st != tc.status || body.Error.Code != tc.code {
					t.Fatalf("%d %+v, want %d %s", st, body, tc.status, tc.code)
				}
				if tc.field != "" && body.Error.Fields[tc.field] == "" {
					t.Fatalf("no message for field %s: %+v", tc.field, body)
				}
			})
		}
		// Notification settings need a session.
		if st, _ := anon.errCode("PUT", "/api/v1/me/notifications", `{}`); st != 401 {
			t.Fatalf("anonymous notification settings: %d", st)
		}
		// An oversized body is refused from its Content-Length.
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "POST /api/v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("oversized sign-up: %d", resp.StatusCode)
		}
		for tb, n := range before {
			if got := e.count(tb); got != n {
				t.Errorf("%s: %d rows after bad input, want %d", tb, got, n)
			}
		}
		if n := len(smtp.Messages()); n != 0 {
			t.Errorf("%d mails sent for bad input", n)
		}
	})
}

func TestAccountsNotificationSettingsAndDelivery(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		smtp := smtptest.Start(t, smtptest.Options{})
		type delivery struct {
			body []byte
			sig  string
		}
		var (
			mu  sync.Mutex
			got = map[string][]delivery{}
		)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got[r.URL.Path] = append(got[r.URL.Path], delivery{b, r.Header.Get(api.HeaderSignature)})
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(hook.Close)
		e := newEnv(t, db, withMail(smtp), func(c *config.Config) {
			c.Billing.WebhookURL, c.Billing.WebhookSecret = hook.URL+"/provider", "provider-secret"
		})
		ivy := e.login("notify-ivy@example.com", api.RoleCustomer)
		var s api.NotificationSettings
		ivy.must(200, "GET", "/api/v1/me/notifications", nil, &s)
		if s.WebhookURL != "" || s.WebhookSecretSet || s.LowBalance == nil || len(s.LowBalance) != 0 {
			t.Fatalf("defaults: %+v", s)
		}
		ivy.must(200, "PUT", "/api/v1/me/notifications", map[string]any{"webhook_url": hook.URL + "/ivy",
			"low_balance": []api.LowBalanceThreshold{{Currency: "USD", Threshold: 250}}}, &s)
		secret := s.WebhookSecret
		if secret == "" || s.WebhookURL != hook.URL+"/ivy" || len(s.LowBalance) != 1 {
			t.Fatalf("after PUT: %+v", s)
		}
		var read api.NotificationSettings
		ivy.must(200, "GET", "/api/v1/me/notifications", nil, &read)
		if read.WebhookSecret != "" || !read.WebhookSecretSet || len(read.LowBalance) != 1 ||
			read.LowBalance[0] != (api.LowBalanceThreshold{Currency: "USD", Threshold: 250}) {
			t.Fatalf("GET shows the secret or lost the settings: %+v", read)
		}
		var ws api.List[api.Wallet]
		ivy.must(200, "GET", "/api/v1/wallets", nil, &ws)
		if len(ws.Items) != 1 || ws.Items[0].Currency != "USD" || ws.Items[0].Balance != 0 {
			t.Fatalf("wallet created for the threshold: %+v", ws.Items)
		}
		for _, tc := range []struct {
			body  any
			st    int
			field string
		}{
			{`{"webhook_url":"http://hooks.example.com/x"}`, 422, "webhook_url"},
			{`{"low_balance":[{"currency":"usd","threshold":1}]}`, 422, "low_balance[0].currency"},
			{`{"low_balance":[{"currency":"USD","threshold":-5}]}`, 422, "low_balance[0].threshold"},
			{`{"low_balance":[{"currency":"USD","threshold":1.5}]}`, 400, ""},
			{`{"webhook":"x"}`, 400, "webhook"},
		} {
			st, body := ivy.errCode("PUT", "/api/v1/me/notifications", tc.body)
			if st != tc.st || (tc.field != "" && body.Error.Fields[tc.field] == "") {
				t.Errorf("PUT %s: %d %+v", tc.body, st, body)
			}
		}
		// The other customer has its own, empty settings.
		other := e.login("notify-jon@example.com", api.RoleCustomer)
		var others api.NotificationSettings
		other.must(200, "GET", "/api/v1/me/notifications", nil, &others)
		if others.WebhookURL != "" || others.WebhookSecretSet || len(others.LowBalance) != 0 {
			t.Fatalf("another user's settings: %+v", others)
		}

		err := e.app.Notifier().Notify(context.Background(), notify.Event{Kind: notify.KindLowBalance, UserID: ivy.user.ID,
			Subject: "Low balance", Text: "Your USD balance is 2.00 USD.", Data: map[string]any{"currency": "USD", "balance": 200}})
		if err != nil {
			t.Fatalf("Notify: %v", err)
		}
		if m := smtp.To("notify-ivy@example.com"); len(m) != 1 || m[0].Header("Subject") != "Low balance" {
			t.Fatalf("mail: %+v", m)
		}
		mu.Lock()
		defer mu.Unlock()
		for path, key := range map[string]string{"/ivy": secret, "/provider": "provider-secret"} {
			d := got[path]
			if len(d) != 1 {
				t.Fatalf("%s got %d deliveries", path, len(d))
			}
			if err := notify.VerifySignature(key, d[0].sig, d[0].body, time.Minute, time.Now()); err != nil {
				t.Errorf("%s signature: %v", path, err)
			}
			var ev api.WebhookEvent
			if err := json.Unmarshal(d[0].body, &ev); err != nil || ev.Kind != notify.KindLowBalance || ev.UserID != ivy.user.ID || ev.Data["currency"] != "USD" {
				t.Errorf("%s payload %s: %v", path, d[0].body, err)
			}
		}
	})
}
