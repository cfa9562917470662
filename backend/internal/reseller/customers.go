package reseller

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

func customerNotFound() error { return apierr.NotFound("customer not found") }

// CreateCustomer creates a customer of reseller resellerID; its e-mail counts as verified
// (the reseller vouches for it). A taken e-mail is a conflict.
func (s *Service) CreateCustomer(ctx context.Context, resellerID string, req api.CreateCustomerRequest) (store.User, error) {
	email := auth.NormalizeEmail(req.Email)
	f := map[string]string{}
	if m := auth.ValidateEmail(email); m != "" {
		f["email"] = m
	}
	if m := auth.ValidatePassword(req.Password); m != "" {
		f["password"] = m
	}
	if len(f) > 0 {
		return store.User{}, apierr.Validation(f)
	}
	hash, err := auth.HashPassword(req.Password, s.opt.Password)
	if err != nil {
		return store.User{}, err
	}
	now := store.Now()
	rid := resellerID
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: api.RoleCustomer,
		ResellerID: &rid, EmailVerifiedAt: &now, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := resellerUser(tx, resellerID); err != nil {
			return err
		}
		if err := tx.Create(&u).Error; err != nil {
			if store.IsDuplicate(err) {
				return apierr.Conflict("a user with this email already exists")
			}
			return fmt.Errorf("insert customer: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	s.log.InfoContext(ctx, "reseller customer created", "user_id", u.ID, "reseller_id", resellerID)
	return u, nil
}

// Customers returns one page of the customers of resellerID, newest first, and the total;
// q, when set, keeps those whose e-mail contains it.
func (s *Service) Customers(ctx context.Context, resellerID, q string, page, perPage int) ([]store.User, int64, error) {
	base := s.db.WithContext(ctx).Model(&store.User{}).Where("reseller_id = ?", resellerID)
	if q != "" {
		base = base.Where(`email LIKE ? ESCAPE '\'`, store.LikePattern(auth.NormalizeEmail(q)))
	}
	var total int64
	if err := base.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count customers: %w", err)
	}
	users := []store.User{}
	if err := base.Order("created_at DESC, id DESC").Limit(perPage).Offset((page - 1) * perPage).Find(&users).Error; err != nil {
		return nil, 0, fmt.Errorf("list customers: %w", err)
	}
	return users, total, nil
}

// Customer returns customer id of resellerID; anybody else's customer is not found.
func (s *Service) Customer(ctx context.Context, resellerID, id string) (store.User, error) {
	var u store.User
	if uuid.Validate(id) != nil {
		return u, customerNotFound()
	}
	err := s.db.WithContext(ctx).Where("id = ? AND reseller_id = ?", id, resellerID).Take(&u).Error
	if store.IsNotFound(err) {
		return u, customerNotFound()
	}
	if err != nil {
		return u, fmt.Errorf("read customer: %w", err)
	}
	return u, nil
}
