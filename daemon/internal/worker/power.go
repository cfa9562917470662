package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/nimbo-panel/nimbo/daemon/api"
	"github.com/nimbo-panel/nimbo/daemon/internal/incus"
	"github.com/nimbo-panel/nimbo/daemon/jobs"
)

// handleAction runs a power or delete action (jobs.TypeInstanceStart, Stop, Restart,
// Delete). Each is idempotent: starting a running instance, stopping a stopped one and
// deleting a missing one succeed. An instance whose user.nimbo.instance label is not the
// payload's instance id is never touched.
func (w *Worker) handleAction(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.DecodeInstanceAction(t.Payload())
	if err != nil {
		return permanent(fmt.Errorf("%s: %w", t.Type(), err))
	}
	log := w.log.With("op_id", p.OperationID, "instance", p.IncusName, "instance_id", p.InstanceID, "type", t.Type())
	inst, err := w.incus.Get(ctx, p.IncusName)
	switch {
	case errors.Is(err, incus.ErrNotFound) && t.Type() == jobs.TypeInstanceDelete:
		log.Info("instance already gone")
		return w.succeed(ctx, p.OperationID, "")
	case errors.Is(err, incus.ErrNotFound):
		return permanent(fmt.Errorf("instance %s does not exist on this node", p.IncusName))
	case err != nil:
		return err
	}
	if err := owned(inst, p.InstanceID); err != nil {
		return err
	}
	w.progress(p.OperationID, 10, actionVerb(t.Type()))
	switch t.Type() {
	case jobs.TypeInstanceStart:
		err = w.incus.Start(ctx, p.IncusName)
	case jobs.TypeInstanceStop:
		err = w.incus.Stop(ctx, p.IncusName, w.cfg.StopTimeout, p.Force)
	case jobs.TypeInstanceRestart:
		err = w.incus.Restart(ctx, p.IncusName, w.cfg.StopTimeout, p.Force)
	case jobs.TypeInstanceDelete:
		err = w.incus.Delete(ctx, p.IncusName, w.cfg.StopTimeout, p.Force)
	default:
		return permanent(fmt.Errorf("%w: unknown action %q", jobs.ErrInvalidPayload, t.Type()))
	}
	if err != nil {
		if errors.Is(err, incus.ErrNotFound) {
			return permanent(fmt.Errorf("%s %s: instance disappeared: %w", t.Type(), p.IncusName, err))
		}
		return fmt.Errorf("%s %s: %w", t.Type(), p.IncusName, err)
	}
	state := actionState(t.Type())
	log.Info("instance action done", "state", state)
	return w.succeed(ctx, p.OperationID, state)
}

// actionState is the instance state after a successful action: incus.Client's Start, Stop
// and Restart return nil only once the instance is in it, so it needs no second read; ""
// after a delete.
func actionState(taskType string) string {
	switch taskType {
	case jobs.TypeInstanceStop:
		return api.StateStopped
	case jobs.TypeInstanceDelete:
		return ""
	}
	return api.StateRunning
}

// actionVerb is the progress message of an action while it runs.
func actionVerb(taskType string) string {
	switch taskType {
	case jobs.TypeInstanceStart:
		return "starting"
	case jobs.TypeInstanceStop:
		return "stopping"
	case jobs.TypeInstanceRestart:
		return "restarting"
	case jobs.TypeInstanceDelete:
		return "deleting"
	}
	return taskType
}
