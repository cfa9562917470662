// Package payment takes money into wallets through payment gateways behind one interface:
// manual (recorded by an admin or reseller), Stripe Checkout and Alipay page pay. A payment
// row is created, the payer is sent to the gateway, and the gateway's signed notification
// credits the wallet exactly once: the ledger top-up (idempotency key "payment:<id>"), the
// payment's change to paid and the notification's event id commit in one transaction, so a
// duplicate delivery, a second event for the same payment or a concurrent redelivery
// writes nothing more.
package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/config"
	"github.com/nimbo-panel/nimbo/backend/internal/ops"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// MaxReasonLength bounds the reason of a manual payment, in characters.
const MaxReasonLength = billing.MaxReasonLength

// manualAttempts bounds the retries of a manual payment that lost an idempotency-key race.
const manualAttempts = 3

// errRaced is an insert that lost a race on the idempotency key; the request is retried
// and then replays the winner.
var errRaced = errors.New("payment insert lost a race")

// Payment is one row of payments: money paid into UserID's wallet of Currency through
// Gateway, in minor units. LedgerEntryID and PaidAt are set exactly when Status is paid.
type Payment struct {
	ID             string `gorm:"primaryKey"`
	UserID         string
	Gateway        string
	Amount         int64
	Currency       string
	Status         string
	ExternalID     string
	RedirectURL    string
	LedgerEntryID  *string
	CreatedBy      string
	IdempotencyKey string
	Fingerprint    string
	Reason         string
	Failure        string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PaidAt         *time.Time
}

// TableName names the table of Payment.
func (Payment) TableName() string { return "payments" }

// processedNotification is a gateway event already handled.
type processedNotification struct {
	Gateway    string `gorm:"primaryKey"`
	EventID    string `gorm:"primaryKey"`
	PaymentID  string
	ReceivedAt time.Time
}

func (processedNotification) TableName() string { return "payment_notifications" }

// Options are the optional parts of a Service.
type Options struct {
	// Now is the clock of signed timestamps and their tolerance windows (time.Now if nil).
	Now func() time.Time
	// HTTPClient calls gateway APIs (a client with a CheckoutTimeout timeout if nil).
	HTTPClient *http.Client
	// OnCredited is called after every credit commits, with the credited user (see
	// Service.SetOnCredited).
	OnCredited func(ctx context.Context, userID string)
}

// Service creates payments, records manual ones and handles gateway notifications.
type Service struct {
	db       *store.DB
	bill     *billing.Service
	log      *slog.Logger
	now      func() time.Time
	gateways []Gateway

	onCredited atomic.Pointer[func(context.Context, string)]
}

// New builds the gateways from cfg.Payments (public_url for return and notify URLs,
// billing.seller_name for what the payer sees) and returns the Service. A gateway whose
// secrets are missing is disabled; a key that is set but does not parse is an error.
func New(db *store.DB, bill *billing.Service, cfg config.Config, log *slog.Logger, opts Options) (*Service, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: CheckoutTimeout}
	}
	seller := strings.TrimSpace(cfg.Billing.SellerName)
	if seller == "" {
		seller = "Nimbo"
	}
	sc := cfg.Payments.Stripe
	st := &Stripe{secretKey: sc.SecretKey, webhookSecret: sc.WebhookSecret, apiBase: strings.TrimRight(sc.APIBase, "/"),
		tolerance: sc.Tolerance, publicURL: cfg.PublicURL, productName: seller + " wallet top-up", client: client}
	if st.apiBase == "" {
		st.apiBase = "https://api.stripe.com"
	}
	if st.tolerance <= 0 {
		st.tolerance = 5 * time.Minute
	}
	ac := cfg.Payments.Alipay
	al := &Alipay{appID: ac.AppID, gateway: ac.Gateway, tolerance: ac.Tolerance, publicURL: cfg.PublicURL,
		subject: strings.Map(subjectRune, seller) + " wallet top-up", now: now}
	if al.gateway == "" {
		al.gateway = "https://openapi.alipay.com/gateway.do"
	}
	if al.tolerance <= 0 {
		al.tolerance = 24 * time.Hour
	}
	var err error
	if ac.PrivateKey != "" {
		if al.key, err = parsePrivateKey(ac.PrivateKey); err != nil {
			return nil, fmt.Errorf("payments.alipay.private_key: %w", err)
		}
	}
	if ac.PublicKey != "" {
		if al.alipayKey, err = parsePublicKey(ac.PublicKey); err != nil {
			return nil, fmt.Errorf("payments.alipay.public_key: %w", err)
		}
	}
	if (sc.SecretKey == "") != (sc.WebhookSecret == "") {
		log.Warn("the Stripe gateway is disabled: it needs both payments.stripe.secret_key and payments.stripe.webhook_secret")
	}
	if !al.Enabled() && (ac.AppID != "" || ac.PrivateKey != "" || ac.PublicKey != "") {
		log.Warn("the Alipay gateway is disabled: it needs payments.alipay.app_id, private_key and public_key")
	}
	s := &Service{db: db, bill: bill, log: log, now: now, gateways: []Gateway{Manual{}, st, al}}
	if opts.OnCredited != nil {
		s.SetOnCredited(opts.OnCredited)
	}
	return s, nil
}

// subjectRune drops the characters Alipay refuses in a subject.
func subjectRune(r rune) rune {
	if strings.ContainsRune(`/=&"'<>`, r) || r < 0x20 {
		return -1
	}
	return r
}

// SetOnCredited sets the hook called after every credit commits (a paid notification or a
// manual payment), once per credited payment, with the user whose wallet was credited, and
// returns the hook it replaces (nil if none), so a caller may chain it. The composition root
// wires it to the billing engine's settle pass. Safe to call at any time.
func (s *Service) SetOnCredited(f func(ctx context.Context, userID string)) func(ctx context.Context, userID string) {
	var next *func(context.Context, string)
	if f != nil {
		next = &f
	}
	if prev := s.onCredited.Swap(next); prev != nil {
		return *prev
	}
	return nil
}

func (s *Service) credited(ctx context.Context, userID string) {
	if f := s.onCredited.Load(); f != nil {
		(*f)(ctx, userID)
	}
}

// Gateway returns the gateway named name, whether enabled or not.
func (s *Service) Gateway(name string) (Gateway, bool) {
	for _, g := range s.gateways {
		if g.Name() == name {
			return g, true
		}
	}
	return nil, false
}

// Gateways lists the enabled gateways.
func (s *Service) Gateways() []api.PaymentGateway {
	out := []api.PaymentGateway{}
	for _, g := range s.gateways {
		if g.Enabled() {
			out = append(out, api.PaymentGateway{Name: g.Name(), Checkout: g.Name() != api.GatewayManual, Currencies: g.Currencies()})
		}
	}
	return out
}

// fingerprint hashes the parameters a replay must repeat; parts are length-prefixed.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{"v1"}, parts...) {
		_, _ = h.Write([]byte(strconv.Itoa(len(p)) + ":" + p + ";"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func unavailable(name string) *apierr.Error {
	return apierr.New(api.CodeGatewayUnavailable, "the "+name+" payment gateway is not configured on this panel")
}

// checkAmount validates amount and currency into f.
func checkAmount(f map[string]string, amount int64, currency string) {
	switch {
	case amount <= 0:
		f["amount"] = "must be a positive integer number of minor units (cents for USD)"
	case amount > billing.MaxAmount:
		f["amount"] = fmt.Sprintf("must be at most %d minor units", billing.MaxAmount)
	}
	if !billing.ValidCurrency(currency) {
		f["currency"] = "must be a supported ISO-4217 code in upper case, such as USD or EUR"
	}
}

// checkoutGateway validates a checkout request and returns its gateway.
func (s *Service) checkoutGateway(req api.CreatePaymentRequest) (Gateway, error) {
	f := map[string]string{}
	var g Gateway
	switch req.Gateway {
	case "":
		f["gateway"] = "is required: stripe or alipay"
	case api.GatewayManual:
		f["gateway"] = "manual payments are recorded by an admin or reseller through POST /api/v1/payments/manual"
	default:
		var ok bool
		if g, ok = s.Gateway(req.Gateway); !ok {
			f["gateway"] = "must be stripe or alipay"
		}
	}
	checkAmount(f, req.Amount, req.Currency)
	if len(f) > 0 {
		return nil, apierr.Validation(f)
	}
	if !g.Enabled() {
		return nil, unavailable(g.Name())
	}
	if cs := g.Currencies(); cs != nil && !slices.Contains(cs, req.Currency) {
		return nil, apierr.New(api.CodeCurrencyMismatch, "the "+g.Name()+" gateway takes "+strings.Join(cs, ", ")+
			" only, not "+req.Currency)
	}
	if max := g.MaxAmount(req.Currency); req.Amount > max {
		return nil, apierr.Validation(map[string]string{"amount": fmt.Sprintf(
			"must be at most %s for one %s payment", billing.Format(max, req.Currency), g.Name())})
	}
	return g, nil
}

// Created is the answer to a checkout: the payment, where to send the payer, and whether
// the request replayed an earlier one with the same idempotency key.
type Created struct {
	Payment     Payment
	RedirectURL string
	Replayed    bool
}

// byKey reads the payment createdBy made with key.
func (s *Service) byKey(tx *gorm.DB, createdBy, key string) (Payment, bool, error) {
	var p Payment
	err := tx.Where("created_by = ? AND idempotency_key = ?", createdBy, key).Take(&p).Error
	if store.IsNotFound(err) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read payment by idempotency key: %w", err)
	}
	return p, true, nil
}

func reusedKey(p Payment) *apierr.Error {
	return apierr.Conflict("idempotency key reused with different parameters: this key already made payment " + p.ID +
		" of " + billing.Format(p.Amount, p.Currency) + " through " + p.Gateway)
}

// replayCheckout answers a checkout request whose key made p.
func replayCheckout(p Payment, fp string) (Created, error) {
	switch {
	case p.Fingerprint != fp:
		return Created{}, reusedKey(p)
	case p.Status == api.PaymentFailed:
		return Created{}, apierr.Unavailable(p.Failure+" (payment "+p.ID+
			" failed: start a new payment with a new Idempotency-Key)", nil)
	case p.Status == api.PaymentCreated && p.RedirectURL == "":
		return Created{}, apierr.Conflict("a request with this Idempotency-Key is still starting payment " + p.ID +
			": retry in a few seconds")
	}
	return Created{Payment: p, RedirectURL: p.RedirectURL, Replayed: true}, nil
}

// Create starts a checkout of req for userID (stripe or alipay) under the idempotency key:
// it validates the request (gateway enabled, amount, currency the gateway takes), writes the
// payment (created), asks the gateway where to send the payer and records it. A gateway
// failure marks the payment failed and answers api.CodeUnavailable (503) with the reason.
// The same key and request again replay the first answer; with another request, 409.
func (s *Service) Create(ctx context.Context, userID, key string, req api.CreatePaymentRequest) (Created, error) {
	if !billing.ValidKey(key) {
		return Created{}, billing.BadKey(key)
	}
	g, err := s.checkoutGateway(req)
	if err != nil {
		return Created{}, err
	}
	fp := fingerprint("checkout", req.Gateway, strconv.FormatInt(req.Amount, 10), req.Currency)
	db := s.db.WithContext(ctx)
	if prev, ok, err := s.byKey(db, userID, key); err != nil {
		return Created{}, err
	} else if ok {
		return replayCheckout(prev, fp)
	}
	now := store.Now()
	p := Payment{ID: uuid.NewString(), UserID: userID, Gateway: g.Name(), Amount: req.Amount, Currency: req.Currency,
		Status: api.PaymentCreated, CreatedBy: userID, IdempotencyKey: key, Fingerprint: fp, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&p).Error; err != nil {
		if store.IsDuplicate(err) {
			prev, ok, rerr := s.byKey(db, userID, key)
			if rerr != nil || !ok {
				return Created{}, errors.Join(fmt.Errorf("insert payment: %w", err), rerr)
			}
			return replayCheckout(prev, fp)
		}
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return Created{}, apierr.NotFound("user not found")
		}
		return Created{}, fmt.Errorf("insert payment: %w", err)
	}
	r, err := g.Checkout(ctx, p)
	// Record the outcome even if the caller went away: the gateway may have acted.
	wctx := context.WithoutCancel(ctx)
	if err != nil {
		msg := "the " + g.Name() + " gateway failed"
		var ge *GatewayError
		if errors.As(err, &ge) {
			msg = ge.Message
		}
		s.log.WarnContext(ctx, "payment checkout failed", "payment_id", p.ID, "gateway", p.Gateway, "err", err)
		p.Status, p.Failure, p.UpdatedAt = api.PaymentFailed, truncate(msg, 500), store.Now()
		if uerr := s.db.WithContext(wctx).Model(&Payment{}).Where("id = ? AND status = ?", p.ID, api.PaymentCreated).
			Updates(map[string]any{"status": p.Status, "failure": p.Failure, "updated_at": p.UpdatedAt}).Error; uerr != nil {
			return Created{}, fmt.Errorf("mark payment failed: %w (checkout: %w)", uerr, err)
		}
		return Created{}, apierr.Unavailable(msg+" (payment "+p.ID+" is marked failed)", err)
	}
	p.ExternalID, p.RedirectURL, p.UpdatedAt = r.ExternalID, r.URL, store.Now()
	if err := s.db.WithContext(wctx).Model(&Payment{}).Where("id = ? AND status = ?", p.ID, api.PaymentCreated).
		Updates(map[string]any{"external_id": p.ExternalID, "redirect_url": p.RedirectURL, "updated_at": p.UpdatedAt}).Error; err != nil {
		return Created{}, fmt.Errorf("record checkout of payment %s: %w", p.ID, err)
	}
	s.log.InfoContext(ctx, "payment created", "payment_id", p.ID, "gateway", p.Gateway, "user_id", p.UserID,
		"amount", p.Amount, "currency", p.Currency, "external_id", p.ExternalID)
	return Created{Payment: p, RedirectURL: p.RedirectURL}, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// checkReason validates a manual payment's reason into f.
func checkReason(f map[string]string, reason string) {
	switch {
	case reason == "":
		f["reason"] = "is required: say where the money came from (e.g. a bank transfer reference)"
	case !utf8.ValidString(reason):
		f["reason"] = "must be valid UTF-8"
	case utf8.RuneCountInString(reason) > MaxReasonLength:
		f["reason"] = fmt.Sprintf("must be at most %d characters", MaxReasonLength)
	case strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		f["reason"] = "must not contain control characters"
	}
}

// manualTarget returns the user v may credit by hand: anyone for an admin, its own
// customers for a reseller; others are not found.
func (s *Service) manualTarget(ctx context.Context, v ops.Viewer, userID string) (store.User, error) {
	var u store.User
	if uuid.Validate(userID) != nil {
		return u, apierr.NotFound("user not found")
	}
	err := s.db.WithContext(ctx).Where("id = ?", userID).Take(&u).Error
	if store.IsNotFound(err) {
		return u, apierr.NotFound("user not found")
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	if !v.Admin && (u.ResellerID == nil || *u.ResellerID != v.UserID) {
		return store.User{}, apierr.NotFound("user not found")
	}
	return u, nil
}

// Manual records money received outside the panel and credits req.UserID's wallet under the
// idempotency key: admins for any user, resellers for their own customers (anyone else is
// not found), customers are forbidden. The topup entry (reason and actor v.UserID) and the
// payment (manual, paid) commit together. It returns the payment and whether the request
// replayed an earlier one.
func (s *Service) Manual(ctx context.Context, v ops.Viewer, key string, req api.ManualPaymentRequest) (Payment, bool, error) {
	if !v.Admin && !v.Reseller {
		return Payment{}, false, apierr.Forbidden("only admins and resellers record manual payments")
	}
	if !billing.ValidKey(key) {
		return Payment{}, false, billing.BadKey(key)
	}
	req.Reason = strings.TrimSpace(req.Reason)
	f := map[string]string{}
	if req.UserID == "" {
		f["user_id"] = "is required"
	}
	checkAmount(f, req.Amount, req.Currency)
	checkReason(f, req.Reason)
	if len(f) > 0 {
		return Payment{}, false, apierr.Validation(f)
	}
	if _, err := s.manualTarget(ctx, v, req.UserID); err != nil {
		return Payment{}, false, err
	}
	fp := fingerprint("manual", req.UserID, strconv.FormatInt(req.Amount, 10), req.Currency, req.Reason)
	for attempt := 1; ; attempt++ {
		p, replayed, err := s.manual(ctx, v, key, fp, req)
		if errors.Is(err, errRaced) && attempt < manualAttempts {
			continue
		}
		if err != nil {
			return Payment{}, false, err
		}
		if !replayed {
			s.log.InfoContext(ctx, "manual payment credited", "payment_id", p.ID, "user_id", p.UserID, "amount", p.Amount,
				"currency", p.Currency, "actor_id", v.UserID)
			s.credited(ctx, p.UserID)
		}
		return p, replayed, nil
	}
}

func (s *Service) manual(ctx context.Context, v ops.Viewer, key, fp string, req api.ManualPaymentRequest) (Payment, bool, error) {
	var (
		p        Payment
		replayed bool
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		prev, ok, err := s.byKey(tx, v.UserID, key)
		if err != nil {
			return err
		}
		if ok {
			if prev.Fingerprint != fp {
				return reusedKey(prev)
			}
			p, replayed = prev, true
			return nil
		}
		id := uuid.NewString()
		res, err := s.bill.PostTx(ctx, tx, billing.PostRequest{UserID: req.UserID, Currency: req.Currency,
			Kind: api.EntryTopup, Amount: req.Amount, IdempotencyKey: "payment:" + id, Reason: req.Reason,
			Reference: id, ActorID: v.UserID})
		if err != nil {
			return err
		}
		now := store.Now()
		entry := res.Entry.ID
		p = Payment{ID: id, UserID: req.UserID, Gateway: api.GatewayManual, Amount: req.Amount, Currency: req.Currency,
			Status: api.PaymentPaid, LedgerEntryID: &entry, CreatedBy: v.UserID, IdempotencyKey: key, Fingerprint: fp,
			Reason: req.Reason, CreatedAt: now, UpdatedAt: now, PaidAt: &now}
		if err := tx.Create(&p).Error; err != nil {
			if store.IsDuplicate(err) {
				return fmt.Errorf("%w: %w", errRaced, err)
			}
			return fmt.Errorf("insert payment: %w", err)
		}
		return nil
	})
	return p, replayed, err
}

// Handled is the outcome of a notification: its api.Notification* status and the payment
// it concerned (zero when none).
type Handled struct {
	Status  string
	Payment Payment
}

// Notify verifies and applies one notification delivery of the gateway named gateway
// (stripe or alipay). A forged, tampered or replayed delivery is refused
// (api.CodeInvalidSignature) and writes nothing. A paid notification whose amount or
// currency differ from the payment's is refused (400) and writes nothing. Otherwise the
// event id is recorded with the change in one transaction: a paid payment is credited once
// (a duplicate event, or another event for a payment already paid, is a duplicate); an
// expired or failed checkout changes the payment's status. The OnCredited hook runs after
// a credit commits.
func (s *Service) Notify(ctx context.Context, gateway string, d Delivery) (Handled, error) {
	g, ok := s.Gateway(gateway)
	if !ok || gateway == api.GatewayManual {
		return Handled{}, apierr.NotFound("unknown payment gateway")
	}
	if !g.Enabled() {
		return Handled{}, unavailable(g.Name())
	}
	n, err := g.Verify(d, s.now())
	if err != nil {
		s.log.WarnContext(ctx, "payment notification refused", "gateway", gateway, "err", err)
		return Handled{}, err
	}
	log := s.log.With("gateway", gateway, "event_id", n.EventID, "type", n.Type, "payment_id", n.PaymentID)
	if n.Outcome == OutcomeNone {
		log.DebugContext(ctx, "payment notification ignored")
		return Handled{Status: api.NotificationIgnored}, nil
	}
	var p Payment
	if uuid.Validate(n.PaymentID) == nil {
		err = s.db.WithContext(ctx).Where("id = ? AND gateway = ?", n.PaymentID, gateway).Take(&p).Error
	} else {
		err = gorm.ErrRecordNotFound
	}
	if store.IsNotFound(err) {
		log.WarnContext(ctx, "payment notification for an unknown payment ignored")
		return Handled{Status: api.NotificationIgnored}, nil
	}
	if err != nil {
		return Handled{}, fmt.Errorf("read payment: %w", err)
	}
	var h Handled
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		h, err = s.apply(ctx, tx, g, n)
		return err
	})
	if err != nil {
		log.WarnContext(ctx, "payment notification not applied", "err", err)
		return Handled{}, err
	}
	log.InfoContext(ctx, "payment notification handled", "status", h.Status, "user_id", h.Payment.UserID)
	if h.Status == api.NotificationCredited {
		s.credited(ctx, h.Payment.UserID)
	}
	return h, nil
}

// apply records n's event id and applies it to its payment inside tx.
func (s *Service) apply(ctx context.Context, tx *gorm.DB, g Gateway, n Notification) (Handled, error) {
	// Lock the payment first: every notification of one payment then runs one after the
	// other (on PostgreSQL the notification's foreign key would otherwise share-lock the row
	// and two deliveries upgrading to the update lock would deadlock).
	var p Payment
	if err := s.db.ForUpdate(tx).Where("id = ?", n.PaymentID).Take(&p).Error; err != nil {
		return Handled{}, fmt.Errorf("lock payment: %w", err)
	}
	now := store.Now()
	rec := processedNotification{Gateway: g.Name(), EventID: n.EventID, PaymentID: n.PaymentID, ReceivedAt: now}
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "gateway"}, {Name: "event_id"}}, DoNothing: true}).
		Create(&rec)
	if res.Error != nil {
		return Handled{}, fmt.Errorf("record notification: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Handled{Status: api.NotificationDuplicate, Payment: p}, nil
	}
	switch n.Outcome {
	case OutcomePaid:
		if n.Amount != p.Amount || n.Currency != p.Currency {
			return Handled{}, badSignature(fmt.Sprintf("the notification says %s was paid but payment %s is of %s: nothing was credited",
				billing.Format(n.Amount, n.Currency), p.ID, billing.Format(p.Amount, p.Currency)))
		}
		if p.ExternalID != "" && n.ExternalID != p.ExternalID {
			return Handled{}, badSignature("the notification is for " + g.Name() + " payment " + n.ExternalID +
				" but payment " + p.ID + " is " + p.ExternalID + ": nothing was credited")
		}
		if p.Status == api.PaymentPaid {
			return Handled{Status: api.NotificationDuplicate, Payment: p}, nil
		}
		r, err := s.bill.PostTx(ctx, tx, billing.PostRequest{UserID: p.UserID, Currency: p.Currency, Kind: api.EntryTopup,
			Amount: p.Amount, IdempotencyKey: "payment:" + p.ID, Reason: gatewayTitle(g.Name()) + " payment " + n.ExternalID,
			Reference: p.ID, ActorID: billing.ActorSystem})
		if err != nil {
			return Handled{}, fmt.Errorf("credit payment %s: %w", p.ID, err)
		}
		entry := r.Entry.ID
		upd := tx.Model(&Payment{}).Where("id = ?", p.ID).Updates(map[string]any{"status": api.PaymentPaid,
			"ledger_entry_id": entry, "external_id": n.ExternalID, "paid_at": now, "updated_at": now})
		if upd.Error != nil {
			return Handled{}, fmt.Errorf("mark payment paid: %w", upd.Error)
		}
		p.Status, p.LedgerEntryID, p.ExternalID, p.PaidAt, p.UpdatedAt = api.PaymentPaid, &entry, n.ExternalID, &now, now
		return Handled{Status: api.NotificationCredited, Payment: p}, nil
	case OutcomeExpired, OutcomeFailed:
		if p.Status != api.PaymentCreated {
			return Handled{Status: api.NotificationIgnored, Payment: p}, nil
		}
		status := api.PaymentExpired
		if n.Outcome == OutcomeFailed {
			status = api.PaymentFailed
		}
		if err := tx.Model(&Payment{}).Where("id = ?", p.ID).
			Updates(map[string]any{"status": status, "updated_at": now}).Error; err != nil {
			return Handled{}, fmt.Errorf("mark payment %s: %w", status, err)
		}
		p.Status, p.UpdatedAt = status, now
		return Handled{Status: api.NotificationUpdated, Payment: p}, nil
	}
	return Handled{Status: api.NotificationIgnored, Payment: p}, nil
}

func gatewayTitle(name string) string {
	switch name {
	case api.GatewayStripe:
		return "Stripe"
	case api.GatewayAlipay:
		return "Alipay"
	}
	return name
}

// ListFilter selects payments: by owner (admins any; resellers their own customers),
// status and gateway; Page from 1, PerPage 1..100.
type ListFilter struct {
	UserID  string
	Status  string
	Gateway string
	Page    int
	PerPage int
}

// visible restricts q to the payments v may see: its own, its customers' for a reseller,
// all for an admin.
func visible(q *gorm.DB, v ops.Viewer) *gorm.DB {
	switch {
	case v.Admin:
		return q
	case v.Reseller:
		return q.Where("(payments.user_id = ? OR payments.user_id IN (SELECT id FROM users WHERE reseller_id = ?))",
			v.UserID, v.UserID)
	}
	return q.Where("payments.user_id = ?", v.UserID)
}

// List returns one page of the payments v may see, newest first, and their total.
func (s *Service) List(ctx context.Context, v ops.Viewer, f ListFilter) ([]Payment, int64, error) {
	fields := map[string]string{}
	switch f.Status {
	case "", api.PaymentCreated, api.PaymentPaid, api.PaymentFailed, api.PaymentExpired:
	default:
		fields["status"] = "must be created, paid, failed or expired"
	}
	switch f.Gateway {
	case "", api.GatewayManual, api.GatewayStripe, api.GatewayAlipay:
	default:
		fields["gateway"] = "must be manual, stripe or alipay"
	}
	if f.UserID != "" && uuid.Validate(f.UserID) != nil {
		fields["user_id"] = "must be a user id"
	}
	if len(fields) > 0 {
		return nil, 0, apierr.Validation(fields)
	}
	q := visible(s.db.WithContext(ctx).Model(&Payment{}), v)
	if f.UserID != "" {
		q = q.Where("payments.user_id = ?", f.UserID)
	}
	if f.Status != "" {
		q = q.Where("payments.status = ?", f.Status)
	}
	if f.Gateway != "" {
		q = q.Where("payments.gateway = ?", f.Gateway)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count payments: %w", err)
	}
	ps := []Payment{}
	if err := q.Order("payments.created_at DESC, payments.id DESC").Limit(f.PerPage).Offset((f.Page - 1) * f.PerPage).
		Find(&ps).Error; err != nil {
		return nil, 0, fmt.Errorf("list payments: %w", err)
	}
	return ps, total, nil
}

// Get returns a payment v may see; any other is not found.
func (s *Service) Get(ctx context.Context, v ops.Viewer, id string) (Payment, error) {
	var p Payment
	if uuid.Validate(id) != nil {
		return p, apierr.NotFound("payment not found")
	}
	err := visible(s.db.WithContext(ctx).Model(&Payment{}), v).Where("payments.id = ?", id).Take(&p).Error
	if store.IsNotFound(err) {
		return p, apierr.NotFound("payment not found")
	}
	if err != nil {
		return p, fmt.Errorf("read payment: %w", err)
	}
	return p, nil
}

// API converts a payment to its wire form.
func API(p Payment) api.Payment {
	out := api.Payment{ID: p.ID, UserID: p.UserID, Gateway: p.Gateway, Amount: p.Amount, Currency: p.Currency,
		Status: p.Status, ExternalID: p.ExternalID, Reason: p.Reason, Failure: p.Failure, CreatedBy: p.CreatedBy,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, PaidAt: p.PaidAt}
	if p.LedgerEntryID != nil {
		out.LedgerEntryID = *p.LedgerEntryID
	}
	return out
}
