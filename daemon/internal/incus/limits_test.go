package incus

import (
	"reflect"
	"testing"

	incusapi "github.com/lxc/incus/v6/shared/api"
)

func TestWithLimits(t *testing.T) {
	t.Parallel()
	own := map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default", "size": "128MiB"}}
	profileRoot := map[string]map[string]string{"rootfs": {"type": "disk", "path": "/", "pool": "fast"}}
	tests := []struct {
		name        string
		config      map[string]string
		devices     map[string]map[string]string
		expanded    map[string]map[string]string
		wantChanged bool
		wantDevices map[string]map[string]string
		wantErr     bool
	}{
		{"new limits", map[string]string{"limits.cpu": "1", "limits.memory": "64MiB", "user.x": "y"}, own, own, true,
			map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default", "size": "256MiB"}}, false},
		{"already applied", map[string]string{"limits.cpu": "2", "limits.memory": "96MiB", "user.x": "y"},
			map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default", "size": "256MiB"}}, nil, false,
			map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default", "size": "256MiB"}}, false},
		{"root disk from a profile", map[string]string{"limits.cpu": "2", "limits.memory": "96MiB"},
			map[string]map[string]string{"eth0": {"type": "nic"}}, profileRoot, true,
			map[string]map[string]string{"eth0": {"type": "nic"}, "rootfs": {"type": "disk", "path": "/", "pool": "fast", "size": "256MiB"}}, false},
		{"no root disk at all", nil, nil, nil, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := &incusapi.Instance{InstancePut: incusapi.InstancePut{Config: tt.config, Devices: tt.devices}, ExpandedDevices: tt.expanded}
			var before map[string]map[string]string
			if tt.devices != nil {
				before = map[string]map[string]string{}
				for k, v := range tt.devices {
					before[k] = map[string]string{}
					for a, b := range v {
						before[k][a] = b
					}
				}
			}
			put, changed, err := withLimits(inst, Limits{CPU: 2, MemoryMiB: 96, DiskMiB: 256})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if put.Config["limits.cpu"] != "2" || put.Config["limits.memory"] != "96MiB" {
				t.Errorf("config = %v", put.Config)
			}
			if tt.config["user.x"] != "" && put.Config["user.x"] != tt.config["user.x"] {
				t.Errorf("other keys lost: %v", put.Config)
			}
			if !reflect.DeepEqual(put.Devices, tt.wantDevices) {
				t.Errorf("devices = %v, want %v", put.Devices, tt.wantDevices)
			}
			// The instance read from Incus is not modified.
			if tt.devices != nil && !reflect.DeepEqual(inst.Devices, before) {
				t.Errorf("input devices modified: %v", inst.Devices)
			}
		})
	}
}
