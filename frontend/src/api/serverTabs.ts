// The endpoints of the server page's tabs and their wire types, mirroring backend/api
// (reseller.go ServerMember, resize.go, orders.go Subscription, invoices.go) and the metrics
// contract GET /api/v1/servers/{id}/metrics. Subscription and Invoice are the shop area's
// types (src/api/shop.ts): one definition per wire type; the plan change is the shop's call
// (shopApi.changePlan) and the plans are api.plans and shopApi.plan.
import { client } from './index'
import type { Query } from './client'
import type { List, Node, Operation } from './types'
import type { Invoice, Subscription } from './shop'

const enc = encodeURIComponent

/** The history ranges of GET /servers/{id}/metrics. */
export const MetricRanges = ['1h', '6h', '24h', '7d', '30d'] as const
export type MetricRange = (typeof MetricRanges)[number]

/** MetricPoint is one bucket of a server's usage history (only buckets with data are sent). */
export interface MetricPoint {
  at: string
  /** Percent of ONE core: up to 100 × cpus. */
  cpu_percent: number
  memory_bytes: number
  disk_bytes: number
  net_rx_bps: number
  net_tx_bps: number
}

/** ServerMetrics is a server's usage history over a range, in buckets of step_seconds. */
export interface ServerMetrics {
  server_id: string
  range: MetricRange
  step_seconds: number
  from: string
  to: string
  cpus: number
  memory_limit_bytes: number
  disk_limit_bytes: number
  /** Ascending by time. */
  points: MetricPoint[]
}

/** The permissions a sub-user may hold on a server (api.Permissions(), in its order). */
export const MemberPermissions = ['power', 'console', 'backups', 'tunnels', 'settings', 'billing'] as const
export type MemberPermission = (typeof MemberPermissions)[number]

/** ServerMember is a sub-user of a server and its permissions. */
export interface ServerMember {
  user_id: string
  email: string
  permissions: string[]
  created_by: string
  created_at: string
  updated_at: string
}

/** ResizeServerRequest sets a server's resources (admins only; no money moves). */
export interface ResizeServerRequest {
  cpu: number
  memory_mib: number
  disk_mib: number
}

/** Subscription statuses that still bill (the others are history). */
export const LiveSubscriptionStatuses = ['pending', 'trial', 'active', 'suspended'] as const

/**
 * findServerSubscription finds the subscription of a server (GET …subscriptions?server_id=,
 * newest first): the live one if there is one, else the newest ended one, else null. A
 * server has at most one live subscription; ended ones stay as history.
 */
export async function findServerSubscription(
  serverId: string,
  opts: { admin: boolean },
  signal?: AbortSignal,
): Promise<Subscription | null> {
  const q: Query = { server_id: serverId, per_page: 100 }
  const res = await client.get<List<Subscription>>(opts.admin ? '/admin/subscriptions' : '/subscriptions', q, signal)
  const live = res.items.find((s) => (LiveSubscriptionStatuses as readonly string[]).includes(s.status))
  return live ?? res.items[0] ?? null
}

/** The calls of the server page's tabs. */
export const serverTabsApi = {
  metrics: (id: string, range: MetricRange, signal?: AbortSignal) =>
    client.get<ServerMetrics>(`/servers/${enc(id)}/metrics`, { range }, signal),

  members: (id: string, q: Query) => client.get<List<ServerMember>>(`/servers/${enc(id)}/members`, q),
  addMember: (id: string, email: string, permissions: string[]) =>
    client.post<ServerMember>(`/servers/${enc(id)}/members`, { email, permissions }),
  updateMember: (id: string, userId: string, permissions: string[]) =>
    client.patch<ServerMember>(`/servers/${enc(id)}/members/${enc(userId)}`, { permissions }),
  removeMember: (id: string, userId: string) => client.del(`/servers/${enc(id)}/members/${enc(userId)}`),

  invoices: (id: string, q: Query) => client.get<List<Invoice>>(`/servers/${enc(id)}/invoices`, q),

  /** resize sets a server's resources directly (admins; no money moves). */
  resize: (id: string, req: ResizeServerRequest) => client.post<Operation>(`/servers/${enc(id)}/resize`, req),

  node: (id: string) => client.get<Node>(`/admin/nodes/${enc(id)}`),
}
