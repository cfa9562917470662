// Package audit records every state change in an append-only log — who, what, which object
// and whose, when, from where — and reads it back for the object's owner and for admins.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// SystemActor is the actor of changes the panel makes on its own (the billing engine).
const SystemActor = "system"

// Entry is one audit record. Action is a dotted verb such as "server.start" or
// "subscription.suspend"; OwnerID is the user whose object changed (who may read it).
type Entry struct {
	ID         string `gorm:"primaryKey"`
	ActorID    string
	Action     string
	ObjectType string
	ObjectID   string
	OwnerID    string
	IP         string `gorm:"column:ip"`
	RequestID  string
	Details    string
	CreatedAt  time.Time
}

// TableName names the table of Entry.
func (Entry) TableName() string { return "audit_log" }

// Record appends e through db — pass the transaction that makes the change, so the entry
// commits with it. details (may be nil) is stored as JSON.
func Record(ctx context.Context, db *gorm.DB, e Entry, details map[string]any) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = store.Now()
	}
	e.Details = "{}"
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("audit details: %w", err)
		}
		e.Details = string(b)
	}
	if err := db.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}
