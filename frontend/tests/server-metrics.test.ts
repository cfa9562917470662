// The metrics tab: the chart math (scales, ticks, gaps, nearest sample), the SVG chart, and
// the tab against a scripted GET /servers/{id}/metrics (ranges, live refresh, errors).
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MetricRanges } from '@/api/serverTabs'
import MetricChart from '@/components/server/MetricChart.vue'
import { makeI18n } from '@/i18n'
import {
  buildChart,
  linearScale,
  nearestIndex,
  niceStep,
  pathOf,
  splitGaps,
  timeLabelOptions,
  timeTicks,
  valueTicks,
  type ValueKind,
} from '@/lib/metrics'
import { apiError } from './helpers'
import { apiPath, metrics, mountServer, serverId, unmountAll, waitFor } from './server-fixtures'

afterEach(() => {
  unmountAll()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const KiB = 1024
const MiB = KiB * KiB
const GiB = MiB * KiB
const min = 60_000
const hour = 60 * min
const day = 24 * hour
const utc = (s: string) => Date.parse(s)

describe('linearScale', () => {
  it('maps and inverts', () => {
    const s = linearScale(0, 100, 10, 210)
    expect(s(0)).toBe(10)
    expect(s(50)).toBe(110)
    expect(s.invert(110)).toBe(50)
    const inv = linearScale(0, 10, 100, 0)
    expect(inv(10)).toBe(0)
    expect(inv.invert(25)).toBe(7.5)
  })

  it('puts an empty domain in the middle', () => {
    expect(linearScale(5, 5, 0, 100)(5)).toBe(50)
  })
})

describe('niceStep', () => {
  it.each([
    [1, 1],
    [1.2, 2],
    [0.3, 0.5],
    [0.075, 0.1],
    [7, 10],
    [250, 500],
    [2, 2],
    [0, 1],
    [Number.NaN, 1],
  ])('niceStep(%s) = %s', (raw, want) => {
    expect(niceStep(raw)).toBeCloseTo(want, 12)
  })
})

describe('valueTicks', () => {
  it.each<[number, number, ValueKind, number[]]>([
    [37, 4, 'percent', [0, 10, 20, 30, 40]],
    [0, 4, 'percent', [0, 0.5, 1]],
    [0.3, 3, 'percent', [0, 0.1, 0.2, 0.3]],
    [150, 4, 'percent', [0, 50, 100, 150]],
    [3.2 * GiB, 4, 'bytes', [0, GiB, 2 * GiB, 3 * GiB, 4 * GiB]],
    [700 * MiB, 4, 'bytes', [0, 200 * MiB, 400 * MiB, 600 * MiB, 800 * MiB]],
    [1.2 * GiB, 8, 'bytes', [0, 0.25 * GiB, 0.5 * GiB, 0.75 * GiB, GiB, 1.25 * GiB]],
    [1000, 4, 'bytes', [0, 500, 1000]],
    [3, 4, 'bytes', [0, 1, 2, 3]],
    [0, 4, 'bytes', [0, 512, 1024]],
  ])('valueTicks(%s, %s, %s)', (max, count, kind, want) => {
    expect(valueTicks(max, count, kind)).toEqual(want)
  })

  it('always reaches the maximum', () => {
    for (const max of [1, 9.99, 10.01, 99, 101, 12345, 7 * GiB + 1]) {
      const ticks = valueTicks(max, 4, 'bytes')
      expect(ticks[0]).toBe(0)
      expect(ticks.at(-1)!).toBeGreaterThanOrEqual(max)
    }
  })
})

describe('timeTicks', () => {
  const h = (s: string) => new Date(utc(s)).toISOString().slice(11, 16)
  it.each([
    // One hour, 6 ticks at most: every 10 minutes on the clock.
    ['2025-03-01T10:07:00Z', '2025-03-01T11:07:00Z', 6, 0, 10 * min, ['10:10', '10:20', '10:30', '10:40', '10:50', '11:00']],
    // India (UTC+5:30): whole 10 minutes of local time are whole 10 minutes of UTC too.
    ['2025-03-01T10:07:00Z', '2025-03-01T11:07:00Z', 6, 330, 10 * min, ['10:10', '10:20', '10:30', '10:40', '10:50', '11:00']],
    // A day, every 6 hours: UTC midnight-aligned…
    ['2025-03-01T10:07:00Z', '2025-03-02T10:07:00Z', 6, 0, 6 * hour, ['12:00', '18:00', '00:00', '06:00']],
    // …and for a viewer in China (UTC+8), on local 00:00, 06:00, 12:00, 18:00.
    ['2025-03-01T10:07:00Z', '2025-03-02T10:07:00Z', 6, 480, 6 * hour, ['16:00', '22:00', '04:00', '10:00']],
    // India, hourly: local whole hours are UTC half hours.
    ['2025-03-01T10:07:00Z', '2025-03-01T16:07:00Z', 6, 330, hour, ['10:30', '11:30', '12:30', '13:30', '14:30', '15:30']],
  ])('%s – %s (%s ticks, UTC%s min)', (from, to, count, tz, interval, want) => {
    const r = timeTicks(utc(from), utc(to), count, tz)
    expect(r.interval).toBe(interval)
    expect(r.ticks.map((t) => h(new Date(t).toISOString()))).toEqual(want)
  })

  it('aligns days to the local midnight', () => {
    const r = timeTicks(utc('2025-03-01T10:00:00Z'), utc('2025-03-08T10:00:00Z'), 7, 480)
    expect(r.interval).toBe(day)
    expect(r.ticks).toHaveLength(7)
    for (const t of r.ticks) expect(new Date(t).toISOString().slice(11, 16)).toBe('16:00')
  })

  it('uses the longest interval for very long spans and nothing for an empty one', () => {
    expect(timeTicks(0, 365 * day, 4).interval).toBe(7 * day)
    expect(timeTicks(10, 10, 4).ticks).toEqual([])
  })

  it('labels days with a date and shorter intervals with a time', () => {
    expect(timeLabelOptions(day)).toEqual({ month: 'short', day: 'numeric' })
    expect(timeLabelOptions(6 * hour)).toEqual({ hour: '2-digit', minute: '2-digit' })
  })
})

describe('splitGaps', () => {
  const at = (...secs: number[]) => secs.map((s) => ({ t: s * 1000 }))
  const secs = (runs: { t: number }[][]) => runs.map((r) => r.map((p) => p.t / 1000))
  it.each([
    [[0, 60, 120, 300, 360], 60, [[0, 60, 120], [300, 360]]],
    [[0, 60, 180], 60, [[0, 60, 180]]], // 120 s = 2 × step (one empty bucket): still one line
    [[0, 60, 181], 60, [[0, 60], [181]]],
    [[0, 600, 1200], 0, [[0, 600, 1200]]], // no step known: no gaps
    [[], 60, []],
    [[5], 60, [[5]]],
  ])('%j step %s', (times, step, want) => {
    expect(secs(splitGaps(at(...times), step * 1000))).toEqual(want)
  })
})

describe('nearestIndex', () => {
  it.each([
    [[], 5, -1],
    [[10, 20, 30], 14, 0],
    [[10, 20, 30], 15, 0],
    [[10, 20, 30], 16, 1],
    [[10, 20, 30], 100, 2],
    [[10, 20, 30], -5, 0],
    [[10], 99, 0],
  ])('%j near %s', (ts, t, want) => {
    expect(nearestIndex(ts, t)).toBe(want)
  })
})

describe('buildChart', () => {
  it('draws one path per run, lone samples as dots, and reaches the limit', () => {
    const m = buildChart({
      times: [0, 60, 120, 600, 1200, 1260].map((s) => s * 1000),
      series: [{ key: 'a', values: [1, 2, 3, 4, 5, null] }],
      stepMs: 60_000,
      from: 0,
      to: 1_260_000,
      kind: 'bytes',
      limit: 1000,
      width: 600,
      height: 200,
    })
    expect(m.series[0]!.paths).toHaveLength(1)
    expect(m.series[0]!.dots).toHaveLength(2) // 600 s and 1200 s stand alone (1260 has no value)
    expect(m.drawn).toBe(5)
    expect(m.yTicks.at(-1)!.v).toBeGreaterThanOrEqual(1000)
    expect(m.limitY).toBeCloseTo(m.y(1000))
    expect(m.x(0)).toBe(68)
    expect(m.x(1_260_000)).toBe(600 - 12)
  })

  it('has no limit line without a limit and counts nothing without samples', () => {
    const m = buildChart({ times: [], series: [{ key: 'a', values: [] }], stepMs: 60_000, from: 0, to: 3600_000, kind: 'percent', width: 300, height: 150 })
    expect(m.limitY).toBeNull()
    expect(m.drawn).toBe(0)
    expect(m.series[0]!.paths).toEqual([])
    expect(m.yTicks.map((t) => t.v)).toEqual([0, 0.5, 1])
  })

  it('renders a path as SVG commands', () => {
    expect(pathOf([{ x: 1, y: 2 }, { x: 3.25, y: 4 }])).toBe('M1.0 2.0 L3.3 4.0')
  })
})

describe('MetricChart', () => {
  const base = {
    metric: 'network',
    title: 'Network',
    stepMs: 60_000,
    from: 0,
    to: 600_000,
    kind: 'bytes' as const,
    format: (v: number) => `${v} B/s`,
  }
  const mountChart = (props: Partial<InstanceType<typeof MetricChart>['$props']> & Pick<InstanceType<typeof MetricChart>['$props'], 'times' | 'series'>) =>
    mount(MetricChart, { props: { ...base, ...props }, global: { plugins: [makeI18n('en')] } })

  it('draws every series with gaps and a readout of the latest sample', () => {
    const w = mountChart({
      times: [0, 60_000, 120_000, 480_000, 540_000],
      series: [
        { key: 'rx', label: 'In', values: [1, 2, 3, 4, 5] },
        { key: 'tx', label: 'Out', values: [5, 4, 3, 2, 1] },
      ],
    })
    const fig = w.get('[data-test=metric-chart]')
    expect(fig.attributes('data-metric')).toBe('network')
    expect(fig.attributes('data-points')).toBe('5')
    // Two series × two runs (the gap from 2 to 8 minutes).
    expect(w.findAll('.series path')).toHaveLength(4)
    expect(w.get('[data-test=metric-readout]').text()).toContain('In 5 B/s')
    expect(w.get('[data-test=metric-readout]').text()).toContain('Out 1 B/s')
    expect(w.find('[data-test=metric-empty]').exists()).toBe(false)
    expect(w.find('[data-test=metric-limit]').exists()).toBe(false)
  })

  it('reads out the sample nearest the pointer and forgets it when the pointer leaves', async () => {
    const w = mountChart({
      times: [0, 60_000, 120_000, 180_000],
      series: [{ key: 'rx', label: 'In', values: [10, 20, 30, 40] }],
      to: 180_000,
    })
    // Plot from x=68 to 640-12=628 over 0…180 s: 70 s is at 68 + 560 × 70/180 ≈ 285.8.
    await w.get('svg').trigger('pointermove', { clientX: 286 })
    expect(w.get('[data-test=metric-readout]').text()).toContain('In 20 B/s')
    expect(w.find('[data-test=metric-guide]').exists()).toBe(true)
    await w.get('svg').trigger('keydown', { key: 'ArrowRight' })
    expect(w.get('[data-test=metric-readout]').text()).toContain('In 30 B/s')
    await w.get('svg').trigger('pointerleave')
    expect(w.find('[data-test=metric-guide]').exists()).toBe(false)
    expect(w.get('[data-test=metric-readout]').text()).toContain('In 40 B/s')
  })

  it('says when there are no samples and draws the limit line', () => {
    const w = mountChart({ times: [], series: [{ key: 'm', label: 'Used', values: [] }], limit: 512 * MiB, limitLabel: 'Limit 512 MiB', kind: 'bytes' })
    expect(w.get('[data-test=metric-chart]').attributes('data-points')).toBe('0')
    expect(w.get('[data-test=metric-empty]').text()).toBe('No samples yet')
    expect(w.get('[data-test=metric-limit]').text()).toBe('Limit 512 MiB')
    expect(w.find('[data-test=metric-readout]').exists()).toBe(false)
  })
})

describe('MetricsTab', () => {
  it('names every range in both languages', () => {
    for (const lang of ['en', 'zh-CN'] as const) {
      const { t, te } = makeI18n(lang).global
      for (const r of MetricRanges) {
        expect(te(`serverTabs.range.${r}`), `${lang} ${r}`).toBe(true)
        expect(t(`serverTabs.range.${r}`)).not.toContain('serverTabs')
      }
    }
  })

  const metricsRoute = `GET ${apiPath(`/servers/${serverId}/metrics`)}`

  it('charts CPU, memory with its limit, network and disk over the last hour', async () => {
    const { wrapper, calls } = await mountServer(
      { [metricsRoute]: { status: 200, body: metrics([0, 1, 2, 10, 11]) } },
      { path: `/servers/${serverId}?tab=metrics` },
    )
    await waitFor(wrapper, '[data-test=metric-chart]')
    await flushPromises()
    const charts = wrapper.findAll('[data-test=metric-chart]')
    expect(charts.map((c) => c.attributes('data-metric'))).toEqual(['cpu', 'memory', 'network', 'disk'])
    for (const c of charts) expect(c.attributes('data-points')).toBe('5')
    expect(calls.find((c) => c.path.startsWith(apiPath(`/servers/${serverId}/metrics`)))?.path).toBe(
      apiPath(`/servers/${serverId}/metrics?range=1h`),
    )
    const memory = wrapper.get('[data-metric=memory]')
    expect(memory.get('[data-test=metric-limit]').text()).toBe('Limit 512 MiB')
    // The latest sample: CPU 14 % of one core, 104 MiB of memory, 5000/2500 B/s.
    expect(wrapper.get('[data-metric=cpu] [data-test=metric-readout]').text()).toContain('14%')
    expect(memory.get('[data-test=metric-readout]').text()).toContain('104 MiB')
    expect(wrapper.get('[data-metric=network] [data-test=metric-readout]').text()).toContain('4.9 KiB/s')
    // The gap between minute 2 and minute 10 splits every line in two.
    expect(wrapper.findAll('[data-metric=memory] .series path')).toHaveLength(2)
    expect(wrapper.get('[data-test=tab-metrics]').attributes('aria-selected')).toBe('true')
    expect(wrapper.find('[data-test=metric-live]').exists()).toBe(true)
  })

  it('asks for another range and shows an empty period in words', async () => {
    const { wrapper, calls } = await mountServer(
      {
        [metricsRoute]: (c) => ({
          status: 200,
          body: metrics(c.path.includes('range=7d') ? [] : [0, 1], { range: c.path.includes('range=7d') ? '7d' : '1h' }),
        }),
      },
      { path: `/servers/${serverId}?tab=metrics` },
    )
    await waitFor(wrapper, '[data-test=metric-chart]')
    await wrapper.get('[data-test=metric-range]').setValue('7d')
    await waitFor(wrapper, '[data-test=metrics-empty]')
    expect(calls.at(-1)?.path).toBe(apiPath(`/servers/${serverId}/metrics?range=7d`))
    expect(wrapper.findAll('[data-test=metric-empty]')).toHaveLength(4)
    expect(wrapper.find('[data-test=metric-live]').exists()).toBe(false)
  })

  it('refreshes the 1 h view every 10 seconds, and no longer view', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const { wrapper, calls } = await mountServer({ [metricsRoute]: { status: 200, body: metrics([0]) } }, { path: `/servers/${serverId}?tab=metrics` })
    await waitFor(wrapper, '[data-test=metric-chart]')
    const count = () => calls.filter((c) => c.path.includes('/metrics')).length
    expect(count()).toBe(1)
    vi.advanceTimersByTime(10_000)
    await flushPromises()
    expect(count()).toBe(2)
    await wrapper.get('[data-test=metric-range]').setValue('24h')
    await flushPromises()
    expect(count()).toBe(3)
    vi.advanceTimersByTime(30_000)
    await flushPromises()
    expect(count()).toBe(3)
  })

  it('shows the API error in words', async () => {
    const { wrapper } = await mountServer(
      { [metricsRoute]: { status: 503, body: apiError('unavailable', 'metrics store down') } },
      { path: `/servers/${serverId}?tab=metrics` },
    )
    const err = await waitFor(wrapper, '[role=tabpanel] [data-test=error]')
    expect(err.text()).toBe('The service is unavailable right now. Try again shortly.')
    expect(wrapper.find('[data-test=metric-chart]').exists()).toBe(false)
  })
})
