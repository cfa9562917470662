import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import CouponsView from '@/views/reseller/CouponsView.vue'
import InvoicesView from '@/views/reseller/InvoicesView.vue'
import { apiError, mountApp, scriptedFetch } from './helpers'
import { invoice, list, resellerUser } from './reseller-fixtures'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('invoices issued', () => {
  const second = { ...invoice, id: 'inv-2', number: 'ACME-2025-0002', status: 'open', total: 990, buyer_email: 'bob@example.test', paid_at: null }

  it('lists the invoices with the buyer and links to HTML and PDF, filters by status and pages', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: resellerUser },
      'GET /api/v1/reseller/invoices': { status: 200, body: list([invoice, second], 45) },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(InvoicesView, '/reseller/invoices')
    expect(calls.find((c) => c.path.startsWith('/api/v1/reseller/invoices'))?.path).toBe('/api/v1/reseller/invoices?page=1&per_page=20')
    const rows = w.findAll('[data-test=invoices] [data-invoice]')
    expect(rows.map((r) => r.attributes('data-invoice'))).toEqual(['ACME-2025-0001', 'ACME-2025-0002'])
    expect(rows[1]!.text()).toContain('bob@example.test')
    expect(rows[1]!.text()).toContain('$9.90')
    expect(rows[0]!.get('[data-test=invoice-html]').attributes('href')).toBe('/api/v1/invoices/inv-1/html')
    expect(rows[0]!.get('[data-test=invoice-pdf]').attributes('href')).toBe('/api/v1/invoices/inv-1/pdf')

    await w.get('[data-test=pager] button:last-child').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.path).toBe('/api/v1/reseller/invoices?page=2&per_page=20')
    await w.get('[data-test=invoice-status]').setValue('open')
    await flushPromises()
    expect(calls.at(-1)?.path).toBe('/api/v1/reseller/invoices?status=open&page=1&per_page=20')
    expect(w.get('[data-test=invoice-status]').text()).toContain('Void')
  })

  it('shows an error in words', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: resellerUser },
        'GET /api/v1/reseller/invoices': { status: 422, body: apiError('validation_failed', 'invalid', { status: 'must be open, paid or void' }) },
      }).fn,
    )
    const { wrapper: w } = await mountApp(InvoicesView, '/reseller/invoices', 'zh-CN')
    expect(w.get('[data-test=error]').text()).toBe('部分字段无效，请查看字段旁的提示。')
  })
})

describe('coupons', () => {
  it('manages the reseller’s own coupons through /reseller/coupons', async () => {
    const coupon = {
      id: 'c1',
      code: 'WELCOME10',
      owner_id: 'u-res',
      kind: 'percent',
      value: 1000,
      expires_at: null,
      max_uses: null,
      uses: 2,
      once_per_customer: true,
      plan_ids: [],
      active: true,
      created_at: '2025-01-01T00:00:00Z',
      updated_at: '2025-01-01T00:00:00Z',
    }
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: resellerUser },
      'GET /api/v1/reseller/coupons': { status: 200, body: list([coupon]) },
      'GET /api/v1/plans': { status: 200, body: list([]) },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CouponsView, '/reseller/coupons')
    expect(w.get('h1').text()).toBe('Coupons')
    expect(w.find('[data-test=coupons] [data-coupon=WELCOME10]').exists()).toBe(true)
    expect(calls.some((c) => c.path.startsWith('/api/v1/admin/'))).toBe(false)
    expect(calls.find((c) => c.path.startsWith('/api/v1/reseller/coupons'))?.path).toMatch(/^\/api\/v1\/reseller\/coupons\?page=1&per_page=20/)
  })
})
