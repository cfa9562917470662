// The resellers list, the create form and one reseller's page against a scripted panel.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import ResellersView from '@/views/admin/ResellersView.vue'
import ResellerView from '@/views/admin/ResellerView.vue'
import { adminUser, apiError, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const list = <T>(items: T[], total = items.length) => ({ status: 200, body: { items, page: 1, per_page: 25, total } })

const acme = {
  id: 'r-1',
  email: 'acme@example.test',
  brand_name: 'Acme Cloud',
  logo_url: '',
  domain: 'cloud.acme.test',
  support_email: 'help@acme.test',
  markup_bp: 2500,
  quota: { servers: 10, cpu: null, memory_mib: 8192, disk_mib: null },
  usage: { servers: 9, cpu: 12, memory_mib: 4096, disk_mib: 20480 },
  customers: 3,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
}

describe('ResellersView', () => {
  it('lists resellers with markup, customers and quota use, and searches', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/resellers': [list([acme]), list([])],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ResellersView, '/admin/resellers')
    expect(wrapper.get('[data-test=resellers] thead').text()).toContain('Markup (%)')
    const row = wrapper.get('[data-test=resellers] [data-reseller="acme@example.test"]')
    expect(row.get('a').attributes('href')).toBe('/admin/resellers/r-1')
    expect(row.text()).toContain('Acme Cloud')
    expect(row.text()).toContain('cloud.acme.test')
    expect(row.text()).toContain('25%')
    expect(row.text()).toContain('9 of 10')
    await wrapper.get('[data-test=reseller-search]').setValue('zzz')
    await wrapper.get('form[role=search]').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)!.path).toBe('/api/v1/admin/resellers?q=zzz&page=1&per_page=25')
    expect(wrapper.get('[data-test=resellers-empty]').text()).toBe('No reseller matches.')
  })

  it('creates a reseller: markup percent as basis points, empty quotas unlimited, field errors from the API', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/resellers': [list([]), list([acme])],
      'POST /api/v1/admin/resellers': [
        { status: 422, body: apiError('validation_failed', 'invalid', { domain: 'is the panel’s own host name' }) },
        { status: 201, body: acme },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ResellersView, '/admin/resellers')
    const form = wrapper.get('[data-test=reseller-form]')
    await form.get('[data-test=reseller-email]').setValue('acme@example.test')
    await form.get('[data-test=reseller-password]').setValue('a long password')
    await form.get('[data-test=reseller-brand]').setValue('Acme Cloud')
    await form.get('[data-test=reseller-domain]').setValue('Cloud.Acme.Test')
    await form.get('[data-test=reseller-markup]').setValue('12.5')
    await form.get('[data-test=reseller-quota-servers]').setValue('10')
    await form.get('[data-test=reseller-quota-memory_mib]').setValue('8192')
    expect(form.text()).toContain('8 GiB')

    // A quota that is not a whole number is caught before any request.
    await form.get('[data-test=reseller-quota-cpu]').setValue('2.5')
    await form.get('[data-test=reseller-submit]').trigger('submit')
    expect(wrapper.get('#rs-cpu-error').text()).toBe('Enter a whole number, or leave it empty for unlimited.')
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
    await form.get('[data-test=reseller-quota-cpu]').setValue('')

    await form.trigger('submit')
    await flushPromises()
    expect(wrapper.get('#rs-domain-error').text()).toBe('is the panel’s own host name')
    expect(wrapper.get('[data-test=error]').text()).toContain('Some fields are not valid')
    await form.trigger('submit')
    await flushPromises()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts).toHaveLength(2)
    expect(posts[1]!.path).toBe('/api/v1/admin/resellers')
    expect(posts[1]!.body).toEqual({
      email: 'acme@example.test',
      password: 'a long password',
      brand_name: 'Acme Cloud',
      domain: 'cloud.acme.test',
      markup_bp: 1250,
      quota_servers: 10,
      quota_cpu: null,
      quota_memory_mib: 8192,
      quota_disk_mib: null,
    })
    expect(wrapper.get('[data-test=reseller-created]').text()).toBe('Reseller acme@example.test created.')
    expect(wrapper.find('[data-reseller="acme@example.test"]').exists()).toBe(true)
    expect((wrapper.get('[data-test=reseller-email]').element as HTMLInputElement).value).toBe('')
  })
})

describe('ResellerView', () => {
  it('shows the profile and usage, and saves only the changed terms', async () => {
    const updated = { ...acme, markup_bp: 3000, quota: { ...acme.quota, servers: null } }
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/resellers/r-1': { status: 200, body: acme },
      'GET /api/v1/admin/invoices': list([
        {
          id: 'i1', number: 'ACME-0001', issuer_id: 'r-1', user_id: 'u-1', subscription_id: null, order_id: null, status: 'paid',
          currency: 'USD', exponent: 2, subtotal: 1000, discount: 0, total: 1000, period_start: null, period_end: null,
          seller_name: 'Acme Cloud', seller_email: '', buyer_email: 'cust@example.test', issued_at: '2025-02-01T00:00:00Z', due_at: null, paid_at: null,
        },
      ]),
      'PATCH /api/v1/admin/resellers/r-1': [
        { status: 422, body: apiError('validation_failed', 'invalid', { markup_bp: 'must be at most 100000' }) },
        { status: 200, body: updated },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ResellerView, '/admin/resellers/r-1', 'en', { id: 'r-1' })
    expect(wrapper.get('[data-test=reseller-title]').text()).toBe('Acme Cloud')
    expect(wrapper.get('[data-test=reseller-markup-value]').text()).toBe('25%')
    expect(wrapper.get('[data-test=reseller-customers]').text()).toBe('3')
    const usage = wrapper.get('[data-test=reseller-usage]')
    expect(usage.text()).toContain('9 of 10')
    expect(usage.text()).toContain('12 (unlimited)')
    expect(usage.findAll('[role=progressbar]')).toHaveLength(2)
    expect(wrapper.get('[data-invoice="ACME-0001"]').text()).toContain('cust@example.test')
    expect(calls.find((c) => c.path.startsWith('/api/v1/admin/invoices'))!.path).toBe('/api/v1/admin/invoices?issuer_id=r-1&page=1&per_page=10')
    expect(wrapper.find('a[href="/admin/subscriptions?reseller_id=r-1"]').exists()).toBe(true)

    const terms = wrapper.get('[data-test=reseller-terms]')
    expect((terms.get('[data-test=reseller-markup]').element as HTMLInputElement).value).toBe('25')
    await terms.get('[data-test=reseller-markup]').setValue('30')
    await terms.get('[data-test=reseller-quota-servers]').setValue('')
    await terms.trigger('submit')
    await flushPromises()
    expect(wrapper.get('#rt-markup-error').text()).toBe('must be at most 100000')
    await terms.trigger('submit')
    await flushPromises()
    const patch = calls.filter((c) => c.method === 'PATCH').at(-1)!
    expect(patch.body).toEqual({ markup_bp: 3000, quota_servers: null })
    expect(wrapper.get('[data-test=reseller-markup-value]').text()).toBe('30%')
    expect(terms.text()).toContain('Saved.')
  })

  it('says "not found" for an unknown reseller', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/resellers/nope': { status: 404, body: apiError('not_found', 'reseller not found') },
        'GET /api/v1/admin/invoices': list([]),
      }).fn,
    )
    const { wrapper } = await mountApp(ResellerView, '/admin/resellers/nope', 'en', { id: 'nope' })
    expect(wrapper.get('[data-test=not-found]').text()).toContain('There is no reseller with this id.')
    expect(wrapper.find('[data-test=reseller-terms]').exists()).toBe(false)
  })
})
