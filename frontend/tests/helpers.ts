// Test helpers: a scripted fetch (a small fake of the panel for pure UI logic; the real panel
// is exercised by the browser end-to-end tests in e2e/) and a mount with the app's plugins.
import { mount, flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { vi } from 'vitest'
import type { Component } from 'vue'
import { createMemoryHistory } from 'vue-router'
import type { Subscription } from '@/api/shop'
import type { Plan } from '@/api/types'
import { makeI18n, type Language } from '@/i18n'
import { makeRouter } from '@/router'

export interface Call {
  method: string
  path: string
  headers: Record<string, string>
  body: unknown
}

type Reply = { status: number; body?: unknown } | ((call: Call) => { status: number; body?: unknown })

/** scriptedFetch answers "METHOD /path" (path without the query) from routes, 404 otherwise. */
export function scriptedFetch(routes: Record<string, Reply | Reply[]>) {
  const calls: Call[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://panel.test')
    const method = init?.method ?? 'GET'
    const headers = Object.fromEntries(Object.entries((init?.headers as Record<string, string>) ?? {}))
    const call: Call = { method, path: url.pathname + url.search, headers, body: init?.body ? JSON.parse(String(init.body)) : undefined }
    calls.push(call)
    let r = routes[`${method} ${url.pathname}`]
    if (Array.isArray(r)) r = r.length > 1 ? r.shift() : r[0]
    const reply = typeof r === 'function' ? r(call) : (r ?? { status: 404, body: { error: { code: 'not_found', message: 'route not found' }, request_id: 'r' } })
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body)
    return new Response(reply.status === 204 ? null : text, { status: reply.status, headers: { 'Content-Type': 'application/json' } })
  })
  return { fn, calls }
}

/** apiError is the body of a panel error answer. */
export function apiError(code: string, message = code, fields?: Record<string, string>) {
  return { error: { code, message, fields }, request_id: 'req-1' }
}

export const adminUser = {
  id: 'u-admin',
  email: 'root@example.test',
  role: 'admin',
  email_verified: true,
  two_factor_enabled: false,
  created_at: '2025-01-01T00:00:00Z',
}

export const customerUser = { ...adminUser, id: 'u-cust', email: 'cust@example.test', role: 'customer' }

/** planOf is a plan of the catalogue: a USD container (1 CPU, 512 MiB, 2 GiB) at priceMonth a month, no hourly price; extra overrides. */
export function planOf(id: string, name: string, priceMonth: number, extra: Partial<Plan> = {}): Plan {
  return {
    id,
    name,
    type: 'container',
    cpu: 1,
    memory_mib: 512,
    disk_mib: 2048,
    traffic_gib: 0,
    price_month: priceMonth,
    price_hour: 0,
    setup_fee: 0,
    currency: 'USD',
    exponent: 2,
    stock: null,
    active: true,
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
    ...extra,
  }
}

/** mountApp mounts component with pinia, i18n and a memory router at path. */
export async function mountApp(component: Component, path = '/', lang: Language = 'en', props: Record<string, unknown> = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = makeRouter(createMemoryHistory())
  const i18n = makeI18n(lang)
  await router.push(path)
  await router.isReady()
  const wrapper = mount(component, { props, global: { plugins: [pinia, router, i18n] }, attachTo: document.body })
  await flushPromises()
  return { wrapper, router, i18n, pinia }
}

/** subscriptionOf is the customer's active monthly subscription to plan p-small (USD 10.00, March 2025); extra overrides. */
export function subscriptionOf(extra: Partial<Subscription> = {}): Subscription {
  return {
    id: 'sub-1',
    user_id: customerUser.id,
    plan_id: 'p-small',
    server_id: 'srv-1',
    cycle: 'monthly',
    status: 'active',
    currency: 'USD',
    price: 1000,
    cpu: 1,
    memory_mib: 512,
    disk_mib: 2048,
    auto_renew: true,
    period_start: '2025-03-01T00:00:00Z',
    period_end: '2025-03-31T00:00:00Z',
    created_at: '2025-03-01T00:00:00Z',
    updated_at: '2025-03-01T00:00:00Z',
    ...extra,
  }
}
