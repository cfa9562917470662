// The plan and invoices tabs: finding the server's subscription, who may change the plan and
// to which plans, the prorated plan change (Idempotency-Key, charge shown, resize followed),
// an admin's direct resize of a server without subscription, and the server's invoices.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { findServerSubscription } from '@/api/serverTabs'
import { Cycles, SubscriptionStatuses, type Invoice, type Subscription } from '@/api/shop'
import { canChangePlan } from '@/components/server/plan'
import { changeCandidates, planPrice } from '@/components/shop/billing'
import { makeI18n } from '@/i18n'
import { adminUser, apiError, customerUser, planOf, scriptedFetch, subscriptionOf } from './helpers'
import { apiPath, list, mountServer, operation, server, serverId, unmountAll, waitFor } from './server-fixtures'

afterEach(() => {
  unmountAll()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const plan = planOf
const small = plan('p-small', 'Small', 1000)
const large = plan('p-large', 'Large', 2000, { cpu: 2, memory_mib: 1024 })
const tiny = plan('p-tiny', 'Tiny', 400, { cpu: 1, memory_mib: 256 })

const sub = (extra: Partial<Subscription> = {}): Subscription => subscriptionOf({ plan_id: small.id, server_id: serverId, ...extra })

const owner = ['power', 'console', 'backups', 'tunnels', 'settings', 'billing', 'manage']
const planPath = `/servers/${serverId}?tab=plan`
const catalogue = {
  'GET /api/v1/plans/p-small': { status: 200, body: small },
  'GET /api/v1/plans': list([tiny, small, large, plan('p-vm', 'VM', 3000, { type: 'vm' }), plan('p-eur', 'Euro', 1500, { currency: 'EUR' })]),
}

describe('plan messages', () => {
  it('name every subscription status, cycle and change outcome in both languages', () => {
    for (const lang of ['en', 'zh-CN'] as const) {
      const { te } = makeI18n(lang).global
      const keys = [
        ...SubscriptionStatuses.map((s) => `serverTabs.subStatus.${s}`),
        ...Cycles.map((c) => `serverTabs.cycle.${c}`),
        ...['pending', 'applied', 'reverted'].map((o) => `serverTabs.change.outcome.${o}`),
      ]
      for (const k of keys) expect(te(k), `${lang} ${k}`).toBe(true)
    }
  })
})

describe('canChangePlan', () => {
  it.each([
    [['manage'], true],
    [['settings', 'billing'], true],
    [['billing'], false],
    [['settings'], false],
    [['power', 'console'], false],
  ])('%j: %s', (perms, want) => {
    expect(canChangePlan(new Set(perms))).toBe(want)
  })
})

describe('changeCandidates of a server', () => {
  const plans = [small, large, plan('p-vm', 'VM', 3000, { type: 'vm' }), plan('p-eur', 'Euro', 1500, { currency: 'EUR' }), plan('p-h', 'Hourly', 900, { price_hour: 2 })]
  it.each([
    ['monthly', 'container', ['p-large', 'p-h']],
    ['hourly', 'container', ['p-h']],
    ['monthly', 'vm', ['p-vm']],
  ])('%s %s', (cycle, type, want) => {
    expect(changeCandidates({ plan_id: 'p-small', currency: 'USD', cycle: cycle as Subscription['cycle'] }, plans, type).map((p) => p.id)).toEqual(want)
  })

  it('prices a plan by the cycle', () => {
    expect(planPrice({ price_month: 1000, price_hour: 2 }, 'monthly')).toBe(1000)
    expect(planPrice({ price_month: 1000, price_hour: 2 }, 'hourly')).toBe(2)
  })
})

describe('findServerSubscription', () => {
  it('asks for the server’s subscriptions and prefers the live one', async () => {
    const ended = sub({ id: 'sub-old', status: 'terminated' })
    const { fn, calls } = scriptedFetch({ 'GET /api/v1/subscriptions': list([ended, sub({ id: 'sub-live' })]) })
    vi.stubGlobal('fetch', fn)
    const found = await findServerSubscription(serverId, { admin: false })
    expect(found?.id).toBe('sub-live')
    expect(calls.map((c) => c.path)).toEqual([`/api/v1/subscriptions?server_id=${serverId}&per_page=100`])
  })

  it('falls back to the newest ended one, or null; admins use the admin list', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/admin/subscriptions': [list([sub({ status: 'cancelled' }), sub({ status: 'terminated' })]), list([])],
    })
    vi.stubGlobal('fetch', fn)
    expect((await findServerSubscription(serverId, { admin: true }))?.status).toBe('cancelled')
    expect(calls[0]?.path).toBe(`/api/v1/admin/subscriptions?server_id=${serverId}&per_page=100`)
    expect(await findServerSubscription(serverId, { admin: true })).toBeNull()
  })
})

describe('PlanTab', () => {
  it('shows the subscription: plan, price and next renewal', async () => {
    const { wrapper } = await mountServer({ ...catalogue, 'GET /api/v1/subscriptions': list([sub()]) }, { path: planPath })
    const card = await waitFor(wrapper, '[data-test=subscription]')
    expect(card.get('h2').text()).toBe('Small')
    expect(card.get('[data-test=subscription-status]').text()).toBe('Active')
    expect(card.get('[data-test=subscription-price]').text()).toBe('$10.00 per month')
    expect(card.get('[data-test=subscription-renewal]').text()).toMatch(/^Renews automatically on Mar 31, 2025/)
    // Only plans of this server's type and currency, not its own.
    expect(wrapper.findAll('[data-test=plan-select] option:not([disabled])').map((o) => o.attributes('value'))).toEqual(['p-tiny', 'p-large'])
  })

  it('changes the plan with one idempotency key per choice, shows the charge and follows the resize', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2025-03-16T00:00:00Z'))
    const change = {
      id: 'chg-1',
      subscription_id: 'sub-1',
      from_plan_id: 'p-small',
      to_plan_id: 'p-large',
      cycle: 'monthly',
      currency: 'USD',
      price: 2000,
      amount: 500,
      remaining_seconds: 1296000,
      period_seconds: 2592000,
      status: 'pending',
      invoice_id: 'inv-9',
      operation: operation('op-resize', 'instance.resize', 'pending'),
      created_at: '2025-03-16T00:00:00Z',
    }
    const { wrapper, calls } = await mountServer(
      {
        ...catalogue,
        'GET /api/v1/subscriptions': list([sub()]),
        'POST /api/v1/subscriptions/sub-1/resize': [
          { status: 409, body: apiError('insufficient_funds', 'balance too low') },
          { status: 409, body: apiError('insufficient_funds', 'balance too low') },
          { status: 202, body: change },
        ],
        'GET /api/v1/operations/op-resize/wait': { status: 200, body: operation('op-resize', 'instance.resize', 'success') },
      },
      { path: planPath },
    )
    await waitFor(wrapper, '[data-test=plan-select]')
    await wrapper.get('[data-test=plan-select]').setValue('p-large')
    // (2000 − 1000) × 15 days left of 30: $5.00.
    expect(wrapper.get('[data-test=plan-estimate]').text()).toContain('About $5.00 is charged now')
    const submit = async () => {
      await wrapper.get('[data-test=plan-change]').trigger('submit')
      expect(wrapper.get('[data-test=confirm-dialog]').text()).toContain('Large')
      await wrapper.get('[data-test=confirm]').trigger('click')
      await flushPromises()
    }
    await submit()
    expect(wrapper.get('[role=tabpanel] [data-test=error]').text()).toBe('The wallet balance is too low for this.')
    await wrapper.get('[data-test=plan-select]').setValue('p-tiny')
    await wrapper.get('[data-test=plan-select]').setValue('p-large')
    await submit()
    await submit()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts.map((c) => c.path)).toEqual(Array(3).fill('/api/v1/subscriptions/sub-1/resize'))
    expect(posts.map((c) => c.body)).toEqual(Array(3).fill({ plan_id: 'p-large' }))
    const keys = posts.map((c) => c.headers['Idempotency-Key'])
    for (const k of keys) expect(k).toMatch(/^[0-9a-f-]{36}$/)
    // A new choice made a new key; the retry of the same choice kept it.
    expect(keys[1]).not.toBe(keys[0])
    expect(keys[2]).toBe(keys[1])
    const result = await waitFor(wrapper, '[data-test=plan-change-result]')
    expect(result.text()).toContain('$5.00 was charged to your wallet.')
    expect(result.get('a').attributes('href')).toBe('/api/v1/invoices/inv-9/html')
    await vi.waitFor(() => expect(wrapper.get('[data-test=plan-change-result]').attributes('data-outcome')).toBe('applied'))
    expect(wrapper.get('[data-test=operation]').attributes('data-status')).toBe('success')
  })

  it('tells a billing-only sub-user that the plan change needs more permissions', async () => {
    const { wrapper } = await mountServer({ ...catalogue, 'GET /api/v1/subscriptions': list([sub()]) }, { path: planPath, srv: server(['billing']) })
    await waitFor(wrapper, '[data-test=subscription]')
    expect(wrapper.get('[data-test=plan-change-denied]').text()).toContain('settings and billing')
    expect(wrapper.find('[data-test=plan-change]').exists()).toBe(false)
  })

  it('says why a trial cannot change plans', async () => {
    const trial = sub({ status: 'trial', trial_ends_at: '2025-03-08T00:00:00Z' })
    const { wrapper } = await mountServer({ ...catalogue, 'GET /api/v1/subscriptions': list([trial]) }, { path: planPath })
    await waitFor(wrapper, '[data-test=subscription]')
    expect(wrapper.get('[data-test=subscription-renewal]').text()).toMatch(/^Free trial until Mar 8, 2025/)
    expect(wrapper.get('[data-test=plan-change-unavailable]').text()).toContain('A trial cannot change plans')
  })

  it('offers admins a direct resize of a server without subscription', async () => {
    const { wrapper, calls } = await mountServer(
      {
        'GET /api/v1/admin/subscriptions': list([]),
        [`POST ${apiPath(`/servers/${serverId}/resize`)}`]: [
          { status: 422, body: apiError('validation_failed', 'invalid', { memory_mib: 'must be between 32 and 4194304' }) },
          { status: 202, body: operation('op-r', 'instance.resize', 'pending') },
        ],
        'GET /api/v1/operations/op-r/wait': { status: 200, body: operation('op-r', 'instance.resize', 'success') },
      },
      { path: planPath, user: adminUser, srv: server(owner, { owner_id: 'u-someone' }) },
    )
    await waitFor(wrapper, '[data-test=no-subscription]')
    expect(calls.find((c) => c.path.includes('subscriptions'))?.path).toBe(`/api/v1/admin/subscriptions?server_id=${serverId}&per_page=100`)
    expect((wrapper.get('#r-cpu').element as HTMLInputElement).value).toBe('2')
    await wrapper.get('#r-mem').setValue('1')
    await wrapper.get('[data-test=admin-resize]').trigger('submit')
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    expect(wrapper.get('#r-mem-error').text()).toBe('must be between 32 and 4194304')
    await wrapper.get('#r-mem').setValue('1024')
    await wrapper.get('#r-cpu').setValue('4')
    await wrapper.get('[data-test=admin-resize]').trigger('submit')
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts.at(-1)?.body).toEqual({ cpu: 4, memory_mib: 1024, disk_mib: 2048 })
    expect(posts.at(-1)?.headers['Idempotency-Key']).toBeUndefined()
    await waitFor(wrapper, '[data-test=operation][data-status=success]')
    expect(wrapper.get('[data-test=admin-resize-queued]').text()).toBe('The resize has started.')
  })

  it('shows customers a server without subscription, and no resize', async () => {
    const { wrapper } = await mountServer({ 'GET /api/v1/subscriptions': list([]) }, { path: planPath })
    await waitFor(wrapper, '[data-test=no-subscription]')
    expect(wrapper.find('[data-test=admin-resize]').exists()).toBe(false)
  })

  it('shows a failed look-up in words', async () => {
    const { wrapper } = await mountServer({ 'GET /api/v1/subscriptions': { status: 500, body: apiError('internal') } }, { path: planPath })
    const err = await waitFor(wrapper, '[role=tabpanel] [data-test=error]')
    expect(err.text()).toContain('Something went wrong on the server')
    expect(wrapper.find('[data-test=no-subscription]').exists()).toBe(false)
  })
})

describe('InvoicesTab', () => {
  const invoice = (n: number): Invoice => ({
    id: `inv-${n}`,
    number: `NIM-2025-00${n}`,
    issuer_id: '',
    user_id: customerUser.id,
    subscription_id: 'sub-1',
    order_id: null,
    status: 'paid',
    currency: 'USD',
    exponent: 2,
    subtotal: 1000,
    discount: 0,
    total: 1000,
    period_start: '2025-03-01T00:00:00Z',
    period_end: '2025-03-31T00:00:00Z',
    seller_name: 'Nimbo',
    seller_email: 'billing@nimbo.test',
    buyer_email: customerUser.email,
    issued_at: '2025-03-01T00:00:00Z',
    due_at: null,
    paid_at: '2025-03-01T00:00:00Z',
  })

  it('lists the invoices of the server with their documents', async () => {
    const { wrapper, calls } = await mountServer(
      { [`GET ${apiPath(`/servers/${serverId}/invoices`)}`]: list([invoice(2), invoice(1)], 22) },
      { path: `/servers/${serverId}?tab=invoices` },
    )
    const row = await waitFor(wrapper, '[data-invoice="NIM-2025-002"]')
    expect(row.text()).toContain('$10.00')
    expect(row.get('[data-test=invoice-html]').attributes('href')).toBe('/api/v1/invoices/inv-2/html')
    expect(row.get('[data-test=invoice-pdf]').attributes('href')).toBe('/api/v1/invoices/inv-2/pdf')
    expect(calls.find((c) => c.path.includes('/invoices'))?.path).toBe(apiPath(`/servers/${serverId}/invoices?page=1&per_page=20`))
    expect(wrapper.find('[data-test=pager]').exists()).toBe(true)
  })

  it('shows a refusal in words', async () => {
    const { wrapper } = await mountServer(
      { [`GET ${apiPath(`/servers/${serverId}/invoices`)}`]: { status: 403, body: apiError('forbidden') } },
      { path: `/servers/${serverId}?tab=invoices` },
    )
    const err = await waitFor(wrapper, '[role=tabpanel] [data-test=error]')
    expect(err.text()).toBe('You are not allowed to do this.')
  })
})
