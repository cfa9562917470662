package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// rollbackTimeout bounds deleting a half-created instance, even after the task's context
// has ended.
const rollbackTimeout = 60 * time.Second

// handleCreate creates and starts an instance (jobs.TypeInstanceCreate).
//
// It is idempotent: an instance of the payload's IncusName carrying the payload's instance
// id is the one this job creates, whether a previous delivery made it or a concurrent one
// won the race, so it is reused and started. An instance this attempt created is deleted
// again when a later step fails.
func (w *Worker) handleCreate(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.DecodeInstanceCreate(t.Payload())
	if err != nil {
		return permanent(fmt.Errorf("instance create: %w", err))
	}
	log := w.log.With("op_id", p.OperationID, "instance", p.IncusName, "instance_id", p.InstanceID, "type", t.Type())
	if p.Type == jobs.InstanceVM {
		caps, err := w.incus.Capabilities(ctx)
		if err != nil {
			return fmt.Errorf("read node capabilities: %w", err)
		}
		if !caps.VirtualMachines {
			return permanent(fmt.Errorf("cannot create virtual machine %s: %s", p.IncusName, caps.VMReason))
		}
	}
	w.progress(p.OperationID, 10, "creating instance")
	created, err := w.ensureInstance(ctx, log, p)
	if err != nil {
		return err
	}
	w.progress(p.OperationID, 60, "starting")
	if err := w.startEnsured(ctx, log, p.IncusName, created); err != nil {
		return err
	}
	log.Info("instance created", "created_now", created)
	return w.succeed(ctx, p.OperationID, api.StateRunning)
}

// ensureInstance makes sure the instance exists, and reports whether this call created it.
func (w *Worker) ensureInstance(ctx context.Context, log *slog.Logger, p jobs.InstanceCreate) (bool, error) {
	inst, err := w.incus.Get(ctx, p.IncusName)
	switch {
	case err == nil:
		log.Info("instance already exists, reusing it")
		return false, owned(inst, p.InstanceID)
	case !errors.Is(err, incus.ErrNotFound):
		return false, err
	}
	err = w.incus.Create(ctx, incus.CreateSpec{
		Name:        p.IncusName,
		Type:        p.Type,
		Image:       p.Image,
		CPU:         p.CPU,
		MemoryMiB:   p.MemoryMiB,
		DiskMiB:     p.DiskMiB,
		InstanceID:  p.InstanceID,
		NodeID:      w.cfg.NodeID,
		OperationID: p.OperationID,
	})
	if errors.Is(err, incus.ErrExists) {
		inst, gerr := w.incus.Get(ctx, p.IncusName)
		if gerr != nil {
			return false, fmt.Errorf("%w; then: %w", err, gerr)
		}
		log.Info("instance created concurrently, reusing it")
		return false, owned(inst, p.InstanceID)
	}
	if err != nil {
		// Incus reverts a failed create itself. Nothing is deleted here: an instance of
		// this name may be a concurrent delivery's, still being created.
		if w.imageMissing(ctx, p.Image) {
			return false, permanent(fmt.Errorf("image %q is not available on this node: %w", p.Image, err))
		}
		return false, err
	}
	return true, nil
}

// owned checks that an existing instance is the one of instanceID, not a stranger that
// happens to have the same name.
func owned(inst incus.Instance, instanceID string) error {
	if inst.InstanceID != instanceID {
		return permanent(fmt.Errorf("incus name %q is already used by another instance (user.nimbo.instance=%q)", inst.Name, inst.InstanceID))
	}
	return nil
}

// imageMissing reports whether image is an alias the node does not have.
func (w *Worker) imageMissing(ctx context.Context, image string) bool {
	names, err := w.incus.Images(ctx)
	if err != nil {
		return false
	}
	return !slices.Contains(names, image) && !isFingerprint(image)
}

func isFingerprint(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// startEnsured starts the instance ensureInstance returned; when that call created it
// (created), it is known to be stopped, and a failed start deletes it again. Start and
// StartStopped return nil only once the instance is running (started now, already running,
// or unfrozen), so its state needs no second read.
func (w *Worker) startEnsured(ctx context.Context, log *slog.Logger, name string, created bool) error {
	start := w.incus.Start
	if created {
		start = w.incus.StartStopped
	}
	if err := start(ctx, name); err != nil {
		if created {
			w.rollback(ctx, log, name)
		}
		return fmt.Errorf("start instance %s: %w", name, err)
	}
	return nil
}

// rollback deletes an instance this attempt created, even when ctx has ended.
func (w *Worker) rollback(ctx context.Context, log *slog.Logger, name string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if err := w.incus.Delete(rctx, name, 0, true); err != nil {
		log.Error("roll back created instance", "err", err)
		return
	}
	log.Info("rolled back created instance")
}
