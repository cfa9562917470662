package order

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/internal/notify"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Outbox is one notification written with the change it reports and delivered after commit.
type Outbox struct {
	ID        string `gorm:"primaryKey"`
	Kind      string
	UserID    string
	Subject   string
	Body      string
	Data      string
	Attempts  int
	LastError string
	CreatedAt time.Time
	ClaimedAt *time.Time
	SentAt    *time.Time
}

// TableName names the table of Outbox.
func (Outbox) TableName() string { return "notification_outbox" }

// Delivery limits.
const (
	// maxAttempts is how often a failing notification is tried before it is given up.
	maxAttempts = 5
	// claimTimeout is how long a claimed, unsent notification waits before another pass may
	// take it over (the claimer died).
	claimTimeout = 5 * time.Minute
	// deliverBatch bounds the leftovers one pass delivers.
	deliverBatch = 500
)

// note writes a notification for e inside tx and returns its id.
func note(ctx context.Context, tx *gorm.DB, e notify.Event) (string, error) {
	data := "{}"
	if len(e.Data) > 0 {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return "", fmt.Errorf("notification data: %w", err)
		}
		data = string(b)
	}
	o := Outbox{ID: uuid.NewString(), Kind: e.Kind, UserID: e.UserID, Subject: e.Subject, Body: e.Text, Data: data,
		CreatedAt: store.Now()}
	if err := tx.WithContext(ctx).Create(&o).Error; err != nil {
		return "", fmt.Errorf("write notification: %w", err)
	}
	return o.ID, nil
}

// deliver sends the outbox rows ids (written by committed transactions) through the
// notifier. A row is claimed first so that two passes never send it twice; a failure is
// logged and the row retried by a later pass, up to maxAttempts. It returns how many were sent.
func (e *Engine) deliver(ctx context.Context, ids []string) int {
	sent := 0
	db := e.s.db.WithContext(ctx)
	for _, id := range ids {
		now := store.Now()
		res := db.Model(&Outbox{}).
			Where("id = ? AND sent_at IS NULL AND attempts < ? AND (claimed_at IS NULL OR claimed_at < ?)", id, maxAttempts, now.Add(-claimTimeout)).
			Updates(map[string]any{"claimed_at": now, "attempts": gorm.Expr("attempts + 1")})
		if res.Error != nil {
			e.s.log.WarnContext(ctx, "claim notification", "id", id, "err", res.Error)
			continue
		}
		if res.RowsAffected != 1 {
			continue
		}
		var o Outbox
		if err := db.Where("id = ?", id).Take(&o).Error; err != nil {
			e.s.log.WarnContext(ctx, "read notification", "id", id, "err", err)
			continue
		}
		ev := notify.Event{Kind: o.Kind, UserID: o.UserID, Subject: o.Subject, Text: o.Body}
		if o.Data != "" && o.Data != "{}" {
			if err := json.Unmarshal([]byte(o.Data), &ev.Data); err != nil {
				e.s.log.WarnContext(ctx, "notification data", "id", id, "err", err)
			}
		}
		if err := e.notifier.Notify(ctx, ev); err != nil {
			e.s.log.WarnContext(ctx, "notification not delivered", "id", id, "kind", o.Kind, "user_id", o.UserID,
				"attempt", o.Attempts, "err", err)
			msg := err.Error()
			if len(msg) > 500 {
				msg = msg[:500]
			}
			if uerr := db.Model(&Outbox{}).Where("id = ?", id).Updates(map[string]any{"claimed_at": nil, "last_error": msg}).Error; uerr != nil {
				e.s.log.WarnContext(ctx, "release notification", "id", id, "err", uerr)
			}
			continue
		}
		if err := db.Model(&Outbox{}).Where("id = ?", id).Update("sent_at", store.Now()).Error; err != nil {
			e.s.log.WarnContext(ctx, "mark notification sent", "id", id, "err", err)
			continue
		}
		sent++
	}
	return sent
}

// deliverPending delivers what earlier transactions left in the outbox: notifications
// written by operation-finish hooks, and those a crash or a failing notifier kept back.
func (e *Engine) deliverPending(ctx context.Context) int {
	var ids []string
	now := store.Now()
	err := e.s.db.WithContext(ctx).Model(&Outbox{}).
		Where("sent_at IS NULL AND attempts < ? AND (claimed_at IS NULL OR claimed_at < ?)", maxAttempts, now.Add(-claimTimeout)).
		Order("created_at").Limit(deliverBatch).Pluck("id", &ids).Error
	if err != nil {
		e.s.log.WarnContext(ctx, "list pending notifications", "err", err)
		return 0
	}
	return e.deliver(ctx, ids)
}
