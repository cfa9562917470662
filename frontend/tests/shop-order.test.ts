// The order page against a scripted panel: plan cards with the caller's prices, the quote
// refreshed on every change (a stale answer never overwrites a newer one), coupons and the
// trial, and placing the order with one Idempotency-Key per intent.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import OrderView from '@/views/shop/OrderView.vue'
import PlansView from '@/views/PlansView.vue'
import { apiError, customerUser, mountApp, planOf, scriptedFetch, type Call } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
  localStorage.clear()
})

const plan = planOf('11111111-1111-4111-8111-111111111111', 'Small', 500, { disk_mib: 5120, price_hour: 1, setup_fee: 200, stock: 3 })
const big = { ...plan, id: '22222222-2222-4222-8222-222222222222', name: 'Big', price_month: 2000, price_hour: 0, setup_fee: 0, stock: null }

function quoteFor(body: { cycle: string; coupon_code?: string; trial?: boolean }) {
  const price = body.cycle === 'hourly' ? 1 : 500
  const subtotal = body.trial ? 0 : 200 + price
  const discount = body.coupon_code ? 100 : 0
  return {
    plan_id: plan.id,
    cycle: body.cycle,
    currency: 'USD',
    exponent: 2,
    setup_fee: 200,
    price,
    subtotal,
    discount,
    total: subtotal - discount,
    trial: !!body.trial,
    trial_available: true,
    trial_days: 7,
  }
}

const accepted = {
  order: { id: 'o1', status: 'provisioning' },
  subscription: { id: 's1' },
  server: { id: 'srv-1', name: 'web1' },
  operation: { id: 'op1', status: 'pending' },
}

function panel(extra: Record<string, Parameters<typeof scriptedFetch>[0][string]> = {}) {
  return scriptedFetch({
    'GET /api/v1/me': { status: 200, body: customerUser },
    'GET /api/v1/plans': { status: 200, body: { items: [plan, big], page: 1, per_page: 12, total: 2 } },
    'GET /api/v1/images': { status: 200, body: { items: [{ alias: 'busybox', nodes: 1 }, { alias: 'debian/12', nodes: 2 }], page: 1, per_page: 100, total: 2 } },
    'POST /api/v1/orders/quote': (c: Call) => ({ status: 200, body: quoteFor(c.body as { cycle: string }) }),
    'GET /api/v1/servers/srv-1': { status: 200, body: { id: 'srv-1' } },
    ...extra,
  })
}

const quotes = (calls: Call[]) => calls.filter((c) => c.path === '/api/v1/orders/quote').map((c) => c.body)

describe('OrderView', () => {
  it('shows the plans, prices the chosen one and places the order with an Idempotency-Key', async () => {
    const { fn, calls } = panel({ 'POST /api/v1/orders': { status: 201, body: accepted } })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(OrderView, '/order')
    const card = wrapper.get('[data-plan="Small"]')
    expect(card.text()).toContain('$5.00')
    expect(card.text()).toContain('or $0.01 per hour')
    expect(card.text()).toContain('Setup fee: $2.00')
    expect(card.text()).toContain('3 left')
    expect(wrapper.get('[data-plan="Big"]').find('[data-test=price-hour]').exists()).toBe(false)

    await card.get('[data-test=choose-plan]').trigger('click')
    await flushPromises()
    expect(calls.some((c) => c.path === `/api/v1/images?plan_id=${plan.id}`)).toBe(true)
    expect(wrapper.findAll('#o-image option').map((o) => o.attributes('value'))).toEqual(['busybox', 'debian/12'])
    expect(wrapper.findAll('#o-cycle option').map((o) => o.attributes('value'))).toEqual(['monthly', 'hourly'])
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$7.00'))
    expect(quotes(calls)).toEqual([{ plan_id: plan.id, cycle: 'monthly' }])
    expect(wrapper.get('[data-test=quote-then]').text()).toBe('Then $5.00 per month, renewed from the wallet.')
    expect(router.currentRoute.value.query.plan).toBe(plan.id)

    await wrapper.get('#o-cycle').setValue('hourly')
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$2.01'))
    expect(wrapper.find('#o-trial').exists()).toBe(false)
    await wrapper.get('#o-cycle').setValue('monthly')
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$7.00'))

    await wrapper.get('#o-name').setValue('web1')
    await wrapper.get('#o-image').setValue('debian/12')
    // A double click places one order.
    await wrapper.get('[data-test=order-submit]').trigger('click')
    await wrapper.get('[data-test=order-submit]').trigger('click')
    await flushPromises()
    const orders = calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/orders')
    expect(orders).toHaveLength(1)
    expect(orders[0]!.body).toEqual({ plan_id: plan.id, cycle: 'monthly', server_name: 'web1', image: 'debian/12' })
    expect(orders[0]!.headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/servers/srv-1'))
  })

  it('applies a coupon, explains a refused one, and offers the trial', async () => {
    const { fn, calls } = panel({
      'POST /api/v1/orders/quote': (c: Call) => {
        const b = c.body as { cycle: string; coupon_code?: string }
        if (b.coupon_code === 'BAD') return { status: 422, body: apiError('coupon_invalid', 'this coupon has expired', { coupon_code: 'this coupon has expired' }) }
        return { status: 200, body: quoteFor(b) }
      },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(OrderView, `/order?plan=${plan.id}`)
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$7.00'))
    expect(wrapper.get('[data-plan="Small"]').classes()).toContain('selected')

    await wrapper.get('#o-coupon').setValue('SAVE1')
    await wrapper.get('[data-test=apply-coupon]').trigger('click')
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$6.00'))
    expect(wrapper.get('[data-test=quote-discount]').text()).toBe('−$1.00')
    expect(wrapper.get('[data-test=coupon-applied]').text()).toContain('SAVE1')

    await wrapper.get('#o-coupon').setValue('BAD')
    await wrapper.get('[data-test=apply-coupon]').trigger('click')
    await vi.waitFor(() => expect(wrapper.find('#o-coupon-error').exists()).toBe(true))
    expect(wrapper.get('#o-coupon-error').text()).toBe('This coupon is not valid.')
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$7.00'))
    expect(quotes(calls).at(-1)).toEqual({ plan_id: plan.id, cycle: 'monthly' })

    await wrapper.get('#o-trial').setValue(true)
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$0.00'))
    expect(quotes(calls).at(-1)).toEqual({ plan_id: plan.id, cycle: 'monthly', trial: true })
    expect(wrapper.get('[data-test=quote-then]').text()).toBe('Free for 7 days, then $5.00 per month.')
    expect(wrapper.get('#o-coupon').attributes('disabled')).toBeDefined()
  })

  it('never lets a stale quote overwrite a newer one', async () => {
    const { fn, calls } = panel()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let quoteCalls = 0
    // The first quote (monthly) answers only after the second (hourly) has.
    const slow = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes('/orders/quote') && ++quoteCalls === 1) {
        await gate
        return fn(input, { ...init, signal: undefined })
      }
      return fn(input, init)
    }
    vi.stubGlobal('fetch', slow)
    const { wrapper } = await mountApp(OrderView, '/order')
    await wrapper.get('[data-plan="Small"] [data-test=choose-plan]').trigger('click')
    await vi.waitFor(() => expect(quoteCalls).toBe(1))
    await wrapper.get('#o-cycle').setValue('hourly')
    await vi.waitFor(() => expect(wrapper.get('[data-test=quote-total]').text()).toBe('$2.01'))
    release()
    await flushPromises()
    await new Promise((r) => setTimeout(r, 50))
    // Both were answered (the fake records a call when it answers it: hourly first).
    expect(quotes(calls).map((b) => (b as { cycle: string }).cycle)).toEqual(['hourly', 'monthly'])
    expect(wrapper.get('[data-test=quote-total]').text()).toBe('$2.01')
  })

  it('explains insufficient funds with a link to top up; a retry keeps the key, a changed order gets a new one', async () => {
    const { fn, calls } = panel({
      'POST /api/v1/orders': [
        { status: 409, body: apiError('insufficient_funds', 'the wallet balance is too low') },
        { status: 503, body: apiError('unavailable') },
        { status: 201, body: accepted },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(OrderView, `/order?plan=${plan.id}`)
    await flushPromises()
    await wrapper.get('#o-name').setValue('Bad Name')
    await wrapper.get('form[data-test=order-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#o-name-error').text()).toContain('lower-case letters')
    expect(calls.some((c) => c.path === '/api/v1/orders')).toBe(false)

    await wrapper.get('#o-name').setValue('web1')
    await wrapper.get('form[data-test=order-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=order-form] [data-test=error]').text()).toBe('The wallet balance is too low for this.')
    expect(wrapper.get('[data-test=topup-link]').attributes('href')).toBe('/billing/wallet?topup=1&currency=USD')
    await wrapper.get('form[data-test=order-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=order-form] [data-test=error]').text()).toBe('The service is unavailable right now. Try again shortly.')
    expect(wrapper.find('[data-test=topup-link]').exists()).toBe(false)
    await wrapper.get('#o-name').setValue('web2')
    await wrapper.get('form[data-test=order-form]').trigger('submit')
    await flushPromises()
    const sent = calls.filter((c) => c.path === '/api/v1/orders')
    const keys = sent.map((c) => c.headers['Idempotency-Key'])
    expect(keys).toHaveLength(3)
    expect(keys[0]).toBe(keys[1])
    expect(keys[2]).not.toBe(keys[1])
    expect((sent[2]!.body as { server_name: string }).server_name).toBe('web2')
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/servers/srv-1'))
  })

  it('says when no node can host the plan and offers only the cycles the plan has', async () => {
    const { fn, calls } = panel({
      'GET /api/v1/images': { status: 200, body: { items: [], page: 1, per_page: 100, total: 0 } },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(OrderView, `/order?plan=${big.id}`)
    await flushPromises()
    expect(wrapper.get('[data-test=no-images]').text()).toContain('No online node can host this plan')
    expect(wrapper.get('[data-test=order-submit]').attributes('disabled')).toBeDefined()
    expect(wrapper.findAll('#o-cycle option').map((o) => o.attributes('value'))).toEqual(['monthly'])
    expect(calls.some((c) => c.path === '/api/v1/orders')).toBe(false)
  })

  it('says when the plan of a link is no longer offered', async () => {
    const gone = '33333333-3333-4333-8333-333333333333'
    const { fn } = panel({ [`GET /api/v1/plans/${gone}`]: { status: 404, body: apiError('not_found') } })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(OrderView, `/order?plan=${gone}`)
    await flushPromises()
    expect(wrapper.get('[data-test=plan-gone]').text()).toContain('no longer offered')
    expect(wrapper.find('[data-test=order-form]').exists()).toBe(false)
  })

  it('fetches a linked plan that is not on the first page', async () => {
    const far = { ...plan, id: '44444444-4444-4444-8444-444444444444', name: 'Far' }
    const { fn } = panel({ [`GET /api/v1/plans/${far.id}`]: { status: 200, body: far } })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(OrderView, `/order?plan=${far.id}`)
    await flushPromises()
    expect(wrapper.get('[data-test=order-form] h2').text()).toBe('Your Far server')
  })
})

describe('PlansView', () => {
  it('links every plan to the order page', async () => {
    const { fn } = panel()
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(PlansView, '/billing/plans')
    expect(wrapper.findAll('[data-test=order-plan]').map((a) => a.attributes('href'))).toEqual([`/order?plan=${plan.id}`, `/order?plan=${big.id}`])
  })
})
