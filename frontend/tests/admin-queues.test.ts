// The job queue view on the admin operations page: the asynq queues from GET /admin/queues.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import OperationsView from '@/views/admin/OperationsView.vue'
import { adminUser, apiError, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
  document.body.innerHTML = ''
})

const list = <T>(items: T[]) => ({ status: 200, body: { items, page: 1, per_page: items.length, total: items.length } })

const zero = { pending: 0, active: 0, scheduled: 0, retry: 0, archived: 0, completed: 0, processed_today: 0, failed_today: 0, latency_seconds: 0, paused: false }
const queues = [
  { ...zero, queue: 'nimbo:panel', processed_today: 12 },
  { ...zero, queue: 'node:n1', node_id: 'n1', node_name: 'edge-1', node_status: 'online', pending: 1204, active: 2, retry: 3, archived: 1, processed_today: 4321, failed_today: 5, latency_seconds: 3725 },
  { ...zero, queue: 'node:n2', node_id: 'n2', node_name: 'edge-2', node_status: 'offline', paused: true },
]

describe('job queues', () => {
  it('shows the billing queue and each node’s, with depth, retries, dead letters and the oldest wait', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/queues': list(queues),
      'GET /api/v1/admin/operations': list([]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(OperationsView, '/admin/operations')
    const rows = wrapper.findAll('[data-test=queues] tbody tr')
    expect(rows.map((r) => r.attributes('data-queue'))).toEqual(['nimbo:panel', 'node:n1', 'node:n2'])
    expect(rows[0]!.text()).toContain('Panel (billing)')
    const n1 = wrapper.get('[data-queue="node:n1"]')
    expect(n1.text()).toContain('edge-1')
    expect(n1.get('[data-test=queue-pending]').text()).toBe('1,204')
    expect(n1.get('[data-test=queue-archived]').classes()).toContain('bad')
    expect(n1.text()).toContain('4,321 done, 5 failed')
    expect(n1.text()).toContain('1 h 2 min')
    expect(wrapper.get('[data-queue="node:n2"] [data-test=queue-paused]').text()).toBe('Paused')
    expect(wrapper.get('[data-queue="node:n2"]').text()).toContain('–')
  })

  it('refreshes every 5 seconds and keeps the last answer when Redis is down, saying so', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    let calls = 0
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/queues': () =>
        ++calls === 1 ? list(queues) : { status: 503, body: apiError('unavailable', 'the job queues cannot be read') },
      'GET /api/v1/admin/operations': list([]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(OperationsView, '/admin/operations', 'zh-CN')
    expect(calls).toBe(1)
    await vi.advanceTimersByTimeAsync(5000)
    await flushPromises()
    expect(calls).toBe(2)
    expect(wrapper.findAll('[data-test=queues] tbody tr')).toHaveLength(3)
    expect(wrapper.get('.queues [data-test=error]').text()).not.toBe('')
    expect(wrapper.text()).toContain('任务队列')
    wrapper.unmount()
    await vi.advanceTimersByTimeAsync(10000)
    expect(calls).toBe(2)
  })
})
