import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import CustomersView from '@/views/reseller/CustomersView.vue'
import CustomerView from '@/views/reseller/CustomerView.vue'
import { apiError, mountApp, scriptedFetch, type Call } from './helpers'
import { customer, invoice, list, price, resellerUser } from './reseller-fixtures'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const bob = { ...customer, id: '2a1c1b0e-0c1e-4a57-8e0a-3c1f6c2b9d11', email: 'bob@example.test', email_verified: false }

describe('customers list', () => {
  const routes = (extra: Record<string, unknown> = {}) =>
    scriptedFetch({
      'GET /api/v1/me': { status: 200, body: resellerUser },
      'GET /api/v1/reseller/customers': (c: Call) => ({
        status: 200,
        body: c.path.includes('q=bob') ? list([bob]) : c.path.includes('q=') ? list([]) : list([customer, bob], 60, 25),
      }),
      ...(extra as Record<string, never>),
    })

  it('lists the customers with links to their pages, searches and pages', async () => {
    const { fn, calls } = routes()
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomersView, '/reseller/customers')
    expect(calls.find((c) => c.path.startsWith('/api/v1/reseller/customers'))?.path).toBe('/api/v1/reseller/customers?page=1&per_page=25')
    const rows = w.findAll('[data-test=customers] [data-customer]')
    expect(rows.map((r) => r.attributes('data-customer'))).toEqual(['alice@example.test', 'bob@example.test'])
    expect(rows[0]!.get('a').attributes('href')).toBe(`/reseller/customers/${customer.id}`)
    expect(rows[1]!.text()).toContain('No')

    await w.get('[data-test=pager] button:last-child').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.path).toBe('/api/v1/reseller/customers?page=2&per_page=25')

    await w.get('[data-test=customer-search]').setValue(' bob ')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)?.path).toBe('/api/v1/reseller/customers?page=1&per_page=25&q=bob')
    expect(w.findAll('[data-customer]').map((r) => r.attributes('data-customer'))).toEqual(['bob@example.test'])

    await w.get('[data-test=customer-search]').setValue('nobody')
    await w.get('form[role=search]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-test=customers-empty]').text()).toBe('No customer matches this search.')
  })

  it('creates a customer and lists it', async () => {
    const { fn, calls } = routes({ 'POST /api/v1/reseller/customers': { status: 201, body: { ...customer, email: 'carol@example.test' } } })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomersView, '/reseller/customers')
    await w.get('#c-email').setValue(' carol@example.test ')
    await w.get('#c-password').setValue('s3cret-pass')
    await w.get('[data-test=customer-form]').trigger('submit')
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.path).toBe('/api/v1/reseller/customers')
    expect(post?.body).toEqual({ email: 'carol@example.test', password: 's3cret-pass' })
    expect(w.get('[data-test=customer-created]').text()).toBe('Customer carol@example.test created.')
    expect((w.get('#c-password').element as HTMLInputElement).value).toBe('')
    expect(calls.filter((c) => c.path.startsWith('/api/v1/reseller/customers?'))).toHaveLength(2)
  })

  it('explains a taken address, a short password and the API’s field errors', async () => {
    const { fn, calls } = routes({
      'POST /api/v1/reseller/customers': [
        { status: 409, body: apiError('conflict', 'a user with this email already exists') },
        { status: 422, body: apiError('validation_failed', 'invalid', { email: 'must be a valid e-mail address' }) },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomersView, '/reseller/customers')
    await w.get('#c-email').setValue('alice@example.test')
    await w.get('#c-password').setValue('short')
    await w.get('[data-test=customer-form]').trigger('submit')
    expect(w.get('#c-password-error').text()).toBe('The password needs at least 8 characters.')
    expect(calls.some((c) => c.method === 'POST')).toBe(false)

    await w.get('#c-password').setValue('long-enough')
    await w.get('[data-test=customer-form]').trigger('submit')
    await flushPromises()
    expect(w.get('#c-email-error').text()).toBe('An account with this e-mail address exists already.')

    await w.get('#c-email').setValue('not-an-address')
    await w.get('[data-test=customer-form]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-test=error]').text()).toBe('Some fields are not valid: see the messages next to them.')
    expect(w.get('#c-email-error').text()).toBe('must be a valid e-mail address')
  })

  it('shows a failed list in words', async () => {
    vi.stubGlobal('fetch', routes({ 'GET /api/v1/reseller/customers': { status: 503, body: apiError('unavailable') } }).fn)
    const { wrapper: w } = await mountApp(CustomersView, '/reseller/customers')
    expect(w.get('[data-test=error]').text()).toBe('The service is unavailable right now. Try again shortly.')
  })
})

describe('customer page', () => {
  const server = (id: string, owner: string, status: string) => ({
    id,
    name: `web-${id}`,
    owner_id: owner,
    node_id: 'n1',
    incus_name: `web-${id}`,
    type: 'container',
    image: 'busybox',
    cpu: 1,
    memory_mib: 512,
    disk_mib: 2048,
    status,
    created_at: '2025-02-04T00:00:00Z',
    updated_at: '2025-02-04T00:00:00Z',
  })
  const payment = {
    id: 'pay-1',
    user_id: customer.id,
    gateway: 'manual',
    amount: 2000,
    currency: 'USD',
    status: 'paid',
    reason: 'bank transfer',
    created_by: 'u-res',
    created_at: '2025-02-05T00:00:00Z',
    updated_at: '2025-02-05T00:00:00Z',
    paid_at: '2025-02-05T00:00:00Z',
  }
  const wallet = (currency: string, exponent: number, balance: number, creditLimit = 0) => ({
    id: `w-${currency}`,
    user_id: customer.id,
    currency,
    exponent,
    balance,
    credit_limit: creditLimit,
    created_at: '2025-02-05T00:00:00Z',
    updated_at: '2025-02-05T00:00:00Z',
  })
  const walletsPath = `GET /api/v1/reseller/customers/${customer.id}/wallets`
  const routes = (extra: Record<string, unknown> = {}) =>
    scriptedFetch({
      'GET /api/v1/me': { status: 200, body: resellerUser },
      [`GET /api/v1/reseller/customers/${customer.id}`]: { status: 200, body: customer },
      [walletsPath]: { status: 200, body: list([wallet('JPY', 0, 1200), wallet('USD', 2, 4250, 1000)]) },
      'GET /api/v1/reseller/prices': { status: 200, body: list([price, { ...price, plan_id: 'p-eur', currency: 'EUR' }]) },
      'GET /api/v1/payments': { status: 200, body: list([payment]) },
      'GET /api/v1/servers': { status: 200, body: list([server('a1', customer.id, 'running'), server('c3', customer.id, 'stopped')], 2, 10) },
      'GET /api/v1/reseller/invoices': { status: 200, body: list([invoice]) },
      ...(extra as Record<string, never>),
    })

  it('shows the account, its wallets, its payments, its servers and its invoices', async () => {
    const { fn, calls } = routes()
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'en', { id: customer.id })
    await flushPromises()
    expect(w.get('[data-test=customer-email]').text()).toBe('alice@example.test')
    expect(w.get('[data-test=customer-verified]').text()).toBe('Yes')

    expect(calls.find((c) => c.path.includes('/wallets'))?.path).toBe(`/api/v1/reseller/customers/${customer.id}/wallets`)
    const wallets = w.findAll('[data-test=customer-wallets] [data-wallet]')
    expect(wallets.map((x) => x.attributes('data-wallet'))).toEqual(['JPY', 'USD'])
    expect(w.get('[data-wallet=JPY] [data-test=wallet-balance]').text()).toBe('¥1,200')
    expect(w.get('[data-wallet=JPY]').text()).not.toContain('Credit limit')
    expect(w.get('[data-wallet=USD] [data-test=wallet-balance]').text()).toBe('$42.50')
    expect(w.get('[data-wallet=USD]').text()).toContain('Credit limit $10.00')
    expect(w.find('[data-test=wallets-empty]').exists()).toBe(false)

    expect(calls.find((c) => c.path.startsWith('/api/v1/payments'))?.path).toBe(`/api/v1/payments?user_id=${customer.id}&page=1&per_page=10`)
    const pay = w.get('[data-test=customer-payments] [data-payment=pay-1]')
    expect(pay.text()).toContain('$20.00')
    expect(pay.text()).toContain('Credited by hand')
    expect(pay.text()).toContain('bank transfer')

    const serverCalls = calls.filter((c) => c.path.startsWith('/api/v1/servers'))
    expect(serverCalls.map((c) => c.path)).toEqual([`/api/v1/servers?page=1&per_page=10&owner_id=${customer.id}`])
    const servers = w.findAll('[data-test=customer-servers] [data-server]')
    expect(servers.map((s) => s.attributes('data-server'))).toEqual(['web-a1', 'web-c3'])
    expect(servers[0]!.get('a').attributes('href')).toBe('/servers/a1')
    expect(servers[0]!.get('[data-status]').attributes('data-status')).toBe('running')
    expect(servers[1]!.get('[data-status]').attributes('data-status')).toBe('stopped')

    expect(calls.find((c) => c.path.startsWith('/api/v1/reseller/invoices'))?.path).toBe(`/api/v1/reseller/invoices?user_id=${customer.id}&page=1&per_page=10`)
    const inv = w.get('[data-test=invoices] [data-invoice="ACME-2025-0001"]')
    expect(inv.get('[data-test=invoice-pdf]').attributes('href')).toBe('/api/v1/invoices/inv-1/pdf')

    const options = w.findAll('#cr-currencies option').map((o) => o.attributes('value'))
    expect(options).toEqual(['USD', 'EUR'])
    expect((w.get('#cr-currency').element as HTMLInputElement).value).toBe('USD')
  })

  it('credits the wallet with an idempotency key kept across a retry, then a new one, and shows the new balance', async () => {
    const { fn, calls } = routes({
      [walletsPath]: [{ status: 200, body: list([]) }, { status: 200, body: list([wallet('USD', 2, 1550)]) }],
      'POST /api/v1/payments/manual': [
        { status: 503, body: apiError('unavailable') },
        { status: 201, body: { ...payment, id: 'pay-2', amount: 1550 } },
        { status: 201, body: { ...payment, id: 'pay-3', amount: 100 } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'en', { id: customer.id })
    await flushPromises()
    await w.get('#cr-amount').setValue('15.50')
    await w.get('#cr-currency').setValue('usd')
    await w.get('#cr-reason').setValue('cash at the counter')
    await w.get('[data-test=credit-form]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-test=credit-form] [data-test=error]').text()).toBe('The service is unavailable right now. Try again shortly.')
    expect(calls.filter((c) => c.path.endsWith('/wallets'))).toHaveLength(1)
    expect(w.get('[data-test=wallets-empty]').text()).toBe('No wallet yet: one opens with the first credit or top-up in a currency.')

    await w.get('[data-test=credit-form]').trigger('submit')
    await flushPromises()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts).toHaveLength(2)
    expect(posts[0]!.path).toBe('/api/v1/payments/manual')
    expect(posts[0]!.body).toEqual({ user_id: customer.id, amount: 1550, currency: 'USD', reason: 'cash at the counter' })
    const key = posts[0]!.headers['Idempotency-Key']
    expect(key).toMatch(/^[0-9a-f-]{36}$/)
    expect(posts[1]!.headers['Idempotency-Key']).toBe(key)
    expect(w.get('[data-test=credited]').text()).toBe('$15.50 credited to alice@example.test.')
    expect(calls.filter((c) => c.path.startsWith('/api/v1/payments?'))).toHaveLength(2)
    expect(calls.filter((c) => c.path.endsWith('/wallets'))).toHaveLength(2)
    expect(w.find('[data-test=wallets-empty]').exists()).toBe(false)
    expect(w.get('[data-test=customer-wallets] [data-wallet=USD] [data-test=wallet-balance]').text()).toBe('$15.50')

    await w.get('#cr-amount').setValue('1')
    await w.get('[data-test=credit-form]').trigger('submit')
    await flushPromises()
    const third = calls.filter((c) => c.method === 'POST')[2]!
    expect(third.headers['Idempotency-Key']).not.toBe(key)
  })

  it('checks the amount before sending and shows the panel’s refusal in words', async () => {
    const { fn, calls } = routes({ 'POST /api/v1/payments/manual': { status: 404, body: apiError('not_found', 'user not found') } })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'en', { id: customer.id })
    await flushPromises()
    await w.get('#cr-amount').setValue('1.234')
    await w.get('[data-test=credit-form]').trigger('submit')
    expect(w.get('#cr-amount-error').text()).toBe('Enter a positive amount with at most 2 decimals.')
    await w.get('#cr-amount').setValue('0')
    await w.get('[data-test=credit-form]').trigger('submit')
    expect(w.find('#cr-amount-error').exists()).toBe(true)
    expect(calls.some((c) => c.method === 'POST')).toBe(false)

    await w.get('#cr-amount').setValue('5')
    await w.get('[data-test=credit-form]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-test=credit-form] [data-test=error]').text()).toBe('This was not found, or you have no access to it.')
    expect(w.find('[data-test=credited]').exists()).toBe(false)
  })

  it('shows "not found" for anybody else’s account', async () => {
    vi.stubGlobal('fetch', routes({ [`GET /api/v1/reseller/customers/${bob.id}`]: { status: 404, body: apiError('not_found', 'customer not found') } }).fn)
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${bob.id}`, 'en', { id: bob.id })
    expect(w.find('[data-test=not-found]').exists()).toBe(true)
    expect(w.find('[data-test=credit-form]').exists()).toBe(false)
  })

  it('pages through the customer’s servers', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`)
    const { fn, calls } = routes({
      'GET /api/v1/servers': (c: Call) => {
        const q = new URL(c.path, 'http://panel.test').searchParams
        const page = Number(q.get('page'))
        const per = Number(q.get('per_page'))
        return { status: 200, body: { items: names.slice((page - 1) * per, page * per).map((n) => server(n, customer.id, 'running')), total: 23, page, per_page: per } }
      },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'en', { id: customer.id })
    await flushPromises()
    const rows = () => w.findAll('[data-test=customer-servers] [data-server]').map((r) => r.attributes('data-server'))
    expect(rows()).toEqual(names.slice(0, 10).map((n) => `web-${n}`))
    const pager = w.get('[data-test=servers-section] [data-test=pager]')
    expect(pager.text()).toContain('23')

    await pager.get('button:last-child').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.path.startsWith('/api/v1/servers')).at(-1)?.path).toBe(`/api/v1/servers?page=2&per_page=10&owner_id=${customer.id}`)
    expect(rows()).toEqual(names.slice(10, 20).map((n) => `web-${n}`))

    await pager.get('button:last-child').trigger('click')
    await flushPromises()
    expect(rows()).toEqual(['web-s21', 'web-s22', 'web-s23'])
    expect(pager.get('button:last-child').attributes('disabled')).toBeDefined()
    await pager.get('button:first-child').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.path.startsWith('/api/v1/servers')).at(-1)?.path).toBe(`/api/v1/servers?page=2&per_page=10&owner_id=${customer.id}`)
  })

  it('goes back to the last page when servers were deleted meanwhile', async () => {
    const { fn, calls } = routes({
      'GET /api/v1/servers': [
        { status: 200, body: { items: Array.from({ length: 10 }, (_, i) => server(`a${i}`, customer.id, 'running')), total: 21, page: 1, per_page: 10 } },
        { status: 200, body: { items: Array.from({ length: 10 }, (_, i) => server(`b${i}`, customer.id, 'running')), total: 21, page: 2, per_page: 10 } },
        { status: 200, body: { items: [], total: 12, page: 3, per_page: 10 } },
        { status: 200, body: { items: [server('c1', customer.id, 'running'), server('c2', customer.id, 'stopped')], total: 12, page: 2, per_page: 10 } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'en', { id: customer.id })
    await flushPromises()
    const pager = () => w.get('[data-test=servers-section] [data-test=pager]')
    await pager().get('button:last-child').trigger('click')
    await flushPromises()
    await pager().get('button:last-child').trigger('click')
    await flushPromises()
    const paths = calls.filter((c) => c.path.startsWith('/api/v1/servers')).map((c) => new URL(c.path, 'http://panel.test').searchParams.get('page'))
    expect(paths).toEqual(['1', '2', '3', '2'])
    expect(w.findAll('[data-test=customer-servers] [data-server]').map((r) => r.attributes('data-server'))).toEqual(['web-c1', 'web-c2'])
    expect(w.find('[data-test=servers-empty]').exists()).toBe(false)
  })

  it('shows failed wallet and server lists in words', async () => {
    vi.stubGlobal(
      'fetch',
      routes({
        [walletsPath]: { status: 404, body: apiError('not_found', 'customer not found') },
        'GET /api/v1/servers': { status: 422, body: apiError('validation_failed', 'invalid', { owner_id: 'must be a user id' }) },
      }).fn,
    )
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'en', { id: customer.id })
    await flushPromises()
    expect(w.get('[data-test=customer-wallets] [data-test=error]').text()).toBe('This was not found, or you have no access to it.')
    expect(w.find('[data-test=wallets-empty]').exists()).toBe(false)
    expect(w.get('[data-test=servers-section] [data-test=error]').text()).toBe('Some fields are not valid: see the messages next to them.')
    expect(w.find('[data-test=servers-empty]').exists()).toBe(false)
    expect(w.find('[data-test=credit-form]').exists()).toBe(true)
  })

  it('says when a customer has no wallets, servers, payments or invoices', async () => {
    vi.stubGlobal(
      'fetch',
      routes({
        [walletsPath]: { status: 200, body: list([]) },
        'GET /api/v1/servers': { status: 200, body: list([], 0, 10) },
        'GET /api/v1/payments': { status: 200, body: list([]) },
        'GET /api/v1/reseller/invoices': { status: 200, body: list([]) },
      }).fn,
    )
    const { wrapper: w } = await mountApp(CustomerView, `/reseller/customers/${customer.id}`, 'zh-CN', { id: customer.id })
    await flushPromises()
    expect(w.get('[data-test=wallets-empty]').text()).toBe('暂无钱包：某一币种首次入账或充值后会自动开通。')
    expect(w.get('[data-test=servers-empty]').text()).toBe('该客户没有服务器。')
    expect(w.get('[data-test=payments-empty]').text()).toBe('暂无入账记录。')
    expect(w.findAll('[data-test=invoices] [data-invoice]')).toHaveLength(0)
  })
})
