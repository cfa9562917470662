package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238 with the defaults authenticator apps expect).
const (
	// TOTPDigits is the length of a code.
	TOTPDigits = 6
	// TOTPPeriod is the length of a time step.
	TOTPPeriod = 30 * time.Second
	// TOTPSkew is how many steps before and after the current one are accepted.
	TOTPSkew = 1
	// totpSecretLen is the size of a secret in bytes (160 bits, as RFC 4226 recommends).
	totpSecretLen = 20
	// TOTPIssuer names the service in authenticator apps.
	TOTPIssuer = "Nimbo"
)

// errBadTOTPSecret is a stored secret that is not unpadded base32.
var errBadTOTPSecret = errors.New("malformed TOTP secret")

// hotp is RFC 4226 HOTP with HMAC-SHA1: the dynamically truncated HMAC of the big-endian
// counter, as a zero-padded decimal of digits (1..9) digits.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	code := bin % mod
	out := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + code%10)
		code /= 10
	}
	return string(out)
}

// totpStep is the RFC 6238 time step of t (T0 = Unix epoch).
func totpStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// totpCode is the code of key at time step step.
func totpCode(key []byte, step int64, digits int) string { return hotp(key, uint64(step), digits) }

// NewTOTPSecret returns 20 random bytes in unpadded base32, the form authenticator apps take.
func NewTOTPSecret() string {
	b := make([]byte, totpSecretLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥1.24 it aborts the program instead)
	return secretEncoding.EncodeToString(b)
}

// decodeTOTPSecret parses an unpadded base32 secret (case-insensitive).
func decodeTOTPSecret(s string) ([]byte, error) {
	b, err := secretEncoding.DecodeString(strings.ToUpper(s))
	if err != nil || len(b) == 0 {
		return nil, errBadTOTPSecret
	}
	return b, nil
}

// OTPAuthURL is the otpauth:// key URI of secret for email, for a QR code.
func OTPAuthURL(email, secret string) string {
	label := url.PathEscape(TOTPIssuer + ":" + email)
	// PathEscape keeps "+", which some apps read as a space.
	label = strings.ReplaceAll(label, "+", "%2B")
	return "otpauth://totp/" + label + "?secret=" + secret + "&issuer=" + TOTPIssuer +
		"&algorithm=SHA1&digits=6&period=30"
}

// validTOTPCode reports whether code has the form of a TOTP code: exactly TOTPDigits digits.
func validTOTPCode(code string) bool {
	if len(code) != TOTPDigits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// matchTOTP returns the time step, within ±TOTPSkew of now and later than lastStep, whose code
// is code; ok is false when there is none. Codes are compared in constant time.
func matchTOTP(key []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if !validTOTPCode(code) {
		return 0, false
	}
	cur := totpStep(now)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		if s <= lastStep {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(totpCode(key, s, TOTPDigits)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}
