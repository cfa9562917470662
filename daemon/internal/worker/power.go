package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

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
		w.progress(ctx, log, p.OperationID, 100, "deleted")
		return w.succeed(ctx, p.OperationID, "")
	case errors.Is(err, incus.ErrNotFound):
		return permanent(fmt.Errorf("instance %s does not exist on this node", p.IncusName))
	case err != nil:
		return err
	}
	if err := owned(inst, p.InstanceID); err != nil {
		return err
	}
	verb, done := actionWords(t.Type())
	w.progress(ctx, log, p.OperationID, 10, verb)
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
	state := ""
	if t.Type() != jobs.TypeInstanceDelete {
		after, err := w.incus.Get(ctx, p.IncusName)
		if err != nil {
			return fmt.Errorf("read instance %s after %s: %w", p.IncusName, t.Type(), err)
		}
		state = after.State
	}
	w.progress(ctx, log, p.OperationID, 100, done)
	log.Info("instance action done", "state", state)
	return w.succeed(ctx, p.OperationID, state)
}

// actionWords are the progress messages of an action: while running and when done.
func actionWords(taskType string) (string, string) {
	switch taskType {
	case jobs.TypeInstanceStart:
		return "starting", "running"
	case jobs.TypeInstanceStop:
		return "stopping", "stopped"
	case jobs.TypeInstanceRestart:
		return "restarting", "running"
	case jobs.TypeInstanceDelete:
		return "deleting", "deleted"
	}
	return taskType, "done"
}
