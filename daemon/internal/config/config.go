// Package config loads, validates and saves the configuration of nimbo-daemon: built-in
// defaults, then a YAML file, then NIMBO_DAEMON_* environment variables.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix prefixes every environment variable the daemon reads.
const EnvPrefix = "NIMBO_DAEMON_"

// EnvConfigPath names the environment variable holding the config file path.
const EnvConfigPath = EnvPrefix + "CONFIG"

// DefaultPath is the config file used when neither --config nor NIMBO_DAEMON_CONFIG is given.
const DefaultPath = "/etc/nimbo/daemon.yaml"

// Incus/LXD unix sockets probed, in order, when incus_socket is not configured.
const (
	IncusSocket = "/var/lib/incus/unix.socket"
	LXDSocket   = "/var/lib/lxd/unix.socket"
)

// Config is the whole configuration of one daemon.
type Config struct {
	// PanelURL is the base URL of nimbo-panel, e.g. https://panel.example.com.
	PanelURL string `yaml:"panel_url"`
	// NodeID is the id the panel gave this node at join.
	NodeID string `yaml:"node_id"`
	// Credential is the node's bearer credential for the node API.
	Credential string `yaml:"credential,omitempty"`
	// CredentialFile, when set, holds the credential instead of Credential.
	CredentialFile string `yaml:"credential_file,omitempty"`
	// RedisURL is the Redis holding this node's job queue.
	RedisURL string `yaml:"redis_url"`
	// IncusSocket is the unix socket of the local Incus or LXD daemon.
	IncusSocket string `yaml:"incus_socket"`
	// StoragePool is the Incus storage pool of instance root disks.
	StoragePool string `yaml:"storage_pool"`
	// Concurrency is how many jobs run at once.
	Concurrency int `yaml:"concurrency"`
	// TaskCheckInterval is how often an idle worker polls its queue.
	TaskCheckInterval time.Duration `yaml:"task_check_interval"`
	// HeartbeatInterval is the heartbeat period until the panel answers with its own.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// ReconcileInterval is how often drift between the panel and Incus is checked.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// StopTimeout bounds a graceful stop before the instance is forced off.
	StopTimeout time.Duration `yaml:"stop_timeout"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json.
	LogFormat string `yaml:"log_format"`
}

// DefaultTaskCheckInterval is the default task_check_interval. An idle asynq server sleeps
// between half and one and a half of it after finding its queue empty, so a job waits about
// half of it on average before it starts. Each poll is one small Lua script on Redis
// (measured ≈40 µs of Redis CPU here): at 20 ms an idle node costs Redis ≈50 calls and
// ≈2 ms of CPU per second, about 0.2 % of one core.
const DefaultTaskCheckInterval = 20 * time.Millisecond

// LookupFunc reads an environment variable; os.LookupEnv is the usual one.
type LookupFunc func(key string) (string, bool)

// Default returns the built-in defaults. The Incus socket is the Incus one when it exists,
// otherwise LXD's.
func Default() Config {
	sock := LXDSocket
	if _, err := os.Stat(IncusSocket); err == nil {
		sock = IncusSocket
	}
	return Config{
		RedisURL:          "redis://127.0.0.1:6379/0",
		IncusSocket:       sock,
		StoragePool:       "default",
		Concurrency:       4,
		TaskCheckInterval: DefaultTaskCheckInterval,
		HeartbeatInterval: 10 * time.Second,
		ReconcileInterval: 60 * time.Second,
		StopTimeout:       30 * time.Second,
		LogLevel:          "info",
		LogFormat:         "text",
	}
}

// Path returns the config file path: flagValue when set, else NIMBO_DAEMON_CONFIG, else
// DefaultPath.
func Path(flagValue string, lookup LookupFunc) string {
	if flagValue != "" {
		return flagValue
	}
	if v, ok := lookup(EnvConfigPath); ok && v != "" {
		return v
	}
	return DefaultPath
}

// Load builds a Config from the defaults, the YAML file at path (a missing file is not an
// error: a daemon that has not joined yet has none) and the environment. It does not
// validate; call Validate before running.
func Load(path string, lookup LookupFunc) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return cfg, fmt.Errorf("read config %s: %w", path, err)
		default:
			if err := yaml.Unmarshal(b, &cfg); err != nil {
				return cfg, fmt.Errorf("parse config %s: %w", path, err)
			}
		}
	}
	if err := cfg.applyEnv(lookup); err != nil {
		return cfg, err
	}
	if cfg.CredentialFile != "" {
		b, err := os.ReadFile(cfg.CredentialFile)
		if err != nil {
			return cfg, fmt.Errorf("read credential_file: %w", err)
		}
		cfg.Credential = strings.TrimSpace(string(b))
	}
	return cfg, nil
}

func (c *Config) applyEnv(lookup LookupFunc) error {
	str := map[string]*string{
		"PANEL_URL":       &c.PanelURL,
		"NODE_ID":         &c.NodeID,
		"CREDENTIAL":      &c.Credential,
		"CREDENTIAL_FILE": &c.CredentialFile,
		"REDIS_URL":       &c.RedisURL,
		"INCUS_SOCKET":    &c.IncusSocket,
		"STORAGE_POOL":    &c.StoragePool,
		"LOG_LEVEL":       &c.LogLevel,
		"LOG_FORMAT":      &c.LogFormat,
	}
	for k, p := range str {
		if v, ok := lookup(EnvPrefix + k); ok {
			*p = v
		}
	}
	if v, ok := lookup(EnvPrefix + "REDIS_URL_FILE"); ok && v != "" {
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("read %sREDIS_URL_FILE: %w", EnvPrefix, err)
		}
		c.RedisURL = strings.TrimSpace(string(b))
	}
	if v, ok := lookup(EnvPrefix + "CONCURRENCY"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%sCONCURRENCY: %w", EnvPrefix, err)
		}
		c.Concurrency = n
	}
	dur := map[string]*time.Duration{
		"TASK_CHECK_INTERVAL": &c.TaskCheckInterval,
		"HEARTBEAT_INTERVAL":  &c.HeartbeatInterval,
		"RECONCILE_INTERVAL":  &c.ReconcileInterval,
		"STOP_TIMEOUT":        &c.StopTimeout,
	}
	for k, p := range dur {
		if v, ok := lookup(EnvPrefix + k); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s%s: %w", EnvPrefix, k, err)
			}
			*p = d
		}
	}
	return nil
}

// Validate reports every problem that keeps the daemon from running, joined.
func (c Config) Validate() error {
	var errs []error
	if c.PanelURL == "" {
		errs = append(errs, errors.New("panel_url is required (run nimbo-daemon join first)"))
	} else if u, err := url.Parse(c.PanelURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("panel_url %q is not an http(s) URL", c.PanelURL))
	}
	if c.NodeID == "" {
		errs = append(errs, errors.New("node_id is required (run nimbo-daemon join first)"))
	}
	if c.Credential == "" {
		errs = append(errs, errors.New("credential is required (run nimbo-daemon join first)"))
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		errs = append(errs, fmt.Errorf("redis_url %q is not a redis:// or rediss:// URL", c.RedisURL))
	}
	if c.IncusSocket == "" {
		errs = append(errs, errors.New("incus_socket is required"))
	}
	if c.StoragePool == "" {
		errs = append(errs, errors.New("storage_pool is required"))
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("concurrency %d out of range 1..1024", c.Concurrency))
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"task_check_interval", c.TaskCheckInterval},
		{"heartbeat_interval", c.HeartbeatInterval},
		{"reconcile_interval", c.ReconcileInterval},
		{"stop_timeout", c.StopTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", p.name, p.d))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q is not debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format %q is not text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// Save writes c as YAML to path with mode 0600 (it holds the node credential), creating the
// directory (0700) if needed. The file is replaced atomically.
func (c Config) Save(path string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("marshal config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".daemon-*.yaml")
	if err != nil {
		return fmt.Errorf("create config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod config: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("install config: %w", err)
	}
	return nil
}
