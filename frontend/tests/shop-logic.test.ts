// Pure logic of the customer self-service pages: proration (the panel's exact rule), plan
// change candidates, top-up currencies, badge colours, the server name rule, the stale-answer
// guard of the quote, and the run-time i18n keys the shop pages build.
import { describe, expect, it } from 'vitest'
import { Cycles } from '@/api/shop'
import {
  Latest,
  badgeFamilies,
  badgeTone,
  changeCandidates,
  cyclesFor,
  estimatePlanChange,
  prorate,
  serverNamePattern,
  topUpCurrencies,
} from '@/components/shop/billing'
import en from '@/locales/en'
import zhCN from '@/locales/zh-CN'

const month = 30 * 86400

describe('prorate (as backend/internal/proration.Amount)', () => {
  it.each([
    ['half of an upgrade', 2000, month / 2, month, 1000],
    ['half of a downgrade', -2000, month / 2, month, -1000],
    ['a third rounds down', 1000, month / 3, month, 333],
    ['two thirds round up', 1000, (2 * month) / 3, month, 667],
    ['half a cent rounds away from zero', 1, 1, 2, 1],
    ['minus half a cent rounds away from zero', -1, 1, 2, -1],
    ['just under half rounds to zero', 1, 49, 100, 0],
    ['whole period', 1234, month, month, 1234],
    ['nothing left', 1234, 0, month, 0],
    ['past the end clamps to nothing', 1234, -50, month, 0],
    ['more than the period clamps to all', 1234, 2 * month, month, 1234],
    ['empty period', 1234, 10, 0, 0],
    ['no difference', 0, 10, 20, 0],
    ['large amounts are exact', 2 ** 50, 2 ** 20, 2 ** 21, 2 ** 49],
  ])('%s', (_name, diff, remaining, period, want) => {
    expect(prorate(diff, remaining, period)).toBe(want)
  })
})

describe('estimatePlanChange', () => {
  const sub = { cycle: 'monthly', price: 1000, period_start: '2025-03-01T00:00:00Z', period_end: '2025-03-31T00:00:00Z' }
  it.each([
    ['upgrade at half the period', sub, 3000, '2025-03-16T00:00:00Z', 1000],
    ['downgrade at half the period', sub, 0, '2025-03-16T00:00:00Z', -500],
    ['upgrade at the start', sub, 1600, '2025-03-01T00:00:00Z', 600],
    ['after the period ended', sub, 3000, '2025-04-02T00:00:00Z', 0],
    ['same price', sub, 1000, '2025-03-10T00:00:00Z', 0],
    ['partial seconds are dropped', sub, 1000 + month, '2025-03-30T23:59:59.900Z', 0],
    ['hourly is not prorated', { ...sub, cycle: 'hourly' }, 9999, '2025-03-16T00:00:00Z', 0],
  ])('%s', (_name, s, price, now, want) => {
    expect(estimatePlanChange(s, price, new Date(now))).toBe(want)
  })
})

describe('changeCandidates', () => {
  const plan = (id: string, type: string, currency: string, price_hour = 1) => ({ id, type, currency, price_hour })
  const plans = [plan('cur', 'container', 'USD'), plan('big', 'container', 'USD'), plan('vm', 'vm', 'USD'), plan('eur', 'container', 'EUR'), plan('nohour', 'container', 'USD', 0)]
  it.each([
    ['monthly: same type and currency, not the current plan', { plan_id: 'cur', currency: 'USD', cycle: 'monthly' }, ['big', 'nohour']],
    ['hourly: only plans with an hourly price', { plan_id: 'cur', currency: 'USD', cycle: 'hourly' }, ['big']],
    ['current plan unknown: any type in the currency', { plan_id: 'gone', currency: 'USD', cycle: 'monthly' }, ['cur', 'big', 'vm', 'nohour']],
    ['another currency', { plan_id: 'eur', currency: 'EUR', cycle: 'monthly' }, []],
  ])('%s', (_name, sub, want) => {
    expect(changeCandidates(sub, plans).map((p) => p.id)).toEqual(want)
  })
})

describe('topUpCurrencies', () => {
  it.each([
    ['a gateway with its own list wins', { currencies: ['CNY'] }, ['USD'], ['CNY']],
    ['otherwise wallets and plans, sorted, once each', { currencies: [] }, ['USD', 'EUR', 'USD'], ['EUR', 'USD']],
    ['no gateway yet', undefined, ['JPY'], ['JPY']],
    ['junk is left out', {}, ['usd', '', 'GBP'], ['GBP']],
  ])('%s', (_name, gw, known, want) => {
    expect(topUpCurrencies(gw, known)).toEqual(want)
  })
})

describe('cyclesFor and serverNamePattern', () => {
  it('offers hourly only with an hourly price', () => {
    expect(cyclesFor({ price_hour: 0 })).toEqual(['monthly'])
    expect(cyclesFor({ price_hour: 3 })).toEqual(['monthly', 'hourly'])
  })
  it.each([
    ['web1', true],
    ['ab', true],
    ['a', false],
    ['1web', false],
    ['web-', false],
    ['Web1', false],
    ['my-server-2', true],
    ['a'.repeat(32), true],
    ['a'.repeat(33), false],
    ['web_1', false],
  ])('%s → %s', (name, ok) => {
    expect(serverNamePattern.test(name)).toBe(ok)
  })
})

describe('badgeTone', () => {
  it.each([
    ['paid', 'ok'],
    ['active', 'ok'],
    ['applied', 'ok'],
    ['open', 'info'],
    ['created', 'info'],
    ['trial', 'info'],
    ['suspended', 'warn'],
    ['refunded', 'warn'],
    ['expired', 'warn'],
    ['failed', 'bad'],
    ['terminated', 'bad'],
    ['void', 'neutral'],
    ['cancelled', 'neutral'],
    ['something-new', 'neutral'],
  ])('%s is %s', (status, tone) => {
    expect(badgeTone(status)).toBe(tone)
  })
})

describe('Latest', () => {
  it('reports only the newest answer, even when an older one arrives last', async () => {
    const l = new Latest()
    let releaseFirst!: (v: string) => void
    const first = l.run(() => new Promise<string>((r) => (releaseFirst = r)))
    const second = l.run(async () => 'new')
    releaseFirst('old')
    expect(await second).toEqual({ current: true, ok: true, value: 'new' })
    expect(await first).toEqual({ current: false })
  })

  it('aborts the request it replaces and reports errors of the current one', async () => {
    const l = new Latest()
    let signal: AbortSignal | undefined
    const first = l.run((s) => {
      signal = s
      return new Promise((_r, reject) => s.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))
    })
    const boom = new Error('boom')
    const second = l.run(async () => {
      throw boom
    })
    expect(signal?.aborted).toBe(true)
    expect(await first).toEqual({ current: false })
    expect(await second).toEqual({ current: true, ok: false, error: boom })
    const third = l.run(async () => 1)
    l.cancel()
    expect(await third).toEqual({ current: false })
  })
})

describe('run-time message keys of the shop', () => {
  type Tree = Record<string, unknown>
  const get = (tree: Tree, path: string) => path.split('.').reduce<unknown>((n, k) => (n as Tree | undefined)?.[k], tree)
  const families: Record<string, readonly string[]> = {
    ...badgeFamilies,
    gateway: ['stripe', 'alipay', 'manual'],
    cycle: Cycles,
  }
  it.each(Object.entries(families))('shop.%s.* exists in both languages', (family, names) => {
    for (const n of names) {
      expect(get(en as unknown as Tree, `shop.${family}.${n}`), `en shop.${family}.${n}`).toEqual(expect.any(String))
      expect(get(zhCN as unknown as Tree, `shop.${family}.${n}`), `zh shop.${family}.${n}`).toEqual(expect.any(String))
    }
  })
})
