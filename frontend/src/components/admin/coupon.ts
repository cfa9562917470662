// Coupons in the admin and reseller panels: the form's draft of text inputs turned into the
// request the panel takes (basis points, minor units, RFC 3339 times, null for "no limit") or
// per-field problems, the PATCH body of only what an edit changed, and how a coupon reads.
import type { Coupon, CouponKind, CreateCouponRequest, UpdateCouponRequest } from '@/api/adminPanel'
import { currencyExponent, formatMoney, minorToDecimal, parseMoney } from '@/lib/format'
import { fromLocalInput, percentOfBasisPoints, toLocalInput } from './format'

/** The currencies the panel accepts (backend/internal/billing/money.go). */
export const Currencies = [
  'USD', 'EUR', 'CNY', 'GBP', 'JPY', 'HKD', 'SGD', 'AUD', 'CAD', 'CHF', 'NZD', 'SEK', 'NOK', 'DKK',
  'PLN', 'CZK', 'INR', 'BRL', 'MXN', 'ZAR', 'TRY', 'RUB', 'KRW', 'BHD', 'KWD',
] as const

/** CouponDraft is the coupon form as typed. */
export interface CouponDraft {
  code: string
  kind: CouponKind
  /** Percent ("12.5") for percent coupons, an amount ("5.00") for fixed ones. */
  value: string
  currency: string
  /** A datetime-local value ("2030-01-31T12:00"), "" for no expiry. */
  expiresAt: string
  /** "" for unlimited. */
  maxUses: string
  oncePerCustomer: boolean
  active: boolean
  planIds: string[]
}

/** newDraft is an empty form (or one holding coupon c for an edit). */
export function newDraft(c?: Coupon, defaultCurrency = 'USD'): CouponDraft {
  if (!c) {
    return {
      code: '', kind: 'percent', value: '', currency: defaultCurrency, expiresAt: '', maxUses: '',
      oncePerCustomer: true, active: true, planIds: [],
    }
  }
  const currency = c.currency || defaultCurrency
  return {
    code: c.code,
    kind: c.kind,
    value: c.kind === 'percent' ? minorToDecimal(c.value, 2) : minorToDecimal(c.value, currencyExponent(currency)),
    currency,
    expiresAt: toLocalInput(c.expires_at),
    maxUses: c.max_uses === null ? '' : String(c.max_uses),
    oncePerCustomer: c.once_per_customer,
    active: c.active,
    planIds: [...c.plan_ids],
  }
}

/** DraftResult is a request ready to send, or the problems (field → i18n key) of the draft. */
export type DraftResult = { ok: true; req: CreateCouponRequest } | { ok: false; errors: Record<string, string> }

/** draftRequest checks a draft and turns it into a CreateCouponRequest. */
export function draftRequest(d: CouponDraft): DraftResult {
  const errors: Record<string, string> = {}
  const code = d.code.trim().toUpperCase()
  if (!/^[A-Z0-9_-]{3,32}$/.test(code)) errors.code = 'adminPanel.coupons.errCode'
  let value: number | null
  let currency = ''
  if (d.kind === 'percent') {
    value = parseMoney(d.value, 2)
    if (value === null || value < 1 || value > 10000) errors.value = 'adminPanel.coupons.errPercent'
  } else {
    currency = d.currency
    value = parseMoney(d.value, currencyExponent(currency))
    if (value === null || value < 1) errors.value = 'adminPanel.coupons.errAmount'
  }
  let expires: string | null = null
  if (d.expiresAt.trim()) {
    expires = fromLocalInput(d.expiresAt)
    if (expires === null) errors.expires_at = 'adminPanel.coupons.errExpires'
  }
  let maxUses: number | null = null
  if (d.maxUses.trim()) {
    maxUses = /^\d+$/.test(d.maxUses.trim()) ? Number(d.maxUses.trim()) : NaN
    if (!Number.isSafeInteger(maxUses) || maxUses < 1) errors.max_uses = 'adminPanel.coupons.errMaxUses'
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  return {
    ok: true,
    req: {
      code,
      kind: d.kind,
      value: value!,
      currency,
      expires_at: expires,
      max_uses: maxUses,
      once_per_customer: d.oncePerCustomer,
      plan_ids: [...d.planIds].sort(),
      active: d.active,
    },
  }
}

/** couponPatch is the PATCH body that turns coupon c into req: only the changed fields. */
export function couponPatch(c: Coupon, req: CreateCouponRequest): UpdateCouponRequest {
  const out: UpdateCouponRequest = {}
  if (req.code !== c.code) out.code = req.code
  if (req.kind !== c.kind) out.kind = req.kind
  if (req.value !== c.value) out.value = req.value
  if (req.currency !== (c.currency ?? '')) out.currency = req.currency
  // The form shows minutes: an expiry it did not change compares equal at that precision.
  if (toLocalInput(req.expires_at) !== toLocalInput(c.expires_at)) out.expires_at = req.expires_at
  if (req.max_uses !== c.max_uses) out.max_uses = req.max_uses
  if (req.once_per_customer !== c.once_per_customer) out.once_per_customer = req.once_per_customer
  if (req.active !== c.active) out.active = req.active
  const plans = [...c.plan_ids].sort()
  if (plans.length !== req.plan_ids.length || plans.some((p, i) => p !== req.plan_ids[i])) out.plan_ids = req.plan_ids
  // A kind change needs the value and currency that go with it.
  if (out.kind) {
    out.value = req.value
    out.currency = req.currency
  }
  return out
}

/** couponDiscount renders what a coupon takes off: a percentage or an amount of money. */
export function couponDiscount(c: Coupon, locale: string): string {
  if (c.kind === 'percent') return percentOfBasisPoints(c.value, locale)
  const cur = c.currency ?? ''
  return formatMoney(c.value, cur, currencyExponent(cur), locale)
}

/** The states couponState tells apart. */
export const CouponStates = ['active', 'expired', 'usedUp', 'inactive'] as const
/** CouponState is whether a coupon works at checkout now, or why not. */
export type CouponState = (typeof CouponStates)[number]

/** couponState tells whether c works at checkout at now. */
export function couponState(c: Coupon, now: Date): CouponState {
  if (!c.active) return 'inactive'
  if (c.expires_at && new Date(c.expires_at).getTime() <= now.getTime()) return 'expired'
  if (c.max_uses !== null && c.uses >= c.max_uses) return 'usedUp'
  return 'active'
}
