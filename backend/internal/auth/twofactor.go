package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Two-factor authentication (TOTP, RFC 6238) of accounts.
//
// It guards the password login only. API tokens are the machine credential and keep working
// without a code; whoever holds a session may create them, so a token is as strong as the
// login that made it. The TOTP secret is stored in the users table as is (not encrypted at
// rest: there is no encryption key configured yet).
//
// Every wrong password or code checked here counts as a failed login of the account's email
// and the caller's IP in the Redis rate limit, so a stolen session cannot be used to guess codes.

const (
	// recoveryCodeCount is the size of a set of recovery codes.
	recoveryCodeCount = 10
	// recoveryAlphabet excludes 0 and 1 (read as o and l).
	recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz23456789"
	// recoveryLen is the number of alphabet characters in a code (shown as xxxx-xxxx).
	recoveryLen = 8
)

// newRecoveryCodes returns recoveryCodeCount distinct random codes of the form xxxx-xxxx.
func newRecoveryCodes() []string {
	// Rejection sampling keeps the characters uniform: 238 = 7 × 34.
	limit := byte(256 - 256%len(recoveryAlphabet))
	seen := make(map[string]bool, recoveryCodeCount)
	codes := make([]string, 0, recoveryCodeCount)
	buf := make([]byte, 32)
	for len(codes) < recoveryCodeCount {
		var sb strings.Builder
		for sb.Len() < recoveryLen+1 {
			_, _ = rand.Read(buf) // never fails (Go ≥1.24 aborts instead)
			for _, b := range buf {
				if b >= limit || sb.Len() == recoveryLen+1 {
					continue
				}
				if sb.Len() == recoveryLen/2 {
					sb.WriteByte('-')
				}
				sb.WriteByte(recoveryAlphabet[int(b)%len(recoveryAlphabet)])
			}
		}
		if c := sb.String(); !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	return codes
}

// normalizeRecoveryCode lowercases a recovery code and drops its hyphen and surrounding
// space; ok is false unless it is then recoveryLen characters of the alphabet.
func normalizeRecoveryCode(code string) (string, bool) {
	c := strings.ToLower(strings.TrimSpace(code))
	if len(c) == recoveryLen+1 && c[recoveryLen/2] == '-' {
		c = c[:recoveryLen/2] + c[recoveryLen/2+1:]
	}
	if len(c) != recoveryLen {
		return "", false
	}
	for i := 0; i < len(c); i++ {
		if !strings.ContainsRune(recoveryAlphabet, rune(c[i])) {
			return "", false
		}
	}
	return c, true
}

// hashRecoveryCode is what the database stores of a (normalized) recovery code.
func hashRecoveryCode(normalized string) string { return HashSecret("recovery:" + normalized) }

// secondFactor is a TOTP code or a normalized recovery code; at most one is set.
type secondFactor struct {
	totp     string
	recovery string
}

func (f secondFactor) empty() bool { return f.totp == "" && f.recovery == "" }

// parseCode reads the code of the 2FA routes: 6 digits are a TOTP code, anything else must be
// a recovery code when allowRecovery is set.
func parseCode(code string, allowRecovery bool) (secondFactor, error) {
	code = strings.TrimSpace(code)
	switch {
	case code == "":
		return secondFactor{}, apierr.Validation(map[string]string{"code": "is required"})
	case validTOTPCode(code):
		return secondFactor{totp: code}, nil
	case !allowRecovery:
		return secondFactor{}, apierr.Validation(map[string]string{"code": "must be 6 digits"})
	}
	r, ok := normalizeRecoveryCode(code)
	if !ok {
		return secondFactor{}, apierr.Validation(map[string]string{"code": "must be 6 digits or a recovery code (xxxx-xxxx)"})
	}
	return secondFactor{recovery: r}, nil
}

// parseLoginFactor reads totp_code and recovery_code of a login request.
func parseLoginFactor(req api.LoginRequest) (secondFactor, map[string]string) {
	fields := map[string]string{}
	var f secondFactor
	totp, rec := strings.TrimSpace(req.TOTPCode), strings.TrimSpace(req.RecoveryCode)
	if totp != "" && rec != "" {
		fields["recovery_code"] = "give either totp_code or recovery_code, not both"
	}
	if totp != "" {
		if validTOTPCode(totp) {
			f.totp = totp
		} else {
			fields["totp_code"] = "must be 6 digits"
		}
	}
	if rec != "" {
		if r, ok := normalizeRecoveryCode(rec); ok {
			f.recovery = r
		} else {
			fields["recovery_code"] = "must be a recovery code (xxxx-xxxx)"
		}
	}
	return f, fields
}

// useSecondFactor checks f for u in tx and consumes it: a TOTP code advances totp_last_step
// (a code of the same or an earlier step is refused from then on), a recovery code gets its
// used_at. Both are conditional updates, so two concurrent requests cannot use the same code.
// It returns false for a wrong, replayed or used code.
func useSecondFactor(ctx context.Context, tx *gorm.DB, u store.User, f secondFactor, now time.Time) (bool, error) {
	if f.recovery != "" {
		res := tx.WithContext(ctx).Model(&store.RecoveryCode{}).
			Where("user_id = ? AND code_hash = ? AND used_at IS NULL", u.ID, hashRecoveryCode(f.recovery)).
			Update("used_at", store.Now())
		if res.Error != nil {
			return false, fmt.Errorf("use recovery code: %w", res.Error)
		}
		return res.RowsAffected == 1, nil
	}
	if u.TOTPSecret == nil {
		return false, nil
	}
	key, err := decodeTOTPSecret(*u.TOTPSecret)
	if err != nil {
		return false, fmt.Errorf("user %s: %w", u.ID, err)
	}
	step, ok := matchTOTP(key, f.totp, now, u.TOTPLastStep)
	if !ok {
		return false, nil
	}
	res := tx.WithContext(ctx).Model(&store.User{}).
		Where("id = ? AND totp_secret = ? AND totp_last_step < ?", u.ID, *u.TOTPSecret, step).
		Update("totp_last_step", step)
	if res.Error != nil {
		return false, fmt.Errorf("record totp step: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// reauth loads the user behind a 2FA route, applies the login rate limit and, when password
// is not nil, checks the password (a wrong one counts as a failed login).
func (s *Service) reauth(ctx context.Context, ip, userID string, password *string) (store.User, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return u, err
	}
	if err := s.checkLimit(ctx, ip, u.Email); err != nil {
		return u, err
	}
	if password == nil {
		return u, nil
	}
	ok, verr := VerifyPassword(*password, u.PasswordHash)
	if verr != nil {
		s.log.ErrorContext(ctx, "stored password hash is malformed", "user_id", u.ID)
	}
	if !ok {
		s.recordFailure(ctx, ip, u.Email)
		return u, apierr.Forbidden("wrong password")
	}
	return u, nil
}

func wrongCode() error { return apierr.Forbidden("wrong or already used two-factor code") }

// replaceRecoveryCodes deletes the user's recovery codes and stores a new set, returned in
// clear.
func replaceRecoveryCodes(ctx context.Context, tx *gorm.DB, userID string) ([]string, error) {
	if err := tx.WithContext(ctx).Where("user_id = ?", userID).Delete(&store.RecoveryCode{}).Error; err != nil {
		return nil, fmt.Errorf("delete recovery codes: %w", err)
	}
	codes := newRecoveryCodes()
	now := store.Now()
	rows := make([]store.RecoveryCode, len(codes))
	for i, c := range codes {
		norm, _ := normalizeRecoveryCode(c)
		rows[i] = store.RecoveryCode{ID: uuid.NewString(), UserID: userID, CodeHash: hashRecoveryCode(norm), CreatedAt: now}
	}
	if err := tx.WithContext(ctx).Create(&rows).Error; err != nil {
		return nil, fmt.Errorf("insert recovery codes: %w", err)
	}
	return codes, nil
}

// EnrollTOTP starts a TOTP enrollment of the user after checking the password: a new secret
// replaces any pending one and takes effect once ConfirmTOTP sees a valid code. An account
// with two-factor authentication already enabled is a conflict.
func (s *Service) EnrollTOTP(ctx context.Context, ip, userID, password string) (api.TwoFactorEnrollment, error) {
	if password == "" {
		return api.TwoFactorEnrollment{}, apierr.Validation(map[string]string{"password": "is required"})
	}
	u, err := s.reauth(ctx, ip, userID, &password)
	if err != nil {
		return api.TwoFactorEnrollment{}, err
	}
	if u.TOTPEnabled {
		return api.TwoFactorEnrollment{}, apierr.Conflict("two-factor authentication is already enabled")
	}
	secret := NewTOTPSecret()
	res := s.db.WithContext(ctx).Model(&store.User{}).Where("id = ? AND totp_enabled = ?", u.ID, false).
		Updates(map[string]any{"totp_secret": secret, "totp_last_step": 0, "updated_at": store.Now()})
	if res.Error != nil {
		return api.TwoFactorEnrollment{}, fmt.Errorf("store totp secret: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return api.TwoFactorEnrollment{}, apierr.Conflict("two-factor authentication is already enabled")
	}
	return api.TwoFactorEnrollment{Secret: secret, OTPAuthURL: OTPAuthURL(u.Email, secret)}, nil
}

// ConfirmTOTP enables the pending enrollment when code is valid for its secret and returns
// a new set of recovery codes, shown only this once.
func (s *Service) ConfirmTOTP(ctx context.Context, ip, userID, code string) ([]string, error) {
	f, err := parseCode(code, false)
	if err != nil {
		return nil, err
	}
	u, err := s.reauth(ctx, ip, userID, nil)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return nil, apierr.Conflict("two-factor authentication is already enabled")
	}
	if u.TOTPSecret == nil {
		return nil, apierr.Conflict("no pending two-factor enrollment; enroll first")
	}
	var codes []string
	ok := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		used, err := useSecondFactor(ctx, tx, u, f, time.Now())
		if err != nil || !used {
			return err
		}
		res := tx.Model(&store.User{}).Where("id = ? AND totp_enabled = ? AND totp_secret = ?", u.ID, false, *u.TOTPSecret).
			Updates(map[string]any{"totp_enabled": true, "updated_at": store.Now()})
		if res.Error != nil {
			return fmt.Errorf("enable totp: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		codes, err = replaceRecoveryCodes(ctx, tx, u.ID)
		ok = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		s.recordFailure(ctx, ip, u.Email)
		return nil, wrongCode()
	}
	return codes, nil
}

// DisableTOTP turns two-factor authentication off after checking the password and a code (a
// TOTP code or a recovery code), and deletes the recovery codes.
func (s *Service) DisableTOTP(ctx context.Context, ip, userID, password, code string) error {
	fields := map[string]string{}
	if password == "" {
		fields["password"] = "is required"
	}
	f, err := parseCode(code, true)
	if ae := (*apierr.Error)(nil); errors.As(err, &ae) {
		maps.Copy(fields, ae.Fields)
	}
	if len(fields) > 0 {
		return apierr.Validation(fields)
	}
	u, err := s.reauth(ctx, ip, userID, &password)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return apierr.Conflict("two-factor authentication is not enabled")
	}
	ok := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		used, err := useSecondFactor(ctx, tx, u, f, time.Now())
		if err != nil || !used {
			return err
		}
		err = tx.Model(&store.User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"totp_enabled": false, "totp_secret": nil, "totp_last_step": 0, "updated_at": store.Now()}).Error
		if err != nil {
			return fmt.Errorf("disable totp: %w", err)
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&store.RecoveryCode{}).Error; err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return err
	}
	if !ok {
		s.recordFailure(ctx, ip, u.Email)
		return wrongCode()
	}
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes after checking a code (a TOTP
// code or a recovery code) and returns the new set, shown only this once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, ip, userID, code string) ([]string, error) {
	f, err := parseCode(code, true)
	if err != nil {
		return nil, err
	}
	u, err := s.reauth(ctx, ip, userID, nil)
	if err != nil {
		return nil, err
	}
	if !u.TOTPEnabled {
		return nil, apierr.Conflict("two-factor authentication is not enabled")
	}
	var codes []string
	ok := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		used, err := useSecondFactor(ctx, tx, u, f, time.Now())
		if err != nil || !used {
			return err
		}
		codes, err = replaceRecoveryCodes(ctx, tx, u.ID)
		ok = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		s.recordFailure(ctx, ip, u.Email)
		return nil, wrongCode()
	}
	return codes, nil
}
