package store

import "time"

// Wallet holds one user's money in one currency. Balance and CreditLimit are minor units of
// Currency; the balance may go down to -CreditLimit. Balance changes only together with a
// LedgerEntry, in the same transaction (see package billing).
type Wallet struct {
	ID          string `gorm:"primaryKey"`
	UserID      string
	Currency    string
	Balance     int64
	CreditLimit int64
	// EntryCount is the number of entries; the next entry's Seq is EntryCount+1.
	EntryCount int64
	// LowBalanceThreshold (minor units, 0 is off): below it the owner is notified once;
	// LowBalanceNotifiedAt is cleared when the balance is back above it.
	LowBalanceThreshold  int64
	LowBalanceNotifiedAt *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// LedgerEntry is one append-only movement of a wallet's money. Amount is signed: a credit is
// positive, a debit negative. Rows are inserted, never updated or deleted.
type LedgerEntry struct {
	ID             string `gorm:"primaryKey"`
	WalletID       string
	Seq            int64
	Kind           string
	Amount         int64
	BalanceAfter   int64
	IdempotencyKey string
	// Fingerprint is the SHA-256 (hex) of the request parameters.
	Fingerprint string
	Reason      string
	Reference   string
	ActorID     string
	CreatedAt   time.Time
}

// TableName names the table of LedgerEntry.
func (LedgerEntry) TableName() string { return "ledger_entries" }
