// The math of the server page's usage charts, kept apart from the SVG so that it can be
// table-tested: linear scales, "nice" value ticks (decimal and binary bytes), time ticks
// aligned to the viewer's clock, splitting a series where samples are missing, the nearest
// sample to a pointer, and the chart model the component draws.

/** A linear map from a domain of values to a range of pixels, with its inverse. */
export interface Scale {
  (v: number): number
  invert(px: number): number
  domain: readonly [number, number]
  range: readonly [number, number]
}

/** linearScale maps [d0, d1] onto [r0, r1]; an empty domain maps to the middle of the range. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0
  const f = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as Scale
  f.invert = (px: number) => (r1 === r0 ? d0 : d0 + ((px - r0) / (r1 - r0)) * span)
  f.domain = [d0, d1]
  f.range = [r0, r1]
  return f
}

/** niceStep is the smallest 1, 2 or 5 × 10^k not below raw (raw > 0). */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1
  const exp = Math.floor(Math.log10(raw))
  const base = 10 ** exp
  const f = raw / base
  // Guard float noise: 0.3 / 0.1 is 2.9999999999999996.
  const nf = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10
  return nf * base
}

/** clean removes float noise from a tick value (0.30000000000000004 → 0.3). */
function clean(v: number): number {
  return Number(v.toPrecision(12))
}

/** The kinds of value a chart's Y axis shows. */
export type ValueKind = 'percent' | 'bytes'

/**
 * valueTicks returns ticks from 0 up to the first tick at or above max, about count
 * intervals: steps of 1, 2 or 5 × 10^k, or for bytes the same within the largest binary unit
 * not above max (1 GiB, 2 GiB, 5 GiB…; a quarter or half of the unit below one). A max of 0 or less gives
 * the axis of 1 (percent) or 1 KiB (bytes).
 */
export function valueTicks(max: number, count: number, kind: ValueKind): number[] {
  const n = Math.max(1, Math.round(count))
  let top = Number.isFinite(max) && max > 0 ? max : kind === 'bytes' ? 1024 : 1
  let unit = 1
  if (kind === 'bytes') {
    while (top / unit >= 1024) unit *= 1024
    top /= unit
  }
  let step = niceStep(top / n)
  // Below one unit, bytes step by binary fractions (256 MiB, 512 MiB), whole bytes at least.
  if (kind === 'bytes' && step < 1) step = unit === 1 ? 1 : step <= 0.25 ? 0.25 : 0.5
  const intervals = Math.max(1, Math.ceil(clean(top / step)))
  const out: number[] = []
  for (let i = 0; i <= intervals; i++) out.push(clean(i * step) * unit)
  return out
}

const minute = 60_000
const hour = 60 * minute
const day = 24 * hour

/** The intervals time ticks may use, shortest first. */
export const timeIntervals = [
  minute,
  2 * minute,
  5 * minute,
  10 * minute,
  15 * minute,
  30 * minute,
  hour,
  2 * hour,
  3 * hour,
  6 * hour,
  12 * hour,
  day,
  2 * day,
  7 * day,
] as const

/**
 * timeTicks returns the times (ms) in [from, to] on the shortest interval giving at most
 * count ticks, aligned to the viewer's wall clock (tzOffsetMinutes east of UTC, as
 * -Date.getTimezoneOffset() gives): whole minutes, hours, local midnights.
 */
export function timeTicks(from: number, to: number, count: number, tzOffsetMinutes = 0): { ticks: number[]; interval: number } {
  if (!(to > from)) return { ticks: [], interval: minute }
  const raw = (to - from) / Math.max(1, count)
  const interval = timeIntervals.find((i) => i >= raw) ?? timeIntervals[timeIntervals.length - 1]!
  const off = tzOffsetMinutes * minute
  const ticks: number[] = []
  for (let t = Math.ceil((from + off) / interval) * interval - off; t <= to; t += interval) ticks.push(t)
  return { ticks, interval }
}

/** timeLabelOptions are the Intl options of a time tick's label for a tick interval. */
export function timeLabelOptions(interval: number): Intl.DateTimeFormatOptions {
  return interval >= day ? { month: 'short', day: 'numeric' } : { hour: '2-digit', minute: '2-digit' }
}

/** A sample of one series: its time (ms) and value. */
export interface Sample {
  t: number
  v: number
}

/** Samples further apart than gapFactor × the bucket step are not joined by a line. */
export const gapFactor = 2

/**
 * splitGaps cuts samples (ascending by time) into runs where each sample follows the
 * previous one by at most gapFactor × stepMs: a missing bucket leaves a gap in the line.
 */
export function splitGaps<T extends { t: number }>(samples: readonly T[], stepMs: number): T[][] {
  const out: T[][] = []
  let cur: T[] = []
  for (const s of samples) {
    const prev = cur[cur.length - 1]
    if (prev && stepMs > 0 && s.t - prev.t > gapFactor * stepMs) {
      out.push(cur)
      cur = []
    }
    cur.push(s)
  }
  if (cur.length) out.push(cur)
  return out
}

/** nearestIndex is the index of the time in ts (ascending) closest to t (the earlier on a tie), -1 if none. */
export function nearestIndex(ts: readonly number[], t: number): number {
  if (!ts.length) return -1
  let lo = 0
  let hi = ts.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (ts[mid]! < t) lo = mid + 1
    else hi = mid
  }
  // lo is the first time ≥ t (or the last one); the one before may be closer.
  if (lo > 0 && t - ts[lo - 1]! <= ts[lo]! - t) return lo - 1
  return lo
}

/** pathOf is the SVG path of a polyline through points. */
export function pathOf(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ')
}

/** A series of a chart: values aligned with the chart's times (null: no value at that time). */
export interface ChartSeries {
  key: string
  values: readonly (number | null | undefined)[]
}

/** A series with the label its legend shows. */
export interface LabeledSeries extends ChartSeries {
  label: string
}

/** What a chart shows: times (ms, ascending), series, the bucket step and the time span. */
export interface ChartInput {
  times: readonly number[]
  series: readonly ChartSeries[]
  stepMs: number
  from: number
  to: number
  kind: ValueKind
  /** A limit drawn as a line (memory or disk size); the axis reaches it. */
  limit?: number
  width: number
  height: number
  tzOffsetMinutes?: number
}

/** The plot area inside the SVG: room on the left for value labels, below for times. */
export const chartMargin = { top: 8, right: 12, bottom: 22, left: 68 } as const

/** A drawn series: its line runs (one path per run between gaps) and lone samples as dots. */
export interface DrawnSeries {
  key: string
  paths: string[]
  dots: { x: number; y: number }[]
}

/** ChartModel is everything the chart component draws, in SVG user units (pixels). */
export interface ChartModel {
  x: Scale
  y: Scale
  xTicks: { x: number; t: number }[]
  interval: number
  yTicks: { y: number; v: number }[]
  series: DrawnSeries[]
  limitY: number | null
  /** How many times have a value in at least one series. */
  drawn: number
}

/** buildChart lays out a chart: scales, ticks, and the paths of each series with gaps kept. */
export function buildChart(c: ChartInput): ChartModel {
  const m = chartMargin
  const left = m.left
  const right = Math.max(left + 1, c.width - m.right)
  const top = m.top
  const bottom = Math.max(top + 1, c.height - m.bottom)
  let max = c.limit ?? 0
  let drawn = 0
  for (let i = 0; i < c.times.length; i++) {
    let any = false
    for (const s of c.series) {
      const v = s.values[i]
      if (v == null || !Number.isFinite(v)) continue
      any = true
      if (v > max) max = v
    }
    if (any) drawn++
  }
  const vt = valueTicks(max, Math.max(2, Math.floor((bottom - top) / 36)), c.kind)
  const x = linearScale(c.from, c.to, left, right)
  const y = linearScale(0, vt[vt.length - 1]!, bottom, top)
  const tt = timeTicks(c.from, c.to, Math.max(2, Math.floor((right - left) / 90)), c.tzOffsetMinutes ?? 0)
  const series = c.series.map((s) => {
    const samples: Sample[] = []
    c.times.forEach((t, i) => {
      const v = s.values[i]
      if (v != null && Number.isFinite(v)) samples.push({ t, v })
    })
    const runs = splitGaps(samples, c.stepMs).map((run) => run.map((p) => ({ x: x(p.t), y: y(p.v) })))
    return {
      key: s.key,
      paths: runs.filter((r) => r.length > 1).map(pathOf),
      dots: runs.filter((r) => r.length === 1).map((r) => r[0]!),
    }
  })
  return {
    x,
    y,
    xTicks: tt.ticks.map((t) => ({ x: x(t), t })),
    interval: tt.interval,
    yTicks: vt.map((v) => ({ y: y(v), v })),
    series,
    limitY: c.limit != null && c.limit > 0 ? y(c.limit) : null,
    drawn,
  }
}
