// Package incus is the daemon's thin wrapper over the Incus Go client. It talks to Incus or
// to LXD 5.0 (same REST API) over the local unix socket and speaks in Nimbo's terms:
// capabilities, resources, Nimbo-managed instances and idempotent power actions.
package incus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	incusclient "github.com/lxc/incus/v6/client"
	incusapi "github.com/lxc/incus/v6/shared/api"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// Sentinel errors returned (wrapped) by Client methods.
var (
	// ErrNotFound means the instance does not exist.
	ErrNotFound = errors.New("instance not found")
	// ErrExists means an instance of that name already exists.
	ErrExists = errors.New("instance already exists")
)

// KVMDevice is the device whose presence makes virtual machines possible.
const KVMDevice = "/dev/kvm"

// Client is a connection to the local Incus/LXD daemon. It is safe for concurrent use.
type Client struct {
	srv  incusclient.InstanceServer
	pool string
	// env is the server environment, read once at Connect: the Incus client's GetServer
	// rewrites a cached struct that every other call reads without a lock, so it must not
	// run concurrently with them. The environment (server, version, drivers) only changes
	// with a restart of Incus/LXD.
	env    incusapi.ServerEnvironment
	kvm    string
	cancel context.CancelFunc
	// submit serializes the calls that start an Incus operation: the Incus client
	// (v6.18) reads and writes its events-listener flag without a lock while starting
	// one, which is a data race when two start concurrently. Waiting for operations is
	// not serialized.
	submit sync.Mutex
}

// Connect dials the Incus/LXD unix socket and checks that the storage pool exists.
//
// The Incus client ties every request to the context it was connected with, so the
// connection gets its own context, derived from ctx without its cancellation and ended by
// Close; waits on Incus operations honour the ctx of each call.
func Connect(ctx context.Context, socket, pool string) (*Client, error) {
	connCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv, err := incusclient.ConnectIncusUnixWithContext(connCtx, socket, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect incus %s: %w", socket, err)
	}
	info, _, err := srv.GetServer()
	if err != nil {
		srv.Disconnect()
		cancel()
		return nil, fmt.Errorf("incus server info: %w", err)
	}
	if _, _, err := srv.GetStoragePool(pool); err != nil {
		srv.Disconnect()
		cancel()
		return nil, fmt.Errorf("incus storage pool %q: %w", pool, err)
	}
	return &Client{srv: srv, pool: pool, kvm: KVMDevice, env: info.Environment, cancel: cancel}, nil
}

// Close releases the connection.
func (c *Client) Close() {
	c.srv.Disconnect()
	c.cancel()
}

// StoragePool returns the pool of instance root disks.
func (c *Client) StoragePool() string { return c.pool }

// Capabilities reads what this node can run. Containers are always possible; virtual
// machines need the qemu driver in the server environment and the KVM device.
func (c *Client) Capabilities(ctx context.Context) (api.Capabilities, error) {
	pool, _, err := c.srv.GetStoragePool(c.pool)
	if err != nil {
		return api.Capabilities{}, fmt.Errorf("incus storage pool %q: %w", c.pool, err)
	}
	caps := api.Capabilities{
		Containers:    true,
		ServerName:    c.env.Server,
		ServerVersion: c.env.ServerVersion,
		StorageDriver: pool.Driver,
		StoragePool:   c.pool,
	}
	caps.VirtualMachines, caps.VMReason = vmSupport(c.env.Driver, c.kvm)
	return caps, nil
}

// vmSupport decides VM capability from the server's driver list ("lxc | qemu") and the
// presence of the KVM device.
func vmSupport(drivers, kvmPath string) (bool, string) {
	hasQemu := slices.ContainsFunc(strings.Split(drivers, "|"), func(d string) bool {
		return strings.TrimSpace(d) == "qemu"
	})
	if _, err := os.Stat(kvmPath); err != nil {
		return false, fmt.Sprintf("KVM is not available on this node (%s missing)", kvmPath)
	}
	if !hasQemu {
		return false, fmt.Sprintf("the server offers no qemu driver (drivers: %s), so it cannot run virtual machines", drivers)
	}
	return true, ""
}

// Resources reads the node's CPU count, memory and the storage pool's space.
func (c *Client) Resources(ctx context.Context) (api.Resources, error) {
	r, err := c.srv.GetServerResources()
	if err != nil {
		return api.Resources{}, fmt.Errorf("incus resources: %w", err)
	}
	p, err := c.srv.GetStoragePoolResources(c.pool)
	if err != nil {
		return api.Resources{}, fmt.Errorf("incus storage pool %q resources: %w", c.pool, err)
	}
	return api.Resources{
		CPUs:        int(r.CPU.Total),
		MemoryTotal: int64(r.Memory.Total),
		MemoryUsed:  int64(r.Memory.Used),
		DiskTotal:   int64(p.Space.Total),
		DiskUsed:    int64(p.Space.Used),
	}, nil
}

// Images returns the local image aliases, sorted.
func (c *Client) Images(ctx context.Context) ([]string, error) {
	al, err := c.srv.GetImageAliases()
	if err != nil {
		return nil, fmt.Errorf("incus image aliases: %w", err)
	}
	names := make([]string, 0, len(al))
	for _, a := range al {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names, nil
}

// Instance is one Incus instance as Nimbo sees it.
type Instance struct {
	Name string
	// Type is "container" or "virtual-machine" (Incus terms).
	Type string
	// State is one of the api.State* values (lowercased Incus status).
	State string
	// InstanceID, NodeID and OperationID are the user.nimbo.* labels.
	InstanceID, NodeID, OperationID string
	// Config is the instance's own (not expanded) config.
	Config map[string]string
	// Devices are the instance's own (not expanded) devices.
	Devices map[string]map[string]string
	// Usage is filled by ListManaged.
	Usage api.Usage
}

func fromAPI(i *incusapi.Instance) Instance {
	return Instance{
		Name:        i.Name,
		Type:        i.Type,
		State:       stateOf(i.StatusCode, i.Status),
		InstanceID:  i.Config[api.InstanceLabel],
		NodeID:      i.Config[api.NodeLabel],
		OperationID: i.Config[api.OperationLabel],
		Config:      i.Config,
		Devices:     i.Devices,
	}
}

func stateOf(code incusapi.StatusCode, status string) string {
	switch code {
	case incusapi.Running:
		return api.StateRunning
	case incusapi.Stopped:
		return api.StateStopped
	case incusapi.Frozen:
		return api.StateFrozen
	case incusapi.Error:
		return api.StateError
	}
	return strings.ToLower(status)
}

// ListManaged returns the instances labelled with user.nimbo.node == nodeID, with their
// state and usage counters, sorted by name.
func (c *Client) ListManaged(ctx context.Context, nodeID string) ([]Instance, error) {
	all, err := c.srv.GetInstancesFull("")
	if err != nil {
		return nil, fmt.Errorf("incus list instances: %w", err)
	}
	var out []Instance
	for i := range all {
		full := &all[i]
		if full.Config[api.NodeLabel] != nodeID {
			continue
		}
		inst := fromAPI(&full.Instance)
		if st := full.State; st != nil {
			inst.State = stateOf(st.StatusCode, st.Status)
			inst.Usage = usageOf(st)
		}
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b Instance) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func usageOf(st *incusapi.InstanceState) api.Usage {
	u := api.Usage{
		CPUNanoseconds: st.CPU.Usage,
		MemoryBytes:    st.Memory.Usage,
		DiskBytes:      st.Disk["root"].Usage,
	}
	for name, n := range st.Network {
		if name == "lo" {
			continue
		}
		u.NetRxBytes += n.Counters.BytesReceived
		u.NetTxBytes += n.Counters.BytesSent
	}
	return u
}

// Get returns the instance called name, or an error wrapping ErrNotFound.
func (c *Client) Get(ctx context.Context, name string) (Instance, error) {
	i, _, err := c.srv.GetInstance(name)
	if err != nil {
		if incusapi.StatusErrorCheck(err, http.StatusNotFound) {
			return Instance{}, fmt.Errorf("instance %q: %w", name, ErrNotFound)
		}
		return Instance{}, fmt.Errorf("incus get instance %q: %w", name, err)
	}
	return fromAPI(i), nil
}

// CreateSpec describes an instance to create.
type CreateSpec struct {
	Name string
	// Type is jobs.InstanceContainer or jobs.InstanceVM.
	Type string
	// Image is a local alias or a fingerprint.
	Image     string
	CPU       int
	MemoryMiB int64
	DiskMiB   int64
	// InstanceID, NodeID and OperationID become the user.nimbo.* labels.
	InstanceID, NodeID, OperationID string
}

var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

// Create creates (but does not start) an instance. A name already taken yields an error
// wrapping ErrExists.
func (c *Client) Create(ctx context.Context, s CreateSpec) error {
	typ := incusapi.InstanceTypeContainer
	if s.Type == jobs.InstanceVM {
		typ = incusapi.InstanceTypeVM
	}
	src := incusapi.InstanceSource{Type: "image", Alias: s.Image}
	if fingerprintPattern.MatchString(s.Image) {
		src = incusapi.InstanceSource{Type: "image", Fingerprint: s.Image}
	}
	req := incusapi.InstancesPost{
		Name:   s.Name,
		Type:   typ,
		Source: src,
		InstancePut: incusapi.InstancePut{
			Config: map[string]string{
				"limits.cpu":       strconv.Itoa(s.CPU),
				"limits.memory":    fmt.Sprintf("%dMiB", s.MemoryMiB),
				api.InstanceLabel:  s.InstanceID,
				api.NodeLabel:      s.NodeID,
				api.OperationLabel: s.OperationID,
			},
			Devices: map[string]map[string]string{
				"root": {
					"type": "disk",
					"path": "/",
					"pool": c.pool,
					"size": fmt.Sprintf("%dMiB", s.DiskMiB),
				},
			},
		},
	}
	c.submit.Lock()
	op, err := c.srv.CreateInstance(req)
	c.submit.Unlock()
	if err == nil {
		err = op.WaitContext(ctx)
	}
	if err != nil {
		// "busy running a create operation" means someone else is creating this very name.
		if isExists(err) || isBusy(err) {
			return fmt.Errorf("create instance %q: %w", s.Name, ErrExists)
		}
		return fmt.Errorf("incus create instance %q: %w", s.Name, err)
	}
	return nil
}

// isBusy reports an Incus refusal because another operation holds the instance.
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "is busy running a")
}

// busyBackoff bounds the pause between attempts of a call refused with isBusy.
const busyBackoff = time.Second

// whileBusy runs call until it is not refused because the instance is busy with another
// operation (a concurrent start, stop or create finishing), or ctx ends.
func whileBusy(ctx context.Context, call func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := call()
		if err == nil || !isBusy(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, busyBackoff)
	}
}

func isExists(err error) bool {
	if incusapi.StatusErrorCheck(err, http.StatusConflict) {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "already exists")
}

// Start starts the instance; starting a running one succeeds.
func (c *Client) Start(ctx context.Context, name string) error {
	inst, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	if inst.State == api.StateRunning {
		return nil
	}
	if inst.State == api.StateFrozen {
		return c.state(ctx, name, incusapi.InstanceStatePut{Action: "unfreeze"})
	}
	return c.StartStopped(ctx, name)
}

// StartStopped starts an instance the caller knows to be stopped (one it has just
// created), without Start's first read of the state. Like Start, it succeeds when the
// instance turns out to be running already.
func (c *Client) StartStopped(ctx context.Context, name string) error {
	if err := c.state(ctx, name, incusapi.InstanceStatePut{Action: "start"}); err != nil {
		if ctx.Err() != nil {
			return err
		}
		if again, gerr := c.Get(ctx, name); gerr == nil && again.State == api.StateRunning {
			return nil
		}
		return err
	}
	return nil
}

// Stop stops the instance: a clean shutdown bounded by timeout, then a forced stop. With
// force it stops at once. Stopping a stopped instance succeeds.
func (c *Client) Stop(ctx context.Context, name string, timeout time.Duration, force bool) error {
	inst, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	if inst.State == api.StateStopped {
		return nil
	}
	if !force {
		err := c.state(ctx, name, incusapi.InstanceStatePut{Action: "stop", Timeout: timeoutSeconds(timeout)})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if again, gerr := c.Get(ctx, name); gerr == nil && again.State == api.StateStopped {
			return nil
		}
	}
	if err := c.state(ctx, name, incusapi.InstanceStatePut{Action: "stop", Force: true}); err != nil {
		if again, gerr := c.Get(ctx, name); gerr == nil && again.State == api.StateStopped {
			return nil
		}
		return err
	}
	return nil
}

// Restart restarts a running instance (clean, then forced after timeout, or forced at once
// with force) and starts a stopped one.
func (c *Client) Restart(ctx context.Context, name string, timeout time.Duration, force bool) error {
	inst, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	if inst.State != api.StateRunning {
		return c.Start(ctx, name)
	}
	if !force {
		err := c.state(ctx, name, incusapi.InstanceStatePut{Action: "restart", Timeout: timeoutSeconds(timeout)})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
	}
	if err := c.Stop(ctx, name, 0, true); err != nil {
		return err
	}
	return c.Start(ctx, name)
}

// Delete stops the instance (cleanly within timeout unless force) and deletes it. Deleting
// a missing instance succeeds. An instance started concurrently (e.g. by an operation still
// finishing) is stopped again, forcibly.
func (c *Client) Delete(ctx context.Context, name string, timeout time.Duration, force bool) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.Stop(ctx, name, timeout, force || attempt > 0); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		err = whileBusy(ctx, func() error {
			c.submit.Lock()
			op, err := c.srv.DeleteInstance(name)
			c.submit.Unlock()
			if err == nil {
				err = op.WaitContext(ctx)
			}
			return err
		})
		if err == nil || incusapi.StatusErrorCheck(err, http.StatusNotFound) {
			return nil
		}
		if inst, gerr := c.Get(ctx, name); gerr != nil || inst.State == api.StateStopped {
			break
		}
	}
	return fmt.Errorf("incus delete instance %q: %w", name, err)
}

func (c *Client) state(ctx context.Context, name string, put incusapi.InstanceStatePut) error {
	// A cancelled task (the daemon shutting down) must not start new work in Incus: the
	// submission below does not take ctx.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("incus %s instance %q: %w", put.Action, name, err)
	}
	err := whileBusy(ctx, func() error {
		c.submit.Lock()
		op, err := c.srv.UpdateInstanceState(name, put, "")
		c.submit.Unlock()
		if err == nil {
			err = op.WaitContext(ctx)
		}
		return err
	})
	if err != nil {
		if incusapi.StatusErrorCheck(err, http.StatusNotFound) {
			return fmt.Errorf("instance %q: %w", name, ErrNotFound)
		}
		return fmt.Errorf("incus %s instance %q: %w", put.Action, name, err)
	}
	return nil
}

func timeoutSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}
