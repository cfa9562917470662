package incus

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"

	incusapi "github.com/lxc/incus/v6/shared/api"
)

// Limits are the resources Nimbo sets on an instance.
type Limits struct {
	CPU       int
	MemoryMiB int64
	DiskMiB   int64
}

// limitsAttempts bounds the read-modify-write cycles of SetLimits lost to concurrent writers.
const limitsAttempts = 5

// SetLimits sets limits.cpu, limits.memory and the size of the root disk of the instance
// called name, running or stopped. The update is a read-modify-write checked by the
// instance's ETag, so a concurrent change of its configuration is never overwritten: the
// cycle starts again on a mismatch. An instance that already has these limits is left
// untouched, so applying the same limits twice is a no-op; changed reports whether this call
// wrote. A root disk inherited from a profile becomes an instance device with the new size.
func (c *Client) SetLimits(ctx context.Context, name string, l Limits) (changed bool, err error) {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		inst, etag, err := c.srv.GetInstance(name)
		if err != nil {
			if incusapi.StatusErrorCheck(err, http.StatusNotFound) {
				return false, fmt.Errorf("instance %q: %w", name, ErrNotFound)
			}
			return false, fmt.Errorf("incus get instance %q: %w", name, err)
		}
		put, changed, err := withLimits(inst, l)
		if err != nil {
			return false, fmt.Errorf("instance %q: %w", name, err)
		}
		if !changed {
			return false, nil
		}
		err = whileBusy(ctx, func() error {
			c.submit.Lock()
			op, err := c.srv.UpdateInstance(name, put, etag)
			c.submit.Unlock()
			if err == nil {
				err = op.WaitContext(ctx)
			}
			return err
		})
		switch {
		case err == nil:
			return true, nil
		case incusapi.StatusErrorCheck(err, http.StatusPreconditionFailed) && attempt < limitsAttempts:
			continue // changed by someone else since the read: read again
		case incusapi.StatusErrorCheck(err, http.StatusNotFound):
			return false, fmt.Errorf("instance %q: %w", name, ErrNotFound)
		}
		return false, fmt.Errorf("incus update limits of instance %q: %w", name, err)
	}
}

// withLimits returns the writable configuration of inst with l applied, and whether that
// differs from what inst has.
func withLimits(inst *incusapi.Instance, l Limits) (incusapi.InstancePut, bool, error) {
	put := inst.Writable()
	put.Config = maps.Clone(put.Config)
	if put.Config == nil {
		put.Config = map[string]string{}
	}
	put.Devices = maps.Clone(put.Devices)
	if put.Devices == nil {
		put.Devices = map[string]map[string]string{}
	}
	cpu, mem, size := strconv.Itoa(l.CPU), fmt.Sprintf("%dMiB", l.MemoryMiB), fmt.Sprintf("%dMiB", l.DiskMiB)
	changed := false
	set := func(m map[string]string, k, v string) {
		if m[k] != v {
			m[k] = v
			changed = true
		}
	}
	set(put.Config, "limits.cpu", cpu)
	set(put.Config, "limits.memory", mem)

	devName, dev := rootDisk(put.Devices)
	if devName == "" {
		// Inherited from a profile: override it with an instance device of the same name.
		devName, dev = rootDisk(inst.ExpandedDevices)
		if devName == "" {
			return put, false, fmt.Errorf("no root disk device")
		}
	}
	dev = maps.Clone(dev)
	set(dev, "size", size)
	put.Devices[devName] = dev
	return put, changed, nil
}

// rootDisk finds the disk device mounted at "/".
func rootDisk(devices map[string]map[string]string) (string, map[string]string) {
	for name, d := range devices {
		if d["type"] == "disk" && d["path"] == "/" {
			return name, d
		}
	}
	return "", nil
}
