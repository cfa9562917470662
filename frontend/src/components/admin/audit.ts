// The audit log as people read it: where an entry's object can be opened, its details as
// text, and the filter form's fields as the query the panel takes (and back, for the URL).
import type { AuditEntry } from '@/api/adminPanel'
import { fromLocalInput, toLocalInput } from './format'

/** The object types the panel records (setAudit calls and the billing engine's entries). */
export const AuditObjectTypes = [
  'server', 'user', 'reseller', 'reseller_price', 'plan', 'node', 'coupon', 'order', 'subscription',
  'payment', 'wallet', 'api_token', 'session', 'two_factor', 'notification_settings',
] as const

/** objectLink is the page of an entry's object, or null when there is none for this reader. */
export function objectLink(e: Pick<AuditEntry, 'object_type' | 'object_id'>, admin: boolean): string | null {
  if (!e.object_id) return null
  const id = encodeURIComponent(e.object_id)
  switch (e.object_type) {
    case 'server':
      return `/servers/${id}`
    case 'user':
      return admin ? `/admin/users/${id}` : null
    case 'reseller':
      return admin ? `/admin/resellers/${id}` : null
    default:
      return null
  }
}

/** detailsText renders an entry's details as indented JSON text, "" when there are none. */
export function detailsText(details: unknown): string {
  if (details === null || details === undefined) return ''
  if (typeof details === 'object' && !Array.isArray(details) && Object.keys(details).length === 0) return ''
  if (Array.isArray(details) && details.length === 0) return ''
  return JSON.stringify(details, null, 2)
}

/** AuditDraft is the filter form as typed. */
export interface AuditDraft {
  /** A user id, "system", "anonymous", or (admins) an e-mail address to look up. */
  actor: string
  owner: string
  objectType: string
  objectId: string
  action: string
  /** datetime-local values, "" for none. */
  from: string
  to: string
}

/** The query parameters the filter form sets (page aside). */
export const auditQueryKeys = ['actor_id', 'owner_id', 'object_type', 'object_id', 'action', 'from', 'to'] as const

type RouteQuery = Record<string, unknown>

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '')

/** draftFromQuery fills the filter form from a page URL's query. */
export function draftFromQuery(q: RouteQuery): AuditDraft {
  return {
    actor: str(q.actor_id),
    owner: str(q.owner_id),
    objectType: str(q.object_type),
    objectId: str(q.object_id),
    action: str(q.action),
    from: toLocalInput(str(q.from)),
    to: toLocalInput(str(q.to)),
  }
}

/** queryFromDraft is the URL query (and API filter) of a filter form; empty fields are left out. */
export function queryFromDraft(d: AuditDraft, actorId = d.actor.trim()): Record<string, string> {
  const out: Record<string, string> = {}
  const set = (k: string, v: string | null) => {
    if (v) out[k] = v
  }
  set('actor_id', actorId)
  set('owner_id', d.owner.trim())
  set('object_type', d.objectType)
  set('object_id', d.objectId.trim())
  set('action', d.action.trim())
  set('from', fromLocalInput(d.from))
  set('to', fromLocalInput(d.to))
  return out
}

/** filterOfQuery keeps the audit filters of a page URL's query (for the API call). */
export function filterOfQuery(q: RouteQuery): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of auditQueryKeys) {
    const v = str(q[k])
    if (v) out[k] = v
  }
  return out
}
