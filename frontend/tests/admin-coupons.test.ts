// The coupon manager over the admin's and a reseller's API: list, create, edit,
// deactivate (through a confirmation), reactivate, redemptions, errors in words.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import CouponsManager from '@/components/admin/CouponsManager.vue'
import CouponsView from '@/views/admin/CouponsView.vue'
import { adminUser, apiError, customerUser, mountApp, planOf, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const list = <T>(items: T[], total = items.length) => ({ status: 200, body: { items, page: 1, per_page: 20, total } })

const plan = (id: string, name: string) => planOf(id, name, 500, { price_hour: 1, currency: 'EUR' })

const spring = {
  id: 'c-1',
  code: 'SPRING',
  kind: 'percent',
  value: 1000,
  expires_at: null,
  max_uses: 100,
  uses: 7,
  once_per_customer: true,
  plan_ids: ['p-1'],
  active: true,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
}
const resellerCoupon = { ...spring, id: 'c-2', code: 'ACME5', kind: 'fixed', value: 500, currency: 'EUR', owner_id: 'r-1', max_uses: null, plan_ids: [], active: false }

const resellerUser = { ...customerUser, id: 'r-1', email: 'acme@example.test', role: 'reseller' }

describe('CouponsManager (admin)', () => {
  it('lists coupons with discount, uses, plans, issuer and state, and filters', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/coupons': list([spring, resellerCoupon]),
      'GET /api/v1/plans': list([plan('p-1', 'Small'), plan('p-2', 'Large')]),
      'GET /api/v1/admin/resellers': list([{ id: 'r-1', email: 'acme@example.test', brand_name: 'Acme' }]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(CouponsView, '/admin/coupons')
    const rows = wrapper.findAll('[data-test=coupons] tbody tr')
    expect(rows).toHaveLength(2)
    const a = wrapper.get('[data-coupon=SPRING]')
    expect(a.text()).toContain('10%')
    expect(a.text()).toContain('7 of 100')
    expect(a.text()).toContain('Small')
    expect(a.text()).toContain('You (the provider)')
    expect(a.get('[data-state]').attributes('data-state')).toBe('active')
    const b = wrapper.get('[data-coupon=ACME5]')
    expect(b.text()).toContain('€5.00')
    expect(b.text()).toContain('Any plan')
    expect(b.get('a[href="/admin/resellers/r-1"]').text()).toBe('acme@example.test')
    expect(b.get('[data-state]').text()).toBe('Deactivated')
    await wrapper.get('[data-test=coupon-owner-filter]').setValue('provider')
    await flushPromises()
    expect(calls.filter((c) => c.path.startsWith('/api/v1/admin/coupons')).at(-1)!.path).toBe('/api/v1/admin/coupons?page=1&per_page=20&owner_id=provider')
  })

  it('creates a coupon with the right body and shows field errors', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/coupons': list([]),
      'GET /api/v1/plans': list([plan('p-1', 'Small'), plan('p-2', 'Large')]),
      'GET /api/v1/admin/resellers': list([]),
      'POST /api/v1/admin/coupons': [
        { status: 409, body: apiError('conflict', 'a coupon with this code exists already') },
        { status: 201, body: { ...spring, code: 'WELCOME5', kind: 'fixed', value: 550, currency: 'EUR' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(CouponsView, '/admin/coupons')
    expect(wrapper.text()).toContain('No coupons match.')
    await wrapper.get('[data-test=coupon-new]').trigger('click')
    const form = wrapper.get('[data-test=coupon-form]')
    await form.get('[data-test=coupon-code]').setValue('welcome5')
    await form.get('[data-test=coupon-kind]').setValue('fixed')
    expect((form.get('[data-test=coupon-currency]').element as HTMLSelectElement).value).toBe('EUR')
    await form.get('[data-test=coupon-value]').setValue('5.555')
    await form.trigger('submit')
    expect(form.text()).toContain('Enter an amount above 0')
    await form.get('[data-test=coupon-value]').setValue('5.5')
    await form.get('[data-test=coupon-max-uses]').setValue('50')
    await form.get('[data-test=coupon-once]').setValue(false)
    await form.get('[data-test=coupon-plans] input[value=p-2]').setValue(true)
    await form.trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=coupon-form] [data-test=error]').text()).toBe('This conflicts with the current state. Reload and try again.')
    await wrapper.get('[data-test=coupon-form]').trigger('submit')
    await flushPromises()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts).toHaveLength(2)
    expect(posts[1]!.body).toEqual({
      code: 'WELCOME5', kind: 'fixed', value: 550, currency: 'EUR', expires_at: null, max_uses: 50,
      once_per_customer: false, plan_ids: ['p-2'], active: true,
    })
    expect(wrapper.find('[data-test=coupon-form]').exists()).toBe(false)
    expect(wrapper.get('[role=status]').text()).toBe('Coupon WELCOME5 created.')
  })

  it('edits only what changed, deactivates after a confirmation, and reactivates', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/coupons': list([spring, resellerCoupon]),
      'GET /api/v1/plans': list([plan('p-1', 'Small')]),
      'GET /api/v1/admin/resellers': list([]),
      'PATCH /api/v1/admin/coupons/c-1': { status: 200, body: { ...spring, max_uses: null } },
      'DELETE /api/v1/admin/coupons/c-1': { status: 200, body: { ...spring, active: false } },
      'PATCH /api/v1/admin/coupons/c-2': { status: 200, body: { ...resellerCoupon, active: true } },
      'GET /api/v1/admin/coupons/c-1/redemptions': list([
        { id: 'x', user_id: 'u-1', user_email: 'alice@example.test', order_id: 'order-123456', discount: 250, currency: 'EUR', created_at: '2025-02-01T00:00:00Z' },
      ]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(CouponsView, '/admin/coupons')
    await wrapper.get('[data-coupon=SPRING] [data-test=coupon-edit]').trigger('click')
    const form = wrapper.get('[data-test=coupon-form]')
    expect((form.get('[data-test=coupon-value]').element as HTMLInputElement).value).toBe('10.00')
    await form.get('[data-test=coupon-max-uses]').setValue('')
    await form.trigger('submit')
    await flushPromises()
    expect(calls.find((c) => c.method === 'PATCH')!.body).toEqual({ max_uses: null })

    await wrapper.get('[data-coupon=SPRING] [data-test=coupon-uses]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=coupon-redemptions]').text()).toContain('alice@example.test')
    expect(wrapper.get('[data-test=coupon-redemptions]').text()).toContain('€2.50')

    await wrapper.get('[data-coupon=SPRING] [data-test=coupon-deactivate]').trigger('click')
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    expect(wrapper.get('[data-test=confirm-dialog]').text()).toContain('Customers can no longer use SPRING')
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/admin/coupons/c-1'])
    expect(wrapper.get('[role=status]').text()).toBe('Coupon SPRING deactivated.')

    await wrapper.get('[data-coupon=ACME5] [data-test=coupon-reactivate]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'PATCH').at(-1)).toMatchObject({ path: '/api/v1/admin/coupons/c-2', body: { active: true } })
  })

  it('shows a failing list in words', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/coupons': { status: 403, body: apiError('forbidden', 'scope admin:read needed') },
        'GET /api/v1/plans': list([]),
        'GET /api/v1/admin/resellers': list([]),
      }).fn,
    )
    const { wrapper } = await mountApp(CouponsView, '/admin/coupons')
    expect(wrapper.get('[data-test=error]').text()).toBe('You are not allowed to do this.')
  })
})

describe('CouponsManager (reseller)', () => {
  it('uses the reseller API and has no issuer column or filter', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: resellerUser },
      'GET /api/v1/reseller/coupons': list([{ ...resellerCoupon, active: true }]),
      'GET /api/v1/plans': list([plan('p-1', 'Small')]),
      'POST /api/v1/reseller/coupons': { status: 201, body: { ...spring, code: 'NEW10', owner_id: 'r-1' } },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(CouponsManager, '/', 'en', { base: '/reseller/coupons' })
    expect(wrapper.find('[data-coupon=ACME5]').exists()).toBe(true)
    expect(wrapper.find('[data-test=coupon-owner-filter]').exists()).toBe(false)
    expect(wrapper.text()).not.toContain('Issued by')
    await wrapper.get('[data-test=coupon-new]').trigger('click')
    await wrapper.get('[data-test=coupon-code]').setValue('NEW10')
    await wrapper.get('[data-test=coupon-value]').setValue('10')
    await wrapper.get('[data-test=coupon-form]').trigger('submit')
    await flushPromises()
    expect(calls.find((c) => c.method === 'POST')).toMatchObject({ path: '/api/v1/reseller/coupons', body: { code: 'NEW10', kind: 'percent', value: 1000 } })
    expect(calls.some((c) => c.path.includes('/admin/'))).toBe(false)
  })
})
