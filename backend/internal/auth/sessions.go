package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Limits of the client details kept on a session.
const (
	maxUserAgentLen = 256
	maxIPLen        = 64
	// lastSeenEvery is how stale a session's last_seen_at may get before a request refreshes it.
	lastSeenEvery = time.Minute
)

// clientText makes a client-supplied header storable: control characters dropped, invalid
// UTF-8 replaced, cut to at most max bytes on a character boundary.
func clientText(v string, max int) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, v)
	if len(v) <= max {
		return v
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// touchSession records that the session of token hash h was used at now, unless lastSeen is
// less than a minute old. A failure is logged: authentication does not depend on it.
func (s *Service) touchSession(ctx context.Context, h string, lastSeen *time.Time, now time.Time) {
	if lastSeen != nil && now.Sub(*lastSeen) < lastSeenEvery {
		return
	}
	err := s.db.WithContext(ctx).Model(&store.Session{}).Where("token_hash = ?", h).
		Update("last_seen_at", store.Now()).Error
	if err != nil {
		s.log.WarnContext(ctx, "update session last_seen_at", "err", err)
	}
}

// SessionAPI converts a session row to its wire form (without the token); current marks the
// session of the request.
func SessionAPI(r store.Session, current bool) api.Session {
	return api.Session{ID: r.ID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt,
		IP: r.IP, UserAgent: r.UserAgent, Current: current}
}

// ListSessions lists p's live sessions, most recently seen first, marking the one p
// authenticated with.
func (s *Service) ListSessions(ctx context.Context, p *Principal) ([]api.Session, error) {
	var rows []store.Session
	if err := s.db.WithContext(ctx).Where("user_id = ?", p.User.ID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := time.Now()
	rows = slices.DeleteFunc(rows, func(r store.Session) bool { return !r.ExpiresAt.After(now) })
	slices.SortFunc(rows, func(a, b store.Session) int {
		if c := b.LastSeenAt.Compare(a.LastSeenAt); c != 0 {
			return c
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]api.Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, SessionAPI(r, p.SessionID != "" && r.ID == p.SessionID))
	}
	return out, nil
}

// RevokeSession ends one of userID's sessions at once (the credential cache included). Any
// other user's, an unknown or a malformed id is not_found.
func (s *Service) RevokeSession(ctx context.Context, userID, id string) error {
	if uuid.Validate(id) != nil {
		return apierr.NotFound("session not found")
	}
	var r store.Session
	err := s.db.WithContext(ctx).Select("token_hash").Where("id = ? AND user_id = ?", id, userID).Take(&r).Error
	if store.IsNotFound(err) {
		return apierr.NotFound("session not found")
	}
	if err != nil {
		return fmt.Errorf("read session: %w", err)
	}
	if err := s.db.WithContext(ctx).Where("token_hash = ?", r.TokenHash).Delete(&store.Session{}).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	s.cache.revoke(time.Now(), "s:"+r.TokenHash)
	return nil
}

// RevokeOtherSessions ends at once every session of userID except the one with id keep (none
// when keep is empty) and returns how many it ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, keep string) (int, error) {
	var hashes []string
	q := s.db.WithContext(ctx).Model(&store.Session{}).Where("user_id = ?", userID)
	if keep != "" {
		q = q.Where("id <> ?", keep)
	}
	if err := q.Pluck("token_hash", &hashes).Error; err != nil {
		return 0, fmt.Errorf("read sessions: %w", err)
	}
	n := 0
	// Batches keep the statement under the bind-parameter limits of both databases.
	for batch := range slices.Chunk(hashes, 500) {
		res := s.db.WithContext(ctx).Where("user_id = ? AND token_hash IN ?", userID, batch).Delete(&store.Session{})
		if res.Error != nil {
			return n, fmt.Errorf("delete sessions: %w", res.Error)
		}
		n += int(res.RowsAffected)
		keys := make([]string, len(batch))
		for i, h := range batch {
			keys[i] = "s:" + h
		}
		s.cache.revoke(time.Now(), keys...)
	}
	return n, nil
}
