// Package billing is the wallet ledger: one wallet per user and currency, whose balance
// changes only together with an append-only ledger entry in the same transaction. Every
// posting carries an idempotency key (unique per wallet) and the id of who made it.
package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Limits of the free-text fields of an entry.
const (
	MaxKeyLength       = 128
	MaxReasonLength    = 500
	MaxReferenceLength = 128
	MaxActorLength     = 64
)

// ActorSystem is the actor id of postings the panel makes on its own.
const ActorSystem = "system"

// postAttempts bounds the retries of a posting that lost a unique-key race.
const postAttempts = 3

// errRaced is an insert that lost a race on a unique key; the posting is retried.
var errRaced = errors.New("ledger entry insert lost a race")

// Service is the wallet ledger.
type Service struct {
	db  *store.DB
	log *slog.Logger
}

// New returns a Service.
func New(db *store.DB, log *slog.Logger) *Service { return &Service{db: db, log: log} }

// PostRequest is one money movement. The wallet is WalletID, or the wallet of (UserID,
// Currency), created on first use. Amount is the signed ledger amount in minor units: credits
// (topup, refund) are positive, debits (charge) negative, adjustments and settlements either,
// never 0; its magnitude is at most MaxAmount.
type PostRequest struct {
	WalletID       string
	UserID         string
	Currency       string
	Kind           string
	Amount         int64
	IdempotencyKey string
	Reason         string
	Reference      string
	// ActorID is who posts: a user id, or ActorSystem.
	ActorID string
}

// PostResult is the entry a posting wrote, or the earlier entry it replayed, and the wallet.
type PostResult struct {
	Entry  store.LedgerEntry
	Wallet store.Wallet
	// Replayed is set when the idempotency key had been used with the same parameters: the
	// earlier entry is returned and nothing was written.
	Replayed bool
}

// ValidKey reports whether key is a valid idempotency key: 1 to MaxKeyLength printable ASCII
// characters without spaces.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// BadKey is the error of a missing or malformed idempotency key.
func BadKey(key string) *apierr.Error {
	if key == "" {
		return apierr.New(api.CodeBadIdempotencyKey, "the "+api.HeaderIdempotencyKey+
			" header is required: send a key unique to this money movement (1 to 128 printable ASCII characters) and reuse it only to retry")
	}
	return apierr.New(api.CodeBadIdempotencyKey, "the "+api.HeaderIdempotencyKey+
		" header must be 1 to 128 printable ASCII characters without spaces")
}

// ValidKind reports whether kind is a ledger entry kind.
func ValidKind(kind string) bool {
	switch kind {
	case api.EntryTopup, api.EntryCharge, api.EntryRefund, api.EntryAdjustment, api.EntrySettlement:
		return true
	}
	return false
}

func checkText(fields map[string]string, name, v string, max int) {
	switch {
	case !utf8.ValidString(v):
		fields[name] = "must be valid UTF-8"
	case utf8.RuneCountInString(v) > max:
		fields[name] = fmt.Sprintf("must be at most %d characters", max)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		fields[name] = "must not contain control characters"
	}
}

func validatePost(req *PostRequest) error {
	if !ValidKey(req.IdempotencyKey) {
		return BadKey(req.IdempotencyKey)
	}
	req.Reason = strings.TrimSpace(req.Reason)
	req.Reference = strings.TrimSpace(req.Reference)
	f := map[string]string{}
	if req.WalletID == "" || req.Currency != "" {
		if !ValidCurrency(req.Currency) {
			f["currency"] = "must be a supported ISO-4217 code in upper case, such as USD or EUR"
		}
	}
	if req.WalletID == "" && req.UserID == "" {
		f["user_id"] = "is required without a wallet id"
	}
	switch req.Kind {
	case api.EntryTopup, api.EntryRefund:
		if req.Amount <= 0 {
			f["amount"] = "must be a positive number of minor units for a " + req.Kind
		}
	case api.EntryCharge:
		if req.Amount >= 0 {
			f["amount"] = "must be negative (a debit) for a charge"
		}
	case api.EntryAdjustment, api.EntrySettlement:
		if req.Amount == 0 {
			f["amount"] = "must not be 0"
		}
	default:
		f["kind"] = "must be topup, charge, refund, adjustment or settlement"
	}
	if _, ok := f["amount"]; !ok && (req.Amount > MaxAmount || req.Amount < -MaxAmount) {
		f["amount"] = fmt.Sprintf("must be at most %d minor units in magnitude", MaxAmount)
	}
	checkText(f, "reason", req.Reason, MaxReasonLength)
	checkText(f, "reference", req.Reference, MaxReferenceLength)
	if _, bad := f["reason"]; !bad && req.Kind == api.EntryAdjustment && req.Reason == "" {
		f["reason"] = "is required for an adjustment"
	}
	if req.ActorID == "" || len(req.ActorID) > MaxActorLength {
		f["actor_id"] = fmt.Sprintf("is required, at most %d characters", MaxActorLength)
	}
	if len(f) > 0 {
		return apierr.Validation(f)
	}
	return nil
}

// fingerprint hashes the parameters a replay must repeat. Strings are length-prefixed so
// that no two parameter sets share an encoding.
func fingerprint(currency string, req PostRequest) string {
	h := sha256.New()
	for _, part := range []string{"v1", currency, req.Kind, strconv.FormatInt(req.Amount, 10), req.Reason, req.Reference} {
		_, _ = h.Write([]byte(strconv.Itoa(len(part)) + ":" + part + ";"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Post writes one ledger entry and the wallet's new balance in one transaction, under the
// wallet's row lock (SQLite transactions are immediate, hence serialized, already). A key used
// before with the same parameters returns the earlier entry (Replayed) and writes nothing; with
// other parameters it is a conflict. A debit that would take the balance below -credit_limit
// is refused with api.CodeInsufficientFunds; a result that would overflow int64 is refused too.
func (s *Service) Post(ctx context.Context, req PostRequest) (PostResult, error) {
	if err := validatePost(&req); err != nil {
		return PostResult{}, err
	}
	for attempt := 1; ; attempt++ {
		res, err := s.post(ctx, req)
		if errors.Is(err, errRaced) && attempt < postAttempts {
			// A concurrent posting with the same key committed first: the next attempt finds
			// its entry and replays it.
			continue
		}
		if err != nil {
			return PostResult{}, err
		}
		if !res.Replayed {
			s.log.InfoContext(ctx, "ledger entry posted", "wallet_id", res.Wallet.ID, "entry_id", res.Entry.ID,
				"kind", res.Entry.Kind, "amount", res.Entry.Amount, "currency", res.Wallet.Currency,
				"balance_after", res.Entry.BalanceAfter, "actor_id", res.Entry.ActorID)
		}
		return res, nil
	}
}

func (s *Service) post(ctx context.Context, req PostRequest) (PostResult, error) {
	var res PostResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		res, err = s.postIn(tx, req)
		return err
	})
	return res, err
}

// PostTx is Post inside the caller's transaction tx, so that a charge commits or rolls back
// with the rows it pays for (an order, a renewal, a reseller's settlement). The wallet row is
// locked until tx ends. Lock wallets in a fixed order (the customer's before the reseller's)
// to avoid deadlocks. A duplicate-key race on PostgreSQL aborts tx: the caller retries the
// whole transaction, whose replay then finds the first entry.
func (s *Service) PostTx(ctx context.Context, tx *gorm.DB, req PostRequest) (PostResult, error) {
	if err := validatePost(&req); err != nil {
		return PostResult{}, err
	}
	return s.postIn(tx.WithContext(ctx), req)
}

func (s *Service) postIn(tx *gorm.DB, req PostRequest) (PostResult, error) {
	var res PostResult
	err := func() error {
		w, err := s.lockWallet(tx, req)
		if err != nil {
			return err
		}
		fp := fingerprint(w.Currency, req)
		var prev store.LedgerEntry
		err = tx.Where("wallet_id = ? AND idempotency_key = ?", w.ID, req.IdempotencyKey).Take(&prev).Error
		switch {
		case err == nil:
			if prev.Fingerprint != fp {
				return apierr.Conflict("idempotency key reused with different parameters: this key already posted a " +
					prev.Kind + " of " + Format(prev.Amount, w.Currency) + " to this wallet")
			}
			res = PostResult{Entry: prev, Wallet: w, Replayed: true}
			return nil
		case !store.IsNotFound(err):
			return fmt.Errorf("read ledger entry by key: %w", err)
		}
		balance, ok := addChecked(w.Balance, req.Amount)
		if !ok {
			return apierr.Conflict("the entry would overflow the wallet balance")
		}
		if req.Amount < 0 && balance < -w.CreditLimit {
			return apierr.New(api.CodeInsufficientFunds, fmt.Sprintf(
				"insufficient funds: a %s of %s would take the balance from %s to %s, below the credit limit of %s",
				req.Kind, Format(-req.Amount, w.Currency), Format(w.Balance, w.Currency), Format(balance, w.Currency),
				Format(w.CreditLimit, w.Currency)))
		}
		now := store.Now()
		e := store.LedgerEntry{
			ID: uuid.NewString(), WalletID: w.ID, Seq: w.EntryCount + 1, Kind: req.Kind, Amount: req.Amount,
			BalanceAfter: balance, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp, Reason: req.Reason,
			Reference: req.Reference, ActorID: req.ActorID, CreatedAt: now,
		}
		if err := tx.Create(&e).Error; err != nil {
			if store.IsDuplicate(err) {
				return fmt.Errorf("%w: %w", errRaced, err)
			}
			return fmt.Errorf("insert ledger entry: %w", err)
		}
		upd := tx.Model(&store.Wallet{}).Where("id = ? AND entry_count = ? AND balance = ?", w.ID, w.EntryCount, w.Balance).
			Updates(map[string]any{"balance": balance, "entry_count": e.Seq, "updated_at": now})
		if upd.Error != nil {
			return fmt.Errorf("update wallet balance: %w", upd.Error)
		}
		if upd.RowsAffected != 1 {
			return fmt.Errorf("wallet %s changed under its row lock", w.ID)
		}
		w.Balance, w.EntryCount, w.UpdatedAt = balance, e.Seq, now
		res = PostResult{Entry: e, Wallet: w}
		return nil
	}()
	return res, err
}

// lockWallet reads and locks the wallet of req: by id, or by (user, currency), creating it.
func (s *Service) lockWallet(tx *gorm.DB, req PostRequest) (store.Wallet, error) {
	if req.WalletID == "" {
		return s.lockOrCreate(tx, req.UserID, req.Currency)
	}
	var w store.Wallet
	if uuid.Validate(req.WalletID) != nil {
		return w, apierr.NotFound("wallet not found")
	}
	err := s.db.ForUpdate(tx).Where("id = ?", req.WalletID).Take(&w).Error
	if store.IsNotFound(err) || (err == nil && req.UserID != "" && w.UserID != req.UserID) {
		return store.Wallet{}, apierr.NotFound("wallet not found")
	}
	if err != nil {
		return w, fmt.Errorf("lock wallet: %w", err)
	}
	if req.Currency != "" && req.Currency != w.Currency {
		return store.Wallet{}, apierr.Validation(map[string]string{
			"currency": "is " + req.Currency + " but the wallet holds " + w.Currency})
	}
	return w, nil
}

// lockOrCreate reads and locks the wallet of (userID, currency), creating it on first use.
// Concurrent first uses are safe: the insert does nothing when the wallet exists (on
// PostgreSQL it waits for a concurrent creator to commit), then the wallet is read locked.
func (s *Service) lockOrCreate(tx *gorm.DB, userID, currency string) (store.Wallet, error) {
	var w store.Wallet
	if uuid.Validate(userID) != nil {
		return w, apierr.NotFound("user not found")
	}
	err := s.db.ForUpdate(tx).Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error
	if err == nil {
		return w, nil
	}
	if !store.IsNotFound(err) {
		return w, fmt.Errorf("lock wallet: %w", err)
	}
	var n int64
	if err := tx.Model(&store.User{}).Where("id = ?", userID).Count(&n).Error; err != nil {
		return w, fmt.Errorf("read user: %w", err)
	}
	if n == 0 {
		return w, apierr.NotFound("user not found")
	}
	now := store.Now()
	w = store.Wallet{ID: uuid.NewString(), UserID: userID, Currency: currency, CreatedAt: now, UpdatedAt: now}
	err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}, {Name: "currency"}}, DoNothing: true}).
		Create(&w).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return store.Wallet{}, apierr.NotFound("user not found")
	}
	if err != nil {
		return store.Wallet{}, fmt.Errorf("create wallet: %w", err)
	}
	w = store.Wallet{}
	if err := s.db.ForUpdate(tx).Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error; err != nil {
		return w, fmt.Errorf("lock new wallet: %w", err)
	}
	return w, nil
}

// SetCreditLimit sets how far below zero the balance of the (userID, currency) wallet may go,
// creating the wallet on first use. Lowering it below the current debt is allowed: it refuses
// later debits only. The limit is not money and moves no balance, so it writes no entry.
func (s *Service) SetCreditLimit(ctx context.Context, userID, currency string, limit int64, actorID string) (store.Wallet, error) {
	f := map[string]string{}
	if !ValidCurrency(currency) {
		f["currency"] = "must be a supported ISO-4217 code in upper case, such as USD or EUR"
	}
	if limit < 0 || limit > MaxAmount {
		f["credit_limit"] = fmt.Sprintf("must be from 0 to %d minor units", MaxAmount)
	}
	if len(f) > 0 {
		return store.Wallet{}, apierr.Validation(f)
	}
	var w store.Wallet
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if w, err = s.lockOrCreate(tx, userID, currency); err != nil {
			return err
		}
		now := store.Now()
		if err := tx.Model(&store.Wallet{}).Where("id = ?", w.ID).
			Updates(map[string]any{"credit_limit": limit, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("update credit limit: %w", err)
		}
		s.log.InfoContext(ctx, "wallet credit limit set", "wallet_id", w.ID, "currency", w.Currency,
			"from", w.CreditLimit, "to", limit, "actor_id", actorID)
		w.CreditLimit, w.UpdatedAt = limit, now
		return nil
	})
	return w, err
}

func (s *Service) userExists(ctx context.Context, userID string) error {
	if uuid.Validate(userID) != nil {
		return apierr.NotFound("user not found")
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&store.User{}).Where("id = ?", userID).Count(&n).Error; err != nil {
		return fmt.Errorf("read user: %w", err)
	}
	if n == 0 {
		return apierr.NotFound("user not found")
	}
	return nil
}

// Wallets returns the wallets of a user, by currency; an unknown user is not found.
func (s *Service) Wallets(ctx context.Context, userID string) ([]store.Wallet, error) {
	if err := s.userExists(ctx, userID); err != nil {
		return nil, err
	}
	ws := []store.Wallet{}
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("currency").Find(&ws).Error; err != nil {
		return nil, fmt.Errorf("list wallets: %w", err)
	}
	return ws, nil
}

// Wallet returns the wallet of (userID, currency); one never used is not found.
func (s *Service) Wallet(ctx context.Context, userID, currency string) (store.Wallet, error) {
	var w store.Wallet
	if !ValidCurrency(currency) {
		return w, apierr.Validation(map[string]string{
			"currency": "must be a supported ISO-4217 code in upper case, such as USD or EUR"})
	}
	if err := s.userExists(ctx, userID); err != nil {
		return w, err
	}
	err := s.db.WithContext(ctx).Where("user_id = ? AND currency = ?", userID, currency).Take(&w).Error
	if store.IsNotFound(err) {
		return w, apierr.NotFound("no " + currency + " wallet: it is created by its first entry")
	}
	if err != nil {
		return w, fmt.Errorf("read wallet: %w", err)
	}
	return w, nil
}

// Entries returns one page of the entries of the (userID, currency) wallet, newest first,
// with the wallet and the total number of entries.
func (s *Service) Entries(ctx context.Context, userID, currency string, page, perPage int) (store.Wallet, []store.LedgerEntry, int64, error) {
	w, err := s.Wallet(ctx, userID, currency)
	if err != nil {
		return w, nil, 0, err
	}
	es := []store.LedgerEntry{}
	if err := s.db.WithContext(ctx).Where("wallet_id = ?", w.ID).Order("seq DESC").
		Limit(perPage).Offset((page - 1) * perPage).Find(&es).Error; err != nil {
		return w, nil, 0, fmt.Errorf("list ledger entries: %w", err)
	}
	return w, es, w.EntryCount, nil
}

// WalletAPI converts a wallet to its wire form.
func WalletAPI(w store.Wallet) api.Wallet {
	exp, _ := Exponent(w.Currency)
	return api.Wallet{ID: w.ID, UserID: w.UserID, Currency: w.Currency, Exponent: exp, Balance: w.Balance,
		CreditLimit: w.CreditLimit, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// EntryAPI converts an entry of a wallet of currency to its wire form.
func EntryAPI(e store.LedgerEntry, currency string) api.LedgerEntry {
	return api.LedgerEntry{ID: e.ID, WalletID: e.WalletID, Currency: currency, Seq: e.Seq, Kind: e.Kind,
		Amount: e.Amount, BalanceAfter: e.BalanceAfter, IdempotencyKey: e.IdempotencyKey, Reason: e.Reason,
		Reference: e.Reference, ActorID: e.ActorID, CreatedAt: e.CreatedAt}
}
