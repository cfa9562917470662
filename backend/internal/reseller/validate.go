package reseller

import (
	"fmt"
	"net"

	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a reseller's profile.
const (
	// MaxMarkupBP is the highest markup: 100000 basis points, +1000 %.
	MaxMarkupBP = 100_000
	// MaxBrandLength is the longest brand name, in characters.
	MaxBrandLength = 64
	// MaxLogoURLLength is the longest logo URL, in bytes.
	MaxLogoURLLength = 2048
	// MaxQuota bounds each quota (servers, CPUs, MiB).
	MaxQuota = 1 << 40
)

// validBrand returns a problem with a brand name, or "".
func validBrand(name string) string {
	if strings.TrimSpace(name) == "" {
		return "is required"
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxBrandLength {
		return fmt.Sprintf("must be at most %d characters", MaxBrandLength)
	}
	if name != strings.TrimSpace(name) {
		return "must not start or end with spaces"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "must be printable characters"
		}
	}
	return ""
}

// validDomain returns a problem with a portal domain, or "": a lower-case DNS host name of
// at least two labels (no scheme, port, path or IP address), not panelHost.
func validDomain(d, panelHost string) string {
	const rule = "must be a lower-case host name such as panel.example.com, without scheme, port or path"
	if d == "" || len(d) > 253 {
		return rule
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return rule
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return rule
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return rule
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return rule // an IPv4 address, or a numeric top-level domain
	}
	if panelHost != "" && d == panelHost {
		return "is the panel's own host name"
	}
	return ""
}

// validLogoURL returns a problem with a logo URL, or "": https, or http for localhost.
func validLogoURL(s string) string {
	const rule = "must be an https URL (http only for localhost)"
	if len(s) > MaxLogoURLLength {
		return fmt.Sprintf("must be at most %d bytes", MaxLogoURLLength)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return rule
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return rule
		}
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return ""
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return ""
		}
	}
	return rule
}

// validQuota returns a problem with a quota, or "" (nil is unlimited).
func validQuota(q *int64) string {
	if q != nil && (*q < 0 || *q > MaxQuota) {
		return fmt.Sprintf("must be null (unlimited) or from 0 to %d", int64(MaxQuota))
	}
	return ""
}

// validMarkup returns a problem with a markup in basis points, or "".
func validMarkup(bp int64) string {
	if bp < 0 || bp > MaxMarkupBP {
		return fmt.Sprintf("must be from 0 to %d basis points (2500 is +25 %%)", MaxMarkupBP)
	}
	return ""
}

// HostOnly returns the host name of a Host header value: without port, brackets or a trailing
// dot, in lower case.
func HostOnly(host string) string {
	host = strings.TrimSpace(host)
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[1:i]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		host = host[:i]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
