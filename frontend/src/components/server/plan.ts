// Plan changes on the server page: who may change the plan. Which plans a subscription may
// move to, their prices and the proration estimate are the shop area's
// (components/shop/billing.ts changeCandidates, planPrice, estimatePlanChange), the same
// math as the panel's.

/** canChangePlan: the owner's side ("manage") or a sub-user holding both settings and billing. */
export function canChangePlan(perms: ReadonlySet<string>): boolean {
  return perms.has('manage') || (perms.has('settings') && perms.has('billing'))
}
