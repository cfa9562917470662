// Formatting of money (integer minor units), sizes and times for the current locale.
// Intl formatters are costly to build (a table of 20 rows builds dozens): they are cached
// per locale and options.

const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()

/** numberFormat returns the cached Intl.NumberFormat for locale and opts (throws like it). */
function numberFormat(locale: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${locale}|${JSON.stringify(opts)}`
  let f = formatters.get(key) as Intl.NumberFormat | undefined
  if (!f) {
    f = new Intl.NumberFormat(locale, opts)
    formatters.set(key, f)
  }
  return f
}

/** dateFormat returns the cached Intl.DateTimeFormat for locale and opts. */
function dateFormat(locale: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale}|${JSON.stringify(opts)}`
  let f = formatters.get(key) as Intl.DateTimeFormat | undefined
  if (!f) {
    f = new Intl.DateTimeFormat(locale, opts)
    formatters.set(key, f)
  }
  return f
}

/** minorToDecimal renders an integer amount of minor units as an exact decimal string. */
export function minorToDecimal(amount: number, exponent: number): string {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`not an integer amount: ${amount}`)
  const neg = amount < 0
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0')
  const whole = exponent > 0 ? digits.slice(0, -exponent) : digits
  const frac = exponent > 0 ? digits.slice(-exponent) : ''
  return (neg ? '-' : '') + whole + (frac ? `.${frac}` : '')
}

/** formatMoney renders minor units of currency (exponent digits) with the locale's symbols. */
export function formatMoney(amount: number, currency: string, exponent: number, locale: string): string {
  const dec = minorToDecimal(amount, exponent)
  try {
    const nf = numberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: exponent,
      maximumFractionDigits: exponent,
    })
    // Intl.NumberFormat formats decimal strings exactly (no float rounding).
    return nf.format(dec as unknown as number)
  } catch {
    return `${dec} ${currency}`
  }
}

/**
 * parseMoney reads a decimal amount typed by a person ("12", "12.5", "-3.05") as minor units
 * of a currency with exponent digits, or returns null when it is not such a number.
 */
export function parseMoney(input: string, exponent: number, allowNegative = false): number | null {
  const s = input.trim()
  const re = allowNegative ? /^-?\d+(?:\.(\d*))?$/ : /^\d+(?:\.(\d*))?$/
  const m = re.exec(s)
  if (!m) return null
  const frac = m[1] ?? ''
  if (frac.length > exponent) return null
  const neg = s.startsWith('-')
  const whole = s.replace('-', '').split('.')[0] ?? '0'
  const n = Number(whole + frac.padEnd(exponent, '0'))
  if (!Number.isSafeInteger(n)) return null
  return neg ? -n : n
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** formatBytes renders a byte count in binary units ("1.5 GiB"). */
export function formatBytes(n: number, locale = 'en'): string {
  if (!Number.isFinite(n) || n < 0) return '–'
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  const nf = numberFormat(locale, { maximumFractionDigits: i === 0 ? 0 : 1 })
  return `${nf.format(v)} ${units[i]}`
}

/** formatMiB renders a size given in MiB. */
export function formatMiB(mib: number, locale = 'en'): string {
  return formatBytes(mib * 1024 * 1024, locale)
}

/** formatDate renders an RFC 3339 time as a short local date and time ("" for none). */
export function formatDate(iso: string | undefined | null, locale: string): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return dateFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d)
}

/** formatPercent renders a ratio 0..1 (or above) as a whole percentage. */
export function formatPercent(ratio: number, locale: string): string {
  return numberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(ratio)
}

/**
 * currencyExponent is the number of minor-unit digits of an ISO 4217 code as the browser's
 * locale data knows it (2 when unknown); wallets and plans carry the panel's own exponent.
 */
export function currencyExponent(currency: string): number {
  try {
    return numberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  } catch {
    return 2
  }
}
