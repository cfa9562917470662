// Package proration changes the plan of a subscription mid-period: it prices the change
// (the difference between the new and old price for the rest of the period), moves the
// money on the customer's and the reseller's wallets with an invoice, updates the
// subscription and asks for the server's resize, all in one transaction; when the resize
// finishes it settles what was deferred (a downgrade's credit) or undoes the change (a
// failed resize).
//
// The rule for money is "debits up front, credits on delivery": what a wallet pays is
// charged when the change is accepted (and refunded if the resize fails); what a wallet gets
// back is credited once the resize has succeeded. No step of the finish hook can therefore
// fail for lack of funds.
package proration

import (
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Amount returns diff × remaining / period rounded half away from zero, computed exactly
// (math/big). remaining is clamped to [0, period]; a period ≤ 0 prorates to 0. The result's
// magnitude never exceeds |diff|.
func Amount(diff, remaining, period int64) (int64, error) {
	if period <= 0 || diff == 0 {
		return 0, nil
	}
	remaining = min(max(remaining, 0), period)
	num := new(big.Int).Mul(big.NewInt(diff), big.NewInt(remaining))
	neg := num.Sign() < 0
	num.Abs(num)
	den := big.NewInt(period)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, errors.New("prorated amount overflows")
	}
	return q.Int64(), nil
}

// Seconds returns the length of [from, to) in whole seconds (0 when to is not after from).
func Seconds(from, to time.Time) int64 {
	if !to.After(from) {
		return 0
	}
	return int64(to.Sub(from) / time.Second)
}

// remainingText describes what is left of a period for an invoice line: "15 days",
// "1 day", or hours under a day ("5 hours", "less than an hour").
func remainingText(seconds int64) string {
	const day, hour = 86400, 3600
	switch {
	case seconds >= day:
		n := (seconds + day/2) / day
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	case seconds >= hour:
		n := (seconds + hour/2) / hour
		if n == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", n)
	}
	return "less than an hour"
}
