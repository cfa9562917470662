package billing

import (
	"math"
	"strconv"
	"strings"
)

// MaxAmount bounds the size of one entry and of a credit limit, in minor units (10^15: ten
// trillion US dollars). Balances stay far from int64 overflow; Post still checks explicitly.
const MaxAmount int64 = 1_000_000_000_000_000

// Exponent returns the number of minor-unit digits of an ISO-4217 currency code Nimbo accepts,
// and whether the code is accepted. The allow-list, with exponents from ISO 4217:
//
//	0: JPY, KRW
//	2: AUD, BRL, CAD, CHF, CNY, CZK, DKK, EUR, GBP, HKD, INR, MXN, NOK, NZD, PLN, RUB,
//	   SEK, SGD, TRY, USD, ZAR
//	3: BHD, KWD
//
// Codes are exactly three upper-case letters; "usd" is not accepted.
func Exponent(code string) (int, bool) {
	switch code {
	case "JPY", "KRW":
		return 0, true
	case "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "INR", "MXN", "NOK",
		"NZD", "PLN", "RUB", "SEK", "SGD", "TRY", "USD", "ZAR":
		return 2, true
	case "BHD", "KWD":
		return 3, true
	}
	return 0, false
}

// ValidCurrency reports whether code is an accepted currency.
func ValidCurrency(code string) bool {
	_, ok := Exponent(code)
	return ok
}

// Format renders amount minor units of currency as a decimal string with the code, e.g.
// Format(-1050, "USD") = "-10.50 USD" and Format(1050, "JPY") = "1050 JPY".
func Format(amount int64, currency string) string {
	exp, _ := Exponent(currency)
	neg := amount < 0
	// Through uint64 so that math.MinInt64 has a magnitude.
	mag := uint64(amount)
	if neg {
		mag = -mag
	}
	digits := strconv.FormatUint(mag, 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits + " " + currency
}

// addChecked returns a+b and whether it did not overflow int64.
func addChecked(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}
