// The audit log (admins) and the activity page (anyone): entries rendered with actors'
// e-mails and object links, details as text, filters through the URL, errors in words.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import AuditView from '@/views/admin/AuditView.vue'
import ActivityView from '@/views/account/ActivityView.vue'
import { adminUser, apiError, customerUser, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const list = <T>(items: T[], total = items.length) => ({ status: 200, body: { items, page: 1, per_page: 25, total } })

const entry = (o: Record<string, unknown>) => ({
  id: 'e1',
  actor_id: 'u-1',
  action: 'POST /api/v1/servers/:id/stop',
  object_type: 'server',
  object_id: 'srv-123456789',
  owner_id: 'u-1',
  ip: '192.0.2.7',
  request_id: 'req-abc',
  details: {},
  created_at: '2025-03-01T10:00:00Z',
  ...o,
})

const alice = { ...customerUser, id: 'u-1', email: 'alice@example.test' }

describe('AuditView', () => {
  it('renders the entries with actors, object links, and details as text', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/audit': list(
        [
          entry({}),
          entry({ id: 'e2', actor_id: 'system', action: 'subscription.renew', object_type: 'subscription', object_id: 'sub-1', details: { note: '<b>bold</b>' } }),
          entry({ id: 'e3', actor_id: 'u-admin', action: 'PATCH /api/v1/admin/resellers/:id', object_type: 'reseller', object_id: 'r-1' }),
        ],
        60,
      ),
      'GET /api/v1/admin/users/u-1': { status: 200, body: alice },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(AuditView, '/admin/audit')
    await flushPromises()
    expect(calls.find((c) => c.path.startsWith('/api/v1/admin/audit'))?.path).toBe('/api/v1/admin/audit?page=1&per_page=25')
    const rows = wrapper.findAll('[data-test=audit] tbody tr')
    expect(rows).toHaveLength(3)
    expect(rows[0]!.text()).toContain('alice@example.test')
    expect(rows[0]!.text()).toContain('POST /api/v1/servers/:id/stop')
    expect(rows[0]!.text()).toContain('192.0.2.7')
    expect(rows[0]!.text()).toContain('req-abc')
    expect(rows[0]!.get('a[href="/servers/srv-123456789"]').text()).toBe('srv-1234')
    expect(rows[1]!.text()).toContain('System')
    expect(rows[1]!.text()).toContain('Subscription')
    // The caller's own id is its own e-mail, without a lookup; a reseller links to its page.
    expect(rows[2]!.text()).toContain('root@example.test')
    expect(rows[2]!.find('a[href="/admin/resellers/r-1"]').exists()).toBe(true)
    expect(calls.filter((c) => c.path.startsWith('/api/v1/admin/users/'))).toHaveLength(1)
    // Only the entry with details can be expanded; the JSON is text, not markup.
    expect(rows[0]!.find('[data-test=audit-details]').exists()).toBe(false)
    await rows[1]!.get('[data-test=audit-details]').trigger('click')
    const pre = wrapper.get('[data-test=audit-json]')
    expect(pre.text()).toBe('{\n  "note": "<b>bold</b>"\n}')
    expect(pre.find('b').exists()).toBe(false)
    expect(wrapper.find('[data-test=pager]').exists()).toBe(true)
  })

  it('filters by an actor e-mail (looked up to its id) and by clicking an object', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/audit': list([entry({})]),
      'GET /api/v1/admin/users': list([{ ...alice, id: 'u-9', email: 'alice@example.test.org' }, alice]),
      'GET /api/v1/admin/users/u-1': { status: 200, body: alice },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(AuditView, '/admin/audit')
    await wrapper.get('[data-test=audit-actor]').setValue('Alice@Example.test')
    await wrapper.get('[data-test=audit-type]').setValue('server')
    await wrapper.get('[data-test=audit-action]').setValue('POST /api/v1/servers')
    await wrapper.get('[data-test=audit-filters]').trigger('submit')
    await flushPromises()
    expect(calls.find((c) => c.path.startsWith('/api/v1/admin/users?'))?.path).toBe('/api/v1/admin/users?q=alice%40example.test&per_page=100')
    expect(router.currentRoute.value.query).toEqual({ actor_id: 'u-1', object_type: 'server', action: 'POST /api/v1/servers' })
    const last = calls.filter((c) => c.path.startsWith('/api/v1/admin/audit')).at(-1)!
    expect(last.path).toBe('/api/v1/admin/audit?actor_id=u-1&object_type=server&action=POST+%2Fapi%2Fv1%2Fservers&page=1&per_page=25')

    await wrapper.get('[data-test=audit] tbody tr').findAll('button.filter')[1]!.trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.query).toMatchObject({ actor_id: 'u-1', object_type: 'server', object_id: 'srv-123456789' })
    expect((wrapper.get('[data-test=audit-object]').element as HTMLInputElement).value).toBe('srv-123456789')
  })

  it('says when no account has the e-mail, and shows the API error in words next to the field', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/audit': [
        list([]),
        { status: 422, body: apiError('validation_failed', 'invalid', { to: 'must be after from' }) },
      ],
      'GET /api/v1/admin/users': list([]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(AuditView, '/admin/audit')
    expect(wrapper.get('[data-test=audit-empty]').text()).toBe('No entries match these filters.')
    await wrapper.get('[data-test=audit-actor]').setValue('nobody@example.test')
    await wrapper.get('[data-test=audit-filters]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#audit-actor-error').text()).toBe('No account has this e-mail address.')
    await wrapper.get('[data-test=audit-actor]').setValue('')
    await wrapper.get('[data-test=audit-from]').setValue('2025-03-02T00:00')
    await wrapper.get('[data-test=audit-to]').setValue('2025-03-01T00:00')
    await wrapper.get('[data-test=audit-filters]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toBe('Some fields are not valid: see the messages next to them.')
    expect(wrapper.get('#audit-to-error').text()).toBe('must be after from')
  })

  it('opens filtered by the URL', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/audit': list([]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(AuditView, '/admin/audit?owner_id=r-1&page=2')
    expect(calls.find((c) => c.path.startsWith('/api/v1/admin/audit'))?.path).toBe('/api/v1/admin/audit?owner_id=r-1&page=2&per_page=25')
    expect((wrapper.get('[data-test=audit-owner]').element as HTMLInputElement).value).toBe('r-1')
  })
})

describe('ActivityView', () => {
  it('lists the caller’s own entries from /audit without admin links or lookups', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: alice },
      'GET /api/v1/audit': list([
        entry({}),
        entry({ id: 'e2', actor_id: 'u-admin', action: 'POST /api/v1/admin/users/:id/wallet/entries', object_type: 'user', object_id: 'u-1' }),
      ]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ActivityView, '/account/activity')
    const rows = wrapper.findAll('[data-test=activity] tbody tr')
    expect(rows).toHaveLength(2)
    expect(rows[0]!.text()).toContain('alice@example.test')
    expect(rows[0]!.find('a[href="/servers/srv-123456789"]').exists()).toBe(true)
    expect(rows[1]!.text()).toContain('u-admin')
    expect(rows[1]!.find('a[href^="/admin/"]').exists()).toBe(false)
    expect(wrapper.find('[data-test=audit-actor]').exists()).toBe(false)
    expect(calls.some((c) => c.path.includes('/admin/'))).toBe(false)
  })

  it('shows an error in words', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: alice },
        'GET /api/v1/audit': { status: 500, body: apiError('internal', 'boom') },
      }).fn,
    )
    const { wrapper } = await mountApp(ActivityView, '/account/activity')
    expect(wrapper.get('[data-test=error]').text()).toBe('Something went wrong on the server. Try again; if it persists, contact support.')
    expect(wrapper.find('[data-test=activity-empty]').exists()).toBe(false)
  })
})
