package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
)

func TestClientText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		max            int
	}{
		{"short", "curl/8.0", "curl/8.0", 256},
		{"cut", strings.Repeat("a", 300), strings.Repeat("a", 256), 256},
		{"cut on a character boundary", "ab" + strings.Repeat("é", 10), "ab" + strings.Repeat("é", 2), 7},
		{"control characters dropped", "a\x00b\nc\x7f", "abc", 256},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb", 256},
		{"empty", "", "", 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clientText(tc.in, tc.max); got != tc.want {
				t.Fatalf("clientText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestCacheRevoke(t *testing.T) {
	c := newPrincipalCache(2 * time.Second)
	p := &Principal{User: api.User{ID: "u"}}
	t0 := time.Now()
	c.put("s:a", p, t0, nil)
	c.put("s:b", p, t0, nil)
	c.revoke(t0.Add(time.Second), "s:a")
	for _, tc := range []struct {
		name string
		key  string
		put  time.Time // zero: no put before the get
		want bool
	}{
		{"revoked entry is gone", "s:a", time.Time{}, false},
		{"other entry stays", "s:b", time.Time{}, true},
		// A lookup that started before the revocation and puts after it is refused.
		{"late put of a lookup started earlier", "s:a", t0.Add(500 * time.Millisecond), false},
		// A lookup started a TTL after the revocation read the database after the delete.
		{"put after the tombstone", "s:a", t0.Add(4 * time.Second), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := t0.Add(time.Second)
			if !tc.put.IsZero() {
				c.put(tc.key, p, tc.put, nil)
				at = tc.put
			}
			if got := c.get(tc.key, at) != nil; got != tc.want {
				t.Fatalf("cached = %v, want %v", got, tc.want)
			}
		})
	}
}
