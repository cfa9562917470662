// The admin's subscriptions and invoices lists: rendered from the API, filters sent as the
// query (from the form and from the page URL), errors in words.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import InvoicesView from '@/views/admin/InvoicesView.vue'
import SubscriptionsView from '@/views/admin/SubscriptionsView.vue'
import { adminUser, apiError, customerUser, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const list = <T>(items: T[], total = items.length) => ({ status: 200, body: { items, page: 1, per_page: 25, total } })
const alice = { ...customerUser, id: 'u-1', email: 'alice@example.test' }

const sub = {
  id: 'sub-1',
  user_id: 'u-1',
  reseller_id: 'r-1',
  plan_id: 'p-1',
  server_id: 'srv-123456789',
  cycle: 'monthly',
  status: 'active',
  currency: 'USD',
  price: 1250,
  wholesale_price: 1000,
  cpu: 1,
  memory_mib: 1024,
  disk_mib: 10240,
  auto_renew: true,
  period_start: '2025-03-01T00:00:00Z',
  period_end: '2025-04-01T00:00:00Z',
  created_at: '2025-03-01T00:00:00Z',
  updated_at: '2025-03-01T00:00:00Z',
}

const invoice = {
  id: 'inv-1', number: 'NIM-2025-0001', issuer_id: '', user_id: 'u-1', subscription_id: 'sub-1', order_id: null, status: 'open',
  currency: 'USD', exponent: 2, subtotal: 1250, discount: 0, total: 1250, period_start: null, period_end: null,
  seller_name: 'Nimbo', seller_email: '', buyer_email: 'alice@example.test', issued_at: '2025-03-01T00:00:00Z', due_at: null, paid_at: null,
}

describe('SubscriptionsView', () => {
  it('renders plan, customer, server, status, period and prices', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/subscriptions': list([sub, { ...sub, id: 'sub-2', cycle: 'hourly', status: 'suspended', reseller_id: undefined, wholesale_price: undefined, price: 3 }]),
      'GET /api/v1/admin/plans': list([{ id: 'p-1', name: 'Small' }]),
      'GET /api/v1/admin/resellers': list([{ id: 'r-1', email: 'acme@example.test', brand_name: 'Acme' }]),
      'GET /api/v1/admin/users/u-1': { status: 200, body: alice },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SubscriptionsView, '/admin/subscriptions')
    await flushPromises()
    const rows = wrapper.findAll('[data-test=subscriptions] tbody tr')
    expect(rows).toHaveLength(2)
    const a = wrapper.get('[data-subscription=sub-1]')
    expect(a.text()).toContain('Small')
    expect(a.text()).toContain('Monthly')
    expect(a.get('a[href="/admin/users/u-1"]').text()).toBe('alice@example.test')
    expect(a.get('a[href="/admin/resellers/r-1"]').text()).toBe('Acme')
    expect(a.get('a[href="/servers/srv-123456789"]').text()).toBe('srv-1234')
    expect(a.get('[data-status]').text()).toBe('Active')
    expect(a.text()).toContain('$12.50')
    expect(a.text()).toContain('$10.00')
    expect(a.text()).toContain('per month')
    const b = wrapper.get('[data-subscription=sub-2]')
    expect(b.get('[data-status]').text()).toBe('Suspended')
    expect(b.text()).toContain('$0.03')
    expect(b.text()).toContain('per hour')
  })

  it('sends the filters (a customer e-mail looked up to its id) and reads them from the URL', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/subscriptions': list([]),
      'GET /api/v1/admin/plans': list([]),
      'GET /api/v1/admin/resellers': list([]),
      'GET /api/v1/admin/users': list([alice]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(SubscriptionsView, '/admin/subscriptions?reseller_id=r-9')
    const subs = () => calls.filter((c) => c.path.startsWith('/api/v1/admin/subscriptions'))
    expect(subs()[0]!.path).toBe('/api/v1/admin/subscriptions?reseller_id=r-9&page=1&per_page=25')
    expect(wrapper.get('[data-test=subscriptions-empty]').text()).toBe('No subscriptions match these filters.')
    await wrapper.get('[data-test=subscription-status]').setValue('suspended')
    await wrapper.get('[data-test=subscription-user]').setValue('alice@example.test')
    await wrapper.get('[data-test=subscription-filters]').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.query).toEqual({ status: 'suspended', user_id: 'u-1', reseller_id: 'r-9' })
    expect(subs().at(-1)!.path).toBe('/api/v1/admin/subscriptions?status=suspended&user_id=u-1&reseller_id=r-9&page=1&per_page=25')
  })

  it('shows a validation error next to its filter', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/subscriptions': { status: 422, body: apiError('validation_failed', 'invalid', { user_id: 'must be an id' }) },
        'GET /api/v1/admin/plans': list([]),
        'GET /api/v1/admin/resellers': list([]),
      }).fn,
    )
    const { wrapper } = await mountApp(SubscriptionsView, '/admin/subscriptions?user_id=xyz')
    expect(wrapper.get('[data-test=error]').text()).toContain('Some fields are not valid')
    expect(wrapper.get('#sub-user-error').text()).toBe('must be an id')
  })
})

describe('InvoicesView', () => {
  it('renders invoices with the billed customer and document links, and filters by issuer and status', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/invoices': list([invoice], 30),
      'GET /api/v1/admin/resellers': list([{ id: 'r-1', email: 'acme@example.test', brand_name: 'Acme' }]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(InvoicesView, '/admin/invoices')
    const row = wrapper.get('[data-test=invoices] [data-invoice="NIM-2025-0001"]')
    expect(row.text()).toContain('alice@example.test')
    expect(row.text()).toContain('$12.50')
    expect(row.get('[data-test=invoice-html]').attributes('href')).toBe('/api/v1/invoices/inv-1/html')
    expect(row.get('[data-test=invoice-pdf]').attributes('href')).toBe('/api/v1/invoices/inv-1/pdf')
    await wrapper.get('[data-test=invoice-issuer]').setValue('r-1')
    await wrapper.get('[data-test=invoice-status]').setValue('paid')
    await wrapper.get('[data-test=invoice-filters]').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.query).toEqual({ status: 'paid', issuer_id: 'r-1' })
    const invs = calls.filter((c) => c.path.startsWith('/api/v1/admin/invoices'))
    expect(invs.at(-1)!.path).toBe('/api/v1/admin/invoices?status=paid&issuer_id=r-1&page=1&per_page=25')
    await wrapper.get('[data-test=pager] button:last-child').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.query).toEqual({ status: 'paid', issuer_id: 'r-1', page: '2' })
    expect(calls.at(-1)!.path).toBe('/api/v1/admin/invoices?status=paid&issuer_id=r-1&page=2&per_page=25')
  })

  it('shows an error in words', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/invoices': { status: 503, body: apiError('unavailable', 'database down') },
        'GET /api/v1/admin/resellers': list([]),
      }).fn,
    )
    const { wrapper } = await mountApp(InvoicesView, '/admin/invoices')
    expect(wrapper.get('[data-test=error]').text()).toBe('The service is unavailable right now. Try again shortly.')
  })
})
