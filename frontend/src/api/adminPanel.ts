// The admin panel's endpoints (audit log, resellers, coupons, subscriptions, invoices,
// settings) and the caller's own activity, with their wire types mirroring backend/api
// (accounts.go AuditEntry, reseller.go requests, coupons.go, settings.go). Reseller is the
// reseller area's type (src/api/reseller.ts) and Subscription and Invoice the shop's
// (src/api/shop.ts): one definition per wire type.
import { client } from './index'
import type { Query } from './client'
import type { Reseller } from './reseller'
import type { Invoice, Subscription } from './shop'
import type { List, Node, User } from './types'

const enc = encodeURIComponent

/**
 * AuditEntry is one record of the audit log: who (actor_id: a user id, "system" or
 * "anonymous") did what (action: "METHOD /route/pattern" or a dotted verb such as
 * "subscription.renew") to which object, whose object it is, from where and when.
 */
export interface AuditEntry {
  id: string
  actor_id: string
  action: string
  object_type: string
  object_id: string
  owner_id: string
  ip: string
  request_id: string
  /** Free-form JSON the handler recorded ({} when none). */
  details: unknown
  created_at: string
}

/** AuditQuery is the filter of GET /audit and /admin/audit (every field optional). */
export interface AuditQuery {
  actor_id?: string
  owner_id?: string
  object_type?: string
  object_id?: string
  /** The start of the action, such as "POST /api/v1/servers". */
  action?: string
  /** RFC 3339, inclusive. */
  from?: string
  /** RFC 3339, exclusive. */
  to?: string
  page?: number
  per_page?: number
}

/** CreateResellerRequest creates a new account with role reseller and its profile. */
export interface CreateResellerRequest {
  email: string
  password: string
  brand_name: string
  domain?: string
  support_email?: string
  logo_url?: string
  markup_bp: number
  quota_servers?: number | null
  quota_cpu?: number | null
  quota_memory_mib?: number | null
  quota_disk_mib?: number | null
}

/** UpdateResellerRequest changes the fields it carries; a quota sent as null is unlimited. */
export interface UpdateResellerRequest {
  markup_bp?: number
  quota_servers?: number | null
  quota_cpu?: number | null
  quota_memory_mib?: number | null
  quota_disk_mib?: number | null
}

/** The kinds of coupon. */
export const CouponKinds = ['percent', 'fixed'] as const
/** percent: value is basis points (1..10000); fixed: value is minor units of currency. */
export type CouponKind = (typeof CouponKinds)[number]

/** Coupon is a discount code; owner_id is the issuing reseller (absent: the provider's). */
export interface Coupon {
  id: string
  code: string
  owner_id?: string
  kind: CouponKind
  value: number
  currency?: string
  expires_at: string | null
  max_uses: number | null
  uses: number
  once_per_customer: boolean
  plan_ids: string[]
  active: boolean
  created_at: string
  updated_at: string
}

/** CreateCouponRequest adds a coupon (see backend/api/coupons.go for the rules). */
export interface CreateCouponRequest {
  code: string
  kind: CouponKind
  value: number
  currency: string
  expires_at: string | null
  max_uses: number | null
  once_per_customer: boolean
  plan_ids: string[]
  active: boolean
}

/** UpdateCouponRequest changes the fields it carries; null expires_at/max_uses removes the limit. */
export type UpdateCouponRequest = Partial<CreateCouponRequest>

/** CouponRedemption is one use of a coupon (discount in minor units of currency). */
export interface CouponRedemption {
  id: string
  user_id: string
  user_email: string
  order_id: string
  discount: number
  currency: string
  created_at: string
}

/** The API bases that manage coupons: the admin's (all) and a reseller's (its own). */
export type CouponBase = '/admin/coupons' | '/reseller/coupons'

/** NodeDrift is a node's last reconciliation report. */
export interface NodeDrift {
  missing_in_incus: string[]
  unknown_to_panel: string[]
  checked_at: string
}

/** AdminNode is a node with its last drift report, when there is one. */
export interface AdminNode extends Node {
  drift?: NodeDrift
}

/** SettingValue is any JSON value of the settings answer. */
export type SettingValue = string | number | boolean | null | SettingValue[] | { [k: string]: SettingValue }

/**
 * Settings is the effective configuration (GET /admin/settings, backend/api/settings.go):
 * top-level fields and sections of values. Secrets appear only as booleans named
 * <name>_set; durations are *_seconds. The page renders it generically, so only its outline
 * is typed here and a new field shows up without a change.
 */
export type Settings = Record<string, SettingValue>

/** adminPanelApi calls the endpoints of the admin pages and the activity page. */
export const adminPanelApi = {
  audit: (q: Query) => client.get<List<AuditEntry>>('/admin/audit', q),
  myAudit: (q: Query) => client.get<List<AuditEntry>>('/audit', q),

  resellers: (q: Query) => client.get<List<Reseller>>('/admin/resellers', q),
  reseller: (id: string) => client.get<Reseller>(`/admin/resellers/${enc(id)}`),
  createReseller: (req: CreateResellerRequest) => client.post<Reseller>('/admin/resellers', req),
  updateReseller: (id: string, req: UpdateResellerRequest) => client.patch<Reseller>(`/admin/resellers/${enc(id)}`, req),

  coupons: (base: CouponBase, q: Query) => client.get<List<Coupon>>(base, q),
  createCoupon: (base: CouponBase, req: CreateCouponRequest) => client.post<Coupon>(base, req),
  updateCoupon: (base: CouponBase, id: string, req: UpdateCouponRequest) => client.patch<Coupon>(`${base}/${enc(id)}`, req),
  /** deactivateCoupon is DELETE: the coupon stops working and is kept with its history. */
  deactivateCoupon: (base: CouponBase, id: string) => client.request<Coupon>(`${base}/${enc(id)}`, { method: 'DELETE' }),
  couponRedemptions: (base: CouponBase, id: string, q: Query) =>
    client.get<List<CouponRedemption>>(`${base}/${enc(id)}/redemptions`, q),

  subscriptions: (q: Query) => client.get<List<Subscription>>('/admin/subscriptions', q),
  invoices: (q: Query) => client.get<List<Invoice>>('/admin/invoices', q),
  settings: () => client.get<Settings>('/admin/settings'),
  nodes: (q: Query) => client.get<List<AdminNode>>('/admin/nodes', q),

  /** findUser is the account with exactly this e-mail address (any case), or null. */
  findUser: async (email: string): Promise<User | null> => {
    const want = email.trim().toLowerCase()
    const res = await client.get<List<User>>('/admin/users', { q: want, per_page: 100 })
    return res.items.find((u) => u.email.toLowerCase() === want) ?? null
  },
}
