package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/apierr"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// mountWallets registers the wallet routes: the caller's own wallets, and the admin's manual
// gateway (post entries, set credit limits, read any user's wallets).
func (h *handlers) mountWallets(v1 fiber.Router, authn, read, aread, awrite fiber.Handler) {
	v1.Get("/wallets", authn, read, h.myWallets)
	v1.Get("/wallets/:currency/entries", authn, read, h.myEntries)
	v1.Get("/admin/users/:id/wallets", authn, requireAdmin, aread, h.userWallets)
	v1.Get("/admin/users/:id/wallets/:currency/entries", authn, requireAdmin, aread, h.userEntries)
	v1.Patch("/admin/users/:id/wallets/:currency", authn, requireAdmin, awrite, h.setCreditLimit)
	v1.Post("/admin/users/:id/wallet/entries", authn, requireAdmin, awrite, h.postEntry)
}

func walletList(ws []store.Wallet) api.List[api.Wallet] {
	items := make([]api.Wallet, len(ws))
	for i, w := range ws {
		items[i] = billing.WalletAPI(w)
	}
	return api.List[api.Wallet]{Items: items, Page: 1, PerPage: len(items), Total: int64(len(items))}
}

func (h *handlers) wallets(c *fiber.Ctx, userID string) error {
	ws, err := h.Billing.Wallets(c.UserContext(), userID)
	if err != nil {
		return err
	}
	return c.JSON(walletList(ws))
}

func (h *handlers) entries(c *fiber.Ctx, userID string) error {
	page, perPage, err := paging(c)
	if err != nil {
		return err
	}
	w, es, total, err := h.Billing.Entries(c.UserContext(), userID, strings.Clone(c.Params("currency")), page, perPage)
	if err != nil {
		return err
	}
	items := make([]api.LedgerEntry, len(es))
	for i, e := range es {
		items[i] = billing.EntryAPI(e, w.Currency)
	}
	return c.JSON(api.List[api.LedgerEntry]{Items: items, Page: page, PerPage: perPage, Total: total})
}

func (h *handlers) myWallets(c *fiber.Ctx) error { return h.wallets(c, principal(c).User.ID) }

func (h *handlers) myEntries(c *fiber.Ctx) error { return h.entries(c, principal(c).User.ID) }

func (h *handlers) userWallets(c *fiber.Ctx) error {
	return h.wallets(c, strings.Clone(c.Params("id")))
}

func (h *handlers) userEntries(c *fiber.Ctx) error {
	return h.entries(c, strings.Clone(c.Params("id")))
}

func (h *handlers) setCreditLimit(c *fiber.Ctx) error {
	var req api.SetCreditLimitRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.CreditLimit == nil {
		return apierr.Validation(map[string]string{"credit_limit": "is required"})
	}
	w, err := h.Billing.SetCreditLimit(c.UserContext(), strings.Clone(c.Params("id")),
		strings.Clone(c.Params("currency")), *req.CreditLimit, principal(c).User.ID)
	if err != nil {
		return err
	}
	setAudit(c, "wallet", w.ID, w.UserID, map[string]any{"currency": w.Currency, "credit_limit": w.CreditLimit})
	return c.JSON(billing.WalletAPI(w))
}

// postEntry is the admin's manual gateway. Amounts of topup, refund and charge are positive
// and the kind gives the direction; an adjustment's amount is signed. See api.PostEntryRequest.
func (h *handlers) postEntry(c *fiber.Ctx) error {
	key := strings.Clone(c.Get(api.HeaderIdempotencyKey))
	if !billing.ValidKey(key) {
		return billing.BadKey(key)
	}
	var req api.PostEntryRequest
	if err := DecodeJSON(c, &req, false); err != nil {
		return err
	}
	amount := req.Amount
	f := map[string]string{}
	switch req.Kind {
	case api.EntryTopup, api.EntryRefund, api.EntryCharge:
		if req.Amount <= 0 {
			f["amount"] = "must be a positive number of minor units (the kind gives the direction)"
		}
		if req.Kind == api.EntryCharge {
			amount = -req.Amount
		}
	case api.EntryAdjustment:
		if req.Amount == 0 {
			f["amount"] = "must not be 0: positive credits the wallet, negative debits it"
		}
	default:
		f["kind"] = "must be topup, charge, refund or adjustment"
	}
	if _, bad := f["amount"]; !bad && (req.Amount > billing.MaxAmount || req.Amount < -billing.MaxAmount) {
		f["amount"] = fmt.Sprintf("must be at most %d minor units in magnitude", billing.MaxAmount)
	}
	if !billing.ValidCurrency(req.Currency) {
		f["currency"] = "must be a supported ISO-4217 code in upper case, such as USD or EUR"
	}
	if req.Kind == api.EntryAdjustment && strings.TrimSpace(req.Reason) == "" {
		f["reason"] = "is required for an adjustment"
	}
	if len(f) > 0 {
		return apierr.Validation(f)
	}
	res, err := h.Billing.Post(c.UserContext(), billing.PostRequest{
		UserID: strings.Clone(c.Params("id")), Currency: req.Currency, Kind: req.Kind, Amount: amount,
		IdempotencyKey: key, Reason: req.Reason, Reference: req.Reference, ActorID: principal(c).User.ID,
	})
	if err != nil {
		return err
	}
	setAudit(c, "wallet", res.Wallet.ID, res.Wallet.UserID, map[string]any{"entry_id": res.Entry.ID, "kind": res.Entry.Kind,
		"amount": res.Entry.Amount, "currency": res.Wallet.Currency, "replayed": res.Replayed})
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		c.Set(api.HeaderIdempotentReplayed, "true")
	}
	return c.Status(status).JSON(billing.EntryAPI(res.Entry, res.Wallet.Currency))
}
