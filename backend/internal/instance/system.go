package instance

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// ErrBusy is a system action refused because another operation is in flight on the server;
// the caller tries again later.
var ErrBusy = errors.New("another operation is in progress on the server")

// SystemActionTx creates, inside the caller's transaction tx, an operation of kind
// (api.OpInstanceStart, api.OpInstanceStop or api.OpInstanceDelete) that the panel itself
// takes on a server — the billing engine suspending, unsuspending or terminating it. There is
// no viewer and no permission or suspension check; the in-flight and status rules of Action
// apply. It returns the operation and the server to pass to Enqueue after tx commits, or
// ok false when nothing needs doing: the server is deleted, or already in the state the
// action would bring it to (a stop of a stopped server, a start of a running one). Another
// operation in flight is ErrBusy.
func (s *Service) SystemActionTx(ctx context.Context, tx *gorm.DB, serverID, kind string) (store.Operation, store.Server, bool, error) {
	var srv store.Server
	switch kind {
	case api.OpInstanceStart, api.OpInstanceStop, api.OpInstanceDelete:
	default:
		return store.Operation{}, srv, false, fmt.Errorf("system action %q is not start, stop or delete", kind)
	}
	tx = tx.WithContext(ctx)
	err := s.db.ForUpdate(tx).Where("id = ?", serverID).Take(&srv).Error
	if store.IsNotFound(err) {
		return store.Operation{}, srv, false, nil
	}
	if err != nil {
		return store.Operation{}, srv, false, fmt.Errorf("lock server: %w", err)
	}
	if srv.DeletedAt != nil {
		return store.Operation{}, srv, false, nil
	}
	var n int64
	if err := tx.Model(&store.Operation{}).Where("server_id = ? AND status IN ?", srv.ID, store.InFlightStatuses).Count(&n).Error; err != nil {
		return store.Operation{}, srv, false, fmt.Errorf("count in-flight operations: %w", err)
	}
	if n > 0 {
		return store.Operation{}, srv, false, ErrBusy
	}
	if !allowed(kind, srv.Status) {
		// A stop of a stopped (or missing) server, a start of a running one: nothing to do.
		return store.Operation{}, srv, false, nil
	}
	now := store.Now()
	op := store.Operation{
		ID: uuid.NewString(), Kind: kind, Status: api.OpPending, ServerID: &srv.ID, NodeID: srv.NodeID,
		PrevStatus: srv.Status, ForceStop: kind == api.OpInstanceDelete, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&op).Error; err != nil {
		return store.Operation{}, srv, false, fmt.Errorf("insert operation: %w", err)
	}
	srv.Status, srv.UpdatedAt = transitional(kind), now
	if err := tx.Model(&store.Server{}).Where("id = ?", srv.ID).Updates(map[string]any{"status": srv.Status, "updated_at": now}).Error; err != nil {
		return store.Operation{}, srv, false, fmt.Errorf("update server: %w", err)
	}
	s.log.InfoContext(ctx, "system server action accepted", "server_id", srv.ID, "op_id", op.ID, "kind", kind, "node_id", srv.NodeID)
	return op, srv, true, nil
}
