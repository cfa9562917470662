// Fixtures of the server page tests: a server as GET /servers/{id} answers it, operations,
// metrics, and mounting the page with a scripted panel (unmounted after each test so that its
// timers stop).
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { vi } from 'vitest'
import type { ServerMetrics } from '@/api/serverTabs'
import type { Operation, Server } from '@/api/types'
import ServerView from '@/views/ServerView.vue'
import { customerUser, mountApp, scriptedFetch } from './helpers'

export const serverId = '5e7e2a3c-0000-4000-8000-000000000001'
export const apiPath = (p: string) => `/api/v1${p}`

/** server is a running container of customerUser; perms are the caller's permissions. */
export function server(perms: string[] = ['power', 'console', 'backups', 'tunnels', 'settings', 'billing', 'manage'], extra: Partial<Server> = {}): Server {
  return {
    id: serverId,
    name: 'web1',
    owner_id: customerUser.id,
    node_id: 'node-0001-aaaa',
    incus_name: 'web1-5e7e2a3c',
    type: 'container',
    image: 'busybox',
    cpu: 2,
    memory_mib: 512,
    disk_mib: 2048,
    status: 'running',
    created_at: '2025-03-01T10:00:00Z',
    updated_at: '2025-03-01T10:00:00Z',
    permissions: perms,
    ...extra,
  }
}

/** operation is one operation of the server. */
export function operation(id: string, kind: string, status: Operation['status'] = 'success', extra: Partial<Operation> = {}): Operation {
  return {
    id,
    kind,
    status,
    progress: status === 'success' ? 100 : 10,
    server_id: serverId,
    node_id: 'node-0001-aaaa',
    created_at: '2025-03-01T10:00:00Z',
    updated_at: '2025-03-01T10:00:00Z',
    ...(status === 'success' || status === 'failure' ? { finished_at: '2025-03-01T10:00:05Z' } : {}),
    ...extra,
  }
}

/** list wraps items as a page of the API. */
export function list<T>(items: T[], total = items.length, page = 1, perPage = 20) {
  return { status: 200, body: { items, total, page, per_page: perPage } }
}

/** metrics is a 1 h answer with points at the given minutes after from (step 60 s). */
export function metrics(minutes: number[], extra: Partial<ServerMetrics> = {}): ServerMetrics {
  const from = Date.parse('2025-03-01T10:00:00Z')
  return {
    server_id: serverId,
    range: '1h',
    step_seconds: 60,
    from: new Date(from).toISOString(),
    to: new Date(from + 3600_000).toISOString(),
    cpus: 2,
    memory_limit_bytes: 512 * 1024 * 1024,
    disk_limit_bytes: 2048 * 1024 * 1024,
    points: minutes.map((m, i) => ({
      at: new Date(from + m * 60_000).toISOString(),
      cpu_percent: 10 + i,
      memory_bytes: (100 + i) * 1024 * 1024,
      disk_bytes: 300 * 1024 * 1024,
      net_rx_bps: 1000 * (i + 1),
      net_tx_bps: 500 * (i + 1),
    })),
    ...extra,
  }
}

type Routes = Parameters<typeof scriptedFetch>[0]

const mounted: VueWrapper[] = []

/** unmountAll unmounts the pages mounted by mountServer (call it in afterEach). */
export function unmountAll() {
  while (mounted.length) mounted.pop()!.unmount()
}

/**
 * mountServer opens the server page at path as user, with the panel answering the server
 * (srv), its latest operations and routes; it waits until the open tab has rendered.
 */
export async function mountServer(routes: Routes, opts: { srv?: Server; user?: object; path?: string; ops?: Operation[] } = {}) {
  const srv = opts.srv ?? server()
  const scripted = scriptedFetch({
    'GET /api/v1/me': { status: 200, body: opts.user ?? customerUser },
    [`GET ${apiPath(`/servers/${serverId}`)}`]: { status: 200, body: srv },
    [`GET ${apiPath(`/servers/${serverId}/operations`)}`]: list(opts.ops ?? [operation('op-create', 'instance.create')]),
    ...routes,
  })
  vi.stubGlobal('fetch', scripted.fn)
  const app = await mountApp(ServerView, opts.path ?? `/servers/${serverId}`, 'en', { id: serverId })
  mounted.push(app.wrapper)
  // Tabs are loaded lazily: wait until the open one has rendered.
  await vi.waitFor(() => {
    if (!app.wrapper.find('[role=tabpanel]').element?.children.length) throw new Error('no tab yet')
  }, { timeout: 5000 })
  await flushPromises()
  return { ...app, ...scripted }
}

/** query reads a parameter of a scripted call's path. */
export function query(path: string, name: string): string | null {
  return new URL(path, 'http://panel.test').searchParams.get(name)
}

/** waitFor retries a selector until it exists in wrapper. */
export async function waitFor(wrapper: VueWrapper, selector: string) {
  await vi.waitFor(() => {
    if (!wrapper.find(selector).exists()) throw new Error(`${selector} not found`)
  }, { timeout: 5000 })
  return wrapper.get(selector)
}
