package auth

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/mail"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// RequestPasswordReset mails a password-reset link to email when it has an account. The
// caller answers the same whether or not it has one; the returned user id (empty when there
// is no account) is for the audit log only. Requests are rate-limited per ip and per address,
// whether or not the address has an account; a mail failure is logged.
func (a *Accounts) RequestPasswordReset(ctx context.Context, ip, email string) (string, error) {
	email = NormalizeEmail(email)
	if m := ValidateEmail(email); m != "" {
		return "", apierr.Validation(map[string]string{"email": m})
	}
	if err := a.limit(ctx, "reset:ip", ip, a.opt.ResetPerIP); err != nil {
		return "", err
	}
	if err := a.limit(ctx, "reset:email", email, a.opt.ResetPerEmail); err != nil {
		return "", err
	}
	var u store.User
	err := a.svc.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error
	if store.IsNotFound(err) {
		a.svc.log.InfoContext(ctx, "password reset asked for an address without an account")
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read user: %w", err)
	}
	st, err := a.siteOf(ctx, u)
	if err != nil {
		return "", err
	}
	token, err := a.issue(a.svc.db.WithContext(ctx), TokenPasswordReset, u.ID, a.opt.ResetTTL)
	if err != nil {
		return "", err
	}
	link := st.Base + "/reset-password?token=" + token
	err = a.mail.Send(ctx, mail.Message{
		To:      u.Email,
		Subject: "Reset your " + st.Brand + " password",
		Text: "Hello,\n\nsomeone asked to reset the password of your " + st.Brand + " account. To choose a new" +
			" password, open this link within " + hours(a.opt.ResetTTL) + ":\n\n" + link +
			"\n\nSetting a new password signs out every session of the account. If you did not ask for this," +
			" ignore this message: your password stays as it is.\n\n" + st.Brand + "\n",
	})
	if err != nil {
		a.svc.log.ErrorContext(ctx, "password reset mail not sent", "user_id", u.ID, "err", err)
	}
	return u.ID, nil
}

// ConfirmPasswordReset sets a new password with a reset token and returns the account. In
// one transaction it consumes the token (of two concurrent confirmations exactly one
// succeeds), stores the new argon2id hash, voids the account's other reset tokens, marks the
// address verified (the mail reached it) and deletes every session; then the cached
// credentials of the account are dropped. An unknown, used or expired token is invalid_token.
func (a *Accounts) ConfirmPasswordReset(ctx context.Context, token, password string) (store.User, error) {
	fields := map[string]string{}
	if token == "" {
		fields["token"] = "is required"
	}
	if m := ValidatePassword(password); m != "" {
		fields["password"] = m
	}
	if len(fields) > 0 {
		return store.User{}, apierr.Validation(fields)
	}
	if len(token) > maxTokenLen {
		return store.User{}, invalidToken()
	}
	hash, err := HashPassword(password, a.svc.opt.Password)
	if err != nil {
		return store.User{}, err
	}
	var (
		u      store.User
		hashes []string
	)
	err = a.svc.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := a.consume(tx, TokenPasswordReset, token)
		if err != nil {
			return err
		}
		if err := tx.Where("id = ?", t.UserID).Take(&u).Error; err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		now := store.Now()
		upd := map[string]any{"password_hash": hash, "updated_at": now}
		if u.EmailVerifiedAt == nil {
			upd["email_verified_at"] = now
			u.EmailVerifiedAt = &now
		}
		if err := tx.Model(&store.User{}).Where("id = ?", u.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("update password: %w", err)
		}
		if err := tx.Model(&AccountToken{}).Where("user_id = ? AND kind = ? AND used_at IS NULL", u.ID, TokenPasswordReset).
			Update("used_at", now).Error; err != nil {
			return fmt.Errorf("void reset tokens: %w", err)
		}
		if err := tx.Model(&store.Session{}).Where("user_id = ?", u.ID).Pluck("token_hash", &hashes).Error; err != nil {
			return fmt.Errorf("read sessions: %w", err)
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&store.Session{}).Error; err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		u.PasswordHash = hash
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	now := time.Now()
	for batch := range slices.Chunk(hashes, 500) {
		keys := make([]string, len(batch))
		for i, h := range batch {
			keys[i] = "s:" + h
		}
		a.svc.cache.revoke(now, keys...)
	}
	a.svc.DropCachedUser(u.ID)
	if err := a.svc.rdb.Del(ctx, a.svc.key("email", u.Email)).Err(); err != nil {
		a.svc.log.WarnContext(ctx, "clear login failures", "err", err)
	}
	a.svc.log.InfoContext(ctx, "password reset", "user_id", u.ID, "sessions_revoked", len(hashes))
	return u, nil
}
