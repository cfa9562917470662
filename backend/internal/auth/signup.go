package auth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/mail"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Kinds of one-time account tokens.
const (
	TokenVerifyEmail   = "verify_email"
	TokenPasswordReset = "password_reset"
)

// maxTokenLen bounds a token a client sends back (ours are 52 characters).
const maxTokenLen = 128

// AccountToken is a one-time e-mail verification or password-reset token; only the SHA-256
// (hex) of the token is stored.
type AccountToken struct {
	ID        string `gorm:"primaryKey"`
	Kind      string
	UserID    string
	TokenHash string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// TableName names the table of AccountToken.
func (AccountToken) TableName() string { return "account_tokens" }

// AccountOptions tune Accounts. Zero values take the defaults in brackets.
type AccountOptions struct {
	// PublicURL is the panel's base URL for links in mails.
	PublicURL string
	// BrandName signs the provider's mails ["Nimbo"].
	BrandName string
	// VerifyTTL is how long an e-mail verification link works [24h].
	VerifyTTL time.Duration
	// ResetTTL is how long a password-reset link works [1h].
	ResetTTL time.Duration
	// Rate limits per LimitWindow [1h]: sign-ups per IP [10], reset requests per IP [10] and
	// per e-mail address [3], verification re-sends per user [3].
	SignupPerIP, ResetPerIP, ResetPerEmail, ResendPerUser int
	LimitWindow                                           time.Duration
}

// Accounts is self-service account management: sign-up with e-mail verification, and
// password reset. It shares the account Service's database, Redis and credential cache.
type Accounts struct {
	svc  *Service
	mail mail.Sender
	opt  AccountOptions
}

// NewAccounts returns Accounts sending its mails through sender.
func NewAccounts(svc *Service, sender mail.Sender, opt AccountOptions) *Accounts {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if opt.BrandName == "" {
		opt.BrandName = "Nimbo"
	}
	defd(&opt.VerifyTTL, 24*time.Hour)
	defd(&opt.ResetTTL, time.Hour)
	defd(&opt.LimitWindow, time.Hour)
	def(&opt.SignupPerIP, 10)
	def(&opt.ResetPerIP, 10)
	def(&opt.ResetPerEmail, 3)
	def(&opt.ResendPerUser, 3)
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	return &Accounts{svc: svc, mail: sender, opt: opt}
}

// limit counts one attempt in bucket for v and answers rate_limited once there were more than
// max within the window. When Redis is unreachable the check is skipped (logged), as for logins.
func (a *Accounts) limit(ctx context.Context, bucket, v string, max int) error {
	key := a.svc.opt.RedisPrefix + "acct:" + bucket + ":" + HashSecret(v)[:32]
	var n *redis.IntCmd
	_, err := a.svc.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.ExpireNX(ctx, key, a.opt.LimitWindow)
		return nil
	})
	if err != nil {
		a.svc.log.WarnContext(ctx, "account rate limit unavailable", "err", err, "bucket", bucket)
		return nil
	}
	if n.Val() <= int64(max) {
		return nil
	}
	ttl, err := a.svc.rdb.TTL(ctx, key).Result()
	if err != nil || ttl <= 0 {
		ttl = a.opt.LimitWindow
	}
	return &apierr.Error{Code: api.CodeRateLimited, Message: "too many requests, try again later",
		RetryAfter: int((ttl + time.Second - 1) / time.Second)}
}

// HostOnly returns the lower-case host name of a Host header value, without the port.
func HostOnly(hostport string) string {
	h := strings.TrimSpace(hostport)
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.ToLower(h)
}

// site is where an account's links point and whose name its mails carry.
type site struct {
	ResellerID *string
	Brand      string
	Base       string
}

type resellerSite struct {
	UserID    string
	BrandName string
	Domain    *string
}

// siteFor builds the site of a reseller's portal from its profile row, or the provider's.
func (a *Accounts) siteFor(r *resellerSite) site {
	s := site{Brand: a.opt.BrandName, Base: a.opt.PublicURL}
	if r == nil || r.UserID == "" {
		return s
	}
	id := r.UserID
	s.ResellerID = &id
	if r.BrandName != "" {
		s.Brand = r.BrandName
	}
	if r.Domain != nil && *r.Domain != "" && strings.HasPrefix(a.opt.PublicURL, "https://") {
		s.Base = "https://" + *r.Domain
	}
	return s
}

// siteByHost is the reseller whose portal domain is host, or the provider's site.
func (a *Accounts) siteByHost(ctx context.Context, host string) (site, error) {
	host = HostOnly(host)
	if host == "" {
		return a.siteFor(nil), nil
	}
	var r resellerSite
	err := a.svc.db.WithContext(ctx).Raw(`SELECT rp.user_id, rp.brand_name, rp.domain FROM reseller_profiles rp
		JOIN users u ON u.id = rp.user_id WHERE rp.domain = ? AND u.role = ?`, host, api.RoleReseller).Scan(&r).Error
	if err != nil {
		return site{}, fmt.Errorf("read reseller by domain: %w", err)
	}
	return a.siteFor(&r), nil
}

// siteOf is the site of an existing account: its reseller's portal, or the provider's.
func (a *Accounts) siteOf(ctx context.Context, u store.User) (site, error) {
	if u.ResellerID == nil {
		return a.siteFor(nil), nil
	}
	var r resellerSite
	err := a.svc.db.WithContext(ctx).Raw(`SELECT user_id, brand_name, domain FROM reseller_profiles WHERE user_id = ?`,
		*u.ResellerID).Scan(&r).Error
	if err != nil {
		return site{}, fmt.Errorf("read reseller profile: %w", err)
	}
	return a.siteFor(&r), nil
}

// issue inserts a new token of kind for userID through tx and returns its secret.
func (a *Accounts) issue(tx *gorm.DB, kind, userID string, ttl time.Duration) (string, error) {
	secret := NewSecret("")
	now := store.Now()
	t := AccountToken{ID: uuid.NewString(), Kind: kind, UserID: userID, TokenHash: HashSecret(secret),
		ExpiresAt: now.Add(ttl), CreatedAt: now}
	if err := tx.Create(&t).Error; err != nil {
		return "", fmt.Errorf("insert %s token: %w", kind, err)
	}
	return secret, nil
}

func invalidToken() error {
	return apierr.New(api.CodeInvalidToken, "this link is unknown, already used or expired")
}

// consume marks the unused, unexpired token of kind as used through tx and returns it. Of
// two concurrent consumers exactly one succeeds: the update is conditional on used_at IS NULL
// (PostgreSQL re-checks it after the first commits; SQLite serializes the transactions).
func (a *Accounts) consume(tx *gorm.DB, kind, secret string) (AccountToken, error) {
	var t AccountToken
	if secret == "" || len(secret) > maxTokenLen {
		return t, invalidToken()
	}
	err := tx.Where("token_hash = ? AND kind = ?", HashSecret(secret), kind).Take(&t).Error
	if store.IsNotFound(err) {
		return t, invalidToken()
	}
	if err != nil {
		return t, fmt.Errorf("read %s token: %w", kind, err)
	}
	now := store.Now()
	if t.UsedAt != nil || !t.ExpiresAt.After(now) {
		return t, invalidToken()
	}
	res := tx.Model(&AccountToken{}).Where("id = ? AND used_at IS NULL", t.ID).Update("used_at", now)
	if res.Error != nil {
		return t, fmt.Errorf("use %s token: %w", kind, res.Error)
	}
	if res.RowsAffected != 1 {
		return t, invalidToken()
	}
	t.UsedAt = &now
	return t, nil
}

// newSession builds a session row for userID like a login does.
func (s *Service) newSession(userID, ip, userAgent string) (store.Session, string) {
	token := NewSecret("")
	now := store.Now()
	return store.Session{TokenHash: HashSecret(token), ID: uuid.NewString(), UserID: userID, IP: clientText(ip, maxIPLen),
		UserAgent: clientText(userAgent, maxUserAgentLen), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opt.SessionTTL)}, token
}

// Signup creates a customer account and opens a session for it, like a login: it returns the
// user, the session token for the cookie and its expiry. On a reseller's portal (host is the
// domain of a reseller profile) the customer belongs to that reseller. A verification link is
// mailed; a mail failure is logged (the user can ask for another). Sign-ups are rate-limited
// per ip; a taken e-mail address is a conflict.
func (a *Accounts) Signup(ctx context.Context, ip, userAgent, host string, req api.SignupRequest) (store.User, string, time.Time, error) {
	email := NormalizeEmail(req.Email)
	fields := map[string]string{}
	if m := ValidateEmail(email); m != "" {
		fields["email"] = m
	}
	if m := ValidatePassword(req.Password); m != "" {
		fields["password"] = m
	}
	if len(fields) > 0 {
		return store.User{}, "", time.Time{}, apierr.Validation(fields)
	}
	if err := a.limit(ctx, "signup:ip", ip, a.opt.SignupPerIP); err != nil {
		return store.User{}, "", time.Time{}, err
	}
	taken := apierr.Conflict("a user with this email already exists")
	var n int64
	if err := a.svc.db.WithContext(ctx).Model(&store.User{}).Where("email = ?", email).Count(&n).Error; err != nil {
		return store.User{}, "", time.Time{}, fmt.Errorf("read user: %w", err)
	}
	if n > 0 {
		return store.User{}, "", time.Time{}, taken
	}
	st, err := a.siteByHost(ctx, host)
	if err != nil {
		return store.User{}, "", time.Time{}, err
	}
	hash, err := HashPassword(req.Password, a.svc.opt.Password)
	if err != nil {
		return store.User{}, "", time.Time{}, err
	}
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: api.RoleCustomer, ResellerID: st.ResellerID}
	sess, token := a.svc.newSession(u.ID, ip, userAgent)
	var verify string
	err = a.svc.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&u).Error; err != nil {
			if store.IsDuplicate(err) {
				return taken
			}
			return fmt.Errorf("insert user: %w", err)
		}
		var err error
		if verify, err = a.issue(tx, TokenVerifyEmail, u.ID, a.opt.VerifyTTL); err != nil {
			return err
		}
		if err := tx.Create(&sess).Error; err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.User{}, "", time.Time{}, err
	}
	a.svc.log.InfoContext(ctx, "account signed up", "user_id", u.ID, "reseller_id", st.ResellerID)
	if err := a.sendVerification(ctx, u.Email, st, verify); err != nil {
		a.svc.log.ErrorContext(ctx, "verification mail not sent", "user_id", u.ID, "err", err)
	}
	return u, token, sess.ExpiresAt, nil
}

func (a *Accounts) sendVerification(ctx context.Context, to string, st site, token string) error {
	link := st.Base + "/verify-email?token=" + token
	return a.mail.Send(ctx, mail.Message{
		To:      to,
		Subject: "Confirm your e-mail address for " + st.Brand,
		Text: "Hello,\n\nplease confirm your e-mail address for your " + st.Brand + " account by opening this link" +
			" within " + hours(a.opt.VerifyTTL) + ":\n\n" + link + "\n\nIf you did not sign up, ignore this message.\n\n" + st.Brand + "\n",
	})
}

func hours(d time.Duration) string {
	if h := int(d / time.Hour); h == 1 {
		return "1 hour"
	} else if h > 1 {
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}

// VerifyEmail proves the address of the account that token was mailed to and returns the
// account. An unknown, used or expired token is invalid_token.
func (a *Accounts) VerifyEmail(ctx context.Context, token string) (store.User, error) {
	if token == "" {
		return store.User{}, apierr.Validation(map[string]string{"token": "is required"})
	}
	var u store.User
	err := a.svc.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := a.consume(tx, TokenVerifyEmail, token)
		if err != nil {
			return err
		}
		if err := tx.Model(&store.User{}).Where("id = ? AND email_verified_at IS NULL", t.UserID).
			Updates(map[string]any{"email_verified_at": store.Now(), "updated_at": store.Now()}).Error; err != nil {
			return fmt.Errorf("mark e-mail verified: %w", err)
		}
		if err := tx.Where("id = ?", t.UserID).Take(&u).Error; err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	a.svc.log.InfoContext(ctx, "e-mail address verified", "user_id", u.ID)
	return u, nil
}

// ResendVerification mails a new verification link to the account userID (rate-limited per
// user). A verified address is a conflict; a mail that cannot be sent is unavailable.
func (a *Accounts) ResendVerification(ctx context.Context, userID string) error {
	u, err := a.svc.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if u.EmailVerifiedAt != nil {
		return apierr.Conflict("this e-mail address is verified already")
	}
	if err := a.limit(ctx, "verify:user", u.ID, a.opt.ResendPerUser); err != nil {
		return err
	}
	st, err := a.siteOf(ctx, u)
	if err != nil {
		return err
	}
	token, err := a.issue(a.svc.db.WithContext(ctx), TokenVerifyEmail, u.ID, a.opt.VerifyTTL)
	if err != nil {
		return err
	}
	if err := a.sendVerification(ctx, u.Email, st, token); err != nil {
		return apierr.Unavailable("the verification mail could not be sent, try again later", err)
	}
	return nil
}
