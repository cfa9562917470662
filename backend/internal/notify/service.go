package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/mail"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// WebhookTimeout bounds one webhook delivery.
const WebhookTimeout = 5 * time.Second

// maxWebhookURL bounds the length of a user's webhook URL.
const maxWebhookURL = 2048

// Webhook is a user's own notification endpoint and the key its deliveries are signed with.
type Webhook struct {
	UserID    string `gorm:"primaryKey"`
	URL       string `gorm:"column:url"`
	Secret    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName names the table of Webhook.
func (Webhook) TableName() string { return "user_webhooks" }

// Options configure a Service.
type Options struct {
	// WebhookURL receives every event, signed with WebhookSecret (the provider's endpoint,
	// cfg.Billing); empty sends none.
	WebhookURL, WebhookSecret string
	// Client posts the webhooks; nil is a client with WebhookTimeout.
	Client *http.Client
}

// Service is the Notifier of the panel: it mails the user (Subject and Text), POSTs the event
// as signed JSON (api.WebhookEvent) to the provider's webhook and to the user's own webhook,
// and manages each user's notification settings.
type Service struct {
	db   *store.DB
	mail mail.Sender
	opt  Options
	log  *slog.Logger
}

var _ Notifier = (*Service)(nil)

// NewService returns a Service.
func NewService(db *store.DB, sender mail.Sender, opt Options, log *slog.Logger) *Service {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: WebhookTimeout}
	}
	return &Service{db: db, mail: sender, opt: opt, log: log}
}

// Sign returns the X-Nimbo-Signature value of body sent at t: "t=<unix>,v1=<hex HMAC-SHA256
// of "<unix>.<body>" keyed with secret>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is a webhook signature that does not match, or is too old.
var ErrBadSignature = errors.New("bad webhook signature")

// VerifySignature checks an X-Nimbo-Signature header value against body, refusing one signed
// more than tolerance away from now. Receivers of the webhooks can use it (or its recipe).
func VerifySignature(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var (
		ts  int64
		sig []string
		err error
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts, err = strconv.ParseInt(v, 10, 64); err != nil {
				return ErrBadSignature
			}
		case "v1":
			sig = append(sig, v)
		}
	}
	if ts == 0 || len(sig) == 0 {
		return ErrBadSignature
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return ErrBadSignature
	}
	_, want, _ := strings.Cut(Sign(secret, t, body), ",v1=")
	for _, s := range sig {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

type recipient struct {
	Email     string
	URL       *string `gorm:"column:url"`
	Secret    *string
	ExistsRow int
}

// Notify delivers e at once, concurrently: the e-mail (when e has a Subject), the provider's
// webhook and the user's webhook. Each delivery is bounded (mail.Timeout, WebhookTimeout);
// the failures are returned joined, for the caller to log.
func (s *Service) Notify(ctx context.Context, e Event) error {
	var r recipient
	res := s.db.WithContext(ctx).Raw(`SELECT u.email, w.url, w.secret, 1 AS exists_row FROM users u
		LEFT JOIN user_webhooks w ON w.user_id = u.id WHERE u.id = ?`, e.UserID).Scan(&r)
	var errs []error
	if res.Error != nil {
		errs = append(errs, fmt.Errorf("notify %s: read user: %w", e.Kind, res.Error))
	} else if r.ExistsRow == 0 {
		errs = append(errs, fmt.Errorf("notify %s: user %q not found", e.Kind, e.UserID))
	}
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(api.WebhookEvent{ID: uuid.NewString(), Kind: e.Kind, UserID: e.UserID,
		CreatedAt: store.Now(), Data: data})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("notify %s: encode: %w", e.Kind, err))...)
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	run := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	if r.Email != "" && e.Subject != "" {
		run(func() error {
			if err := s.mail.Send(ctx, mail.Message{To: r.Email, Subject: e.Subject, Text: e.Text}); err != nil {
				return fmt.Errorf("notify %s: mail: %w", e.Kind, err)
			}
			return nil
		})
	}
	if s.opt.WebhookURL != "" {
		run(func() error { return s.post(ctx, "provider", s.opt.WebhookURL, s.opt.WebhookSecret, e.Kind, body) })
	}
	if r.URL != nil && *r.URL != "" && r.Secret != nil {
		run(func() error { return s.post(ctx, "user", *r.URL, *r.Secret, e.Kind, body) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Service) post(ctx context.Context, which, target, secret, kind string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify %s: %s webhook: %w", kind, which, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nimbo-webhook/1")
	req.Header.Set(api.HeaderSignature, Sign(secret, time.Now(), body))
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return fmt.Errorf("notify %s: %s webhook: %w", kind, which, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify %s: %s webhook answered %s", kind, which, resp.Status)
	}
	return nil
}

// ValidWebhookURL reports what is wrong with a user's webhook URL ("" when nothing): it must
// be an absolute https URL without credentials, or http to a loopback address (local tests).
func ValidWebhookURL(raw string) string {
	if len(raw) > maxWebhookURL {
		return fmt.Sprintf("must be at most %d characters", maxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an absolute https URL"
	}
	if u.User != nil {
		return "must not contain credentials"
	}
	if u.Fragment != "" {
		return "must not contain a fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return ""
		}
		return "must be https (http only to a loopback address)"
	}
	return "must be an absolute https URL"
}

// Settings returns userID's notification settings (without the webhook secret).
func (s *Service) Settings(ctx context.Context, userID string) (api.NotificationSettings, error) {
	return s.settings(s.db.WithContext(ctx), userID)
}

func (s *Service) settings(db *gorm.DB, userID string) (api.NotificationSettings, error) {
	out := api.NotificationSettings{LowBalance: []api.LowBalanceThreshold{}}
	var w Webhook
	err := db.Where("user_id = ?", userID).Take(&w).Error
	switch {
	case err == nil:
		out.WebhookURL, out.WebhookSecretSet = w.URL, true
	case !store.IsNotFound(err):
		return out, fmt.Errorf("read webhook: %w", err)
	}
	var ws []store.Wallet
	if err := db.Where("user_id = ? AND low_balance_threshold > 0", userID).Order("currency").Find(&ws).Error; err != nil {
		return out, fmt.Errorf("read wallets: %w", err)
	}
	for _, x := range ws {
		out.LowBalance = append(out.LowBalance, api.LowBalanceThreshold{Currency: x.Currency, Threshold: x.LowBalanceThreshold})
	}
	return out, nil
}

func validateUpdate(req api.UpdateNotificationSettingsRequest) map[string]string {
	f := map[string]string{}
	if req.WebhookURL != nil && *req.WebhookURL != "" {
		if m := ValidWebhookURL(*req.WebhookURL); m != "" {
			f["webhook_url"] = m
		}
	}
	if req.RotateSecret && req.WebhookURL != nil && *req.WebhookURL == "" {
		f["rotate_secret"] = "cannot rotate the secret of a webhook being removed"
	}
	if req.LowBalance != nil {
		if len(*req.LowBalance) > 32 {
			f["low_balance"] = "must list at most 32 currencies"
		}
		seen := map[string]bool{}
		for i, t := range *req.LowBalance {
			key := "low_balance[" + strconv.Itoa(i) + "]"
			switch {
			case !billing.ValidCurrency(t.Currency):
				f[key+".currency"] = "must be a supported ISO-4217 code in upper case, such as USD or EUR"
			case seen[t.Currency]:
				f[key+".currency"] = "is listed twice"
			}
			seen[t.Currency] = true
			if t.Threshold < 0 || t.Threshold > billing.MaxAmount {
				f[key+".threshold"] = fmt.Sprintf("must be from 0 (off) to %d minor units", billing.MaxAmount)
			}
		}
	}
	return f
}

// UpdateSettings changes userID's notification settings in one transaction and returns them.
// A new webhook URL (or RotateSecret) gets a new random secret, returned in WebhookSecret
// this once. LowBalance replaces the thresholds: each listed currency's wallet (created when
// missing) gets its threshold and is told again from now on; the other wallets' are turned off.
func (s *Service) UpdateSettings(ctx context.Context, userID string, req api.UpdateNotificationSettingsRequest) (api.NotificationSettings, error) {
	if f := validateUpdate(req); len(f) > 0 {
		return api.NotificationSettings{}, apierr.Validation(f)
	}
	var (
		out    api.NotificationSettings
		secret string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur Webhook
		err := s.db.ForUpdate(tx).Where("user_id = ?", userID).Take(&cur).Error
		if err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("read webhook: %w", err)
		}
		exists := err == nil
		now := store.Now()
		switch {
		case req.WebhookURL != nil && *req.WebhookURL == "":
			if err := tx.Where("user_id = ?", userID).Delete(&Webhook{}).Error; err != nil {
				return fmt.Errorf("delete webhook: %w", err)
			}
		case req.WebhookURL != nil && (!exists || cur.URL != *req.WebhookURL || req.RotateSecret),
			req.WebhookURL == nil && req.RotateSecret:
			target := cur.URL
			if req.WebhookURL != nil {
				target = *req.WebhookURL
			}
			if target == "" {
				return apierr.Validation(map[string]string{"rotate_secret": "there is no webhook to rotate the secret of"})
			}
			secret = newSecret()
			w := Webhook{UserID: userID, URL: target, Secret: secret, CreatedAt: now, UpdatedAt: now}
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}},
				DoUpdates: clause.AssignmentColumns([]string{"url", "secret", "updated_at"})}).Create(&w).Error
			if err != nil {
				return fmt.Errorf("save webhook: %w", err)
			}
		}
		if req.LowBalance != nil {
			if err := s.setThresholds(tx, userID, *req.LowBalance, now); err != nil {
				return err
			}
		}
		out, err = s.settings(tx, userID)
		return err
	})
	if err != nil {
		return api.NotificationSettings{}, err
	}
	out.WebhookSecret = secret
	return out, nil
}

// newSecret returns a webhook signing secret: "whsec_" and 32 random bytes in hex.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥1.24 it aborts the program instead)
	return "whsec_" + hex.EncodeToString(b)
}

func (s *Service) setThresholds(tx *gorm.DB, userID string, ts []api.LowBalanceThreshold, now time.Time) error {
	listed := make([]string, 0, len(ts))
	for _, t := range ts {
		listed = append(listed, t.Currency)
		w := store.Wallet{ID: uuid.NewString(), UserID: userID, Currency: t.Currency, CreatedAt: now, UpdatedAt: now}
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}, {Name: "currency"}}, DoNothing: true}).
			Create(&w).Error
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return apierr.NotFound("user not found")
		}
		if err != nil {
			return fmt.Errorf("create wallet: %w", err)
		}
		if err := tx.Model(&store.Wallet{}).Where("user_id = ? AND currency = ?", userID, t.Currency).
			Updates(map[string]any{"low_balance_threshold": t.Threshold, "low_balance_notified_at": nil, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("set low-balance threshold: %w", err)
		}
	}
	q := tx.Model(&store.Wallet{}).Where("user_id = ? AND low_balance_threshold <> 0", userID)
	if len(listed) > 0 {
		q = q.Where("currency NOT IN ?", listed)
	}
	if err := q.Updates(map[string]any{"low_balance_threshold": 0, "low_balance_notified_at": nil, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("clear low-balance thresholds: %w", err)
	}
	return nil
}
