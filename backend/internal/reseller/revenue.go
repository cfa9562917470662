package reseller

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
)

// MonthOf returns the calendar month (UTC) that holds t: [first day 00:00, first of next).
func MonthOf(t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 1, 0)
}

// Revenue sums a reseller's revenue in [from, to) per currency, from the ledger: retail is
// what its customers' wallets were charged minus what they were refunded (entries of kind
// charge and refund), wholesale what the reseller's own wallet settled with the provider
// (entries of kind settlement, net of settlement credits), margin = retail − wholesale.
func (s *Service) Revenue(ctx context.Context, resellerID string, from, to time.Time) (api.Revenue, error) {
	db := s.db.WithContext(ctx)
	type sum struct {
		Currency string
		Total    int64
	}
	var retail, wholesale []sum
	if err := db.Raw(`SELECT w.currency AS currency, CAST(COALESCE(-SUM(le.amount), 0) AS BIGINT) AS total
		FROM ledger_entries le
		JOIN wallets w ON w.id = le.wallet_id
		JOIN users u ON u.id = w.user_id
		WHERE u.reseller_id = ? AND le.kind IN ? AND le.created_at >= ? AND le.created_at < ?
		GROUP BY w.currency`, resellerID, []string{api.EntryCharge, api.EntryRefund}, from.UTC(), to.UTC()).
		Scan(&retail).Error; err != nil {
		return api.Revenue{}, fmt.Errorf("sum retail revenue: %w", err)
	}
	if err := db.Raw(`SELECT w.currency AS currency, CAST(COALESCE(-SUM(le.amount), 0) AS BIGINT) AS total
		FROM ledger_entries le
		JOIN wallets w ON w.id = le.wallet_id
		WHERE w.user_id = ? AND le.kind = ? AND le.created_at >= ? AND le.created_at < ?
		GROUP BY w.currency`, resellerID, api.EntrySettlement, from.UTC(), to.UTC()).
		Scan(&wholesale).Error; err != nil {
		return api.Revenue{}, fmt.Errorf("sum wholesale cost: %w", err)
	}
	lines := map[string]*api.RevenueLine{}
	line := func(cur string) *api.RevenueLine {
		l := lines[cur]
		if l == nil {
			exp, _ := billing.Exponent(cur)
			l = &api.RevenueLine{Currency: cur, Exponent: exp}
			lines[cur] = l
		}
		return l
	}
	for _, r := range retail {
		line(r.Currency).Retail = r.Total
	}
	for _, w := range wholesale {
		line(w.Currency).Wholesale = w.Total
	}
	out := api.Revenue{From: from.UTC(), To: to.UTC(), Items: make([]api.RevenueLine, 0, len(lines))}
	for _, l := range lines {
		l.Margin = l.Retail - l.Wholesale
		out.Items = append(out.Items, *l)
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Currency < out.Items[j].Currency })
	return out, nil
}
