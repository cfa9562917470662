package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
)

// The /api/v1/me/2fa routes act on the caller's own account only (session or API token).

func (h *handlers) enrollTwoFactor(c *fiber.Ctx) error {
	var req api.TwoFactorEnrollRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	out, err := h.Auth.EnrollTOTP(c.UserContext(), c.IP(), principal(c).User.ID, req.Password)
	if err != nil {
		return err
	}
	setAudit(c, "two_factor", principal(c).User.ID, principal(c).User.ID, nil)
	return c.JSON(out)
}

func (h *handlers) confirmTwoFactor(c *fiber.Ctx) error {
	var req api.TwoFactorCodeRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	codes, err := h.Auth.ConfirmTOTP(c.UserContext(), c.IP(), principal(c).User.ID, req.Code)
	if err != nil {
		return err
	}
	setAudit(c, "two_factor", principal(c).User.ID, principal(c).User.ID, nil)
	return c.JSON(api.RecoveryCodes{RecoveryCodes: codes})
}

func (h *handlers) disableTwoFactor(c *fiber.Ctx) error {
	var req api.TwoFactorDisableRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	if err := h.Auth.DisableTOTP(c.UserContext(), c.IP(), principal(c).User.ID, req.Password, req.Code); err != nil {
		return err
	}
	setAudit(c, "two_factor", principal(c).User.ID, principal(c).User.ID, nil)
	return c.SendStatus(http.StatusNoContent)
}

func (h *handlers) regenerateRecoveryCodes(c *fiber.Ctx) error {
	var req api.TwoFactorCodeRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	codes, err := h.Auth.RegenerateRecoveryCodes(c.UserContext(), c.IP(), principal(c).User.ID, req.Code)
	if err != nil {
		return err
	}
	setAudit(c, "two_factor", principal(c).User.ID, principal(c).User.ID, nil)
	return c.JSON(api.RecoveryCodes{RecoveryCodes: codes})
}
