// Package config loads nimbo-panel's configuration: defaults, then a YAML file, then NIMBO_*
// environment variables (NAME_FILE reads a secret from a file).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole panel configuration.
type Config struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	DataDir   string `yaml:"data_dir"`
	Database  struct {
		Driver string `yaml:"driver"`
		DSN    string `yaml:"dsn"`
	} `yaml:"database"`
	Redis struct {
		URL string `yaml:"url"`
		// Prefix namespaces Nimbo's own Redis keys and channels (not asynq queues).
		Prefix string `yaml:"prefix"`
	} `yaml:"redis"`
	Nodes struct {
		RedisURL          string        `yaml:"redis_url"`
		HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
		OfflineAfter      int           `yaml:"offline_after"`
		CPUOvercommit     float64       `yaml:"cpu_overcommit"`
		MemoryOvercommit  float64       `yaml:"memory_overcommit"`
		DiskOvercommit    float64       `yaml:"disk_overcommit"`
	} `yaml:"nodes"`
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// SessionTTL is how long a login session lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// PprofListen, when set, serves Go's runtime profiles (net/http/pprof) on this address.
	// Off by default; bind it to loopback.
	PprofListen string   `yaml:"pprof_listen"`
	Mail        Mail     `yaml:"mail"`
	Billing     Billing  `yaml:"billing"`
	Payments    Payments `yaml:"payments"`
	Metrics     Metrics  `yaml:"metrics"`
}

// Mail is the outgoing SMTP server. With Host empty no mail is sent: messages are logged
// instead (development), and sign-up does not wait for verification.
type Mail struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// From is the sender address, e.g. "Nimbo <noreply@example.com>".
	From string `yaml:"from"`
	// TLS is "starttls" (default: upgrade when the server offers it), "tls" (implicit TLS,
	// port 465) or "none".
	TLS string `yaml:"tls"`
	// RequireVerification refuses orders until the account's e-mail address is verified.
	RequireVerification bool `yaml:"require_verification"`
}

// Billing is the billing engine's policy.
type Billing struct {
	// Interval is how often the billing pass runs (renewals, metering, dunning).
	Interval time.Duration `yaml:"interval"`
	// Currency is the default wallet currency.
	Currency string `yaml:"currency"`
	// TrialDays is the length of the one free trial an account may take; 0 turns trials off.
	TrialDays int `yaml:"trial_days"`
	// ReminderBefore is how long before a period ends the renewal reminder is sent.
	ReminderBefore time.Duration `yaml:"reminder_before"`
	// GracePeriod is how long after the due date an unpaid subscription stays running.
	GracePeriod time.Duration `yaml:"grace_period"`
	// TerminateAfter is how long a suspended subscription waits before its server is deleted.
	TerminateAfter time.Duration `yaml:"terminate_after"`
	// SellerName and SellerEmail head the provider's invoices.
	SellerName  string `yaml:"seller_name"`
	SellerEmail string `yaml:"seller_email"`
	// WebhookURL receives billing notifications (low balance, suspension, …) as signed JSON.
	WebhookURL    string `yaml:"webhook_url"`
	WebhookSecret string `yaml:"webhook_secret"`
	// FreeServers lets customers create servers without an order (POST /api/v1/servers).
	FreeServers bool `yaml:"free_servers"`
}

// Payments configures the payment gateways; a gateway without its secrets is disabled.
type Payments struct {
	Stripe struct {
		SecretKey     string `yaml:"secret_key"`
		WebhookSecret string `yaml:"webhook_secret"`
		// APIBase is https://api.stripe.com unless testing.
		APIBase string `yaml:"api_base"`
		// Tolerance is how old a webhook's signed timestamp may be.
		Tolerance time.Duration `yaml:"tolerance"`
	} `yaml:"stripe"`
	Alipay struct {
		AppID string `yaml:"app_id"`
		// PrivateKey is the app's RSA private key (PEM) that signs requests.
		PrivateKey string `yaml:"private_key"`
		// PublicKey is Alipay's RSA public key (PEM) that signs notifications.
		PublicKey string `yaml:"public_key"`
		// Gateway is https://openapi.alipay.com/gateway.do unless testing.
		Gateway string `yaml:"gateway"`
		// Tolerance is how old a notification's notify_time may be.
		Tolerance time.Duration `yaml:"tolerance"`
	} `yaml:"alipay"`
}

// Metrics is the servers' usage history: samples taken from the nodes' heartbeats, rolled up
// into hourly rows.
type Metrics struct {
	// Interval is the least time between two recorded samples of a server.
	Interval time.Duration `yaml:"interval"`
	// RawRetention is how long raw samples are kept; the 1h, 6h and 24h charts read them.
	RawRetention time.Duration `yaml:"raw_retention"`
	// HourlyRetention is how long hourly rollups are kept; the 7d and 30d charts read them.
	HourlyRetention time.Duration `yaml:"hourly_retention"`
}

// Default returns the built-in defaults. Derived values (the SQLite DSN, nodes.redis_url) are
// filled in by Load after every layer is applied.
func Default() Config {
	var c Config
	c.Listen = "127.0.0.1:8080"
	c.PublicURL = "http://127.0.0.1:8080"
	c.DataDir = "/var/lib/nimbo"
	c.Database.Driver = "sqlite"
	c.Redis.URL = "redis://127.0.0.1:6379/0"
	c.Redis.Prefix = "nimbo:"
	c.Nodes.HeartbeatInterval = 10 * time.Second
	c.Nodes.OfflineAfter = 3
	c.Nodes.CPUOvercommit = 4.0
	c.Nodes.MemoryOvercommit = 1.0
	c.Nodes.DiskOvercommit = 1.0
	c.Log.Level = "info"
	c.Log.Format = "json"
	c.SweepInterval = 2 * time.Second
	c.SessionTTL = 7 * 24 * time.Hour
	c.Mail.Port = 587
	c.Mail.TLS = "starttls"
	c.Mail.From = "Nimbo <noreply@localhost>"
	c.Billing.Interval = time.Minute
	c.Billing.Currency = "USD"
	c.Billing.TrialDays = 7
	c.Billing.ReminderBefore = 3 * 24 * time.Hour
	c.Billing.GracePeriod = 3 * 24 * time.Hour
	c.Billing.TerminateAfter = 14 * 24 * time.Hour
	c.Billing.SellerName = "Nimbo"
	c.Payments.Stripe.APIBase = "https://api.stripe.com"
	c.Payments.Stripe.Tolerance = 5 * time.Minute
	c.Payments.Alipay.Gateway = "https://openapi.alipay.com/gateway.do"
	c.Payments.Alipay.Tolerance = 24 * time.Hour
	c.Metrics.Interval = time.Minute
	c.Metrics.RawRetention = 48 * time.Hour
	c.Metrics.HourlyRetention = 30 * 24 * time.Hour
	return c
}

// LookupEnv reads one environment variable; os.LookupEnv in production.
type LookupEnv func(string) (string, bool)

// Load builds the configuration from defaults, the YAML file at path (or $NIMBO_CONFIG when
// path is empty; no file when both are empty) and the environment.
func Load(path string, env LookupEnv) (Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	c := Default()
	if path == "" {
		path, _ = env("NIMBO_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("parse config file %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	if c.Database.DSN == "" && c.Database.Driver == "sqlite" {
		c.Database.DSN = filepath.Join(c.DataDir, "nimbo.db")
	}
	if c.Nodes.RedisURL == "" {
		c.Nodes.RedisURL = c.Redis.URL
	}
	return c, c.Validate()
}

func applyEnv(c *Config, env LookupEnv) error {
	str := func(name string, dst *string, secret bool) error {
		if v, ok := env(name); ok {
			*dst = v
		}
		if !secret {
			return nil
		}
		if f, ok := env(name + "_FILE"); ok && f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("%s_FILE: %w", name, err)
			}
			*dst = strings.TrimRight(string(b), "\r\n")
		}
		return nil
	}
	dur := func(name string, dst *time.Duration) error {
		if v, ok := env(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = d
		}
		return nil
	}
	flt := func(name string, dst *float64) error {
		if v, ok := env(name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = f
		}
		return nil
	}
	steps := []error{
		str("NIMBO_LISTEN", &c.Listen, false),
		str("NIMBO_PUBLIC_URL", &c.PublicURL, false),
		str("NIMBO_DATA_DIR", &c.DataDir, false),
		str("NIMBO_DATABASE_DRIVER", &c.Database.Driver, false),
		str("NIMBO_DATABASE_DSN", &c.Database.DSN, true),
		str("NIMBO_REDIS_URL", &c.Redis.URL, true),
		str("NIMBO_REDIS_PREFIX", &c.Redis.Prefix, false),
		str("NIMBO_NODES_REDIS_URL", &c.Nodes.RedisURL, true),
		dur("NIMBO_NODES_HEARTBEAT_INTERVAL", &c.Nodes.HeartbeatInterval),
		flt("NIMBO_NODES_CPU_OVERCOMMIT", &c.Nodes.CPUOvercommit),
		flt("NIMBO_NODES_MEMORY_OVERCOMMIT", &c.Nodes.MemoryOvercommit),
		flt("NIMBO_NODES_DISK_OVERCOMMIT", &c.Nodes.DiskOvercommit),
		str("NIMBO_LOG_LEVEL", &c.Log.Level, false),
		str("NIMBO_LOG_FORMAT", &c.Log.Format, false),
		dur("NIMBO_SWEEP_INTERVAL", &c.SweepInterval),
		dur("NIMBO_SESSION_TTL", &c.SessionTTL),
		str("NIMBO_PPROF_LISTEN", &c.PprofListen, false),
		str("NIMBO_MAIL_HOST", &c.Mail.Host, false),
		str("NIMBO_MAIL_USERNAME", &c.Mail.Username, false),
		str("NIMBO_MAIL_PASSWORD", &c.Mail.Password, true),
		str("NIMBO_MAIL_FROM", &c.Mail.From, false),
		str("NIMBO_MAIL_TLS", &c.Mail.TLS, false),
		dur("NIMBO_BILLING_INTERVAL", &c.Billing.Interval),
		str("NIMBO_BILLING_CURRENCY", &c.Billing.Currency, false),
		dur("NIMBO_BILLING_GRACE_PERIOD", &c.Billing.GracePeriod),
		dur("NIMBO_BILLING_TERMINATE_AFTER", &c.Billing.TerminateAfter),
		str("NIMBO_BILLING_WEBHOOK_URL", &c.Billing.WebhookURL, false),
		str("NIMBO_BILLING_WEBHOOK_SECRET", &c.Billing.WebhookSecret, true),
		str("NIMBO_PAYMENTS_STRIPE_SECRET_KEY", &c.Payments.Stripe.SecretKey, true),
		str("NIMBO_PAYMENTS_STRIPE_WEBHOOK_SECRET", &c.Payments.Stripe.WebhookSecret, true),
		str("NIMBO_PAYMENTS_ALIPAY_APP_ID", &c.Payments.Alipay.AppID, false),
		str("NIMBO_PAYMENTS_ALIPAY_PRIVATE_KEY", &c.Payments.Alipay.PrivateKey, true),
		str("NIMBO_PAYMENTS_ALIPAY_PUBLIC_KEY", &c.Payments.Alipay.PublicKey, true),
		str("NIMBO_PAYMENTS_STRIPE_API_BASE", &c.Payments.Stripe.APIBase, false),
		dur("NIMBO_PAYMENTS_STRIPE_TOLERANCE", &c.Payments.Stripe.Tolerance),
		str("NIMBO_PAYMENTS_ALIPAY_GATEWAY", &c.Payments.Alipay.Gateway, false),
		dur("NIMBO_PAYMENTS_ALIPAY_TOLERANCE", &c.Payments.Alipay.Tolerance),
		dur("NIMBO_BILLING_REMINDER_BEFORE", &c.Billing.ReminderBefore),
		str("NIMBO_BILLING_SELLER_NAME", &c.Billing.SellerName, false),
		str("NIMBO_BILLING_SELLER_EMAIL", &c.Billing.SellerEmail, false),
		dur("NIMBO_METRICS_INTERVAL", &c.Metrics.Interval),
		dur("NIMBO_METRICS_RAW_RETENTION", &c.Metrics.RawRetention),
		dur("NIMBO_METRICS_HOURLY_RETENTION", &c.Metrics.HourlyRetention),
	}
	for name, dst := range map[string]*int{"NIMBO_MAIL_PORT": &c.Mail.Port, "NIMBO_BILLING_TRIAL_DAYS": &c.Billing.TrialDays} {
		if v, ok := env(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				steps = append(steps, fmt.Errorf("%s: %w", name, err))
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*bool{"NIMBO_MAIL_REQUIRE_VERIFICATION": &c.Mail.RequireVerification, "NIMBO_BILLING_FREE_SERVERS": &c.Billing.FreeServers} {
		if v, ok := env(name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				steps = append(steps, fmt.Errorf("%s: %w", name, err))
			}
			*dst = b
		}
	}
	if v, ok := env("NIMBO_NODES_OFFLINE_AFTER"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			steps = append(steps, fmt.Errorf("NIMBO_NODES_OFFLINE_AFTER: %w", err))
		}
		c.Nodes.OfflineAfter = n
	}
	return errors.Join(steps...)
}

// Validate reports the first problems of a configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen is empty"))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("public_url %q is not an http(s) URL", c.PublicURL))
	}
	switch c.Database.Driver {
	case "sqlite", "postgres":
	default:
		errs = append(errs, fmt.Errorf("database.driver %q is not sqlite or postgres", c.Database.Driver))
	}
	if c.Database.DSN == "" {
		errs = append(errs, errors.New("database.dsn is empty"))
	}
	if c.Redis.URL == "" {
		errs = append(errs, errors.New("redis.url is empty"))
	}
	if c.Nodes.HeartbeatInterval < time.Second {
		errs = append(errs, fmt.Errorf("nodes.heartbeat_interval %s is below 1s", c.Nodes.HeartbeatInterval))
	}
	if c.Nodes.OfflineAfter < 1 {
		errs = append(errs, fmt.Errorf("nodes.offline_after %d is below 1", c.Nodes.OfflineAfter))
	}
	for name, v := range map[string]float64{"cpu": c.Nodes.CPUOvercommit, "memory": c.Nodes.MemoryOvercommit, "disk": c.Nodes.DiskOvercommit} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("nodes.%s_overcommit %v must be positive", name, v))
		}
	}
	if _, err := c.LogLevel(); err != nil {
		errs = append(errs, err)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		errs = append(errs, fmt.Errorf("log.format %q is not json or text", c.Log.Format))
	}
	if c.SweepInterval <= 0 {
		errs = append(errs, fmt.Errorf("sweep_interval %s must be positive", c.SweepInterval))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("session_ttl %s is below 1m", c.SessionTTL))
	}
	if c.Mail.Host != "" && (c.Mail.Port < 1 || c.Mail.Port > 65535) {
		errs = append(errs, fmt.Errorf("mail.port %d is not a port", c.Mail.Port))
	}
	switch c.Mail.TLS {
	case "starttls", "tls", "none":
	default:
		errs = append(errs, fmt.Errorf("mail.tls %q is not starttls, tls or none", c.Mail.TLS))
	}
	if c.Billing.Interval < time.Second {
		errs = append(errs, fmt.Errorf("billing.interval %s is below 1s", c.Billing.Interval))
	}
	if len(c.Billing.Currency) != 3 || strings.ToUpper(c.Billing.Currency) != c.Billing.Currency {
		errs = append(errs, fmt.Errorf("billing.currency %q is not an ISO 4217 code", c.Billing.Currency))
	}
	if c.Billing.TrialDays < 0 || c.Billing.TrialDays > 365 {
		errs = append(errs, fmt.Errorf("billing.trial_days %d is not within 0..365", c.Billing.TrialDays))
	}
	for name, d := range map[string]time.Duration{"reminder_before": c.Billing.ReminderBefore, "grace_period": c.Billing.GracePeriod, "terminate_after": c.Billing.TerminateAfter} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("billing.%s %s is negative", name, d))
		}
	}
	if c.Metrics.Interval < time.Second || c.Metrics.Interval > 10*time.Minute {
		errs = append(errs, fmt.Errorf("metrics.interval %s is not within 1s..10m", c.Metrics.Interval))
	}
	if c.Metrics.RawRetention < 3*time.Hour {
		errs = append(errs, fmt.Errorf("metrics.raw_retention %s is below 3h", c.Metrics.RawRetention))
	}
	if c.Metrics.HourlyRetention < 24*time.Hour {
		errs = append(errs, fmt.Errorf("metrics.hourly_retention %s is below 24h", c.Metrics.HourlyRetention))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// LogLevel parses log.level.
func (c Config) LogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return l, fmt.Errorf("log.level %q: %w", c.Log.Level, err)
	}
	return l, nil
}

// Secure reports whether the panel is served over HTTPS (cookies get the Secure flag).
func (c Config) Secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// NewLogger builds the slog logger the configuration asks for.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := c.LogLevel()
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
