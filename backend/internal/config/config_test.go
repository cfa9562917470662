package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func envMap(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "panel.yaml")
	yaml := "listen: 0.0.0.0:9000\npublic_url: https://panel.example.com\ndatabase:\n  driver: postgres\n  dsn: postgres://file\nnodes:\n  heartbeat_interval: 5s\n  offline_after: 4\nlog:\n  format: text\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "dsn")
	if err := os.WriteFile(secret, []byte("postgres://from-secret-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		path  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", "", nil, func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.Database.Driver != "sqlite" ||
				c.Database.DSN != "/var/lib/nimbo/nimbo.db" || c.Redis.URL != "redis://127.0.0.1:6379/0" ||
				c.Nodes.RedisURL != c.Redis.URL || c.Nodes.HeartbeatInterval != 10*time.Second || c.Nodes.OfflineAfter != 3 ||
				c.Nodes.CPUOvercommit != 4 || c.Nodes.MemoryOvercommit != 1 || c.Nodes.DiskOvercommit != 1 ||
				c.SweepInterval != 2*time.Second || c.Log.Format != "json" || c.Secure() {
				t.Fatalf("%+v", c)
			}
		}},
		{"data dir drives sqlite dsn", "", map[string]string{"NIMBO_DATA_DIR": "/srv/n"}, func(t *testing.T, c Config) {
			if c.Database.DSN != "/srv/n/nimbo.db" {
				t.Fatal(c.Database.DSN)
			}
		}},
		{"file", file, nil, func(t *testing.T, c Config) {
			if c.Listen != "0.0.0.0:9000" || c.Database.Driver != "postgres" || c.Database.DSN != "postgres://file" ||
				c.Nodes.HeartbeatInterval != 5*time.Second || c.Nodes.OfflineAfter != 4 || c.Log.Format != "text" || !c.Secure() {
				t.Fatalf("%+v", c)
			}
		}},
		{"file via NIMBO_CONFIG", "", map[string]string{"NIMBO_CONFIG": file}, func(t *testing.T, c Config) {
			if c.Listen != "0.0.0.0:9000" {
				t.Fatal(c.Listen)
			}
		}},
		{"env over file", file, map[string]string{"NIMBO_LISTEN": ":1", "NIMBO_DATABASE_DSN": "postgres://env",
			"NIMBO_NODES_HEARTBEAT_INTERVAL": "30s", "NIMBO_NODES_OFFLINE_AFTER": "5", "NIMBO_NODES_CPU_OVERCOMMIT": "2.5",
			"NIMBO_REDIS_URL": "redis://r:1/2", "NIMBO_SWEEP_INTERVAL": "1s", "NIMBO_LOG_LEVEL": "debug"}, func(t *testing.T, c Config) {
			if c.Listen != ":1" || c.Database.DSN != "postgres://env" || c.Nodes.HeartbeatInterval != 30*time.Second ||
				c.Nodes.OfflineAfter != 5 || c.Nodes.CPUOvercommit != 2.5 || c.Redis.URL != "redis://r:1/2" ||
				c.Nodes.RedisURL != "redis://r:1/2" || c.SweepInterval != time.Second || c.Log.Level != "debug" {
				t.Fatalf("%+v", c)
			}
		}},
		{"_FILE over env", file, map[string]string{"NIMBO_DATABASE_DSN": "postgres://env", "NIMBO_DATABASE_DSN_FILE": secret}, func(t *testing.T, c Config) {
			if c.Database.DSN != "postgres://from-secret-file" {
				t.Fatal(c.Database.DSN)
			}
		}},
		{"nodes redis url", "", map[string]string{"NIMBO_NODES_REDIS_URL": "redis://public:6379/0"}, func(t *testing.T, c Config) {
			if c.Nodes.RedisURL != "redis://public:6379/0" || c.Redis.URL != "redis://127.0.0.1:6379/0" {
				t.Fatalf("%+v", c)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.path, envMap(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(unknown, []byte("lisen: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		path string
		env  map[string]string
	}{
		"unknown yaml key":   {unknown, nil},
		"missing file":       {filepath.Join(dir, "nope.yaml"), nil},
		"bad driver":         {"", map[string]string{"NIMBO_DATABASE_DRIVER": "mysql"}},
		"bad duration":       {"", map[string]string{"NIMBO_SWEEP_INTERVAL": "soon"}},
		"bad int":            {"", map[string]string{"NIMBO_NODES_OFFLINE_AFTER": "x"}},
		"zero overcommit":    {"", map[string]string{"NIMBO_NODES_MEMORY_OVERCOMMIT": "0"}},
		"bad public url":     {"", map[string]string{"NIMBO_PUBLIC_URL": "ftp://x"}},
		"bad log format":     {"", map[string]string{"NIMBO_LOG_FORMAT": "xml"}},
		"bad log level":      {"", map[string]string{"NIMBO_LOG_LEVEL": "loud"}},
		"missing _FILE":      {"", map[string]string{"NIMBO_REDIS_URL_FILE": filepath.Join(dir, "none")}},
		"postgres needs dsn": {"", map[string]string{"NIMBO_DATABASE_DRIVER": "postgres"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(tc.path, envMap(tc.env)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
