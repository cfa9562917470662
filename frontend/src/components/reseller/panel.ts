// Pure logic of the reseller panel: quota bars, revenue periods, the reseller's own wallet
// warning and the price form's checks. Free of Vue so tests can table it.
import type { PlanPrices, ResellerQuotaUsage } from '@/api/reseller'
import type { Wallet } from '@/api/types'
import { parseMoney } from '@/lib/format'

/** The resources a reseller's quota limits, in display order. */
export const quotaKeys = ['servers', 'cpu', 'memory', 'disk'] as const
export type QuotaKey = (typeof quotaKeys)[number]

/** How full a quota is: plenty of room, nearly full (80 % or more), or full. */
export type QuotaLevel = 'ok' | 'high' | 'full'

/** QuotaRow is one resource: what is used, the limit (null: unlimited) and how full it is. */
export interface QuotaRow {
  key: QuotaKey
  used: number
  limit: number | null
  /** used ÷ limit (1 when the limit is 0), null when unlimited. */
  ratio: number | null
  level: QuotaLevel
}

/** quotaRows turns GET /reseller/quota into one row per resource (memory and disk in MiB). */
export function quotaRows(q: ResellerQuotaUsage): QuotaRow[] {
  const pairs: Record<QuotaKey, [number, number | null]> = {
    servers: [q.usage.servers, q.quota.servers],
    cpu: [q.usage.cpu, q.quota.cpu],
    memory: [q.usage.memory_mib, q.quota.memory_mib],
    disk: [q.usage.disk_mib, q.quota.disk_mib],
  }
  return quotaKeys.map((key) => {
    const [used, limit] = pairs[key]
    const ratio = limit === null ? null : limit <= 0 ? 1 : used / limit
    const level: QuotaLevel = ratio === null ? 'ok' : ratio >= 1 ? 'full' : ratio >= 0.8 ? 'high' : 'ok'
    return { key, used, limit, ratio, level }
  })
}

/** currentMonth is the UTC calendar month of now as "YYYY-MM" (the revenue's default period). */
export function currentMonth(now: Date = new Date()): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`
}

/**
 * monthRange is the period [from, to) of a "YYYY-MM" month in UTC as RFC 3339 times, the way
 * GET /reseller/revenue takes it; null for anything else.
 */
export function monthRange(month: string): { from: string; to: string } | null {
  const m = /^(\d{4})-(\d{2})$/.exec(month)
  if (!m) return null
  const y = Number(m[1])
  const mo = Number(m[2])
  if (mo < 1 || mo > 12 || y < 1970) return null
  const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z')
  return { from: iso(new Date(Date.UTC(y, mo - 1, 1))), to: iso(new Date(Date.UTC(y, mo, 1))) }
}

/**
 * walletAlert tells whether the reseller's own wallet, which pays the wholesale price of its
 * customers' orders, needs money: "empty" when nothing is left to spend (balance plus credit
 * limit at or below 0), "low" when the balance is under the low-balance threshold the reseller
 * set for that currency (or, without one, at or below 0), "none" otherwise.
 */
export function walletAlert(w: Pick<Wallet, 'balance' | 'credit_limit'>, threshold = 0): 'none' | 'low' | 'empty' {
  if (w.balance + w.credit_limit <= 0) return 'empty'
  if (threshold > 0 ? w.balance < threshold : w.balance <= 0) return 'low'
  return 'none'
}

/** The three price inputs of the price form, as typed. */
export interface PriceInputs {
  price_month: string
  price_hour: string
  setup_fee: string
}

/** What is wrong with one typed price: not an amount, or below the wholesale price. */
export type PriceProblem = 'invalid' | 'below'

/** The result of checkPrices: the prices to send, or a problem per field. */
export type PriceCheck = { ok: true; prices: PlanPrices } | { ok: false; problems: Partial<Record<keyof PlanPrices, PriceProblem>> }

const priceFields = ['price_month', 'price_hour', 'setup_fee'] as const

/**
 * checkPrices reads the typed prices as minor units (exponent digits) and checks them as the
 * panel does: each is an amount of at least the plan's wholesale price.
 */
export function checkPrices(inputs: PriceInputs, wholesale: PlanPrices, exponent: number): PriceCheck {
  const problems: Partial<Record<keyof PlanPrices, PriceProblem>> = {}
  const prices: PlanPrices = { price_month: 0, price_hour: 0, setup_fee: 0 }
  for (const f of priceFields) {
    const v = parseMoney(inputs[f], exponent)
    if (v === null) problems[f] = 'invalid'
    else if (v < wholesale[f]) problems[f] = 'below'
    else prices[f] = v
  }
  return Object.keys(problems).length ? { ok: false, problems } : { ok: true, prices }
}

/** marginRatio is how much a retail price is above wholesale (0.25 = 25 %), null without a wholesale price. */
export function marginRatio(retail: number, wholesale: number): number | null {
  return wholesale > 0 ? (retail - wholesale) / wholesale : null
}

/**
 * utcDay renders the UTC calendar day of an RFC 3339 time (revenue periods are UTC months);
 * with exclusiveEnd, the day before it, so that [from, to) reads as "first day – last day".
 */
export function utcDay(iso: string, locale: string, exclusiveEnd = false): string {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return ''
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(exclusiveEnd ? t - 1 : t))
}
