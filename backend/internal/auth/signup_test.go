package auth

import (
	"testing"
	"time"
)

func TestAccountsHostOnly(t *testing.T) {
	cases := map[string]string{
		"portal.example.com":       "portal.example.com",
		"Portal.Example.COM:8443":  "portal.example.com",
		"portal.example.com.":      "portal.example.com",
		"  portal.example.com  ":   "portal.example.com",
		"127.0.0.1:8080":           "127.0.0.1",
		"[::1]:8080":               "::1",
		"[2001:db8::1]":            "2001:db8::1",
		"":                         "",
		"portal.example.com:notap": "portal.example.com",
	}
	for in, want := range cases {
		if got := HostOnly(in); got != want {
			t.Errorf("HostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccountsSiteLinks(t *testing.T) {
	domain := "portal.acme.test"
	empty := ""
	cases := []struct {
		name, publicURL string
		r               *resellerSite
		brand, base     string
		reseller        bool
	}{
		{"provider", "https://panel.example.com/", nil, "Nimbo", "https://panel.example.com", false},
		{"reseller on https panel", "https://panel.example.com", &resellerSite{UserID: "r1", BrandName: "Acme", Domain: &domain}, "Acme", "https://portal.acme.test", true},
		{"reseller on http panel keeps the panel URL", "http://127.0.0.1:8080", &resellerSite{UserID: "r1", BrandName: "Acme", Domain: &domain}, "Acme", "http://127.0.0.1:8080", true},
		{"reseller without domain", "https://panel.example.com", &resellerSite{UserID: "r1", Domain: &empty}, "Nimbo", "https://panel.example.com", true},
		{"no reseller row", "https://panel.example.com", &resellerSite{}, "Nimbo", "https://panel.example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAccounts(&Service{}, nil, AccountOptions{PublicURL: tc.publicURL})
			s := a.siteFor(tc.r)
			if s.Brand != tc.brand || s.Base != tc.base || (s.ResellerID != nil) != tc.reseller {
				t.Fatalf("site = %+v", s)
			}
		})
	}
}

func TestAccountsHours(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1 hour", 24 * time.Hour: "24 hours", 30 * time.Minute: "30 minutes"} {
		if got := hours(d); got != want {
			t.Errorf("hours(%s) = %q, want %q", d, got, want)
		}
	}
}
