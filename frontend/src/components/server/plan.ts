// Plan changes on the server page: who may change the plan and which plans a subscription
// may move to. The proration estimate is the shop area's (components/shop/billing.ts
// estimatePlanChange), the same math as the panel's.
import type { Subscription } from '@/api/shop'
import type { Plan } from '@/api/types'

/** canChangePlan: the owner's side ("manage") or a sub-user holding both settings and billing. */
export function canChangePlan(perms: ReadonlySet<string>): boolean {
  return perms.has('manage') || (perms.has('settings') && perms.has('billing'))
}

/**
 * targetPlans are the plans a subscription may move to: not its own, of the server's
 * instance type, in the subscription's currency, and sold on its cycle (hourly needs an
 * hourly price).
 */
export function targetPlans(plans: readonly Plan[], sub: Pick<Subscription, 'plan_id' | 'currency' | 'cycle'>, type: string): Plan[] {
  return plans.filter(
    (p) => p.id !== sub.plan_id && p.type === type && p.currency === sub.currency && (sub.cycle !== 'hourly' || p.price_hour > 0),
  )
}

/** planPrice is a plan's price per period of a cycle. */
export function planPrice(p: Pick<Plan, 'price_month' | 'price_hour'>, cycle: string): number {
  return cycle === 'hourly' ? p.price_hour : p.price_month
}
