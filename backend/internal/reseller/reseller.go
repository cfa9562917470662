// Package reseller is the reseller tier: retail prices over the provider's wholesale plans,
// resource quotas across a reseller's customers, branding, and the reseller's own customers.
package reseller

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"

	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// Service is the reseller service.
type Service struct {
	db  *store.DB
	log *slog.Logger
	opt Options
}

// Options tune a Service.
type Options struct {
	// PublicURL is the panel's own URL: its host may not be a reseller's domain.
	PublicURL string
	// Password are the argon2id parameters of the accounts the service creates (default
	// auth.DefaultPasswordParams).
	Password auth.PasswordParams
}

// New returns a Service; opt (at most one) tunes it.
func New(db *store.DB, log *slog.Logger, opt ...Options) *Service {
	s := &Service{db: db, log: log}
	if len(opt) > 0 {
		s.opt = opt[0]
	}
	if s.opt.Password.MemoryKiB == 0 {
		s.opt.Password = auth.DefaultPasswordParams()
	}
	return s
}

// panelHost is the host name of the panel's public URL ("" when unknown).
func (s *Service) panelHost() string {
	u, err := url.Parse(s.opt.PublicURL)
	if err != nil {
		return ""
	}
	return HostOnly(u.Hostname())
}

// Price is what one plan costs, in minor units of Currency.
type Price struct {
	Month, Hour, Setup int64
	Currency           string
}

// Quote is a plan's price for one customer: Retail is what the customer pays. For a customer
// of a reseller, Wholesale is what the reseller pays the provider and ResellerID is set; for
// the provider's own customers Wholesale is zero and ResellerID nil.
type Quote struct {
	Retail     Price
	Wholesale  Price
	ResellerID *string
}

// markup returns v raised by bp basis points, rounded half up, or false on overflow.
func markup(v, bp int64) (int64, bool) {
	r := new(big.Int).Mul(big.NewInt(v), big.NewInt(10000+bp))
	r.Add(r, big.NewInt(5000))
	r.Quo(r, big.NewInt(10000))
	if !r.IsInt64() {
		return 0, false
	}
	return r.Int64(), true
}

// Quote prices plan for customer, inside tx: the reseller's own price for the plan when it
// set one, else the plan's price raised by the reseller's markup.
func (s *Service) Quote(ctx context.Context, tx *gorm.DB, customer store.User, plan store.Plan) (Quote, error) {
	wholesale := Price{Month: plan.PriceMonth, Hour: plan.PriceHour, Setup: plan.SetupFee, Currency: plan.Currency}
	if customer.ResellerID == nil {
		return Quote{Retail: wholesale}, nil
	}
	rid := *customer.ResellerID
	q := Quote{Wholesale: wholesale, ResellerID: &rid}
	var own store.ResellerPrice
	err := tx.WithContext(ctx).Where("reseller_id = ? AND plan_id = ?", rid, plan.ID).Take(&own).Error
	if err == nil {
		q.Retail = Price{Month: own.PriceMonth, Hour: own.PriceHour, Setup: own.SetupFee, Currency: plan.Currency}
		return q, nil
	}
	if !store.IsNotFound(err) {
		return q, fmt.Errorf("read reseller price: %w", err)
	}
	var prof store.ResellerProfile
	if err := tx.WithContext(ctx).Where("user_id = ?", rid).Take(&prof).Error; err != nil && !store.IsNotFound(err) {
		return q, fmt.Errorf("read reseller profile: %w", err)
	}
	m, ok1 := markup(plan.PriceMonth, prof.MarkupBP)
	h, ok2 := markup(plan.PriceHour, prof.MarkupBP)
	st, ok3 := markup(plan.SetupFee, prof.MarkupBP)
	if !ok1 || !ok2 || !ok3 {
		return q, apierr.Validation(map[string]string{"plan_id": "the reseller's markup overflows this plan's price"})
	}
	q.Retail = Price{Month: m, Hour: h, Setup: st, Currency: plan.Currency}
	return q, nil
}

// Resources is an amount of servers and resources. The column tags name the columns Usage
// scans (GORM would otherwise look for memory_mi_b).
type Resources struct {
	Servers   int64 `json:"servers" gorm:"column:servers"`
	CPU       int64 `json:"cpu" gorm:"column:cpu"`
	MemoryMiB int64 `json:"memory_mib" gorm:"column:memory_mib"`
	DiskMiB   int64 `json:"disk_mib" gorm:"column:disk_mib"`
}

// Usage sums the live servers of the reseller's customers (and the reseller's own).
func (s *Service) Usage(ctx context.Context, tx *gorm.DB, resellerID string) (Resources, error) {
	var u Resources
	err := tx.WithContext(ctx).Raw(`SELECT COUNT(*) AS servers, COALESCE(SUM(cpu), 0) AS cpu,
		COALESCE(SUM(memory_mib), 0) AS memory_mib, COALESCE(SUM(disk_mib), 0) AS disk_mib
		FROM servers WHERE deleted_at IS NULL
		AND (owner_id = ? OR owner_id IN (SELECT id FROM users WHERE reseller_id = ?))`, resellerID, resellerID).Scan(&u).Error
	if err != nil {
		return u, fmt.Errorf("sum reseller usage: %w", err)
	}
	return u, nil
}

// CheckQuota refuses, with quota_exceeded, adding delta to the reseller's usage when that
// goes over any of its quotas. It locks the reseller's profile row (on PostgreSQL) so that
// concurrent orders of one reseller's customers are checked one after the other; call it in
// the transaction that creates or resizes the server.
func (s *Service) CheckQuota(ctx context.Context, tx *gorm.DB, resellerID string, delta Resources) error {
	var prof store.ResellerProfile
	err := s.db.ForUpdate(tx.WithContext(ctx)).Where("user_id = ?", resellerID).Take(&prof).Error
	if store.IsNotFound(err) {
		return nil // no profile: no quota
	}
	if err != nil {
		return fmt.Errorf("lock reseller profile: %w", err)
	}
	used, err := s.Usage(ctx, tx, resellerID)
	if err != nil {
		return err
	}
	check := []struct {
		name        string
		used, delta int64
		quota       *int64
	}{
		{"servers", used.Servers, delta.Servers, prof.QuotaServers},
		{"cpu", used.CPU, delta.CPU, prof.QuotaCPU},
		{"memory_mib", used.MemoryMiB, delta.MemoryMiB, prof.QuotaMemoryMiB},
		{"disk_mib", used.DiskMiB, delta.DiskMiB, prof.QuotaDiskMiB},
	}
	fields := map[string]string{}
	for _, c := range check {
		if c.quota != nil && c.delta > 0 && c.used+c.delta > *c.quota {
			fields[c.name] = fmt.Sprintf("would use %d of a quota of %d", c.used+c.delta, *c.quota)
		}
	}
	if len(fields) > 0 {
		return &apierr.Error{Code: api.CodeQuotaExceeded, Fields: fields,
			Message: "this goes beyond your provider's resource quota; ask them for a larger quota"}
	}
	return nil
}
