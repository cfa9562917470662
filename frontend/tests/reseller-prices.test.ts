import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import PricesView from '@/views/reseller/PricesView.vue'
import { apiError, mountApp, scriptedFetch } from './helpers'
import { list, price, resellerUser } from './reseller-fixtures'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const own = {
  ...price,
  plan_id: 'p-big',
  name: 'Big',
  cpu: 4,
  wholesale: { price_month: 4000, price_hour: 8, setup_fee: 500 },
  retail: { price_month: 6000, price_hour: 10, setup_fee: 500 },
  override: true,
}
const stale = { ...own, plan_id: 'p-old', name: 'Old', retail: { price_month: 3000, price_hour: 8, setup_fee: 500 }, below_wholesale: true }

const routes = (extra: Record<string, unknown> = {}) =>
  scriptedFetch({
    'GET /api/v1/me': { status: 200, body: resellerUser },
    'GET /api/v1/reseller/prices': { status: 200, body: list([price, own, stale], 3, 50) },
    ...(extra as Record<string, never>),
  })

describe('price list', () => {
  it('shows wholesale and retail prices, where they come from and the margin', async () => {
    const { fn, calls } = routes()
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(PricesView, '/reseller/prices')
    expect(calls.find((c) => c.path.startsWith('/api/v1/reseller/prices'))?.path).toBe('/api/v1/reseller/prices?page=1&per_page=50')
    const small = w.get('[data-test=prices] [data-plan=Small]')
    expect(small.get('[data-test=wholesale]').text()).toContain('$10.00 per month')
    expect(small.get('[data-test=retail]').text()).toContain('$12.50 per month')
    expect(small.get('[data-test=retail]').text()).toContain('$0.03 per hour')
    expect(small.find('[data-test=markup-price]').exists()).toBe(true)
    expect(small.find('[data-test=price-reset]').exists()).toBe(false)
    expect(small.text()).toContain('25%')

    const big = w.get('[data-plan=Big]')
    expect(big.find('[data-test=own-price]').exists()).toBe(true)
    expect(big.get('[data-test=wholesale]').text()).toContain('Setup $5.00')
    expect(big.text()).toContain('50%')
    expect(w.get('[data-plan=Old] [data-test=below-wholesale]').text()).toContain('Below wholesale')
  })

  it('sets an own price with PUT and shows the answer', async () => {
    const { fn, calls } = routes({
      'PUT /api/v1/reseller/prices/p-small': { status: 200, body: { ...price, retail: { price_month: 1500, price_hour: 3, setup_fee: 100 }, override: true } },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(PricesView, '/reseller/prices')
    await w.get('[data-plan=Small] [data-test=price-edit]').trigger('click')
    expect((w.get('#pe-month').element as HTMLInputElement).value).toBe('12.50')
    expect(w.get('[data-test=price-form]').text()).toContain('Wholesale $10.00')
    await w.get('#pe-month').setValue('15')
    await w.get('#pe-setup').setValue('1.00')
    await w.get('[data-test=price-form]').trigger('submit')
    await flushPromises()
    const put = calls.find((c) => c.method === 'PUT')
    expect(put?.path).toBe('/api/v1/reseller/prices/p-small')
    expect(put?.body).toEqual({ price_month: 1500, price_hour: 3, setup_fee: 100 })
    expect(w.find('[data-test=price-form]').exists()).toBe(false)
    expect(w.get('[data-plan=Small] [data-test=retail]').text()).toContain('$15.00 per month')
    expect(w.find('[data-plan=Small] [data-test=own-price]').exists()).toBe(true)
    expect(w.get('[data-test=price-notice]').text()).toBe('Your price for Small is saved.')
  })

  it('refuses a price below wholesale in words before sending', async () => {
    const { fn, calls } = routes()
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(PricesView, '/reseller/prices', 'zh-CN')
    await w.get('[data-plan=Small] [data-test=price-edit]').trigger('click')
    await w.get('#pe-month').setValue('9.99')
    await w.get('#pe-hour').setValue('abc')
    await w.get('[data-test=price-form]').trigger('submit')
    expect(w.get('#pe-month-error').text()).toBe('不得低于批发价 US$10.00。')
    expect(w.get('#pe-hour-error').text()).toBe('请输入金额，最多 2 位小数。')
    expect(calls.some((c) => c.method === 'PUT')).toBe(false)
  })

  it('shows the panel’s refusal when wholesale rose meanwhile', async () => {
    vi.stubGlobal(
      'fetch',
      routes({
        'PUT /api/v1/reseller/prices/p-small': {
          status: 422,
          body: apiError('validation_failed', 'invalid', { price_month: 'must not be below the wholesale price of 13.00 USD: a reseller cannot sell at a loss' }),
        },
      }).fn,
    )
    const { wrapper: w } = await mountApp(PricesView, '/reseller/prices')
    await w.get('[data-plan=Small] [data-test=price-edit]').trigger('click')
    await w.get('[data-test=price-form]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-test=price-form] [data-test=error]').text()).toBe('Some fields are not valid: see the messages next to them.')
    expect(w.get('#pe-month-error').text()).toContain('below the wholesale price of 13.00 USD')
  })

  it('goes back to the markup price after confirming', async () => {
    const { fn, calls } = routes({ 'DELETE /api/v1/reseller/prices/p-big': { status: 200, body: { ...own, retail: { price_month: 5000, price_hour: 10, setup_fee: 625 }, override: false } } })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(PricesView, '/reseller/prices')
    await w.get('[data-plan=Big] [data-test=price-reset]').trigger('click')
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    expect(w.get('[data-test=confirm-dialog]').text()).toContain('Big')
    await w.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    expect(calls.find((c) => c.method === 'DELETE')?.path).toBe('/api/v1/reseller/prices/p-big')
    expect(w.find('[data-test=confirm-dialog]').exists()).toBe(false)
    expect(w.find('[data-plan=Big] [data-test=markup-price]').exists()).toBe(true)
    expect(w.get('[data-plan=Big] [data-test=retail]').text()).toContain('$50.00 per month')
  })

  it('says when nothing is on sale, and shows a failed list in words', async () => {
    vi.stubGlobal('fetch', routes({ 'GET /api/v1/reseller/prices': { status: 200, body: list([]) } }).fn)
    const { wrapper: w } = await mountApp(PricesView, '/reseller/prices')
    expect(w.get('[data-test=prices-empty]').text()).toBe('No plans are on sale yet.')

    const base = routes().fn
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes('/reseller/prices')) throw new TypeError('Failed to fetch')
      return base(input, init)
    })
    const { wrapper: off } = await mountApp(PricesView, '/reseller/prices')
    expect(off.get('[data-test=error]').text()).toBe('The panel cannot be reached. Check your connection and try again.')
    expect(off.find('[data-test=prices-empty]').exists()).toBe(false)
  })
})
