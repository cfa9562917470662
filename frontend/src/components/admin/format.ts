// Values in admin forms and pages: datetime-local inputs (the browser's zone) to and from
// RFC 3339, durations given in seconds, and percentages given in basis points.

/** toLocalInput renders an RFC 3339 time as a datetime-local value in the browser's zone. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/** fromLocalInput reads a datetime-local value (browser's zone) as RFC 3339 UTC, or null. */
export function fromLocalInput(v: string): string | null {
  if (!v.trim()) return null
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

/** The units of durationParts, largest first. */
export const DurationUnits = ['d', 'h', 'min', 's'] as const
/** DurationUnit is a unit a duration is told in. */
export type DurationUnit = (typeof DurationUnits)[number]

const unitSeconds: Record<DurationUnit, number> = { d: 86400, h: 3600, min: 60, s: 1 }

/**
 * durationParts splits whole seconds into days, hours, minutes and seconds, leaving out the
 * zero parts (0 is [{ unit: 's', n: 0 }]); fractions of a second are rounded.
 */
export function durationParts(seconds: number): { unit: DurationUnit; n: number }[] {
  let rest = Math.round(Math.abs(seconds))
  const out: { unit: DurationUnit; n: number }[] = []
  for (const unit of DurationUnits) {
    const n = Math.floor(rest / unitSeconds[unit])
    rest -= n * unitSeconds[unit]
    if (n > 0) out.push({ unit, n })
  }
  return out.length ? out : [{ unit: 's', n: 0 }]
}

/** percentOfBasisPoints renders basis points as a percentage ("12.5 %"), up to 2 decimals. */
export function percentOfBasisPoints(bp: number, locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(bp / 10000)
}
