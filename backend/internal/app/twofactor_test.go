package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// totpAt computes a 6-digit RFC 6238 code independently of the auth package.
func totpAt(t *testing.T, secret string, step int64) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:])&0x7fffffff)%1000000)
}

// totpNow is the code of the current step plus offset; it first waits out the last two
// seconds of a step so the server sees the same step.
func totpNow(t *testing.T, secret string, offset int64) string {
	t.Helper()
	if left := 30 - time.Now().Unix()%30; left <= 2 {
		time.Sleep(time.Duration(left)*time.Second + 200*time.Millisecond)
	}
	return totpAt(t, secret, time.Now().Unix()/30+offset)
}

// wrongTOTP is a well-formed code that is valid for none of the accepted steps.
func wrongTOTP(t *testing.T, secret string) string {
	t.Helper()
	step := time.Now().Unix() / 30
	valid := map[string]bool{}
	for s := step - 2; s <= step+2; s++ {
		valid[totpAt(t, secret, s)] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", (123456+i*7919)%1000000); !valid[c] {
			return c
		}
	}
}

// clearLoginLimit forgets the failed-login counters of this panel (its Redis prefix is unique).
func (e *env) clearLoginLimit() {
	e.t.Helper()
	ctx := context.Background()
	keys, err := e.rdb.Keys(ctx, e.cfg.Redis.Prefix+"login:*").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := e.rdb.Del(ctx, keys...).Err(); err != nil {
			e.t.Fatal(err)
		}
	}
}

// twoFactorRow is what the database holds of a user's 2FA state.
type twoFactorRow struct {
	TOTPSecret   *string
	TOTPEnabled  bool
	TOTPLastStep int64
	Unused       int64
	Used         int64
}

func (e *env) twoFactorState(userID string) twoFactorRow {
	e.t.Helper()
	var r twoFactorRow
	err := e.app.DB().Raw(`SELECT totp_secret, totp_enabled, totp_last_step,
		(SELECT COUNT(*) FROM recovery_codes WHERE user_id = u.id AND used_at IS NULL) AS unused,
		(SELECT COUNT(*) FROM recovery_codes WHERE user_id = u.id AND used_at IS NOT NULL) AS used
		FROM users u WHERE id = ?`, userID).Scan(&r).Error
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

var recoveryCodeRE = regexp.MustCompile(`^[a-z2-9]{4}-[a-z2-9]{4}$`)

func checkRecoveryCodes(t *testing.T, codes []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryCodeRE.MatchString(c) || seen[c] {
			t.Fatalf("recovery code %q in %v", c, codes)
		}
		seen[c] = true
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
}

// enableTwoFactor enrolls and confirms c's account and returns the secret and recovery codes.
func enableTwoFactor(t *testing.T, c *client, password string) (string, []string) {
	t.Helper()
	var en api.TwoFactorEnrollment
	c.must(200, "POST", "/api/v1/me/2fa/enroll", api.TwoFactorEnrollRequest{Password: password}, &en)
	var rc api.RecoveryCodes
	c.must(200, "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: totpNow(t, en.Secret, -1)}, &rc)
	checkRecoveryCodes(t, rc.RecoveryCodes)
	return en.Secret, rc.RecoveryCodes
}

func sessionCookie(h http.Header) string {
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "nimbo_session" {
			return ck.Value
		}
	}
	return ""
}

func TestTwoFactor(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		const email = "cust@example.com"
		const password = "password-" + email
		cust := e.login(email, api.RoleCustomer)
		other := e.login("other@example.com", api.RoleCustomer)
		anon := e.anon()
		var me api.User
		cust.must(200, "GET", "/api/v1/me", nil, &me)
		if me.TwoFactorEnabled || !strings.Contains(string(cust.must(200, "GET", "/api/v1/me", nil, nil)), `"two_factor_enabled":false`) {
			t.Fatalf("me: %+v", me)
		}

		// Bad input changes nothing.
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			code               string
		}{
			{"enroll no password", "POST", "/api/v1/me/2fa/enroll", `{}`, 422, api.CodeValidation},
			{"enroll unknown field", "POST", "/api/v1/me/2fa/enroll", `{"password":"x","secret":"AAAA"}`, 400, api.CodeInvalidJSON},
			{"enroll wrong password", "POST", "/api/v1/me/2fa/enroll", api.TwoFactorEnrollRequest{Password: "wrong-password"}, 403, api.CodeForbidden},
			{"enroll not json", "POST", "/api/v1/me/2fa/enroll", raw{ct: "text/plain", body: `{"password":"x"}`}, 415, "unsupported_media_type"},
			{"confirm before enroll", "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: "123456"}, 409, api.CodeConflict},
			{"confirm short", "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: "12345"}, 422, api.CodeValidation},
			{"confirm long", "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: "1234567"}, 422, api.CodeValidation},
			{"confirm letters", "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: "12a456"}, 422, api.CodeValidation},
			{"confirm recovery code", "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: "abcd-efgh"}, 422, api.CodeValidation},
			{"confirm number", "POST", "/api/v1/me/2fa/confirm", `{"code":123456}`, 400, api.CodeInvalidJSON},
			{"confirm empty body", "POST", "/api/v1/me/2fa/confirm", nil, 400, api.CodeInvalidJSON},
			{"disable not enabled", "DELETE", "/api/v1/me/2fa", api.TwoFactorDisableRequest{Password: password, Code: "123456"}, 409, api.CodeConflict},
			{"regenerate not enabled", "POST", "/api/v1/me/2fa/recovery-codes", api.TwoFactorCodeRequest{Code: "123456"}, 409, api.CodeConflict},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if st, body := cust.errCode(tc.method, tc.path, tc.body); st != tc.status || body.Error.Code != tc.code {
					t.Fatalf("status %d %+v, want %d %s", st, body, tc.status, tc.code)
				}
				if st := e.twoFactorState(cust.user.ID); st.TOTPSecret != nil || st.TOTPEnabled || st.Unused+st.Used != 0 {
					t.Fatalf("state changed: %+v", st)
				}
			})
		}
		for _, p := range []string{"/api/v1/me/2fa/enroll", "/api/v1/me/2fa/confirm", "/api/v1/me/2fa/recovery-codes"} {
			if st, _ := anon.errCode("POST", p, `{}`); st != 401 {
				t.Fatalf("anonymous %s: %d", p, st)
			}
		}

		// Enrolling again replaces the pending secret; a pending enrollment does not guard login.
		var first, en api.TwoFactorEnrollment
		cust.must(200, "POST", "/api/v1/me/2fa/enroll", api.TwoFactorEnrollRequest{Password: password}, &first)
		cust.must(200, "POST", "/api/v1/me/2fa/enroll", api.TwoFactorEnrollRequest{Password: password}, &en)
		if len(en.Secret) != 32 || en.Secret == first.Secret {
			t.Fatalf("secrets %q %q", first.Secret, en.Secret)
		}
		wantURL := "otpauth://totp/Nimbo:cust@example.com?secret=" + en.Secret + "&issuer=Nimbo&algorithm=SHA1&digits=6&period=30"
		if en.OTPAuthURL != wantURL {
			t.Fatalf("otpauth_url %s", en.OTPAuthURL)
		}
		if u, err := url.Parse(en.OTPAuthURL); err != nil || u.Query().Get("secret") != en.Secret {
			t.Fatalf("otpauth_url does not parse: %v", err)
		}
		anon.must(200, "POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: password}, nil)
		if st, body := cust.errCode("POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: totpNow(t, first.Secret, 0)}); st != 403 {
			t.Fatalf("confirm with the replaced secret: %d %+v", st, body)
		}
		if st := e.twoFactorState(cust.user.ID); st.TOTPEnabled || st.TOTPSecret == nil || *st.TOTPSecret != en.Secret {
			t.Fatalf("pending state: %+v", st)
		}
		var rc api.RecoveryCodes
		cust.must(200, "POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: totpNow(t, en.Secret, -1)}, &rc)
		checkRecoveryCodes(t, rc.RecoveryCodes)
		codes := rc.RecoveryCodes
		cust.must(200, "GET", "/api/v1/me", nil, &me)
		if !me.TwoFactorEnabled {
			t.Fatalf("me after confirm: %+v", me)
		}
		if st := e.twoFactorState(cust.user.ID); !st.TOTPEnabled || st.Unused != 10 || st.TOTPLastStep == 0 {
			t.Fatalf("enabled state: %+v", st)
		}
		if st, _ := cust.errCode("POST", "/api/v1/me/2fa/confirm", api.TwoFactorCodeRequest{Code: totpNow(t, en.Secret, 0)}); st != 409 {
			t.Fatalf("confirm twice: %d", st)
		}
		if st, _ := cust.errCode("POST", "/api/v1/me/2fa/enroll", api.TwoFactorEnrollRequest{Password: password}); st != 409 {
			t.Fatalf("enroll while enabled: %d", st)
		}
		// The existing session stays valid.
		cust.must(200, "GET", "/api/v1/me", nil, nil)

		// Login: the password alone is not enough, and opens no session.
		e.clearLoginLimit()
		st, h, b := anon.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: password}, nil)
		var eb api.Error
		_ = json.Unmarshal(b, &eb)
		if st != 401 || eb.Error.Code != api.CodeTwoFactorRequired || h.Get("Set-Cookie") != "" {
			t.Fatalf("login without code: %d %s %q", st, b, h.Get("Set-Cookie"))
		}
		if st, body := anon.errCode("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: "wrong-password"}); st != 401 || body.Error.Code != api.CodeUnauthorized {
			t.Fatalf("wrong password: %d %+v", st, body)
		}
		for _, tc := range []struct {
			name   string
			body   any
			status int
		}{
			{"malformed totp", api.LoginRequest{Email: email, Password: password, TOTPCode: "12ab56"}, 422},
			{"short totp", api.LoginRequest{Email: email, Password: password, TOTPCode: "12345"}, 422},
			{"malformed recovery", api.LoginRequest{Email: email, Password: password, RecoveryCode: "abc"}, 422},
			{"both codes", api.LoginRequest{Email: email, Password: password, TOTPCode: "123456", RecoveryCode: codes[0]}, 422},
			{"unknown field", `{"email":"cust@example.com","password":"x","otp":"123456"}`, 400},
		} {
			st, h, b := anon.do("POST", "/api/v1/auth/login", tc.body, nil)
			if st != tc.status || h.Get("Set-Cookie") != "" || !json.Valid(b) {
				t.Fatalf("%s: %d %s", tc.name, st, b)
			}
		}
		code := totpNow(t, en.Secret, 0)
		st, h, b = anon.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: password, TOTPCode: code}, nil)
		ck := sessionCookie(h)
		if st != 200 || ck == "" {
			t.Fatalf("login with code: %d %s", st, b)
		}
		(&client{e: e, cookie: ck}).must(200, "GET", "/api/v1/me", nil, nil)
		st, h, b = anon.do("POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: password, TOTPCode: code}, nil)
		if st != 401 || sessionCookie(h) != "" {
			t.Fatalf("replayed code: %d %s", st, b)
		}

		// A recovery code works once (any case, hyphen optional).
		login := func(req api.LoginRequest) int {
			st, h, _ := anon.do("POST", "/api/v1/auth/login", req, nil)
			if (st == 200) != (sessionCookie(h) != "") {
				t.Fatalf("status %d with cookie %q", st, sessionCookie(h))
			}
			return st
		}
		if st := login(api.LoginRequest{Email: email, Password: password, RecoveryCode: codes[0]}); st != 200 {
			t.Fatalf("recovery code: %d", st)
		}
		if st := login(api.LoginRequest{Email: email, Password: password, RecoveryCode: codes[0]}); st != 401 {
			t.Fatalf("recovery code reused: %d", st)
		}
		if st := login(api.LoginRequest{Email: email, Password: password, RecoveryCode: strings.ToUpper(strings.ReplaceAll(codes[1], "-", ""))}); st != 200 {
			t.Fatalf("recovery code without hyphen: %d", st)
		}
		// Ten concurrent logins with one recovery code: exactly one wins.
		e.clearLoginLimit()
		body, _ := json.Marshal(api.LoginRequest{Email: email, Password: password, RecoveryCode: codes[2]})
		statuses := make([]int, 10)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				resp, err := e.hc.Post(e.base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
				if err != nil {
					statuses[i] = -1
					return
				}
				_ = resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		wins := 0
		for _, s := range statuses {
			switch s {
			case 200:
				wins++
			case 401:
			default:
				t.Fatalf("concurrent statuses %v", statuses)
			}
		}
		if wins != 1 {
			t.Fatalf("concurrent recovery logins: %v", statuses)
		}
		if st := e.twoFactorState(cust.user.ID); st.Used != 3 || st.Unused != 7 {
			t.Fatalf("recovery codes after use: %+v", st)
		}

		// API tokens are the machine credential: they keep working without a code.
		var tok api.Token
		cust.must(201, "POST", "/api/v1/tokens", api.CreateTokenRequest{Name: "ci", Scopes: []string{api.ScopeServersRead}}, &tok)
		(&client{e: e, bearer: tok.Secret}).must(200, "GET", "/api/v1/me", nil, &me)
		if !me.TwoFactorEnabled {
			t.Fatalf("me by token: %+v", me)
		}

		// Another customer's 2FA routes act on their own account only.
		e.clearLoginLimit()
		if st, _ := other.errCode("DELETE", "/api/v1/me/2fa", api.TwoFactorDisableRequest{Password: "password-other@example.com", Code: codes[3]}); st != 409 {
			t.Fatalf("other disables: %d", st)
		}
		otherSecret, _ := enableTwoFactor(t, other, "password-other@example.com")
		if st, _ := other.errCode("DELETE", "/api/v1/me/2fa", api.TwoFactorDisableRequest{Password: "password-other@example.com", Code: codes[3]}); st != 403 {
			t.Fatalf("other disables with cust's recovery code: %d", st)
		}
		if st, _ := other.errCode("POST", "/api/v1/me/2fa/recovery-codes", api.TwoFactorCodeRequest{Code: codes[4]}); st != 403 {
			t.Fatalf("other regenerates with cust's recovery code: %d", st)
		}
		if st := e.twoFactorState(cust.user.ID); !st.TOTPEnabled || st.Unused != 7 || *st.TOTPSecret != en.Secret {
			t.Fatalf("cust changed by other: %+v", st)
		}
		if st := e.twoFactorState(other.user.ID); !st.TOTPEnabled || st.Unused != 10 || *st.TOTPSecret == en.Secret {
			t.Fatalf("other: %+v", st)
		}

		// Regenerating replaces the set: old codes stop working, new ones work.
		var fresh api.RecoveryCodes
		cust.must(200, "POST", "/api/v1/me/2fa/recovery-codes", api.TwoFactorCodeRequest{Code: totpNow(t, en.Secret, 1)}, &fresh)
		checkRecoveryCodes(t, fresh.RecoveryCodes)
		if st := login(api.LoginRequest{Email: email, Password: password, RecoveryCode: codes[3]}); st != 401 {
			t.Fatalf("old recovery code after regenerate: %d", st)
		}
		if st := login(api.LoginRequest{Email: email, Password: password, RecoveryCode: fresh.RecoveryCodes[0]}); st != 200 {
			t.Fatalf("new recovery code: %d", st)
		}

		// Disabling needs the password and a code; failures consume nothing.
		e.clearLoginLimit()
		for _, tc := range []struct {
			name   string
			body   any
			status int
		}{
			{"no code", api.TwoFactorDisableRequest{Password: password}, 422},
			{"no password", api.TwoFactorDisableRequest{Code: fresh.RecoveryCodes[1]}, 422},
			{"malformed code", api.TwoFactorDisableRequest{Password: password, Code: "12-34"}, 422},
			{"unknown field", `{"password":"x","code":"123456","force":true}`, 400},
			{"wrong password", api.TwoFactorDisableRequest{Password: "wrong-password", Code: fresh.RecoveryCodes[1]}, 403},
			{"wrong code", api.TwoFactorDisableRequest{Password: password, Code: wrongTOTP(t, en.Secret)}, 403},
			{"unknown recovery code", api.TwoFactorDisableRequest{Password: password, Code: "aaaa-aaaa"}, 403},
		} {
			if st, body := cust.errCode("DELETE", "/api/v1/me/2fa", tc.body); st != tc.status {
				t.Fatalf("disable %s: %d %+v", tc.name, st, body)
			}
		}
		if st := e.twoFactorState(cust.user.ID); !st.TOTPEnabled || st.Unused != 9 {
			t.Fatalf("state after refused disables: %+v", st)
		}
		cust.must(204, "DELETE", "/api/v1/me/2fa", api.TwoFactorDisableRequest{Password: password, Code: fresh.RecoveryCodes[1]}, nil)
		if st := e.twoFactorState(cust.user.ID); st.TOTPEnabled || st.TOTPSecret != nil || st.Unused+st.Used != 0 {
			t.Fatalf("state after disable: %+v", st)
		}
		cust.must(200, "GET", "/api/v1/me", nil, &me)
		if me.TwoFactorEnabled {
			t.Fatalf("me after disable: %+v", me)
		}
		anon.must(200, "POST", "/api/v1/auth/login", api.LoginRequest{Email: email, Password: password}, nil)

		// Enabled again, it can be disabled with a TOTP code too.
		secret, _ := enableTwoFactor(t, cust, password)
		cust.must(204, "DELETE", "/api/v1/me/2fa", api.TwoFactorDisableRequest{Password: password, Code: totpNow(t, secret, 0)}, nil)

		// Wrong codes count as failed logins: 429 after the limit, even for the right code.
		e.clearLoginLimit()
		otherLogin := api.LoginRequest{Email: "other@example.com", Password: "password-other@example.com"}
		bad := otherLogin
		bad.TOTPCode = wrongTOTP(t, otherSecret)
		for i := range 10 {
			if st, body := anon.errCode("POST", "/api/v1/auth/login", bad); st != 401 || body.Error.Code != api.CodeUnauthorized {
				t.Fatalf("wrong code %d: %d %+v", i, st, body)
			}
		}
		good := otherLogin
		good.TOTPCode = totpNow(t, otherSecret, 1)
		if st, body := anon.errCode("POST", "/api/v1/auth/login", good); st != 429 || body.Error.Code != api.CodeRateLimited {
			t.Fatalf("after 10 wrong codes: %d %+v", st, body)
		}
		// The code-checking 2FA routes share the limit.
		if st, _ := other.errCode("POST", "/api/v1/me/2fa/recovery-codes", api.TwoFactorCodeRequest{Code: totpNow(t, otherSecret, 1)}); st != 429 {
			t.Fatalf("regenerate while limited: %d", st)
		}
		e.clearLoginLimit()
		if st := login(good); st != 200 {
			t.Fatalf("right code after the limit cleared: %d", st)
		}
	})
}
