package reseller

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

func planNotFound() error { return apierr.NotFound("plan not found") }

// sellable limits q to the plans a reseller may price: active and not archived.
func sellable(q *gorm.DB) *gorm.DB { return q.Where("active = ? AND archived_at IS NULL", true) }

// retailOf is plan's retail price for a reseller with markup bp and its override own (nil
// when it set none), as Quote computes it.
func retailOf(plan store.Plan, own *store.ResellerPrice, bp int64) (Price, error) {
	if own != nil {
		return Price{Month: own.PriceMonth, Hour: own.PriceHour, Setup: own.SetupFee, Currency: plan.Currency}, nil
	}
	m, ok1 := markup(plan.PriceMonth, bp)
	h, ok2 := markup(plan.PriceHour, bp)
	st, ok3 := markup(plan.SetupFee, bp)
	if !ok1 || !ok2 || !ok3 {
		return Price{}, apierr.Validation(map[string]string{"plan_id": "the reseller's markup overflows this plan's price"})
	}
	return Price{Month: m, Hour: h, Setup: st, Currency: plan.Currency}, nil
}

// overrides reads the reseller's own prices for plans ids, by plan id.
func overrides(q *gorm.DB, resellerID string, ids []string) (map[string]*store.ResellerPrice, error) {
	out := make(map[string]*store.ResellerPrice, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []store.ResellerPrice
	if err := q.Where("reseller_id = ? AND plan_id IN ?", resellerID, ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read reseller prices: %w", err)
	}
	for i := range rows {
		out[rows[i].PlanID] = &rows[i]
	}
	return out, nil
}

// Retail returns, in the order of plans, the retail prices the customers of resellerID pay
// for them: the same result as Quote for each plan, read with two queries.
func (s *Service) Retail(ctx context.Context, resellerID string, plans []store.Plan) ([]Price, error) {
	db := s.db.WithContext(ctx)
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.ID
	}
	own, err := overrides(db, resellerID, ids)
	if err != nil {
		return nil, err
	}
	prof, _, err := profile(db, resellerID)
	if err != nil {
		return nil, err
	}
	out := make([]Price, len(plans))
	for i, p := range plans {
		if out[i], err = retailOf(p, own[p.ID], prof.MarkupBP); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// priceAPI builds the wire form of one plan's prices for a reseller.
func priceAPI(p store.Plan, own *store.ResellerPrice, bp int64) (api.ResellerPrice, error) {
	r, err := retailOf(p, own, bp)
	if err != nil {
		return api.ResellerPrice{}, err
	}
	exp, _ := billing.Exponent(p.Currency)
	out := api.ResellerPrice{
		PlanID: p.ID, Name: p.Name, Type: p.Type, CPU: p.CPU, MemoryMiB: p.MemoryMiB, DiskMiB: p.DiskMiB,
		Currency: p.Currency, Exponent: exp,
		Wholesale: api.PlanPrices{PriceMonth: p.PriceMonth, PriceHour: p.PriceHour, SetupFee: p.SetupFee},
		Retail:    api.PlanPrices{PriceMonth: r.Month, PriceHour: r.Hour, SetupFee: r.Setup},
		Override:  own != nil,
	}
	out.BelowWholesale = r.Month < p.PriceMonth || r.Hour < p.PriceHour || r.Setup < p.SetupFee
	return out, nil
}

// Prices returns one page of the plans a reseller may sell (active, not archived), by name,
// with wholesale and retail prices, and the total.
func (s *Service) Prices(ctx context.Context, resellerID string, page, perPage int) ([]api.ResellerPrice, int64, error) {
	db := s.db.WithContext(ctx)
	q := sellable(db.Model(&store.Plan{}))
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count plans: %w", err)
	}
	plans := []store.Plan{}
	if err := q.Order("name, id").Limit(perPage).Offset((page - 1) * perPage).Find(&plans).Error; err != nil {
		return nil, 0, fmt.Errorf("list plans: %w", err)
	}
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.ID
	}
	own, err := overrides(db, resellerID, ids)
	if err != nil {
		return nil, 0, err
	}
	prof, _, err := profile(db, resellerID)
	if err != nil {
		return nil, 0, err
	}
	out := make([]api.ResellerPrice, len(plans))
	for i, p := range plans {
		if out[i], err = priceAPI(p, own[p.ID], prof.MarkupBP); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// plan reads a plan inside q; with forSale, an inactive or archived plan is not found.
func plan(q *gorm.DB, id string, forSale bool) (store.Plan, error) {
	var p store.Plan
	if uuid.Validate(id) != nil {
		return p, planNotFound()
	}
	q = q.Where("id = ?", id)
	if forSale {
		q = sellable(q)
	}
	err := q.Take(&p).Error
	if store.IsNotFound(err) {
		return p, planNotFound()
	}
	if err != nil {
		return p, fmt.Errorf("read plan: %w", err)
	}
	return p, nil
}

// SetPrice sets the reseller's own retail prices for a plan it may sell. Each price is 0 to
// billing.MaxAmount and not below the plan's wholesale price: a reseller cannot sell at a loss.
func (s *Service) SetPrice(ctx context.Context, resellerID, planID string, req api.SetResellerPriceRequest) (api.ResellerPrice, error) {
	f := map[string]string{}
	check := func(name string, v *int64) {
		switch {
		case v == nil:
			f[name] = "is required"
		case *v < 0 || *v > billing.MaxAmount:
			f[name] = fmt.Sprintf("must be from 0 to %d minor units", billing.MaxAmount)
		}
	}
	check("price_month", req.PriceMonth)
	check("price_hour", req.PriceHour)
	check("setup_fee", req.SetupFee)
	var out api.ResellerPrice
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := plan(tx, planID, true)
		if err != nil {
			return err
		}
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		below := func(name string, v, wholesale int64) {
			if v < wholesale {
				f[name] = fmt.Sprintf("must not be below the wholesale price of %s: a reseller cannot sell at a loss",
					billing.Format(wholesale, p.Currency))
			}
		}
		below("price_month", *req.PriceMonth, p.PriceMonth)
		below("price_hour", *req.PriceHour, p.PriceHour)
		below("setup_fee", *req.SetupFee, p.SetupFee)
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		own := store.ResellerPrice{ResellerID: resellerID, PlanID: p.ID, PriceMonth: *req.PriceMonth,
			PriceHour: *req.PriceHour, SetupFee: *req.SetupFee, UpdatedAt: store.Now()}
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "reseller_id"}, {Name: "plan_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"price_month", "price_hour", "setup_fee", "updated_at"}),
		}).Create(&own).Error; err != nil {
			return fmt.Errorf("save reseller price: %w", err)
		}
		prof, _, err := profile(tx, resellerID)
		if err != nil {
			return err
		}
		out, err = priceAPI(p, &own, prof.MarkupBP)
		return err
	})
	if err != nil {
		return api.ResellerPrice{}, err
	}
	return out, nil
}

// DeletePrice removes the reseller's own price for a plan (its customers pay the markup price
// again) and returns the plan's prices as they are now. Removing a price that was not set
// changes nothing.
func (s *Service) DeletePrice(ctx context.Context, resellerID, planID string) (api.ResellerPrice, error) {
	var out api.ResellerPrice
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := plan(tx, planID, false)
		if err != nil {
			return err
		}
		if err := tx.Where("reseller_id = ? AND plan_id = ?", resellerID, p.ID).Delete(&store.ResellerPrice{}).Error; err != nil {
			return fmt.Errorf("delete reseller price: %w", err)
		}
		prof, _, err := profile(tx, resellerID)
		if err != nil {
			return err
		}
		out, err = priceAPI(p, nil, prof.MarkupBP)
		return err
	})
	if err != nil {
		return api.ResellerPrice{}, err
	}
	return out, nil
}
