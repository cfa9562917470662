package reseller

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// UpdateBranding changes the brand of reseller id (the fields req carries): brand name, logo
// URL, domain and support e-mail. Markup and quotas are the admin's.
func (s *Service) UpdateBranding(ctx context.Context, id string, req api.UpdateBrandingRequest) (api.Reseller, error) {
	f := map[string]string{}
	if req.BrandName != nil {
		if m := validBrand(*req.BrandName); m != "" {
			f["brand_name"] = m
		}
	}
	if req.LogoURL != nil && *req.LogoURL != "" {
		if m := validLogoURL(*req.LogoURL); m != "" {
			f["logo_url"] = m
		}
	}
	if req.Domain != nil && *req.Domain != "" {
		if m := validDomain(*req.Domain, s.panelHost()); m != "" {
			f["domain"] = m
		}
	}
	if req.SupportEmail != nil && *req.SupportEmail != "" {
		if m := auth.ValidateEmail(*req.SupportEmail); m != "" {
			f["support_email"] = m
		}
	}
	if len(f) > 0 {
		return api.Reseller{}, apierr.Validation(f)
	}
	var (
		u store.User
		p store.ResellerProfile
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var (
			err     error
			existed bool
		)
		if u, err = resellerUser(s.db.ForUpdate(tx), id); err != nil {
			return err
		}
		if p, existed, err = profile(s.db.ForUpdate(tx), u.ID); err != nil {
			return err
		}
		if req.BrandName != nil {
			p.BrandName = *req.BrandName
		}
		if req.LogoURL != nil {
			p.LogoURL = *req.LogoURL
		}
		if req.SupportEmail != nil {
			p.SupportEmail = *req.SupportEmail
		}
		if req.Domain != nil {
			if *req.Domain == "" {
				p.Domain = nil
			} else {
				d := *req.Domain
				var n int64
				if err := tx.Model(&store.ResellerProfile{}).Where("domain = ? AND user_id <> ?", d, u.ID).Count(&n).Error; err != nil {
					return fmt.Errorf("check domain: %w", err)
				}
				if n > 0 {
					return domainTaken()
				}
				p.Domain = &d
			}
		}
		if validBrand(p.BrandName) != "" {
			return apierr.Validation(map[string]string{"brand_name": "is required"})
		}
		p.UpdatedAt = store.Now()
		return saveProfile(tx, p, existed)
	})
	if err != nil {
		return api.Reseller{}, err
	}
	s.log.InfoContext(ctx, "reseller branding changed", "user_id", u.ID)
	return s.view(ctx, u, p)
}

// Branding returns the brand of the reseller whose domain is host (a Host header value; its
// port is ignored), or provider when no reseller uses it.
func (s *Service) Branding(ctx context.Context, host string, provider api.Branding) (api.Branding, error) {
	h := HostOnly(host)
	if h == "" {
		return provider, nil
	}
	var p store.ResellerProfile
	err := s.db.WithContext(ctx).Table("reseller_profiles").Select("reseller_profiles.*").
		Joins("JOIN users ON users.id = reseller_profiles.user_id").
		Where("reseller_profiles.domain = ? AND users.role = ?", h, api.RoleReseller).Take(&p).Error
	if store.IsNotFound(err) {
		return provider, nil
	}
	if err != nil {
		return api.Branding{}, fmt.Errorf("read branding: %w", err)
	}
	return api.Branding{Name: p.BrandName, LogoURL: p.LogoURL, SupportEmail: p.SupportEmail, Reseller: true}, nil
}

// Quota returns a reseller's quotas and current usage.
func (s *Service) Quota(ctx context.Context, id string) (api.ResellerQuotaUsage, error) {
	db := s.db.WithContext(ctx)
	u, err := resellerUser(db, id)
	if err != nil {
		return api.ResellerQuotaUsage{}, err
	}
	p, _, err := profile(db, u.ID)
	if err != nil {
		return api.ResellerQuotaUsage{}, err
	}
	usage, err := s.Usage(ctx, db, u.ID)
	if err != nil {
		return api.ResellerQuotaUsage{}, err
	}
	return api.ResellerQuotaUsage{
		Quota: api.ResellerQuota{Servers: p.QuotaServers, CPU: p.QuotaCPU, MemoryMiB: p.QuotaMemoryMiB, DiskMiB: p.QuotaDiskMiB},
		Usage: api.ResellerResources(usage),
	}, nil
}
