// Pure logic of the customer self-service pages: badge colours of billing states, the runtime
// i18n families they use, and small money helpers. Kept free of Vue so tests can table it.
import {
  ChangeStatuses,
  InvoiceStatuses,
  OrderStatuses,
  PaymentStatuses,
  SubscriptionStatuses,
} from '@/api/shop'

/** The shop.<family>.<status> message families a ShopBadge reads. */
export const badgeFamilies = {
  invoiceStatus: InvoiceStatuses,
  orderStatus: OrderStatuses,
  subscriptionStatus: SubscriptionStatuses,
  paymentStatus: PaymentStatuses,
  changeStatus: ChangeStatuses,
} as const

export type BadgeFamily = keyof typeof badgeFamilies

/** badgeTone is the colour class of a billing state (the same for every family). */
export function badgeTone(status: string): 'ok' | 'warn' | 'bad' | 'info' | 'neutral' {
  switch (status) {
    case 'paid':
    case 'active':
    case 'applied':
      return 'ok'
    case 'open':
    case 'created':
    case 'provisioning':
    case 'pending':
    case 'trial':
      return 'info'
    case 'suspended':
    case 'refunded':
    case 'expired':
    case 'reverted':
      return 'warn'
    case 'failed':
    case 'terminated':
      return 'bad'
    default:
      return 'neutral'
  }
}

/** The outcome of a request run through Latest: current is false when a newer run started. */
export type LatestResult<T> = { current: true; ok: true; value: T } | { current: true; ok: false; error: unknown } | { current: false }

/**
 * Latest runs requests one after the other so that only the newest one's answer counts: a new
 * run aborts the previous request, and an answer that arrives after a newer run started is
 * reported as not current (a stale quote must never overwrite a newer one).
 */
export class Latest {
  private seq = 0
  private ctrl: AbortController | null = null

  /** run starts fn with a fresh AbortSignal, aborting the run before it. */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<LatestResult<T>> {
    const mine = ++this.seq
    this.ctrl?.abort()
    const ctrl = new AbortController()
    this.ctrl = ctrl
    try {
      const value = await fn(ctrl.signal)
      return mine === this.seq ? { current: true, ok: true, value } : { current: false }
    } catch (error) {
      return mine === this.seq ? { current: true, ok: false, error } : { current: false }
    }
  }

  /** cancel aborts the running request and makes every answer still to come stale. */
  cancel(): void {
    this.seq++
    this.ctrl?.abort()
    this.ctrl = null
  }
}

/** serverNamePattern is the panel's rule for a server name (backend/internal/order). */
export const serverNamePattern = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/

/** cyclesFor lists the billing cycles a plan can be ordered on: hourly only with an hourly price. */
export function cyclesFor(plan: { price_hour: number }): ('monthly' | 'hourly')[] {
  return plan.price_hour > 0 ? ['monthly', 'hourly'] : ['monthly']
}

/**
 * prorate is diff × remaining / period rounded half away from zero, computed exactly as the
 * panel does (backend/internal/proration.Amount): remaining is clamped to [0, period] and a
 * period ≤ 0 prorates to 0.
 */
export function prorate(diff: number, remaining: number, period: number): number {
  if (period <= 0 || diff === 0) return 0
  const rem = BigInt(Math.min(Math.max(Math.trunc(remaining), 0), period))
  let num = BigInt(diff) * rem
  const neg = num < 0n
  if (neg) num = -num
  const den = BigInt(period)
  let q = num / den
  if ((num % den) * 2n >= den) q += 1n
  return Number(neg ? -q : q)
}

/** wholeSeconds is the length of [from, to) in whole seconds (0 when to is not after from). */
export function wholeSeconds(from: Date, to: Date): number {
  const ms = to.getTime() - from.getTime()
  return ms > 0 ? Math.floor(ms / 1000) : 0
}

/**
 * estimatePlanChange previews what moving a subscription to a plan priced newPrice (per month
 * or hour, like the subscription's price) moves now: for a monthly subscription the price
 * difference for the rest of the paid period (positive is charged, negative credited once the
 * resize succeeded); hourly subscriptions are not prorated (0). The panel's answer is final.
 */
export function estimatePlanChange(
  sub: { cycle: string; price: number; period_start: string; period_end: string },
  newPrice: number,
  now: Date,
): number {
  if (sub.cycle !== 'monthly') return 0
  const start = new Date(sub.period_start)
  const end = new Date(sub.period_end)
  const period = wholeSeconds(start, end)
  return prorate(newPrice - sub.price, Math.min(wholeSeconds(now, end), period), period)
}

/** browser wraps leaving the app for a gateway's checkout page (a seam for tests). */
export const browser = {
  /** go loads url in this tab. */
  go(url: string): void {
    window.location.assign(url)
  },
}

/**
 * topUpCurrencies lists the currencies a top-up through a gateway can be made in: the
 * gateway's own list when it has one (Alipay: CNY), otherwise the caller's wallets and the
 * currencies plans are sold in, sorted, without duplicates.
 */
export function topUpCurrencies(gateway: { currencies?: string[] } | undefined, known: string[]): string[] {
  if (gateway?.currencies?.length) return [...gateway.currencies]
  return [...new Set(known.filter((c) => /^[A-Z]{3}$/.test(c)))].sort()
}

/**
 * changeCandidates lists the plans a subscription can move to: another plan in the same
 * currency, of the instance type given (the server page knows its server's) or else of its
 * current plan's type (any type when the catalogue no longer lists that plan), sold on the
 * subscription's cycle (hourly needs an hourly price).
 */
export function changeCandidates<P extends { id: string; type: string; currency: string; price_hour: number }>(
  sub: { plan_id: string; currency: string; cycle: string },
  plans: readonly P[],
  type?: string,
): P[] {
  const want = type ?? plans.find((p) => p.id === sub.plan_id)?.type
  return plans.filter(
    (p) =>
      p.id !== sub.plan_id &&
      p.currency === sub.currency &&
      (want === undefined || p.type === want) &&
      (sub.cycle !== 'hourly' || p.price_hour > 0),
  )
}

/** planPrice is a plan's price per period of a cycle (per hour or per month). */
export function planPrice(p: { price_month: number; price_hour: number }, cycle: string): number {
  return cycle === 'hourly' ? p.price_hour : p.price_month
}
