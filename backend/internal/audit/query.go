package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// Reader is who reads the log. An admin reads every entry. Anyone else reads the entries
// they made (actor) or that concern their objects (owner); a reseller also reads the entries
// owned by its customers.
type Reader struct {
	UserID   string
	Admin    bool
	Reseller bool
}

// Filter selects entries. Empty fields do not filter; From is inclusive and To exclusive;
// ActionPrefix matches the start of the action, case-sensitively.
type Filter struct {
	ActorID, OwnerID, ObjectType, ObjectID, ActionPrefix string
	From, To                                             *time.Time
	Page, PerPage                                        int
}

// List returns one page of the entries r may read that match f, newest first, and their total.
func List(ctx context.Context, db *gorm.DB, r Reader, f Filter) ([]Entry, int64, error) {
	scope := func(q *gorm.DB) *gorm.DB {
		if !r.Admin {
			cond := "(audit_log.owner_id = ? OR audit_log.actor_id = ?"
			args := []any{r.UserID, r.UserID}
			if r.Reseller {
				cond += " OR audit_log.owner_id IN (SELECT id FROM users WHERE reseller_id = ?)"
				args = append(args, r.UserID)
			}
			q = q.Where(cond+")", args...)
		}
		for _, c := range []struct{ col, v string }{{"actor_id", f.ActorID}, {"owner_id", f.OwnerID},
			{"object_type", f.ObjectType}, {"object_id", f.ObjectID}} {
			if c.v != "" {
				q = q.Where("audit_log."+c.col+" = ?", c.v)
			}
		}
		if f.ActionPrefix != "" {
			// substr, not LIKE: SQLite's LIKE ignores ASCII case and both treat % and _ specially.
			q = q.Where("substr(audit_log.action, 1, ?) = ?", utf8.RuneCountInString(f.ActionPrefix), f.ActionPrefix)
		}
		if f.From != nil {
			q = q.Where("audit_log.created_at >= ?", f.From.UTC())
		}
		if f.To != nil {
			q = q.Where("audit_log.created_at < ?", f.To.UTC())
		}
		return q
	}
	if f.PerPage <= 0 {
		f.PerPage = 20
	}
	if f.Page <= 0 {
		f.Page = 1
	}
	var total int64
	if err := db.WithContext(ctx).Model(&Entry{}).Scopes(scope).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	out := []Entry{}
	if err := db.WithContext(ctx).Scopes(scope).Order("audit_log.created_at DESC, audit_log.id DESC").
		Limit(f.PerPage).Offset((f.Page - 1) * f.PerPage).Find(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("list audit entries: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, total, nil
}

// API converts an entry to its wire form.
func (e Entry) API() api.AuditEntry {
	details := json.RawMessage(e.Details)
	if !json.Valid(details) {
		details = json.RawMessage("{}")
	}
	return api.AuditEntry{ID: e.ID, ActorID: e.ActorID, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		OwnerID: e.OwnerID, IP: e.IP, RequestID: e.RequestID, Details: details, CreatedAt: e.CreatedAt}
}
