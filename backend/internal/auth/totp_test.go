package auth

import (
	"strings"
	"testing"
	"time"
)

// TestTOTPVectors checks the SHA1 rows of RFC 6238 Appendix B (8 digits).
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := totpCode(key, totpStep(time.Unix(tc.unix, 0)), 8); got != tc.want {
			t.Errorf("T=%d: %s, want %s", tc.unix, got, tc.want)
		}
	}
}

// TestHOTPVectors checks RFC 4226 Appendix D (6 digits), the truncation used for 6-digit TOTP.
func TestHOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := hotp(key, uint64(i), 6); got != w {
			t.Errorf("counter %d: %s, want %s", i, got, w)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := totpStep(now)
	// The 6-digit code at T=1111111111 is the last 6 digits of the 8-digit vector 14050471.
	if got := totpCode(key, cur, 6); got != "050471" {
		t.Fatalf("6-digit code %s", got)
	}
	for _, tc := range []struct {
		name     string
		code     string
		lastStep int64
		want     int64
		ok       bool
	}{
		{"current", totpCode(key, cur, 6), 0, cur, true},
		{"previous step", totpCode(key, cur-1, 6), 0, cur - 1, true},
		{"next step", totpCode(key, cur+1, 6), 0, cur + 1, true},
		{"two steps back", totpCode(key, cur-2, 6), 0, 0, false},
		{"two steps ahead", totpCode(key, cur+2, 6), 0, 0, false},
		{"replayed step", totpCode(key, cur, 6), cur, 0, false},
		{"older than last", totpCode(key, cur-1, 6), cur - 1, 0, false},
		{"after last", totpCode(key, cur+1, 6), cur, cur + 1, true},
		{"too short", "05047", 0, 0, false},
		{"too long", "0504710", 0, 0, false},
		{"not digits", "05o471", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := matchTOTP(key, tc.code, now, tc.lastStep)
			if ok != tc.ok || step != tc.want {
				t.Fatalf("matchTOTP(%q) = %d %v, want %d %v", tc.code, step, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTOTPSecretAndURL(t *testing.T) {
	s := NewTOTPSecret()
	if len(s) != 32 || strings.ContainsAny(s, "=abcdefghijklmnopqrstuvwxyz") {
		t.Fatalf("secret %q: want 32 upper-case base32 characters without padding", s)
	}
	key, err := decodeTOTPSecret(s)
	if err != nil || len(key) != 20 {
		t.Fatalf("decode: %v (%d bytes)", err, len(key))
	}
	if NewTOTPSecret() == s {
		t.Fatal("secret not random")
	}
	if _, err := decodeTOTPSecret("not base32!"); err == nil {
		t.Fatal("bad secret decoded")
	}
	got := OTPAuthURL("a+b@example.com", "JBSWY3DPEHPK3PXP")
	want := "otpauth://totp/Nimbo:a%2Bb@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Nimbo&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Fatalf("url\n got %s\nwant %s", got, want)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes := newRecoveryCodes()
	if len(codes) != recoveryCodeCount {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		norm, ok := normalizeRecoveryCode(c)
		if !ok || len(c) != 9 || c[4] != '-' || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		if upper, ok := normalizeRecoveryCode(" " + strings.ToUpper(strings.ReplaceAll(c, "-", "")) + " "); !ok || upper != norm {
			t.Fatalf("normalize %q: %q", c, upper)
		}
	}
	for _, bad := range []string{"", "abcd-efg", "abcd-efghi", "abcd-efg1", "abcd_efgh", "0bcd-efgh", "123456"} {
		if _, ok := normalizeRecoveryCode(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
