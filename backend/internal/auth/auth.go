// Package auth manages accounts, passwords, sessions, API tokens and login rate limits, and
// resolves a request's credentials into a Principal.
package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Secret prefixes.
const (
	TokenPrefix = "nimbo_"
	// tokenShownPrefix is how many characters of a token secret are kept for display.
	tokenShownPrefix = 12
)

// Options tune a Service.
type Options struct {
	// SessionTTL is a session's lifetime (default 7 days).
	SessionTTL time.Duration
	// CacheTTL is how long an authenticated credential is trusted without a query (default 2 s;
	// negative disables the cache).
	CacheTTL time.Duration
	// LoginLimit failures per IP or per email within LoginWindow answer 429 (default 10 / 15 min).
	LoginLimit  int
	LoginWindow time.Duration
	// RedisPrefix namespaces the rate-limit keys (default "nimbo:").
	RedisPrefix string
	Password    PasswordParams
}

// Service is the account service.
type Service struct {
	db    *store.DB
	rdb   redis.UniversalClient
	log   *slog.Logger
	opt   Options
	cache *principalCache
	dummy string // a hash verified for unknown emails, so timing does not reveal them
}

// New returns a Service.
func New(db *store.DB, rdb redis.UniversalClient, log *slog.Logger, opt Options) (*Service, error) {
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 7 * 24 * time.Hour
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = 2 * time.Second
	}
	if opt.LoginLimit <= 0 {
		opt.LoginLimit = 10
	}
	if opt.LoginWindow <= 0 {
		opt.LoginWindow = 15 * time.Minute
	}
	if opt.RedisPrefix == "" {
		opt.RedisPrefix = "nimbo:"
	}
	if opt.Password.MemoryKiB == 0 {
		opt.Password = DefaultPasswordParams()
	}
	dummy, err := HashPassword(NewSecret(""), opt.Password)
	if err != nil {
		return nil, err
	}
	return &Service{db: db, rdb: rdb, log: log, opt: opt, cache: newPrincipalCache(opt.CacheTTL), dummy: dummy}, nil
}

// SessionTTL is the lifetime of a new session.
func (s *Service) SessionTTL() time.Duration { return s.opt.SessionTTL }

// UserAPI converts a user row to its wire form.
func UserAPI(u store.User) api.User {
	out := api.User{ID: u.ID, Email: u.Email, Role: u.Role, TwoFactorEnabled: u.TOTPEnabled,
		EmailVerified: u.EmailVerifiedAt != nil, CreatedAt: u.CreatedAt}
	if u.ResellerID != nil {
		out.ResellerID = *u.ResellerID
	}
	return out
}

// NormalizeEmail lowercases and trims an email address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateEmail returns the problem with an already normalized e-mail address, or "".
func ValidateEmail(email string) string {
	if email == "" {
		return "is required"
	}
	if len(email) > 254 {
		return "is longer than 254 characters"
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "is not a valid email address"
	}
	return ""
}

// ValidatePassword returns the problem with a new password, or "".
func ValidatePassword(pw string) string {
	switch n := utf8.RuneCountInString(pw); {
	case n < 8:
		return "must be at least 8 characters"
	case len(pw) > 1024:
		return "must be at most 1024 bytes"
	}
	return ""
}

// CreateUser creates an account. A taken email is a conflict.
func (s *Service) CreateUser(ctx context.Context, email, password, role string) (store.User, error) {
	email = NormalizeEmail(email)
	fields := map[string]string{}
	if m := ValidateEmail(email); m != "" {
		fields["email"] = m
	}
	if m := ValidatePassword(password); m != "" {
		fields["password"] = m
	}
	if role != api.RoleAdmin && role != api.RoleCustomer {
		fields["role"] = "must be admin or customer"
	}
	if len(fields) > 0 {
		return store.User{}, apierr.Validation(fields)
	}
	hash, err := HashPassword(password, s.opt.Password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: role}
	// Accounts an admin (or the CLI) creates count as verified; only sign-ups must prove it.
	verified := store.Now()
	u.EmailVerifiedAt = &verified
	if err := s.db.WithContext(ctx).Create(&u).Error; err != nil {
		if store.IsDuplicate(err) {
			return store.User{}, apierr.Conflict("a user with this email already exists")
		}
		return store.User{}, fmt.Errorf("insert user: %w", err)
	}
	return u, nil
}

// UserByEmail finds a user; a missing one is apierr not_found.
func (s *Service) UserByEmail(ctx context.Context, email string) (store.User, error) {
	var u store.User
	err := s.db.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).Take(&u).Error
	if store.IsNotFound(err) {
		return u, apierr.NotFound("user not found")
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// GetUser finds a user by id; a missing one (or malformed id) is not_found.
func (s *Service) GetUser(ctx context.Context, id string) (store.User, error) {
	var u store.User
	if uuid.Validate(id) != nil {
		return u, apierr.NotFound("user not found")
	}
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	if store.IsNotFound(err) {
		return u, apierr.NotFound("user not found")
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// ListUsers returns one page of the users f selects, newest first, and their total.
func (s *Service) ListUsers(ctx context.Context, f UserFilter, page, perPage int) ([]store.User, int64, error) {
	var (
		users []store.User
		total int64
	)
	q := s.db.WithContext(ctx).Model(&store.User{})
	if f.Q != "" {
		q = q.Where(`email LIKE ? ESCAPE '\'`, store.LikePattern(NormalizeEmail(f.Q)))
	}
	if f.Role != "" {
		q = q.Where("role = ?", f.Role)
	}
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	if err := q.Order("created_at DESC, id DESC").Limit(perPage).Offset((page - 1) * perPage).Find(&users).Error; err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// UserFilter narrows ListUsers: Q is a part of the e-mail address, Role one role; empty
// fields do not filter.
type UserFilter struct {
	Q    string
	Role string
}

func (s *Service) key(kind, v string) string { return s.opt.RedisPrefix + "login:" + kind + ":" + v }

// checkLimit answers rate_limited when the IP or the email has too many recent failures.
// When Redis is unreachable the check is skipped (logged): logins keep working.
func (s *Service) checkLimit(ctx context.Context, ip, email string) error {
	keys := []string{s.key("ip", ip), s.key("email", email)}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		s.log.WarnContext(ctx, "login rate limit unavailable", "err", err)
		return nil
	}
	for i, v := range vals {
		str, _ := v.(string)
		n, _ := strconv.Atoi(str)
		if n < s.opt.LoginLimit {
			continue
		}
		ttl, err := s.rdb.TTL(ctx, keys[i]).Result()
		if err != nil || ttl <= 0 {
			ttl = s.opt.LoginWindow
		}
		return &apierr.Error{Code: api.CodeRateLimited, Message: "too many failed logins, try again later",
			RetryAfter: int((ttl + time.Second - 1) / time.Second)}
	}
	return nil
}

func (s *Service) recordFailure(ctx context.Context, ip, email string) {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range []string{s.key("ip", ip), s.key("email", email)} {
			p.Incr(ctx, k)
			p.ExpireNX(ctx, k, s.opt.LoginWindow)
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "login rate limit unavailable", "err", err)
	}
}

// Login checks email and password and opens a session, recording the client's ip and
// userAgent (truncated to 256 bytes) on it. It returns the user, the session token for the
// cookie and its expiry. An account with two-factor authentication also needs
// req.TOTPCode or req.RecoveryCode: without either the answer is two_factor_required (and no
// session); a wrong, replayed or used one counts as a failed login.
func (s *Service) Login(ctx context.Context, ip, userAgent string, req api.LoginRequest) (store.User, string, time.Time, error) {
	email, password := NormalizeEmail(req.Email), req.Password
	factor, fields := parseLoginFactor(req)
	if email == "" {
		fields["email"] = "is required"
	}
	if password == "" {
		fields["password"] = "is required"
	}
	if len(fields) > 0 {
		return store.User{}, "", time.Time{}, apierr.Validation(fields)
	}
	if err := s.checkLimit(ctx, ip, email); err != nil {
		return store.User{}, "", time.Time{}, err
	}
	var u store.User
	err := s.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error
	if err != nil && !store.IsNotFound(err) {
		return u, "", time.Time{}, fmt.Errorf("read user: %w", err)
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummy
	}
	ok, verr := VerifyPassword(password, hash)
	if verr != nil {
		s.log.ErrorContext(ctx, "stored password hash is malformed", "user_id", u.ID)
	}
	if !ok || u.ID == "" {
		s.recordFailure(ctx, ip, email)
		return store.User{}, "", time.Time{}, apierr.Unauthorized("wrong email or password")
	}
	if u.TOTPEnabled && factor.empty() {
		return store.User{}, "", time.Time{}, apierr.New(api.CodeTwoFactorRequired,
			"this account uses two-factor authentication: send totp_code or recovery_code")
	}
	token := NewSecret("")
	now := store.Now()
	sess := store.Session{TokenHash: HashSecret(token), ID: uuid.NewString(), UserID: u.ID, IP: clientText(ip, maxIPLen),
		UserAgent: clientText(userAgent, maxUserAgentLen), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opt.SessionTTL)}
	used := true
	// The code is consumed in the transaction that opens the session: both or neither.
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if u.TOTPEnabled {
			var err error
			if used, err = useSecondFactor(ctx, tx, u, factor, time.Now()); err != nil || !used {
				return err
			}
		}
		if err := tx.Create(&sess).Error; err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return nil
	})
	if err != nil {
		return u, "", time.Time{}, err
	}
	if !used {
		s.recordFailure(ctx, ip, email)
		return store.User{}, "", time.Time{}, apierr.Unauthorized("wrong or already used two-factor code")
	}
	if err := s.rdb.Del(ctx, s.key("email", email)).Err(); err != nil {
		s.log.WarnContext(ctx, "clear login failures", "err", err)
	}
	return u, token, sess.ExpiresAt, nil
}

// Logout ends the session of token (a no-op for an unknown token).
func (s *Service) Logout(ctx context.Context, token string) error {
	h := HashSecret(token)
	s.cache.drop("s:" + h)
	if err := s.db.WithContext(ctx).Where("token_hash = ?", h).Delete(&store.Session{}).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

type principalRow struct {
	SessionID  string
	LastSeenAt *time.Time
	TokenID    string
	Scopes     string
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	UserID     string
	Email      string
	Role       string
	ResellerID *string
	CreatedAt  time.Time
}

func (r principalRow) user() api.User {
	u := api.User{ID: r.UserID, Email: r.Email, Role: r.Role, CreatedAt: r.CreatedAt}
	if r.ResellerID != nil {
		u.ResellerID = *r.ResellerID
	}
	return u
}

// AuthenticateSession resolves a session cookie; unknown or expired is unauthorized. It
// records last_seen_at at most once a minute (and only when the credential cache misses).
func (s *Service) AuthenticateSession(ctx context.Context, token string) (*Principal, error) {
	h := HashSecret(token)
	now := time.Now()
	if p := s.cache.get("s:"+h, now); p != nil {
		return p, nil
	}
	var row principalRow
	res := s.db.WithContext(ctx).Raw(`SELECT s.id AS session_id, s.expires_at, s.last_seen_at,
		u.id AS user_id, u.email, u.role, u.reseller_id, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, h).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("read session: %w", res.Error)
	}
	if res.RowsAffected == 0 || row.ExpiresAt == nil || !row.ExpiresAt.After(now) {
		return nil, apierr.Unauthorized("session expired or invalid")
	}
	s.touchSession(ctx, h, row.LastSeenAt, now)
	p := &Principal{User: row.user(),
		Scopes: RoleScopes(row.Role), SessionID: row.SessionID}
	s.cache.put("s:"+h, p, now, row.ExpiresAt)
	return p, nil
}

// AuthenticateToken resolves an API token secret; unknown or expired is unauthorized. It
// records last_used_at at most once a minute.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	h := HashSecret(secret)
	now := time.Now()
	if p := s.cache.get("t:"+h, now); p != nil {
		return p, nil
	}
	var row principalRow
	res := s.db.WithContext(ctx).Raw(`SELECT t.id AS token_id, t.scopes, t.expires_at, t.last_used_at,
		u.id AS user_id, u.email, u.role, u.reseller_id, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, h).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("read token: %w", res.Error)
	}
	if res.RowsAffected == 0 || (row.ExpiresAt != nil && !row.ExpiresAt.After(now)) {
		return nil, apierr.Unauthorized("token expired or invalid")
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= time.Minute {
		err := s.db.WithContext(ctx).Model(&store.APIToken{}).Where("id = ?", row.TokenID).
			Update("last_used_at", store.Now()).Error
		if err != nil {
			s.log.WarnContext(ctx, "update token last_used_at", "err", err)
		}
	}
	p := &Principal{
		User:    row.user(),
		Scopes:  parseScopes(row.Scopes, row.Role),
		TokenID: row.TokenID,
	}
	s.cache.put("t:"+h, p, now, row.ExpiresAt)
	return p, nil
}

// TokenAPI converts a token row to its wire form (without the secret).
func TokenAPI(t store.APIToken) api.Token {
	scopes := strings.Fields(t.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return api.Token{ID: t.ID, Name: t.Name, Scopes: scopes, Prefix: t.Prefix, CreatedAt: t.CreatedAt,
		LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt}
}

// CreateToken issues an API token to the caller. Its scopes must be known, allowed for the
// caller's role and held by the caller's own credential.
func (s *Service) CreateToken(ctx context.Context, p *Principal, req api.CreateTokenRequest) (api.Token, error) {
	fields := map[string]string{}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		fields["name"] = "must be 1 to 64 characters"
	}
	if len(req.Scopes) == 0 {
		fields["scopes"] = "at least one scope is required"
	}
	allowed := RoleScopes(p.User.Role)
	var scopes []string
	for _, sc := range req.Scopes {
		switch {
		case !slices.Contains(allScopes(), sc):
			fields["scopes"] = fmt.Sprintf("unknown scope %q", sc)
		case !slices.Contains(allowed, sc) || !p.Has(sc):
			fields["scopes"] = fmt.Sprintf("scope %q is not allowed for this account", sc)
		case !slices.Contains(scopes, sc):
			scopes = append(scopes, sc)
		}
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > 3650 {
		fields["expires_in_days"] = "must be between 0 and 3650"
	}
	if len(fields) > 0 {
		return api.Token{}, apierr.Validation(fields)
	}
	secret := NewSecret(TokenPrefix)
	t := store.APIToken{ID: uuid.NewString(), UserID: p.User.ID, Name: name, Prefix: secret[:tokenShownPrefix],
		TokenHash: HashSecret(secret), Scopes: strings.Join(scopes, " ")}
	if req.ExpiresInDays > 0 {
		exp := store.Now().Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)
		t.ExpiresAt = &exp
	}
	if err := s.db.WithContext(ctx).Create(&t).Error; err != nil {
		return api.Token{}, fmt.Errorf("insert token: %w", err)
	}
	out := TokenAPI(t)
	out.Secret = secret
	return out, nil
}

// ListTokens lists the caller's tokens, newest first.
func (s *Service) ListTokens(ctx context.Context, userID string) ([]api.Token, error) {
	var rows []store.APIToken
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]api.Token, 0, len(rows))
	for _, r := range rows {
		out = append(out, TokenAPI(r))
	}
	return out, nil
}

// DeleteToken revokes one of the caller's tokens at once (cache included).
func (s *Service) DeleteToken(ctx context.Context, userID, id string) error {
	if uuid.Validate(id) != nil {
		return apierr.NotFound("token not found")
	}
	var t store.APIToken
	err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Take(&t).Error
	if store.IsNotFound(err) {
		return apierr.NotFound("token not found")
	}
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	if err := s.db.WithContext(ctx).Where("id = ?", id).Delete(&store.APIToken{}).Error; err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	s.cache.drop("t:" + t.TokenHash)
	return nil
}

// DropCachedUser forgets cached credentials of a user (after a role change or deletion).
func (s *Service) DropCachedUser(userID string) { s.cache.dropUser(userID) }

// PurgeExpiredSessions deletes sessions past their expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) error {
	return s.db.WithContext(ctx).Where("expires_at < ?", store.Now()).Delete(&store.Session{}).Error
}
