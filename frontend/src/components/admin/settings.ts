// The admin settings page reads GET /admin/settings generically: top-level objects are
// sections, top-level values go to "general", nested objects become dotted keys, and each
// value is shown by what its name says it is (<name>_set: a secret set or not; *_seconds:
// a duration).
import type { SettingValue, Settings } from '@/api/adminPanel'

/** The sections in the order the page shows them; others follow in the answer's order. */
export const sectionOrder = ['general', 'version', 'database', 'redis', 'nodes', 'billing', 'mail', 'payments', 'metrics']

/** SettingRow is one field of a section. */
export interface SettingRow {
  /** The field's name within its section; nested objects give dotted names (stripe.enabled). */
  key: string
  value: SettingValue
}

/** SettingSection is one card of the page. */
export interface SettingSection {
  name: string
  rows: SettingRow[]
}

const isObject = (v: SettingValue): v is { [k: string]: SettingValue } => typeof v === 'object' && v !== null && !Array.isArray(v)

function flatten(obj: { [k: string]: SettingValue }, prefix = ''): SettingRow[] {
  return Object.entries(obj).flatMap(([k, v]) => (isObject(v) ? flatten(v, `${prefix}${k}.`) : [{ key: `${prefix}${k}`, value: v }]))
}

/** settingsSections groups a settings answer into the page's sections. */
export function settingsSections(s: Settings): SettingSection[] {
  const general: SettingRow[] = []
  const byName = new Map<string, SettingRow[]>()
  for (const [k, v] of Object.entries(s)) {
    if (isObject(v)) byName.set(k, [...(byName.get(k) ?? []), ...flatten(v)])
    else general.push({ key: k, value: v })
  }
  if (general.length) byName.set('general', [...general, ...(byName.get('general') ?? [])])
  const rank = (n: string) => (sectionOrder.includes(n) ? sectionOrder.indexOf(n) : sectionOrder.length)
  return [...byName.entries()]
    .map(([name, rows]) => ({ name, rows }))
    .sort((a, b) => rank(a.name) - rank(b.name))
}

/** SettingKind is how a value is shown. */
export type SettingKind = 'secret' | 'duration' | 'boolean' | 'list' | 'empty' | 'number' | 'text'

/** settingKind tells how to show the value of the field named key. */
export function settingKind(key: string, v: SettingValue): SettingKind {
  const name = key.split('.').at(-1) ?? key
  if (name.endsWith('_set') && typeof v === 'boolean') return 'secret'
  if (name.endsWith('_seconds') && typeof v === 'number') return 'duration'
  if (typeof v === 'boolean') return 'boolean'
  if (Array.isArray(v)) return 'list'
  if (v === null || v === '') return 'empty'
  // A port is an identifier, not a quantity: no digit grouping ("35689", not "35,689").
  if (typeof v === 'number' && name !== 'port' && !name.endsWith('_port')) return 'number'
  return 'text'
}

/** humanize turns a field name into words ("offline_after_seconds" → "Offline after"). */
export function humanize(key: string): string {
  const words = key
    .replace(/_(seconds|set)$/, '')
    .replace(/\./g, ' · ')
    .replace(/_/g, ' ')
    .trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}
