package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	p := DefaultPasswordParams()
	h, err := HashPassword("correct horse", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	h2, _ := HashPassword("correct horse", p)
	if h == h2 {
		t.Fatal("salt not random")
	}
	for _, tc := range []struct {
		pw, hash string
		ok       bool
		err      bool
	}{
		{"correct horse", h, true, false},
		{"correct horse ", h, false, false},
		{"", h, false, false},
		{"x", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", false, true},
		{"x", "plain", false, true},
		{"x", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", false, true},
		{"x", "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA", false, true},
	} {
		ok, err := VerifyPassword(tc.pw, tc.hash)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("VerifyPassword(%q, %q) = %v, %v", tc.pw, tc.hash, ok, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := NewSecret("nimbo_"), NewSecret("nimbo_")
	if a == b || !strings.HasPrefix(a, "nimbo_") || len(a) != len("nimbo_")+52 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if HashSecret(a) == HashSecret(b) || len(HashSecret(a)) != 64 {
		t.Fatal("hash")
	}
}

func TestScopes(t *testing.T) {
	if got := parseScopes("servers:read admin:read bogus", "customer"); len(got) != 1 || got[0] != "servers:read" {
		t.Fatalf("customer scopes: %v", got)
	}
	if got := parseScopes("servers:read admin:read", "admin"); len(got) != 2 {
		t.Fatalf("admin scopes: %v", got)
	}
}
