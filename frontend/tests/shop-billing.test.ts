// The billing pages against a scripted panel: wallet top-up through a gateway and the
// payments list, the payment page the gateways return to, invoices, subscriptions (renew,
// cancel at period end, change plan) and notification settings.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Invoice } from '@/api/shop'
import InvoiceTable from '@/components/shop/InvoiceTable.vue'
import { browser } from '@/components/shop/billing'
import { makeI18n } from '@/i18n'
import InvoicesView from '@/views/shop/InvoicesView.vue'
import NotificationsView from '@/views/shop/NotificationsView.vue'
import PaymentView from '@/views/shop/PaymentView.vue'
import SubscriptionView from '@/views/shop/SubscriptionView.vue'
import SubscriptionsView from '@/views/shop/SubscriptionsView.vue'
import WalletView from '@/views/WalletView.vue'
import { apiError, customerUser, mountApp, planOf, scriptedFetch, subscriptionOf, type Call } from './helpers'

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
  localStorage.clear()
})

const me = { 'GET /api/v1/me': { status: 200, body: customerUser } }
const list = <T>(items: T[], total = items.length) => ({ status: 200, body: { items, page: 1, per_page: 20, total } })
const wallet = {
  id: 'w1',
  user_id: customerUser.id,
  currency: 'USD',
  exponent: 2,
  balance: 1234,
  credit_limit: 0,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
}
const payment = {
  id: 'pay-1',
  user_id: customerUser.id,
  gateway: 'stripe',
  amount: 2500,
  currency: 'USD',
  status: 'created',
  created_by: customerUser.id,
  created_at: '2025-03-01T10:00:00Z',
  updated_at: '2025-03-01T10:00:00Z',
}
const invoice: Invoice = {
  id: 'inv-1',
  number: 'INV-2025-000001',
  issuer_id: '',
  user_id: customerUser.id,
  subscription_id: 's1',
  order_id: 'o1',
  status: 'paid',
  currency: 'USD',
  exponent: 2,
  subtotal: 700,
  discount: 0,
  total: 700,
  period_start: null,
  period_end: null,
  seller_name: 'Nimbo',
  seller_email: 'billing@example.test',
  buyer_email: 'cust@example.test',
  issued_at: '2025-03-01T10:00:00Z',
  due_at: null,
  paid_at: '2025-03-01T10:00:00Z',
}
const plans = [planOf('p-small', 'Small', 1000, { disk_mib: 5120 }), planOf('p-big', 'Big', 3000, { disk_mib: 5120 })]

describe('WalletView top-up', () => {
  it('starts a checkout with an Idempotency-Key and sends the browser to the gateway', async () => {
    const go = vi.spyOn(browser, 'go').mockImplementation(() => undefined)
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/wallets': list([wallet]),
      'GET /api/v1/wallets/USD/entries': list([]),
      'GET /api/v1/plans': list(plans),
      'GET /api/v1/payments': list([{ ...payment, status: 'paid', paid_at: '2025-03-01T10:01:00Z' }]),
      'GET /api/v1/payments/gateways': {
        status: 200,
        body: { items: [{ name: 'manual', checkout: false }, { name: 'stripe', checkout: true }, { name: 'alipay', checkout: true, currencies: ['CNY'] }] },
      },
      'POST /api/v1/payments': [
        { status: 422, body: apiError('gateway_unavailable') },
        { status: 201, body: { payment, redirect_url: 'https://checkout.stripe.test/c/pay-1' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(WalletView, '/billing/wallet')
    await flushPromises()
    expect(wrapper.findAll('#t-gateway option').map((o) => o.text())).toEqual(['Card (Stripe)', 'Alipay'])
    expect(wrapper.findAll('#t-currency option').map((o) => o.text())).toEqual(['USD'])
    await wrapper.get('#t-gateway').setValue('alipay')
    expect(wrapper.findAll('#t-currency option').map((o) => o.text())).toEqual(['CNY'])
    await wrapper.get('#t-gateway').setValue('stripe')

    await wrapper.get('#t-amount').setValue('12.345')
    await wrapper.get('[data-test=topup-form]').trigger('submit')
    expect(wrapper.get('#t-amount-error').text()).toBe('Enter an amount above zero with at most 2 decimal places.')
    expect(calls.some((c) => c.method === 'POST')).toBe(false)

    await wrapper.get('#t-amount').setValue('25')
    await wrapper.get('[data-test=topup-submit]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=topup-form] [data-test=error]').text()).toBe('This payment method is not available.')
    await wrapper.get('[data-test=topup-submit]').trigger('click')
    await flushPromises()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts.map((c) => c.body)).toEqual([
      { gateway: 'stripe', amount: 2500, currency: 'USD' },
      { gateway: 'stripe', amount: 2500, currency: 'USD' },
    ])
    expect(posts[0]!.headers['Idempotency-Key']).toBeTruthy()
    expect(posts[1]!.headers['Idempotency-Key']).toBe(posts[0]!.headers['Idempotency-Key'])
    expect(go).toHaveBeenCalledWith('https://checkout.stripe.test/c/pay-1')
    expect(wrapper.get('[data-test=topup-leaving]').text()).toContain('Card (Stripe)')
    expect(wrapper.get('[data-test=topup-submit]').attributes('disabled')).toBeDefined()

    const row = wrapper.get('[data-test=payments] [data-payment=pay-1]')
    expect(row.text()).toContain('$25.00')
    expect(row.text()).toContain('Paid')
    expect(row.get('a').attributes('href')).toBe('/payments/pay-1')
  })

  it('says how to add funds when no checkout gateway is configured', async () => {
    const { fn } = scriptedFetch({
      ...me,
      'GET /api/v1/wallets': list([]),
      'GET /api/v1/plans': list([]),
      'GET /api/v1/payments': list([]),
      'GET /api/v1/branding': { status: 200, body: { name: 'Acme', logo_url: '', support_email: 'help@acme.test', reseller: true } },
      'GET /api/v1/payments/gateways': { status: 200, body: { items: [{ name: 'manual', checkout: false }] } },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(WalletView, '/billing/wallet')
    await flushPromises()
    expect(wrapper.get('[data-test=no-gateways]').text()).toContain('help@acme.test')
    expect(wrapper.find('[data-test=topup-form]').exists()).toBe(false)
    expect(wrapper.get('[data-test=payments]').text()).toContain('No payments yet.')
  })
})

describe('PaymentView', () => {
  it('polls a returning payment until the gateway has confirmed it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/payments/pay-1': [
        { status: 200, body: payment },
        { status: 200, body: { ...payment, status: 'paid', paid_at: '2025-03-01T10:01:00Z', external_id: 'cs_test_1' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(PaymentView, '/payments/pay-1?checkout=success', 'en', { id: 'pay-1' })
    await flushPromises()
    expect(wrapper.find('[data-test=payment-waiting]').exists()).toBe(true)
    await vi.advanceTimersByTimeAsync(2000)
    await flushPromises()
    expect(wrapper.get('[data-test=payment-paid]').text()).toContain('wallet has been credited')
    expect(wrapper.text()).toContain('cs_test_1')
    await vi.advanceTimersByTimeAsync(10000)
    expect(calls.filter((c) => c.path === '/api/v1/payments/pay-1')).toHaveLength(2)
  })

  it('shows a cancelled checkout without polling, and a foreign payment as not found', async () => {
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/payments/pay-1': { status: 200, body: payment },
      'GET /api/v1/payments/other': { status: 404, body: apiError('not_found') },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(PaymentView, '/payments/pay-1?checkout=cancel', 'en', { id: 'pay-1' })
    await flushPromises()
    expect(wrapper.get('[data-test=payment-cancelled]').text()).toContain('nothing was charged')
    expect(wrapper.get('[data-test=topup-again]').attributes('href')).toBe('/billing/wallet?topup=1&currency=USD')
    expect(calls.filter((c) => c.path === '/api/v1/payments/pay-1')).toHaveLength(1)
    const other = await mountApp(PaymentView, '/payments/other', 'en', { id: 'other' })
    await flushPromises()
    expect(other.wrapper.get('[data-test=error]').text()).toBe('This was not found, or you have no access to it.')
  })
})

describe('InvoiceTable and InvoicesView', () => {
  it('renders number, date, total, status and document links', () => {
    const w = mount(InvoiceTable, { props: { items: [invoice], showBilled: true }, global: { plugins: [makeI18n('zh-CN')] } })
    const row = w.get('[data-invoice="INV-2025-000001"]')
    expect(row.text()).toContain('US$7.00')
    expect(row.text()).toContain('已支付')
    expect(row.text()).toContain('cust@example.test')
    const html = row.get('[data-test=invoice-html]')
    expect(html.attributes()).toMatchObject({ href: '/api/v1/invoices/inv-1/html', target: '_blank', rel: 'noopener' })
    expect(row.get('[data-test=invoice-pdf]').attributes('href')).toBe('/api/v1/invoices/inv-1/pdf')
    const plain = mount(InvoiceTable, { props: { items: [] }, global: { plugins: [makeI18n('en')] } })
    expect(plain.findAll('th')).toHaveLength(5)
    expect(plain.text()).toContain('No invoices.')
  })

  it('lists the invoices, filters by status and pages', async () => {
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/invoices': [list([invoice], 45), { status: 500, body: apiError('internal') }],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(InvoicesView, '/billing/invoices')
    expect(wrapper.get('[data-test=invoices]').text()).toContain('INV-2025-000001')
    expect(wrapper.get('[data-test=pager]').text()).toContain('Page 1 of 3')
    await wrapper.get('[data-test=invoice-status]').setValue('open')
    await flushPromises()
    expect(calls.at(-1)?.path).toBe('/api/v1/invoices?page=1&per_page=20&status=open')
    expect(wrapper.get('[data-test=error]').text()).toContain('Something went wrong on the server')
  })
})

const sub = subscriptionOf({ disk_mib: 5120 })

describe('SubscriptionsView', () => {
  it('lists subscriptions with plan names, prices and state, filters them, and lists the orders', async () => {
    const order = {
      id: 'o-1',
      user_id: customerUser.id,
      plan_id: 'p-big',
      server_id: 'srv-9',
      status: 'failed',
      cycle: 'monthly',
      trial: false,
      currency: 'USD',
      subtotal: 3000,
      discount: 0,
      total: 3000,
      server_name: 'web9',
      image: 'busybox',
      error: 'no node has room',
      created_at: '2025-03-01T00:00:00Z',
      updated_at: '2025-03-01T00:00:00Z',
    }
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/orders': list([order]),
      'GET /api/v1/plans': list(plans),
      'GET /api/v1/subscriptions': list([sub, { ...sub, id: 'sub-2', plan_id: 'p-gone', cycle: 'hourly', price: 3, status: 'suspended', auto_renew: false }]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SubscriptionsView, '/billing/subscriptions')
    await flushPromises()
    const first = wrapper.get('[data-test=subscriptions] [data-subscription=sub-1]')
    expect(first.text()).toContain('Small')
    expect(first.text()).toContain('$10.00 per month')
    expect(first.text()).toContain('Active')
    expect(first.get('[data-test=subscription-link]').attributes('href')).toBe('/billing/subscriptions/sub-1')
    const second = wrapper.get('[data-subscription=sub-2]')
    expect(second.text()).toContain('$0.03 per hour')
    expect(second.text()).toContain('Suspended')
    expect(second.text()).toContain('ends then')
    const o = wrapper.get('[data-test=orders] [data-order=o-1]')
    expect(o.text()).toContain('web9')
    expect(o.text()).toContain('Big')
    expect(o.text()).toContain('$30.00')
    expect(o.text()).toContain('Failed')
    expect(o.text()).toContain('no node has room')
    await wrapper.get('[data-test=subscription-status]').setValue('trial')
    await flushPromises()
    expect(calls.at(-1)?.path).toBe('/api/v1/subscriptions?page=1&per_page=20&status=trial')
  })
})

describe('SubscriptionView', () => {
  it('renews with an Idempotency-Key after confirming, and explains a refusal', async () => {
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/plans': list(plans),
      'GET /api/v1/subscriptions/sub-1': { status: 200, body: sub },
      'POST /api/v1/subscriptions/sub-1/renew': [
        { status: 409, body: apiError('insufficient_funds') },
        { status: 200, body: { ...sub, period_end: '2025-04-30T00:00:00Z' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SubscriptionView, '/billing/subscriptions/sub-1', 'en', { id: 'sub-1' })
    await flushPromises()
    expect(wrapper.get('h2').text()).toBe('Small')
    expect(wrapper.text()).toContain('$10.00 per month')
    await wrapper.get('[data-test=renew]').trigger('click')
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
    await wrapper.get('[data-test=confirm-dialog] [data-test=confirm]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toBe('The wallet balance is too low for this.')
    await wrapper.get('[data-test=renew]').trigger('click')
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts.map((c) => c.path)).toEqual(['/api/v1/subscriptions/sub-1/renew', '/api/v1/subscriptions/sub-1/renew'])
    expect(posts[0]!.headers['Idempotency-Key']).toBeTruthy()
    expect(posts[1]!.headers['Idempotency-Key']).toBe(posts[0]!.headers['Idempotency-Key'])
    expect(wrapper.get('[data-test=notice]').text()).toBe('Paid. The subscription is up to date.')
  })

  it('cancels at the end of the period and resumes', async () => {
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/plans': list(plans),
      'GET /api/v1/subscriptions/sub-1': { status: 200, body: sub },
      'PATCH /api/v1/subscriptions/sub-1': (c: Call) => ({ status: 200, body: { ...sub, ...(c.body as object) } }),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SubscriptionView, '/billing/subscriptions/sub-1', 'en', { id: 'sub-1' })
    await flushPromises()
    await wrapper.get('[data-test=cancel-renewal]').trigger('click')
    expect(wrapper.get('[data-test=confirm-dialog]').text()).toContain('its server is then removed')
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=auto-renew]').text()).toBe('Ends at the end of the paid period')
    await wrapper.get('[data-test=resume-renewal]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'PATCH').map((c) => c.body)).toEqual([{ auto_renew: false }, { auto_renew: true }])
    expect(wrapper.get('[data-test=notice]').text()).toBe('The renewal is back on.')
  })

  it('changes the plan: estimate, confirmation, the panel’s proration and the resize followed to its end', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2025-03-16T00:00:00Z'))
    const op = { id: 'op-9', kind: 'instance.resize', status: 'running', progress: 40, node_id: 'n1', created_at: '', updated_at: '' }
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/plans': list(plans),
      'GET /api/v1/subscriptions/sub-1': { status: 200, body: sub },
      'POST /api/v1/subscriptions/sub-1/resize': {
        status: 202,
        body: {
          id: 'ch-1',
          subscription_id: 'sub-1',
          from_plan_id: 'p-small',
          to_plan_id: 'p-big',
          cycle: 'monthly',
          currency: 'USD',
          price: 3000,
          amount: 1000,
          remaining_seconds: 1296000,
          period_seconds: 2592000,
          status: 'pending',
          invoice_id: 'inv-7',
          operation: op,
          created_at: '2025-03-16T00:00:00Z',
        },
      },
      'GET /api/v1/operations/op-9/wait': { status: 200, body: { ...op, status: 'success', progress: 100 } },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SubscriptionView, '/billing/subscriptions/sub-1', 'en', { id: 'sub-1' })
    await flushPromises()
    await wrapper.get('[data-test=change-plan]').trigger('click')
    expect(wrapper.findAll('#c-plan option').map((o) => o.attributes('value'))).toEqual(['', 'p-big'])
    await wrapper.get('#c-plan').setValue('p-big')
    expect(wrapper.get('[data-test=change-estimate]').text()).toBe('About $10.00 is charged from your wallet now for the rest of the paid period.')
    await wrapper.get('[data-test=change-submit]').trigger('click')
    expect(wrapper.get('[data-test=confirm-dialog]').text()).toContain('Move to Big?')
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.body).toEqual({ plan_id: 'p-big' })
    expect(post.headers['Idempotency-Key']).toBeTruthy()
    const result = wrapper.get('[data-test=change-result]')
    expect(result.text()).toContain('$10.00 charged.')
    expect(result.get('[data-test=change-invoice]').attributes('href')).toBe('/api/v1/invoices/inv-7/html')
    await vi.waitFor(() => expect(result.text()).toContain('the server has the new plan’s resources'))
    expect(result.text()).toContain('Applied')
    expect(calls.filter((c) => c.path === '/api/v1/subscriptions/sub-1')).toHaveLength(2)
  })

  it('shows "not found" for a foreign subscription', async () => {
    const { fn } = scriptedFetch({
      ...me,
      'GET /api/v1/plans': list(plans),
      'GET /api/v1/subscriptions/nope': { status: 404, body: apiError('not_found') },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SubscriptionView, '/billing/subscriptions/nope', 'en', { id: 'nope' })
    await flushPromises()
    expect(wrapper.get('[data-test=not-found]').text()).toContain('This was not found')
    expect(wrapper.find('[data-test=renew]').exists()).toBe(false)
  })
})

describe('NotificationsView', () => {
  it('loads the settings, saves webhook and thresholds, and shows a new secret once', async () => {
    const { fn, calls } = scriptedFetch({
      ...me,
      'GET /api/v1/wallets': list([wallet, { ...wallet, id: 'w2', currency: 'JPY', exponent: 0 }]),
      'GET /api/v1/me/notifications': { status: 200, body: { webhook_url: '', webhook_secret_set: false, low_balance: [{ currency: 'USD', threshold: 500 }] } },
      'PUT /api/v1/me/notifications': [
        { status: 422, body: apiError('validation_failed', 'invalid', { webhook_url: 'must be an https URL', 'low_balance[0].threshold': 'too big' }) },
        {
          status: 200,
          body: { webhook_url: 'https://hooks.example.test/n', webhook_secret: 'whsec_abc', webhook_secret_set: true, low_balance: [{ currency: 'JPY', threshold: 100 }] },
        },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(NotificationsView, '/account/notifications')
    await flushPromises()
    expect((wrapper.get('#n-low-USD').element as HTMLInputElement).value).toBe('5.00')
    expect((wrapper.get('#n-low-JPY').element as HTMLInputElement).value).toBe('')

    await wrapper.get('#n-low-USD').setValue('0')
    await wrapper.get('#n-low-JPY').setValue('1.5')
    await wrapper.get('[data-test=notifications-form]').trigger('submit')
    expect(wrapper.get('#n-low-JPY-error').text()).toContain('at most 0 decimal places')
    expect(calls.some((c) => c.method === 'PUT')).toBe(false)

    await wrapper.get('#n-low-JPY').setValue('100')
    await wrapper.get('#n-webhook').setValue('http://hooks.example.test/n')
    await wrapper.get('[data-test=notifications-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#n-webhook-error').text()).toBe('must be an https URL')
    expect(wrapper.get('#n-low-JPY-error').text()).toBe('too big')

    await wrapper.get('#n-webhook').setValue('https://hooks.example.test/n')
    await wrapper.get('[data-test=notifications-form]').trigger('submit')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'PUT').map((c) => c.body)).toEqual([
      { low_balance: [{ currency: 'JPY', threshold: 100 }], webhook_url: 'http://hooks.example.test/n' },
      { low_balance: [{ currency: 'JPY', threshold: 100 }], webhook_url: 'https://hooks.example.test/n' },
    ])
    expect(wrapper.get('[data-test=notifications-saved]').text()).toBe('Saved.')
    expect(wrapper.get('[data-test=secret]').text()).toBe('whsec_abc')
    expect(wrapper.find('#n-rotate').exists()).toBe(true)
  })
})
