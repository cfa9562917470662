// The server page's frame (tabs by permission, ?tab=, power buttons and the operation they
// start, the overview and activity tabs) and the servers list (New server, empty state),
// against a scripted panel.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { canAct, type PowerAction } from '@/components/server/power'
import { opKindLabel, serverOperationKinds } from '@/components/server/opKind'
import { pickTab, serverTabs, visibleTabs } from '@/components/server/tabs'
import { makeI18n } from '@/i18n'
import type { ServerStatus } from '@/api/types'
import ServersView from '@/views/ServersView.vue'
import { adminUser, apiError, customerUser, mountApp, scriptedFetch } from './helpers'
import { apiPath, list, mountServer, operation, query, server, serverId, unmountAll, waitFor } from './server-fixtures'

afterEach(() => {
  unmountAll()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const owner = ['power', 'console', 'backups', 'tunnels', 'settings', 'billing', 'manage']

describe('visibleTabs', () => {
  it.each([
    [owner, ['overview', 'metrics', 'members', 'plan', 'invoices', 'activity']],
    [['power'], ['overview', 'metrics', 'activity']],
    [[], ['overview', 'metrics', 'activity']],
    [['billing'], ['overview', 'metrics', 'plan', 'invoices', 'activity']],
    [['power', 'settings'], ['overview', 'metrics', 'activity']],
    [['manage'], ['overview', 'metrics', 'members', 'plan', 'activity']],
  ])('%j sees %j', (perms, want) => {
    expect(visibleTabs(perms).map((t) => t.id)).toEqual(want)
  })

  it('opens the asked tab when visible, else the first', () => {
    const tabs = visibleTabs(['power'])
    expect(pickTab('metrics', tabs)?.id).toBe('metrics')
    expect(pickTab('members', tabs)?.id).toBe('overview')
    expect(pickTab(undefined, tabs)?.id).toBe('overview')
  })

  it('names every tab in both languages', () => {
    for (const lang of ['en', 'zh-CN'] as const) {
      const { t, te } = makeI18n(lang).global
      for (const tab of serverTabs) {
        expect(te(tab.label), `${lang} ${tab.label}`).toBe(true)
        expect(t(tab.label)).not.toBe(tab.label)
      }
    }
  })
})

describe('canAct', () => {
  const p = (...x: string[]) => new Set(x)
  it.each<[PowerAction, ServerStatus, Set<string>, boolean]>([
    ['start', 'stopped', p('power'), true],
    ['start', 'error', p('power'), true],
    ['start', 'running', p('power'), false],
    ['start', 'stopped', p('console'), false],
    ['stop', 'running', p('power'), true],
    ['stop', 'stopped', p('power'), false],
    ['restart', 'running', p('power'), true],
    ['restart', 'running', p(), false],
    ['delete', 'running', p('power'), false],
    ['delete', 'running', p('manage'), true],
    ['delete', 'stopped', p('manage'), true],
    ['delete', 'deleting', p('manage'), false],
  ])('%s on %s with %j: %s', (a, status, perms, want) => {
    expect(canAct(a, status, perms)).toBe(want)
  })
})

describe('opKindLabel', () => {
  it('names every operation kind of a server in both languages', () => {
    for (const lang of ['en', 'zh-CN'] as const) {
      const { t, te } = makeI18n(lang).global
      for (const k of serverOperationKinds) expect(opKindLabel(k, { t, te }), `${lang} ${k}`).not.toBe(k)
    }
    const { t, te } = makeI18n('zh-CN').global
    expect(opKindLabel('instance.resize', { t, te })).toBe('调整配置')
    expect(opKindLabel('backup.create', { t, te })).toBe('backup.create')
  })
})

describe('ServerView', () => {
  it('shows the owner every tab and the overview with details and recent operations', async () => {
    const { wrapper } = await mountServer({}, { ops: [operation('o2', 'instance.resize'), operation('o1', 'instance.create')] })
    expect(wrapper.findAll('[role=tab]').map((t) => t.attributes('data-test'))).toEqual([
      'tab-overview',
      'tab-metrics',
      'tab-members',
      'tab-plan',
      'tab-invoices',
      'tab-activity',
    ])
    expect(wrapper.get('[data-test=tab-overview]').attributes('aria-selected')).toBe('true')
    expect(wrapper.get('[data-test=server-status]').attributes('data-status')).toBe('running')
    expect(wrapper.get('[data-test=detail-cpu]').text()).toBe('2')
    expect(wrapper.get('[data-test=detail-memory]').text()).toBe('512 MiB')
    // Customers do not see nodes.
    expect(wrapper.find('[data-test=detail-node]').exists()).toBe(false)
    const rows = wrapper.findAll('[data-test=operations] tbody tr')
    expect(rows.map((r) => r.text())).toEqual([expect.stringContaining('Resize'), expect.stringContaining('Create')])
    expect(wrapper.get('[data-test=action-start]').attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-test=action-stop]').attributes('disabled')).toBeUndefined()
  })

  it('shows a sub-user only the tabs its permissions allow, and no delete', async () => {
    const { wrapper, calls } = await mountServer({}, { srv: server(['power']), path: `/servers/${serverId}?tab=members` })
    expect(wrapper.findAll('[role=tab]').map((t) => t.attributes('data-test'))).toEqual(['tab-overview', 'tab-metrics', 'tab-activity'])
    // ?tab=members is not for it: the overview opens and nothing asks for the sub-users.
    expect(wrapper.get('[data-test=tab-overview]').attributes('aria-selected')).toBe('true')
    expect(calls.some((c) => c.path.includes('/members'))).toBe(false)
    expect(wrapper.get('[data-test=action-delete]').attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-test=action-stop]').attributes('disabled')).toBeUndefined()
  })

  it('keeps the open tab in ?tab= and shows the full activity a page at a time', async () => {
    const ops = Array.from({ length: 20 }, (_, i) => operation(`op${i}`, 'instance.start'))
    const { wrapper, router, calls } = await mountServer({
      [`GET ${apiPath(`/servers/${serverId}/operations`)}`]: (c) =>
        query(c.path, 'per_page') === '5'
          ? list(ops.slice(0, 5), 21, 1, 5)
          : list(query(c.path, 'page') === '2' ? [operation('x', 'instance.stop')] : ops, 21, 1, 20),
    })
    await wrapper.get('[data-test=tab-activity]').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.query.tab).toBe('activity')
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=operations] tbody tr')).toHaveLength(20))
    expect(calls.at(-1)?.path).toBe(apiPath(`/servers/${serverId}/operations?page=1&per_page=20`))
    await wrapper.get('[data-test=pager] button:last-child').trigger('click')
    await vi.waitFor(() => expect(wrapper.findAll('[data-test=operations] tbody tr')).toHaveLength(1))
    expect(calls.at(-1)?.path).toBe(apiPath(`/servers/${serverId}/operations?page=2&per_page=20`))
    await wrapper.get('[data-test=tab-overview]').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.query.tab).toBeUndefined()
  })

  it('stops the server after a confirmation and follows the operation to its end', async () => {
    const stopped = server(owner, { status: 'stopped' })
    const { wrapper, calls } = await mountServer({
      [`GET ${apiPath(`/servers/${serverId}`)}`]: [{ status: 200, body: server(owner) }, { status: 200, body: server(owner, { status: 'stopping' }) }, { status: 200, body: stopped }],
      [`POST ${apiPath(`/servers/${serverId}/stop`)}`]: { status: 202, body: operation('op-stop', 'instance.stop', 'pending') },
      'GET /api/v1/operations/op-stop/wait': { status: 200, body: operation('op-stop', 'instance.stop', 'success') },
    })
    await wrapper.get('[data-test=action-stop]').trigger('click')
    expect(wrapper.get('[data-test=confirm-dialog]').text()).toContain('Stop web1')
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
    await wrapper.get('[data-test=confirm]').trigger('click')
    await waitFor(wrapper, '[data-test=operation][data-status=success]')
    expect(calls.find((c) => c.method === 'POST')?.path).toBe(apiPath(`/servers/${serverId}/stop`))
    await vi.waitFor(() => expect(wrapper.get('[data-test=server-status]').attributes('data-status')).toBe('stopped'))
  })

  it('shows a refused action in words', async () => {
    const { wrapper } = await mountServer({
      [`POST ${apiPath(`/servers/${serverId}/restart`)}`]: { status: 409, body: apiError('conflict', 'another operation is in progress') },
    })
    await wrapper.get('[data-test=action-restart]').trigger('click')
    await wrapper.get('[data-test=confirm]').trigger('click')
    const err = await waitFor(wrapper, '[data-test=error]')
    expect(err.text()).toBe('This conflicts with the current state. Reload and try again.')
  })

  it('starts over when the page is reused for another server', async () => {
    const otherId = '5e7e2a3c-0000-4000-8000-000000000002'
    const { wrapper } = await mountServer({
      [`GET ${apiPath(`/servers/${otherId}`)}`]: { status: 200, body: server(['power'], { id: otherId, name: 'db1', status: 'stopped' }) },
      [`GET ${apiPath(`/servers/${otherId}/operations`)}`]: list([]),
    })
    expect(wrapper.get('[data-test=server-name]').text()).toBe('web1')
    await wrapper.setProps({ id: otherId })
    await vi.waitFor(() => expect(wrapper.get('[data-test=server-name]').text()).toBe('db1'))
    expect(wrapper.get('[data-test=server-status]').attributes('data-status')).toBe('stopped')
    expect(wrapper.findAll('[role=tab]')).toHaveLength(3)
  })

  it('shows admins the node of the server', async () => {
    const { wrapper } = await mountServer(
      { 'GET /api/v1/admin/nodes/node-0001-aaaa': { status: 200, body: { id: 'node-0001-aaaa', name: 'local', status: 'online' } } },
      { user: adminUser },
    )
    await vi.waitFor(() => expect(wrapper.get('[data-test=detail-node]').text()).toContain('local'))
    expect(wrapper.get('[data-test=detail-node] [data-status]').attributes('data-status')).toBe('online')
  })
})

describe('ServersView', () => {
  const row = server(owner)

  it('lists a page of servers and links New server to the order page for customers', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: customerUser },
      'GET /api/v1/servers': list([row], 41),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ServersView, '/servers')
    expect(wrapper.get('[data-server=web1] [data-status]').attributes('data-status')).toBe('running')
    expect(wrapper.get('[data-test=new-server]').attributes('href')).toBe('/order')
    expect(wrapper.findAll('[data-test=new-server]')).toHaveLength(1)
    expect(calls.find((c) => c.path.startsWith('/api/v1/servers'))?.path).toBe('/api/v1/servers?page=1&per_page=20')
    expect(wrapper.find('[data-test=pager]').exists()).toBe(true)
  })

  it('invites a customer without servers to order one', async () => {
    const { fn } = scriptedFetch({ 'GET /api/v1/me': { status: 200, body: customerUser }, 'GET /api/v1/servers': list([]) })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ServersView, '/servers')
    expect(wrapper.get('[data-test=servers-empty]').text()).toContain('No servers yet')
    expect(wrapper.findAll('[data-test=new-server]')).toHaveLength(1)
    expect(wrapper.get('[data-test=servers-empty] [data-test=new-server]').attributes('href')).toBe('/order')
    expect(wrapper.find('[data-test=servers-table]').exists()).toBe(false)
  })

  it('tells "none match" from "none at all" when filtering', async () => {
    const { fn } = scriptedFetch({ 'GET /api/v1/me': { status: 200, body: customerUser }, 'GET /api/v1/servers': list([]) })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ServersView, '/servers?status=frozen')
    expect(wrapper.find('[data-test=servers-empty]').exists()).toBe(false)
    expect(wrapper.get('[data-test=empty]').text()).toBe('No servers match.')
  })

  it('sends admins to the create form and names nodes', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/servers': list([row]),
      'GET /api/v1/admin/nodes': list([{ id: 'node-0001-aaaa', name: 'local', status: 'online' }]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ServersView, '/admin/servers', 'en', { admin: true })
    expect(wrapper.get('[data-test=new-server]').attributes('href')).toBe('/servers/new')
    expect(wrapper.get('[data-server=web1]').text()).toContain('local')
  })

  it('takes the page size from ?per_page= and changes it from the select, back to page 1', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: customerUser },
      'GET /api/v1/servers': list([row], 500),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(ServersView, '/servers?per_page=100&page=3')
    const paths = () => calls.filter((c) => c.path.startsWith('/api/v1/servers')).map((c) => c.path)
    expect(paths()).toEqual(['/api/v1/servers?page=3&per_page=100'])
    await wrapper.get('[data-test=per-page]').setValue('50')
    await flushPromises()
    expect(paths().at(-1)).toBe('/api/v1/servers?page=1&per_page=50')
    expect(router.currentRoute.value.query).toEqual({ per_page: '50' })
    await wrapper.get('[data-test=per-page]').setValue('20')
    await flushPromises()
    expect(paths().at(-1)).toBe('/api/v1/servers?page=1&per_page=20')
    expect(router.currentRoute.value.query).toEqual({})
  })

  it('ignores a page size it does not offer', async () => {
    const { fn, calls } = scriptedFetch({ 'GET /api/v1/me': { status: 200, body: customerUser }, 'GET /api/v1/servers': list([row]) })
    vi.stubGlobal('fetch', fn)
    await mountApp(ServersView, '/servers?per_page=5000')
    expect(calls.find((c) => c.path.startsWith('/api/v1/servers'))?.path).toBe('/api/v1/servers?page=1&per_page=20')
  })

  it('shows a failed list in words', async () => {
    const { fn } = scriptedFetch({ 'GET /api/v1/me': { status: 200, body: customerUser }, 'GET /api/v1/servers': { status: 500, body: apiError('internal') } })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ServersView, '/servers')
    expect(wrapper.get('[data-test=error]').text()).toContain('Something went wrong on the server')
    expect(wrapper.find('[data-test=servers-empty]').exists()).toBe(false)
  })
})
