package reseller

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

func notFound() error { return apierr.NotFound("reseller not found") }

func domainTaken() error { return apierr.Conflict("another reseller already uses this domain") }

// ProfileAPI converts a reseller's account and profile, its usage and customer count to the
// wire form.
func ProfileAPI(u store.User, p store.ResellerProfile, usage Resources, customers int64) api.Reseller {
	out := api.Reseller{
		ID: u.ID, Email: u.Email, BrandName: p.BrandName, LogoURL: p.LogoURL, SupportEmail: p.SupportEmail,
		MarkupBP: p.MarkupBP, Customers: customers, CreatedAt: u.CreatedAt, UpdatedAt: p.UpdatedAt,
		Quota: api.ResellerQuota{Servers: p.QuotaServers, CPU: p.QuotaCPU, MemoryMiB: p.QuotaMemoryMiB, DiskMiB: p.QuotaDiskMiB},
		Usage: api.ResellerResources(usage),
	}
	if p.Domain != nil {
		out.Domain = *p.Domain
	}
	if out.UpdatedAt.IsZero() {
		out.UpdatedAt = u.UpdatedAt
	}
	return out
}

// CreateReseller creates an account with role reseller (e-mail counted as verified) and its
// profile in one transaction. A taken e-mail or domain is a conflict.
func (s *Service) CreateReseller(ctx context.Context, req api.CreateResellerRequest) (api.Reseller, error) {
	email := auth.NormalizeEmail(req.Email)
	f := map[string]string{}
	if m := auth.ValidateEmail(email); m != "" {
		f["email"] = m
	}
	if m := auth.ValidatePassword(req.Password); m != "" {
		f["password"] = m
	}
	if m := validBrand(req.BrandName); m != "" {
		f["brand_name"] = m
	}
	if req.Domain != "" {
		if m := validDomain(req.Domain, s.panelHost()); m != "" {
			f["domain"] = m
		}
	}
	if req.SupportEmail != "" {
		if m := auth.ValidateEmail(req.SupportEmail); m != "" {
			f["support_email"] = m
		}
	}
	if req.LogoURL != "" {
		if m := validLogoURL(req.LogoURL); m != "" {
			f["logo_url"] = m
		}
	}
	if m := validMarkup(req.MarkupBP); m != "" {
		f["markup_bp"] = m
	}
	for name, q := range map[string]*int64{"quota_servers": req.QuotaServers, "quota_cpu": req.QuotaCPU,
		"quota_memory_mib": req.QuotaMemoryMiB, "quota_disk_mib": req.QuotaDiskMiB} {
		if m := validQuota(q); m != "" {
			f[name] = m
		}
	}
	if len(f) > 0 {
		return api.Reseller{}, apierr.Validation(f)
	}
	hash, err := auth.HashPassword(req.Password, s.opt.Password)
	if err != nil {
		return api.Reseller{}, err
	}
	now := store.Now()
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: api.RoleReseller,
		EmailVerifiedAt: &now, CreatedAt: now, UpdatedAt: now}
	p := store.ResellerProfile{UserID: u.ID, BrandName: req.BrandName, LogoURL: req.LogoURL,
		SupportEmail: req.SupportEmail, MarkupBP: req.MarkupBP, QuotaServers: req.QuotaServers, QuotaCPU: req.QuotaCPU,
		QuotaMemoryMiB: req.QuotaMemoryMiB, QuotaDiskMiB: req.QuotaDiskMiB, CreatedAt: now, UpdatedAt: now}
	if req.Domain != "" {
		d := req.Domain
		p.Domain = &d
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if p.Domain != nil {
			var n int64
			if err := tx.Model(&store.ResellerProfile{}).Where("domain = ?", *p.Domain).Count(&n).Error; err != nil {
				return fmt.Errorf("check domain: %w", err)
			}
			if n > 0 {
				return domainTaken()
			}
		}
		if err := tx.Create(&u).Error; err != nil {
			if store.IsDuplicate(err) {
				return apierr.Conflict("a user with this email already exists")
			}
			return fmt.Errorf("insert user: %w", err)
		}
		if err := tx.Create(&p).Error; err != nil {
			if store.IsDuplicate(err) {
				return domainTaken()
			}
			return fmt.Errorf("insert reseller profile: %w", err)
		}
		return nil
	})
	if err != nil {
		return api.Reseller{}, err
	}
	s.log.InfoContext(ctx, "reseller created", "user_id", u.ID)
	return ProfileAPI(u, p, Resources{}, 0), nil
}

// resellerUser reads a user with role reseller inside q; anything else is not found.
func resellerUser(q *gorm.DB, id string) (store.User, error) {
	var u store.User
	if uuid.Validate(id) != nil {
		return u, notFound()
	}
	err := q.Where("id = ? AND role = ?", id, api.RoleReseller).Take(&u).Error
	if store.IsNotFound(err) {
		return u, notFound()
	}
	if err != nil {
		return u, fmt.Errorf("read reseller: %w", err)
	}
	return u, nil
}

// profile reads a reseller's profile inside q; a reseller without one has the defaults (no
// brand, no markup, unlimited quotas).
func profile(q *gorm.DB, id string) (store.ResellerProfile, bool, error) {
	var p store.ResellerProfile
	err := q.Where("user_id = ?", id).Take(&p).Error
	if store.IsNotFound(err) {
		return store.ResellerProfile{UserID: id}, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read reseller profile: %w", err)
	}
	return p, true, nil
}

// customerCounts counts the customers of each reseller in ids.
func customerCounts(q *gorm.DB, ids []string) (map[string]int64, error) {
	var rows []struct {
		ResellerID string
		N          int64
	}
	if err := q.Model(&store.User{}).Select("reseller_id, COUNT(*) AS n").Where("reseller_id IN ?", ids).
		Group("reseller_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count customers: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ResellerID] = r.N
	}
	return out, nil
}

// view builds the wire form of a reseller with its current usage and customer count.
func (s *Service) view(ctx context.Context, u store.User, p store.ResellerProfile) (api.Reseller, error) {
	db := s.db.WithContext(ctx)
	usage, err := s.Usage(ctx, db, u.ID)
	if err != nil {
		return api.Reseller{}, err
	}
	counts, err := customerCounts(db, []string{u.ID})
	if err != nil {
		return api.Reseller{}, err
	}
	return ProfileAPI(u, p, usage, counts[u.ID]), nil
}

// Reseller returns one reseller with its usage; a user that is not a reseller is not found.
func (s *Service) Reseller(ctx context.Context, id string) (api.Reseller, error) {
	db := s.db.WithContext(ctx)
	u, err := resellerUser(db, id)
	if err != nil {
		return api.Reseller{}, err
	}
	p, _, err := profile(db, u.ID)
	if err != nil {
		return api.Reseller{}, err
	}
	return s.view(ctx, u, p)
}

// Resellers returns one page of resellers, newest first, with their usage, and the total.
// q, when set, keeps those whose e-mail or brand contains it.
func (s *Service) Resellers(ctx context.Context, q string, page, perPage int) ([]api.Reseller, int64, error) {
	db := s.db.WithContext(ctx)
	base := db.Model(&store.User{}).Where("role = ?", api.RoleReseller)
	if q != "" {
		pat := store.LikePattern(q)
		base = base.Where(`(email LIKE ? ESCAPE '\' OR id IN (SELECT user_id FROM reseller_profiles WHERE brand_name LIKE ? ESCAPE '\'))`, pat, pat)
	}
	var total int64
	if err := base.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count resellers: %w", err)
	}
	var users []store.User
	if err := base.Order("created_at DESC, id DESC").Limit(perPage).Offset((page - 1) * perPage).Find(&users).Error; err != nil {
		return nil, 0, fmt.Errorf("list resellers: %w", err)
	}
	out := make([]api.Reseller, 0, len(users))
	if len(users) == 0 {
		return out, total, nil
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	var profs []store.ResellerProfile
	if err := db.Where("user_id IN ?", ids).Find(&profs).Error; err != nil {
		return nil, 0, fmt.Errorf("list reseller profiles: %w", err)
	}
	byID := make(map[string]store.ResellerProfile, len(profs))
	for _, p := range profs {
		byID[p.UserID] = p
	}
	counts, err := customerCounts(db, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, u := range users {
		usage, err := s.Usage(ctx, db, u.ID)
		if err != nil {
			return nil, 0, err
		}
		p, ok := byID[u.ID]
		if !ok {
			p = store.ResellerProfile{UserID: u.ID}
		}
		out = append(out, ProfileAPI(u, p, usage, counts[u.ID]))
	}
	return out, total, nil
}

// saveProfile writes p (inside tx), inserting it when the reseller had none.
func saveProfile(tx *gorm.DB, p store.ResellerProfile, existed bool) error {
	if !existed {
		p.CreatedAt = p.UpdatedAt
		if err := tx.Create(&p).Error; err != nil {
			if store.IsDuplicate(err) {
				return domainTaken()
			}
			return fmt.Errorf("insert reseller profile: %w", err)
		}
		return nil
	}
	err := tx.Model(&store.ResellerProfile{}).Where("user_id = ?", p.UserID).Updates(map[string]any{
		"brand_name": p.BrandName, "logo_url": p.LogoURL, "domain": p.Domain, "support_email": p.SupportEmail,
		"markup_bp": p.MarkupBP, "quota_servers": p.QuotaServers, "quota_cpu": p.QuotaCPU,
		"quota_memory_mib": p.QuotaMemoryMiB, "quota_disk_mib": p.QuotaDiskMiB, "updated_at": p.UpdatedAt,
	}).Error
	if store.IsDuplicate(err) {
		return domainTaken()
	}
	if err != nil {
		return fmt.Errorf("update reseller profile: %w", err)
	}
	return nil
}

// optionalQuota applies a quota field of a PATCH to q: absent leaves it, null is unlimited.
func optionalQuota(f map[string]string, name string, o api.OptionalInt64, q **int64) {
	if !o.Set {
		return
	}
	if o.Null {
		*q = nil
		return
	}
	v := o.Value
	if m := validQuota(&v); m != "" {
		f[name] = m
		return
	}
	*q = &v
}

// UpdateReseller changes a reseller's markup and quotas (the fields req carries).
func (s *Service) UpdateReseller(ctx context.Context, id string, req api.UpdateResellerRequest) (api.Reseller, error) {
	var (
		u store.User
		p store.ResellerProfile
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if u, err = resellerUser(s.db.ForUpdate(tx), id); err != nil {
			return err
		}
		var existed bool
		if p, existed, err = profile(s.db.ForUpdate(tx), u.ID); err != nil {
			return err
		}
		f := map[string]string{}
		if req.MarkupBP != nil {
			if m := validMarkup(*req.MarkupBP); m != "" {
				f["markup_bp"] = m
			}
			p.MarkupBP = *req.MarkupBP
		}
		optionalQuota(f, "quota_servers", req.QuotaServers, &p.QuotaServers)
		optionalQuota(f, "quota_cpu", req.QuotaCPU, &p.QuotaCPU)
		optionalQuota(f, "quota_memory_mib", req.QuotaMemoryMiB, &p.QuotaMemoryMiB)
		optionalQuota(f, "quota_disk_mib", req.QuotaDiskMiB, &p.QuotaDiskMiB)
		if len(f) > 0 {
			return apierr.Validation(f)
		}
		p.UpdatedAt = store.Now()
		return saveProfile(tx, p, existed)
	})
	if err != nil {
		return api.Reseller{}, err
	}
	return s.view(ctx, u, p)
}
