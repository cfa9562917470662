package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// handleResize sets the CPU, memory and root disk limits of an instance
// (jobs.TypeInstanceResize), running or stopped, and reports its state. It is idempotent:
// an instance that already has the limits is left as it is and the result is reported
// again. An instance whose user.nimbo.instance label is not the payload's instance id is
// never touched.
func (w *Worker) handleResize(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.DecodeInstanceResize(t.Payload())
	if err != nil {
		return permanent(fmt.Errorf("instance resize: %w", err))
	}
	log := w.log.With("op_id", p.OperationID, "instance", p.IncusName, "instance_id", p.InstanceID, "type", t.Type())
	inst, err := w.incus.Get(ctx, p.IncusName)
	switch {
	case errors.Is(err, incus.ErrNotFound):
		return permanent(fmt.Errorf("instance %s does not exist on this node", p.IncusName))
	case err != nil:
		return err
	}
	if err := owned(inst, p.InstanceID); err != nil {
		return err
	}
	w.progress(p.OperationID, 10, "resizing")
	changed, err := w.incus.SetLimits(ctx, p.IncusName, incus.Limits{CPU: p.CPU, MemoryMiB: p.MemoryMiB, DiskMiB: p.DiskMiB})
	if err != nil {
		if errors.Is(err, incus.ErrNotFound) {
			return permanent(fmt.Errorf("resize %s: instance disappeared: %w", p.IncusName, err))
		}
		return fmt.Errorf("resize %s: %w", p.IncusName, err)
	}
	after, err := w.incus.Get(ctx, p.IncusName)
	if err != nil {
		if errors.Is(err, incus.ErrNotFound) {
			return permanent(fmt.Errorf("resize %s: instance disappeared: %w", p.IncusName, err))
		}
		return err
	}
	log.Info("instance resized", "cpu", p.CPU, "memory_mib", p.MemoryMiB, "disk_mib", p.DiskMiB,
		"changed", changed, "state", after.State)
	return w.succeed(ctx, p.OperationID, after.State)
}
