import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import OverviewView from '@/views/reseller/OverviewView.vue'
import { apiError, mountApp, scriptedFetch } from './helpers'
import { list, profile, resellerUser } from './reseller-fixtures'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const quota = { quota: profile.quota, usage: profile.usage }
const revenue = {
  from: '2025-03-01T00:00:00Z',
  to: '2025-04-01T00:00:00Z',
  items: [
    { currency: 'USD', exponent: 2, retail: 12500, wholesale: 10000, margin: 2500 },
    { currency: 'JPY', exponent: 0, retail: 3000, wholesale: 2400, margin: 600 },
  ],
}
const wallet = (currency: string, balance: number, exponent = 2) => ({
  id: `w-${currency}`,
  user_id: 'u-res',
  currency,
  exponent,
  balance,
  credit_limit: 0,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
})

function panel(extra: Record<string, unknown> = {}) {
  return scriptedFetch({
    'GET /api/v1/me': { status: 200, body: resellerUser },
    'GET /api/v1/reseller/profile': { status: 200, body: profile },
    'GET /api/v1/reseller/quota': { status: 200, body: quota },
    'GET /api/v1/reseller/revenue': { status: 200, body: revenue },
    'GET /api/v1/wallets': { status: 200, body: list([wallet('USD', 50000), wallet('EUR', 800)]) },
    'GET /api/v1/me/notifications': { status: 200, body: { webhook_url: '', webhook_secret_set: false, low_balance: [{ currency: 'EUR', threshold: 1000 }] } },
    ...(extra as Record<string, never>),
  })
}

describe('reseller overview', () => {
  it('shows counts, quota bars with numbers, revenue per currency and the own wallets', async () => {
    vi.stubGlobal('fetch', panel().fn)
    const { wrapper: w } = await mountApp(OverviewView, '/reseller')
    expect(w.get('[data-test=count-customers]').text()).toContain('3')
    expect(w.get('[data-test=count-servers]').text()).toContain('9')
    expect(w.get('[data-test=markup]').text()).toContain('25%')

    const q = (k: string) => w.get(`[data-test=quota] [data-quota=${k}]`)
    expect(q('servers').text()).toContain('9 of 10')
    expect(q('servers').attributes('data-level')).toBe('high')
    expect(q('servers').get('[role=progressbar]').attributes('aria-valuenow')).toBe('9')
    expect(q('cpu').text()).toContain('12 used, unlimited')
    expect(q('cpu').find('[role=progressbar]').exists()).toBe(false)
    expect(q('memory').text()).toContain('8 GiB of 8 GiB')
    expect(q('memory').attributes('data-level')).toBe('full')
    expect(q('disk').text()).toContain('4 GiB of 20 GiB')

    expect(w.text()).toContain('Mar 1, 2025 to Mar 31, 2025 (UTC)')
    const rows = w.findAll('[data-test=revenue] tbody tr')
    expect(rows.map((r) => r.attributes('data-currency'))).toEqual(['USD', 'JPY'])
    expect(rows[0]!.text()).toContain('$125.00')
    expect(rows[0]!.text()).toContain('$100.00')
    expect(rows[0]!.text()).toContain('$25.00')
    expect(rows[1]!.text()).toContain('¥600')

    expect(w.get('[data-wallet=USD]').text()).toContain('$500.00')
    expect(w.get('[data-wallet=USD]').attributes('data-alert')).toBe('none')
    expect(w.get('[data-wallet=EUR]').attributes('data-alert')).toBe('low')
    expect(w.get('[data-wallet=EUR] [data-test=wallet-alert]').text()).toContain('low')
  })

  it('asks for the revenue of the month chosen, in UTC', async () => {
    const { fn, calls } = panel()
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(OverviewView, '/reseller')
    expect(calls.find((c) => c.path.startsWith('/api/v1/reseller/revenue'))?.path).toMatch(/from=\d{4}-\d{2}-01T00%3A00%3A00Z&to=/)
    await w.get('[data-test=revenue-month]').setValue('2024-12')
    await flushPromises()
    const last = calls.filter((c) => c.path.startsWith('/api/v1/reseller/revenue')).at(-1)
    expect(last?.path).toBe('/api/v1/reseller/revenue?from=2024-12-01T00%3A00%3A00Z&to=2025-01-01T00%3A00%3A00Z')
  })

  it('warns when the reseller has no wallet or nothing to spend', async () => {
    vi.stubGlobal('fetch', panel({ 'GET /api/v1/wallets': { status: 200, body: list([]) } }).fn)
    const { wrapper: w } = await mountApp(OverviewView, '/reseller')
    expect(w.get('[data-test=own-wallets] [data-test=wallet-alert]').text()).toContain('no wallet')

    vi.stubGlobal('fetch', panel({ 'GET /api/v1/wallets': { status: 200, body: list([wallet('USD', 0)]) }, 'GET /api/v1/me/notifications': { status: 404, body: apiError('not_found') } }).fn)
    const again = await mountApp(OverviewView, '/reseller')
    expect(again.wrapper.get('[data-wallet=USD]').attributes('data-alert')).toBe('empty')
    expect(again.wrapper.get('[data-wallet=USD] [data-test=wallet-alert]').text()).toContain('Nothing left to spend')
  })

  it('shows an empty revenue month and the API’s errors in words', async () => {
    vi.stubGlobal(
      'fetch',
      panel({
        'GET /api/v1/reseller/revenue': { status: 200, body: { ...revenue, items: [] } },
        'GET /api/v1/reseller/quota': { status: 403, body: apiError('forbidden', 'this credential lacks the reseller:read scope') },
      }).fn,
    )
    const { wrapper: w } = await mountApp(OverviewView, '/reseller', 'zh-CN')
    expect(w.get('[data-test=revenue-empty]').text()).toBe('该月没有收入。')
    expect(w.find('[data-test=quota]').exists()).toBe(false)
    expect(w.get('[data-test=error]').text()).toBe('您无权执行此操作。')
  })
})
