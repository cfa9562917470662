import { describe, expect, it } from 'vitest'
import { currencyExponent, formatBytes, formatMoney, minorToDecimal, parseMoney } from '@/lib/format'
import { nextSample, pushSample } from '@/lib/usage'

describe('money', () => {
  it.each([
    [1050, 2, '10.50'],
    [-5, 2, '-0.05'],
    [0, 2, '0.00'],
    [1234, 0, '1234'],
    [1, 3, '0.001'],
    [1_000_000_000_000_000, 2, '10000000000000.00'],
  ])('minorToDecimal(%i, %i) = %s', (amount, exp, want) => {
    expect(minorToDecimal(amount, exp)).toBe(want)
  })

  it('formats exactly with the locale', () => {
    expect(formatMoney(123456, 'USD', 2, 'en')).toBe('$1,234.56')
    expect(formatMoney(-500, 'EUR', 2, 'en')).toBe('-€5.00')
    expect(formatMoney(1500, 'JPY', 0, 'en')).toBe('¥1,500')
    expect(formatMoney(999_999_999_999_999, 'USD', 2, 'en')).toBe('$9,999,999,999,999.99')
    expect(formatMoney(100, 'CNY', 2, 'zh-CN')).toBe('¥1.00')
  })

  it.each([
    ['12', 2, false, 1200],
    ['12.5', 2, false, 1250],
    ['0.05', 2, false, 5],
    [' 7 ', 0, false, 7],
    ['-3.05', 2, true, -305],
    ['-3', 2, false, null],
    ['1.234', 2, false, null],
    ['1.5', 0, false, null],
    ['abc', 2, false, null],
    ['', 2, false, null],
    ['1e3', 2, false, null],
  ])('parseMoney(%s, %i, %s) = %s', (input, exp, neg, want) => {
    expect(parseMoney(input, exp, neg)).toBe(want)
  })

  it('knows currency exponents', () => {
    expect(currencyExponent('USD')).toBe(2)
    expect(currencyExponent('JPY')).toBe(0)
    expect(currencyExponent('KWD')).toBe(3)
    expect(currencyExponent('not a code')).toBe(2)
  })
})

describe('sizes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1,023 B'],
    [1536, '1.5 KiB'],
    [128 * 1024 * 1024, '128 MiB'],
    [-1, '–'],
  ])('formatBytes(%i) = %s', (n, want) => {
    expect(formatBytes(n)).toBe(want)
  })
})

describe('usage samples', () => {
  const u = (at: string, cpu: number, rx: number, tx: number) => ({
    cpu_ns: cpu,
    memory_bytes: 64 << 20,
    disk_bytes: 10 << 20,
    net_rx_bytes: rx,
    net_tx_bytes: tx,
    at,
  })

  it('derives rates from two reports', () => {
    const s = nextSample(u('2025-01-01T00:00:00Z', 0, 0, 0), u('2025-01-01T00:00:10Z', 5e9, 10_000, 2_000))
    expect(s).toMatchObject({ cpuCores: 0.5, rxRate: 1000, txRate: 200, memoryBytes: 64 << 20 })
  })

  it('skips a report that is not newer or whose counters went back', () => {
    expect(nextSample(u('2025-01-01T00:00:10Z', 0, 0, 0), u('2025-01-01T00:00:10Z', 1, 1, 1))).toBeNull()
    expect(nextSample(u('2025-01-01T00:00:00Z', 9e9, 0, 0), u('2025-01-01T00:00:10Z', 1e9, 0, 0))).toBeNull()
  })

  it('keeps a bounded window', () => {
    let list: ReturnType<typeof pushSample> = []
    for (let i = 0; i < 70; i++) list = pushSample(list, { at: i, cpuCores: i, memoryBytes: 0, diskBytes: 0, rxRate: 0, txRate: 0 }, 60)
    expect(list).toHaveLength(60)
    expect(list[0]?.at).toBe(10)
    expect(list[59]?.at).toBe(69)
  })
})
