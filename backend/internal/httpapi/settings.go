package httpapi

import (
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
)

// mountSettings registers the admin's read-only view of the running configuration.
func (h *handlers) mountSettings(v1 fiber.Router, authn, aread fiber.Handler) {
	v1.Get("/admin/settings", authn, requireAdmin, aread, h.adminSettings)
}

func (h *handlers) adminSettings(c *fiber.Ctx) error {
	var gateways []string
	if h.Payments != nil {
		for _, g := range h.Payments.Gateways() {
			gateways = append(gateways, g.Name)
		}
	}
	return c.JSON(SettingsView(h.Config, gateways, Build()))
}

// Build describes the running binary from its Go build information.
func Build() api.BuildInfo {
	out := api.BuildInfo{Version: "dev"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	out.GoVersion = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.time":
			out.RevisionTime = s.Value
		case "vcs.modified":
			out.Modified = s.Value == "true"
		}
	}
	switch v := bi.Main.Version; {
	case v != "" && v != "(devel)":
		out.Version = v
	case len(out.Revision) >= 12:
		out.Version = "dev-" + out.Revision[:12]
	}
	return out
}

// SettingsView is what an admin may read of cfg: everything but the secrets, which are only
// reported as set or not. gateways names the enabled payment gateways.
func SettingsView(cfg config.Config, gateways []string, build api.BuildInfo) api.Settings {
	if gateways == nil {
		gateways = []string{}
	}
	sec := func(d time.Duration) int64 { return int64(d / time.Second) }
	redisHost, redisPw := urlHost(cfg.Redis.URL)
	nodesHost, nodesPw := urlHost(cfg.Nodes.RedisURL)
	st, al := cfg.Payments.Stripe, cfg.Payments.Alipay
	return api.Settings{
		Version:              build,
		PublicURL:            cfg.PublicURL,
		Listen:               cfg.Listen,
		DataDir:              cfg.DataDir,
		SweepIntervalSeconds: sec(cfg.SweepInterval),
		SessionTTLSeconds:    sec(cfg.SessionTTL),
		LogLevel:             cfg.Log.Level,
		LogFormat:            cfg.Log.Format,
		PprofEnabled:         cfg.PprofListen != "",
		Database:             api.DatabaseSettings{Driver: cfg.Database.Driver, PasswordSet: dsnHasPassword(cfg.Database.DSN)},
		Redis:                api.RedisSettings{Host: redisHost, PasswordSet: redisPw},
		Nodes: api.NodeSettings{
			HeartbeatIntervalSeconds: sec(cfg.Nodes.HeartbeatInterval),
			OfflineAfter:             cfg.Nodes.OfflineAfter,
			OfflineAfterSeconds:      sec(time.Duration(cfg.Nodes.OfflineAfter) * cfg.Nodes.HeartbeatInterval),
			RedisHost:                nodesHost,
			RedisPasswordSet:         nodesPw,
			CPUOvercommit:            cfg.Nodes.CPUOvercommit,
			MemoryOvercommit:         cfg.Nodes.MemoryOvercommit,
			DiskOvercommit:           cfg.Nodes.DiskOvercommit,
		},
		Billing: api.BillingSettings{
			IntervalSeconds:       sec(cfg.Billing.Interval),
			Currency:              cfg.Billing.Currency,
			TrialDays:             cfg.Billing.TrialDays,
			ReminderBeforeSeconds: sec(cfg.Billing.ReminderBefore),
			GracePeriodSeconds:    sec(cfg.Billing.GracePeriod),
			TerminateAfterSeconds: sec(cfg.Billing.TerminateAfter),
			SellerName:            cfg.Billing.SellerName,
			SellerEmail:           cfg.Billing.SellerEmail,
			FreeServers:           cfg.Billing.FreeServers,
			WebhookURLSet:         cfg.Billing.WebhookURL != "",
			WebhookSecretSet:      cfg.Billing.WebhookSecret != "",
		},
		Mail: api.MailSettings{
			Enabled: cfg.Mail.Host != "", Host: cfg.Mail.Host, Port: cfg.Mail.Port, Username: cfg.Mail.Username,
			PasswordSet: cfg.Mail.Password != "", From: cfg.Mail.From, TLS: cfg.Mail.TLS,
			RequireVerification: cfg.Mail.RequireVerification,
		},
		Payments: api.PaymentSettings{
			Gateways: gateways,
			Stripe: api.StripeSettings{
				Enabled:      st.SecretKey != "" && st.WebhookSecret != "",
				SecretKeySet: st.SecretKey != "", WebhookSecretSet: st.WebhookSecret != "",
				APIBase: st.APIBase, ToleranceSeconds: sec(st.Tolerance),
			},
			Alipay: api.AlipaySettings{
				Enabled: al.AppID != "" && al.PrivateKey != "" && al.PublicKey != "",
				AppID:   al.AppID, PrivateKeySet: al.PrivateKey != "", PublicKeySet: al.PublicKey != "",
				Gateway: al.Gateway, ToleranceSeconds: sec(al.Tolerance),
			},
		},
		Metrics: api.MetricSettings{
			IntervalSeconds:        sec(cfg.Metrics.Interval),
			RawRetentionSeconds:    sec(cfg.Metrics.RawRetention),
			HourlyRetentionSeconds: sec(cfg.Metrics.HourlyRetention),
		},
	}
}

// urlHost returns the host:port of a URL and whether it carries a password ("", false when
// it does not parse: nothing of it is shown).
func urlHost(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", strings.Contains(raw, "@")
	}
	_, pw := u.User.Password()
	return u.Host, pw || u.Query().Has("password")
}

// dsnHasPassword reports whether a database DSN carries a password: a URL's user info or
// password parameter, or a password=… keyword of a key/value DSN.
func dsnHasPassword(dsn string) bool {
	if strings.Contains(dsn, "://") {
		if u, err := url.Parse(dsn); err == nil {
			_, pw := u.User.Password()
			return pw || u.Query().Get("password") != ""
		}
		return true
	}
	return dsnPassword.MatchString(dsn)
}

// dsnPassword matches a non-empty password keyword of a key/value DSN.
var dsnPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=\s*[^\s]`)
