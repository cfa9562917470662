package api

// Settings is the configuration the panel runs with (GET /api/v1/admin/settings, admins
// only), read-only: settings are changed in the configuration file or the NIMBO_*
// environment and take effect when the panel restarts. Secrets never leave the server: each
// one is only reported as set or not (a field named <name>_set). Durations are whole seconds
// in fields named *_seconds.
type Settings struct {
	// Version is the running panel's build.
	Version BuildInfo `json:"version"`
	// PublicURL is the URL users and nodes reach the panel at (public_url).
	PublicURL string `json:"public_url"`
	// Listen is the address the HTTP server listens on (listen).
	Listen string `json:"listen"`
	// DataDir is the panel's data directory (data_dir).
	DataDir string `json:"data_dir"`
	// SweepIntervalSeconds is how often the sweeper runs (sweep_interval).
	SweepIntervalSeconds int64 `json:"sweep_interval_seconds"`
	// SessionTTLSeconds is how long a login session lasts (session_ttl).
	SessionTTLSeconds int64 `json:"session_ttl_seconds"`
	// LogLevel and LogFormat are log.level and log.format.
	LogLevel  string `json:"log_level"`
	LogFormat string `json:"log_format"`
	// PprofEnabled reports whether Go's profiles are served (pprof_listen is set).
	PprofEnabled bool             `json:"pprof_enabled"`
	Database     DatabaseSettings `json:"database"`
	Redis        RedisSettings    `json:"redis"`
	Nodes        NodeSettings     `json:"nodes"`
	Billing      BillingSettings  `json:"billing"`
	Mail         MailSettings     `json:"mail"`
	Payments     PaymentSettings  `json:"payments"`
	Metrics      MetricSettings   `json:"metrics"`
}

// BuildInfo describes the panel's binary, from the Go build information.
type BuildInfo struct {
	// Version is the module version the panel was built as, else "dev-<revision>", else "dev".
	Version string `json:"version"`
	// GoVersion is the Go toolchain that built it.
	GoVersion string `json:"go_version"`
	// Revision and RevisionTime are the VCS commit it was built from, when known.
	Revision     string `json:"revision,omitempty"`
	RevisionTime string `json:"revision_time,omitempty"`
	// Modified reports a build from a working tree with uncommitted changes.
	Modified bool `json:"modified"`
}

// DatabaseSettings is database.*: the driver, never the DSN.
type DatabaseSettings struct {
	// Driver is sqlite or postgres.
	Driver string `json:"driver"`
	// PasswordSet reports whether the DSN carries a password.
	PasswordSet bool `json:"password_set"`
}

// RedisSettings is redis.*: the server's host, never the URL.
type RedisSettings struct {
	// Host is the host:port of redis.url.
	Host string `json:"host"`
	// PasswordSet reports whether redis.url carries a password.
	PasswordSet bool `json:"password_set"`
}

// NodeSettings is nodes.*.
type NodeSettings struct {
	// HeartbeatIntervalSeconds is how often daemons report (nodes.heartbeat_interval).
	HeartbeatIntervalSeconds int64 `json:"heartbeat_interval_seconds"`
	// OfflineAfter is how many missed heartbeats mark a node offline (nodes.offline_after).
	OfflineAfter int `json:"offline_after"`
	// OfflineAfterSeconds is the silence after which a node is offline.
	OfflineAfterSeconds int64 `json:"offline_after_seconds"`
	// RedisHost is the host:port of the Redis daemons are told at join (nodes.redis_url).
	RedisHost string `json:"redis_host"`
	// RedisPasswordSet reports whether nodes.redis_url carries a password.
	RedisPasswordSet bool `json:"redis_password_set"`
	// CPUOvercommit, MemoryOvercommit and DiskOvercommit are how far the scheduler may
	// allocate past a node's capacity (nodes.*_overcommit; 1 is none).
	CPUOvercommit    float64 `json:"cpu_overcommit"`
	MemoryOvercommit float64 `json:"memory_overcommit"`
	DiskOvercommit   float64 `json:"disk_overcommit"`
}

// BillingSettings is billing.*.
type BillingSettings struct {
	// IntervalSeconds is how often the billing pass runs (billing.interval).
	IntervalSeconds int64 `json:"interval_seconds"`
	// Currency is the default wallet currency (billing.currency).
	Currency string `json:"currency"`
	// TrialDays is the length of a trial; 0 means no trials (billing.trial_days).
	TrialDays int `json:"trial_days"`
	// ReminderBeforeSeconds is how long before a renewal the reminder is sent.
	ReminderBeforeSeconds int64 `json:"reminder_before_seconds"`
	// GracePeriodSeconds is how long an unpaid subscription keeps running.
	GracePeriodSeconds int64 `json:"grace_period_seconds"`
	// TerminateAfterSeconds is how long a suspended subscription waits before deletion.
	TerminateAfterSeconds int64 `json:"terminate_after_seconds"`
	// SellerName and SellerEmail head the provider's invoices.
	SellerName  string `json:"seller_name"`
	SellerEmail string `json:"seller_email"`
	// FreeServers lets customers create servers without an order.
	FreeServers bool `json:"free_servers"`
	// WebhookURLSet and WebhookSecretSet report whether the provider's notification webhook
	// (billing.webhook_url) and its signing secret are set.
	WebhookURLSet    bool `json:"webhook_url_set"`
	WebhookSecretSet bool `json:"webhook_secret_set"`
}

// MailSettings is mail.*.
type MailSettings struct {
	// Enabled reports whether mail is sent (mail.host is set); otherwise it is logged.
	Enabled bool `json:"enabled"`
	// Host and Port are the SMTP server.
	Host string `json:"host"`
	Port int    `json:"port"`
	// Username is the SMTP login ("" for none).
	Username string `json:"username"`
	// PasswordSet reports whether mail.password is set.
	PasswordSet bool `json:"password_set"`
	// From is the sender address.
	From string `json:"from"`
	// TLS is starttls, tls or none.
	TLS string `json:"tls"`
	// RequireVerification refuses orders from unverified e-mail addresses.
	RequireVerification bool `json:"require_verification"`
}

// PaymentSettings is payments.*.
type PaymentSettings struct {
	// Gateways names the enabled gateways: manual always, stripe and alipay when configured.
	Gateways []string       `json:"gateways"`
	Stripe   StripeSettings `json:"stripe"`
	Alipay   AlipaySettings `json:"alipay"`
}

// StripeSettings is payments.stripe.*.
type StripeSettings struct {
	// Enabled reports whether both secrets are set.
	Enabled bool `json:"enabled"`
	// SecretKeySet and WebhookSecretSet report whether each secret is set.
	SecretKeySet     bool `json:"secret_key_set"`
	WebhookSecretSet bool `json:"webhook_secret_set"`
	// APIBase is the Stripe API the panel calls.
	APIBase string `json:"api_base"`
	// ToleranceSeconds is how old a webhook's signed timestamp may be.
	ToleranceSeconds int64 `json:"tolerance_seconds"`
}

// AlipaySettings is payments.alipay.*.
type AlipaySettings struct {
	// Enabled reports whether the app id and both keys are set.
	Enabled bool `json:"enabled"`
	// AppID is the Alipay application id ("" when unset).
	AppID string `json:"app_id"`
	// PrivateKeySet and PublicKeySet report whether the app's private key and Alipay's
	// public key are set.
	PrivateKeySet bool `json:"private_key_set"`
	PublicKeySet  bool `json:"public_key_set"`
	// Gateway is the Alipay gateway payers are sent to.
	Gateway string `json:"gateway"`
	// ToleranceSeconds is how old a notification's notify_time may be.
	ToleranceSeconds int64 `json:"tolerance_seconds"`
}

// MetricSettings is metrics.*: the servers' usage history.
type MetricSettings struct {
	// IntervalSeconds is the least time between two recorded samples of a server.
	IntervalSeconds int64 `json:"interval_seconds"`
	// RawRetentionSeconds is how long raw samples are kept (ranges up to 24h).
	RawRetentionSeconds int64 `json:"raw_retention_seconds"`
	// HourlyRetentionSeconds is how long hourly rollups are kept (ranges 7d and 30d).
	HourlyRetentionSeconds int64 `json:"hourly_retention_seconds"`
}
