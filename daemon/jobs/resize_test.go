package jobs

import (
	"errors"
	"testing"
)

func TestInstanceResizePayload(t *testing.T) {
	t.Parallel()
	valid := InstanceResize{OperationID: "op-12345678", InstanceID: "inst-12345678", IncusName: "web-1", CPU: 2, MemoryMiB: 256, DiskMiB: 1024}
	tests := []struct {
		name   string
		mutate func(p *InstanceResize)
		ok     bool
	}{
		{"valid", func(*InstanceResize) {}, true},
		{"bounds", func(p *InstanceResize) { p.CPU, p.MemoryMiB, p.DiskMiB = MaxCPU, MaxMemoryMiB, MaxDiskMiB }, true},
		{"no cpu", func(p *InstanceResize) { p.CPU = 0 }, false},
		{"too many cpus", func(p *InstanceResize) { p.CPU = MaxCPU + 1 }, false},
		{"too little memory", func(p *InstanceResize) { p.MemoryMiB = MinMemoryMiB - 1 }, false},
		{"too little disk", func(p *InstanceResize) { p.DiskMiB = MinDiskMiB - 1 }, false},
		{"bad operation id", func(p *InstanceResize) { p.OperationID = "x" }, false},
		{"bad incus name", func(p *InstanceResize) { p.IncusName = "-web" }, false},
	}
	for _, tt := range tests {
		p := valid
		tt.mutate(&p)
		task, err := NewInstanceResize("node-12345678", p)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidPayload)) {
			t.Errorf("%s: NewInstanceResize err = %v, want ok %v", tt.name, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if task.Type() != TypeInstanceResize {
			t.Errorf("%s: type %q", tt.name, task.Type())
		}
		got, err := DecodeInstanceResize(task.Payload())
		p.Version = PayloadVersion
		if err != nil || got != p {
			t.Errorf("%s: decoded %+v, %v; want %+v", tt.name, got, err, p)
		}
	}
	if _, err := DecodeInstanceResize([]byte(`{"v":1,`)); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("malformed payload: %v", err)
	}
	found := false
	for _, typ := range AllTypes {
		found = found || typ == TypeInstanceResize
	}
	if !found || IsActionType(TypeInstanceResize) {
		t.Errorf("AllTypes has resize: %v; resize is an action type: %v", found, IsActionType(TypeInstanceResize))
	}
}
