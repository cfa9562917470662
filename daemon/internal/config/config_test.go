package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) LookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func valid() Config {
	c := Default()
	c.PanelURL = "https://panel.example.com"
	c.NodeID = "3f0b8e7c-4a1d-4c59-9b7e-1f2a3b4c5d6e"
	c.Credential = "secret"
	return c
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := Default()
	if c.StoragePool != "default" || c.Concurrency != 4 || c.TaskCheckInterval != DefaultTaskCheckInterval ||
		c.HeartbeatInterval != 10*time.Second || c.ReconcileInterval != 60*time.Second || c.StopTimeout != 30*time.Second ||
		c.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.IncusSocket != IncusSocket && c.IncusSocket != LXDSocket {
		t.Fatalf("incus socket %q", c.IncusSocket)
	}
}

func TestLoadLayers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	credFile := filepath.Join(dir, "cred")
	if err := os.WriteFile(credFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "daemon.yaml")
	yaml := "panel_url: https://file.example\nnode_id: node-from-file-1\ncredential: yaml-cred\nconcurrency: 8\nstop_timeout: 5s\nstorage_pool: fast\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		env   map[string]string
		check func(t *testing.T, c Config)
		err   string
	}{
		{"missing file is defaults", filepath.Join(dir, "nope.yaml"), nil, func(t *testing.T, c Config) {
			if c.PanelURL != "" || c.Concurrency != 4 {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"file over defaults", cfgFile, nil, func(t *testing.T, c Config) {
			if c.PanelURL != "https://file.example" || c.Concurrency != 8 || c.StopTimeout != 5*time.Second ||
				c.StoragePool != "fast" || c.Credential != "yaml-cred" || c.ReconcileInterval != time.Minute {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"env over file", cfgFile, map[string]string{
			"NIMBO_DAEMON_CONCURRENCY":         "2",
			"NIMBO_DAEMON_TASK_CHECK_INTERVAL": "35ms",
			"NIMBO_DAEMON_PANEL_URL":           "http://env.example:8080",
			"NIMBO_DAEMON_CREDENTIAL_FILE":     credFile,
		}, func(t *testing.T, c Config) {
			if c.Concurrency != 2 || c.TaskCheckInterval != 35*time.Millisecond || c.PanelURL != "http://env.example:8080" ||
				c.Credential != "from-file" || c.NodeID != "node-from-file-1" {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"bad env duration", cfgFile, map[string]string{"NIMBO_DAEMON_STOP_TIMEOUT": "soon"}, nil, "STOP_TIMEOUT"},
		{"bad env int", cfgFile, map[string]string{"NIMBO_DAEMON_CONCURRENCY": "many"}, nil, "CONCURRENCY"},
		{"missing credential file", cfgFile, map[string]string{"NIMBO_DAEMON_CREDENTIAL_FILE": filepath.Join(dir, "none")}, nil, "credential_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.path, env(tt.env))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadBadYAML(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("concurrency: [1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, env(nil)); err == nil {
		t.Fatal("bad YAML loaded")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"no panel", func(c *Config) { c.PanelURL = "" }, "panel_url is required"},
		{"panel not http", func(c *Config) { c.PanelURL = "ftp://x" }, "panel_url"},
		{"no node", func(c *Config) { c.NodeID = "" }, "node_id is required"},
		{"no credential", func(c *Config) { c.Credential = "" }, "credential is required"},
		{"bad redis", func(c *Config) { c.RedisURL = "http://x" }, "redis_url"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency"},
		{"negative interval", func(c *Config) { c.TaskCheckInterval = -1 }, "task_check_interval"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "log_level"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "log_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSaveRoundTrip(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "sub", "daemon.yaml")
	c := valid()
	c.StopTimeout = 7 * time.Second
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	got, err := Load(p, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"/a.yaml", map[string]string{EnvConfigPath: "/b.yaml"}, "/a.yaml"},
		{"", map[string]string{EnvConfigPath: "/b.yaml"}, "/b.yaml"},
		{"", nil, DefaultPath},
	}
	for _, tt := range tests {
		if got := Path(tt.flag, env(tt.env)); got != tt.want {
			t.Errorf("Path(%q, %v) = %q, want %q", tt.flag, tt.env, got, tt.want)
		}
	}
}
