package api

import "time"

// Invoice statuses: an open invoice is due; paid and void are final.
const (
	InvoiceOpen = "open"
	InvoicePaid = "paid"
	InvoiceVoid = "void"
)

// Invoice is a numbered, immutable bill. Amounts are minor units of Currency (Exponent
// digits). IssuerID is "" for the provider and the reseller's user id otherwise; the seller
// and buyer fields are what was printed when it was issued. Lines are present when one
// invoice is read, absent from lists.
type Invoice struct {
	ID             string        `json:"id"`
	Number         string        `json:"number"`
	IssuerID       string        `json:"issuer_id"`
	UserID         string        `json:"user_id"`
	SubscriptionID *string       `json:"subscription_id"`
	OrderID        *string       `json:"order_id"`
	Status         string        `json:"status"`
	Currency       string        `json:"currency"`
	Exponent       int           `json:"exponent"`
	Subtotal       int64         `json:"subtotal"`
	Discount       int64         `json:"discount"`
	Total          int64         `json:"total"`
	PeriodStart    *time.Time    `json:"period_start"`
	PeriodEnd      *time.Time    `json:"period_end"`
	SellerName     string        `json:"seller_name"`
	SellerEmail    string        `json:"seller_email"`
	BuyerEmail     string        `json:"buyer_email"`
	IssuedAt       time.Time     `json:"issued_at"`
	DueAt          *time.Time    `json:"due_at"`
	PaidAt         *time.Time    `json:"paid_at"`
	Lines          []InvoiceLine `json:"lines,omitempty"`
}

// InvoiceLine is Quantity × UnitAmount = Amount (minor units; negative for a credit).
type InvoiceLine struct {
	Position    int    `json:"position"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitAmount  int64  `json:"unit_amount"`
	Amount      int64  `json:"amount"`
}
