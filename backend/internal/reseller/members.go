package reseller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Sub-users: other accounts given some permissions on one server. The caller authorizes the
// server first (instance.Service.Authorize with instance.PermManage); these methods act on
// the server they are given.

func memberNotFound() error { return apierr.NotFound("sub-user not found") }

// memberRow is a server_members row with the member's e-mail.
type memberRow struct {
	store.ServerMember
	Email string
}

func memberAPI(m memberRow) api.ServerMember {
	return api.ServerMember{UserID: m.UserID, Email: m.Email, Permissions: permList(m.Permissions),
		CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
}

// permList splits stored permissions, never nil.
func permList(stored string) []string {
	out := strings.Fields(stored)
	if out == nil {
		out = []string{}
	}
	return out
}

// NormalizePermissions checks that perms are sub-user permissions (api.Permissions) and
// returns them without duplicates in the canonical order, or the field problem.
func NormalizePermissions(perms []string) ([]string, string) {
	all := api.Permissions()
	for _, p := range perms {
		if !slices.Contains(all, p) {
			return nil, fmt.Sprintf("%q is not a permission; use any of %s", p, strings.Join(all, ", "))
		}
	}
	out := []string{}
	for _, p := range all {
		if slices.Contains(perms, p) {
			out = append(out, p)
		}
	}
	return out, ""
}

func (s *Service) member(q *gorm.DB, serverID, userID string) (memberRow, error) {
	var m memberRow
	if uuid.Validate(userID) != nil {
		return m, memberNotFound()
	}
	err := q.Table("server_members").Select("server_members.*, users.email").
		Joins("JOIN users ON users.id = server_members.user_id").
		Where("server_members.server_id = ? AND server_members.user_id = ?", serverID, userID).Take(&m).Error
	if store.IsNotFound(err) {
		return m, memberNotFound()
	}
	if err != nil {
		return m, fmt.Errorf("read sub-user: %w", err)
	}
	return m, nil
}

// Members returns one page of a server's sub-users, oldest first, and the total.
func (s *Service) Members(ctx context.Context, srv store.Server, page, perPage int) ([]api.ServerMember, int64, error) {
	q := s.db.WithContext(ctx).Table("server_members").Where("server_members.server_id = ?", srv.ID)
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count sub-users: %w", err)
	}
	var rows []memberRow
	if err := q.Select("server_members.*, users.email").Joins("JOIN users ON users.id = server_members.user_id").
		Order("server_members.created_at, server_members.user_id").Limit(perPage).Offset((page - 1) * perPage).
		Scan(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list sub-users: %w", err)
	}
	out := make([]api.ServerMember, len(rows))
	for i, r := range rows {
		out[i] = memberAPI(r)
	}
	return out, total, nil
}

// AddMember makes the account with e-mail email a sub-user of srv with perms. An unknown
// e-mail is not found; the owner cannot be added; an existing sub-user is a conflict.
func (s *Service) AddMember(ctx context.Context, srv store.Server, email string, perms []string, actorID string) (api.ServerMember, error) {
	email = auth.NormalizeEmail(email)
	f := map[string]string{}
	if email == "" || len(email) > 254 {
		f["email"] = "must be the e-mail address of an existing account"
	}
	norm, m := NormalizePermissions(perms)
	if m != "" {
		f["permissions"] = m
	}
	if len(f) > 0 {
		return api.ServerMember{}, apierr.Validation(f)
	}
	var out memberRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u store.User
		err := tx.Select("id", "email").Where("email = ?", email).Take(&u).Error
		if store.IsNotFound(err) {
			return apierr.NotFound("no account with this e-mail")
		}
		if err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		if u.ID == srv.OwnerID {
			return apierr.Validation(map[string]string{"email": "is the server's owner, who holds every permission already"})
		}
		now := store.Now()
		row := store.ServerMember{ServerID: srv.ID, UserID: u.ID, Permissions: strings.Join(norm, " "),
			CreatedBy: actorID, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			if store.IsDuplicate(err) {
				return apierr.Conflict("this account is a sub-user of the server already; change its permissions instead")
			}
			return fmt.Errorf("insert sub-user: %w", err)
		}
		out = memberRow{ServerMember: row, Email: u.Email}
		return nil
	})
	if err != nil {
		return api.ServerMember{}, err
	}
	s.log.InfoContext(ctx, "sub-user added", "server_id", srv.ID, "user_id", out.UserID, "permissions", norm)
	return memberAPI(out), nil
}

// UpdateMember replaces the permissions of sub-user userID of srv.
func (s *Service) UpdateMember(ctx context.Context, srv store.Server, userID string, perms []string) (api.ServerMember, error) {
	norm, m := NormalizePermissions(perms)
	if m != "" {
		return api.ServerMember{}, apierr.Validation(map[string]string{"permissions": m})
	}
	var out memberRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if out, err = s.member(s.db.ForUpdate(tx), srv.ID, userID); err != nil {
			return err
		}
		now := store.Now()
		if err := tx.Model(&store.ServerMember{}).Where("server_id = ? AND user_id = ?", srv.ID, userID).
			Updates(map[string]any{"permissions": strings.Join(norm, " "), "updated_at": now}).Error; err != nil {
			return fmt.Errorf("update sub-user: %w", err)
		}
		out.Permissions, out.UpdatedAt = strings.Join(norm, " "), now
		return nil
	})
	if err != nil {
		return api.ServerMember{}, err
	}
	return memberAPI(out), nil
}

// RemoveMember takes sub-user userID's access to srv away.
func (s *Service) RemoveMember(ctx context.Context, srv store.Server, userID string) error {
	if uuid.Validate(userID) != nil {
		return memberNotFound()
	}
	res := s.db.WithContext(ctx).Where("server_id = ? AND user_id = ?", srv.ID, userID).Delete(&store.ServerMember{})
	if res.Error != nil {
		return fmt.Errorf("delete sub-user: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return memberNotFound()
	}
	return nil
}
