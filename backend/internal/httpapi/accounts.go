package httpapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/auth"
)

// mountAccounts registers self-service accounts: sign-up, e-mail verification, password reset
// (no credential), and the caller's verification re-send and notification settings.
func (h *handlers) mountAccounts(v1 fiber.Router, authn fiber.Handler) {
	v1.Post("/auth/signup", h.signup)
	v1.Post("/auth/verify-email", h.verifyEmail)
	v1.Post("/auth/password-reset", h.requestPasswordReset)
	v1.Post("/auth/password-reset/confirm", h.confirmPasswordReset)
	v1.Post("/me/email/verification", authn, h.resendVerification)
	v1.Get("/me/notifications", authn, h.notificationSettings)
	v1.Put("/me/notifications", authn, h.updateNotificationSettings)
}

// signup creates a customer account (of the reseller whose domain the request's Host names)
// and signs it in with a session cookie, like a login.
func (h *handlers) signup(c *fiber.Ctx) error {
	var req api.SignupRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	u, token, exp, err := h.Accounts.Signup(c.UserContext(), c.IP(), c.Get(fiber.HeaderUserAgent), strings.Clone(c.Hostname()), req)
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: exp, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: h.Config.Secure()})
	setAuditActor(c, u.ID)
	details := map[string]any{"role": u.Role}
	if u.ResellerID != nil {
		details["reseller_id"] = *u.ResellerID
	}
	setAudit(c, "user", u.ID, u.ID, details)
	return c.Status(http.StatusCreated).JSON(auth.UserAPI(u))
}

func (h *handlers) verifyEmail(c *fiber.Ctx) error {
	var req api.VerifyEmailRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	u, err := h.Accounts.VerifyEmail(c.UserContext(), req.Token)
	if err != nil {
		return err
	}
	setAuditActor(c, u.ID)
	setAudit(c, "user", u.ID, u.ID, nil)
	return c.JSON(auth.UserAPI(u))
}

// requestPasswordReset answers 202 whether or not the address has an account.
func (h *handlers) requestPasswordReset(c *fiber.Ctx) error {
	var req api.PasswordResetRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	userID, err := h.Accounts.RequestPasswordReset(c.UserContext(), c.IP(), req.Email)
	if err != nil {
		return err
	}
	if userID != "" {
		// The account's owner may read that a reset was asked for, and from where.
		setAudit(c, "user", userID, userID, nil)
	}
	return c.Status(http.StatusAccepted).JSON(api.Accepted{Status: "accepted"})
}

// confirmPasswordReset sets the new password; every session of the account ends, the
// caller's cookie included.
func (h *handlers) confirmPasswordReset(c *fiber.Ctx) error {
	var req api.PasswordResetConfirmRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	u, err := h.Accounts.ConfirmPasswordReset(c.UserContext(), req.Token, req.Password)
	if err != nil {
		return err
	}
	h.clearSessionCookie(c)
	setAuditActor(c, u.ID)
	setAudit(c, "user", u.ID, u.ID, nil)
	return c.JSON(auth.UserAPI(u))
}

func (h *handlers) resendVerification(c *fiber.Ctx) error {
	if err := DecodeJSON(c, &struct{}{}, true); err != nil {
		return err
	}
	me := principal(c).User.ID
	if err := h.Accounts.ResendVerification(c.UserContext(), me); err != nil {
		return err
	}
	setAudit(c, "user", me, me, nil)
	return c.Status(http.StatusAccepted).JSON(api.Accepted{Status: "accepted"})
}

func (h *handlers) notificationSettings(c *fiber.Ctx) error {
	out, err := h.Notify.Settings(c.UserContext(), principal(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *handlers) updateNotificationSettings(c *fiber.Ctx) error {
	var req api.UpdateNotificationSettingsRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	me := principal(c).User.ID
	out, err := h.Notify.UpdateSettings(c.UserContext(), me, req)
	if err != nil {
		return err
	}
	details := map[string]any{"webhook_url": out.WebhookURL, "secret_rotated": out.WebhookSecret != ""}
	if req.LowBalance != nil {
		details["low_balance"] = out.LowBalance
	}
	setAudit(c, "notification_settings", me, me, details)
	return c.JSON(out)
}
