package payment

import (
	"errors"
	"strconv"
	"strings"

	"github.com/nimbo-panel/nimbo/backend/internal/billing"
)

// decimal renders amount (≥ 0) minor units of currency as a plain decimal without the code,
// with all the currency's minor digits: decimal(1234, "CNY") = "12.34".
func decimal(amount int64, currency string) string {
	return strings.TrimSuffix(billing.Format(amount, currency), " "+currency)
}

// errAmount is a decimal amount that is not a valid money amount of the currency.
var errAmount = errors.New("not a decimal amount with at most the currency's minor digits")

// parseDecimal parses a non-negative decimal amount of currency such as "12.34", "12.3" or
// "12" into minor units (1234, 1230, 1200). Signs, exponents, spaces, more fraction digits
// than the currency has and amounts above billing.MaxAmount are refused.
func parseDecimal(s, currency string) (int64, error) {
	exp, ok := billing.Exponent(currency)
	if !ok || s == "" || len(s) > 32 {
		return 0, errAmount
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > exp)) || !digits(whole) || !digits(frac) {
		return 0, errAmount
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n > billing.MaxAmount {
		return 0, errAmount
	}
	return n, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
