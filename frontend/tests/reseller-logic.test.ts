import { describe, expect, it } from 'vitest'
import { checkPrices, currentMonth, marginRatio, monthRange, quotaRows, utcDay, walletAlert } from '@/components/reseller/panel'

describe('quotaRows', () => {
  const usage = { servers: 4, cpu: 8, memory_mib: 3072, disk_mib: 10240 }
  it.each([
    ['unlimited', { servers: null, cpu: null, memory_mib: null, disk_mib: null }, [null, null, null, null], ['ok', 'ok', 'ok', 'ok']],
    ['half', { servers: 8, cpu: 16, memory_mib: 6144, disk_mib: 20480 }, [0.5, 0.5, 0.5, 0.5], ['ok', 'ok', 'ok', 'ok']],
    ['nearly full and full', { servers: 5, cpu: 10, memory_mib: 3072, disk_mib: 4096 }, [0.8, 0.8, 1, 2.5], ['high', 'high', 'full', 'full']],
    ['zero limit', { servers: 0, cpu: null, memory_mib: 4096, disk_mib: null }, [1, null, 0.75, null], ['full', 'ok', 'ok', 'ok']],
  ] as const)('%s', (_, quota, ratios, levels) => {
    const rows = quotaRows({ quota: { ...quota }, usage })
    expect(rows.map((r) => r.key)).toEqual(['servers', 'cpu', 'memory', 'disk'])
    expect(rows.map((r) => r.used)).toEqual([4, 8, 3072, 10240])
    expect(rows.map((r) => r.limit)).toEqual([quota.servers, quota.cpu, quota.memory_mib, quota.disk_mib])
    expect(rows.map((r) => r.ratio)).toEqual(ratios)
    expect(rows.map((r) => r.level)).toEqual(levels)
  })
})

describe('revenue periods', () => {
  it.each([
    ['2025-03', { from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' }],
    ['2024-12', { from: '2024-12-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }],
    ['2024-02', { from: '2024-02-01T00:00:00Z', to: '2024-03-01T00:00:00Z' }],
    ['2025-13', null],
    ['2025-00', null],
    ['2025-3', null],
    ['', null],
    ['march', null],
  ])('monthRange(%s)', (m, want) => {
    expect(monthRange(m)).toEqual(want)
  })

  it.each([
    ['2025-03-01T00:00:00Z', false, 'Mar 1, 2025'],
    ['2025-04-01T00:00:00Z', true, 'Mar 31, 2025'],
    ['2025-01-01T00:00:00Z', true, 'Dec 31, 2024'],
    ['2025-03-01T00:00:00+08:00', false, 'Feb 28, 2025'],
    ['nonsense', false, ''],
  ] as const)('utcDay(%s, end=%s) is %s', (iso, end, want) => {
    expect(utcDay(iso, 'en-US', end)).toBe(want)
  })

  it('takes the current month in UTC', () => {
    expect(currentMonth(new Date('2025-01-31T23:30:00-02:00'))).toBe('2025-02')
    expect(currentMonth(new Date('2025-11-05T12:00:00Z'))).toBe('2025-11')
  })
})

describe('walletAlert', () => {
  it.each([
    [{ balance: 5000, credit_limit: 0 }, 0, 'none'],
    [{ balance: 0, credit_limit: 0 }, 0, 'empty'],
    [{ balance: -100, credit_limit: 100 }, 0, 'empty'],
    [{ balance: -100, credit_limit: 500 }, 0, 'low'],
    [{ balance: 0, credit_limit: 500 }, 0, 'low'],
    [{ balance: 900, credit_limit: 0 }, 1000, 'low'],
    [{ balance: 1000, credit_limit: 0 }, 1000, 'none'],
    [{ balance: 1, credit_limit: 0 }, 0, 'none'],
  ] as const)('%o with threshold %d is %s', (w, threshold, want) => {
    expect(walletAlert(w, threshold)).toBe(want)
  })
})

describe('checkPrices', () => {
  const wholesale = { price_month: 1000, price_hour: 2, setup_fee: 0 }
  it.each([
    ['at wholesale', { price_month: '10', price_hour: '0.02', setup_fee: '0' }, 2, { ok: true, prices: { price_month: 1000, price_hour: 2, setup_fee: 0 } }],
    ['above', { price_month: '12.50', price_hour: '0.03', setup_fee: '5' }, 2, { ok: true, prices: { price_month: 1250, price_hour: 3, setup_fee: 500 } }],
    ['below', { price_month: '9.99', price_hour: '0.01', setup_fee: '0' }, 2, { ok: false, problems: { price_month: 'below', price_hour: 'below' } }],
    ['not amounts', { price_month: 'ten', price_hour: '-1', setup_fee: '0.001' }, 2, { ok: false, problems: { price_month: 'invalid', price_hour: 'invalid', setup_fee: 'invalid' } }],
    ['empty', { price_month: '', price_hour: '0.02', setup_fee: '0' }, 2, { ok: false, problems: { price_month: 'invalid' } }],
    ['zero-exponent currency', { price_month: '1000', price_hour: '2', setup_fee: '0' }, 0, { ok: true, prices: { price_month: 1000, price_hour: 2, setup_fee: 0 } }],
  ] as const)('%s', (_, inputs, exponent, want) => {
    expect(checkPrices({ ...inputs }, wholesale, exponent)).toEqual(want)
  })

  it.each([
    [1250, 1000, 0.25],
    [1000, 1000, 0],
    [500, 0, null],
  ])('marginRatio(%d, %d) = %s', (retail, wholesale, want) => {
    expect(marginRatio(retail, wholesale)).toBe(want)
  })
})
