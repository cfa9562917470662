package auth

import (
	"slices"
	"strings"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// allScopes lists every scope in a stable order.
func allScopes() []string {
	return []string{api.ScopeServersRead, api.ScopeServersWrite, api.ScopeAdminRead, api.ScopeAdminWrite,
		api.ScopeResellerRead, api.ScopeResellerWrite}
}

// RoleScopes returns the scopes a role may hold.
func RoleScopes(role string) []string {
	switch role {
	case api.RoleAdmin:
		return allScopes()
	case api.RoleReseller:
		return []string{api.ScopeServersRead, api.ScopeServersWrite, api.ScopeResellerRead, api.ScopeResellerWrite}
	case api.RoleCustomer:
		return []string{api.ScopeServersRead, api.ScopeServersWrite}
	}
	return nil
}

// Principal is who is calling: a user and the scopes of the credential used.
type Principal struct {
	User   api.User
	Scopes []string
	// TokenID is set when the call used an API token.
	TokenID string
	// SessionID is the id of the session when the call used a session cookie.
	SessionID string
}

// Admin reports whether the caller has the admin role.
func (p *Principal) Admin() bool { return p.User.Role == api.RoleAdmin }

// Reseller reports whether the caller has the reseller role.
func (p *Principal) Reseller() bool { return p.User.Role == api.RoleReseller }

// Has reports whether the credential carries scope.
func (p *Principal) Has(scope string) bool { return slices.Contains(p.Scopes, scope) }

// parseScopes splits a stored scope list and keeps only those the role still allows.
func parseScopes(stored, role string) []string {
	allowed := RoleScopes(role)
	var out []string
	for s := range strings.FieldsSeq(stored) {
		if slices.Contains(allowed, s) {
			out = append(out, s)
		}
	}
	return out
}
