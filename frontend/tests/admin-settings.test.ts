// The settings page (read-only configuration, secrets as set/not set, durations in words)
// and the nodes page (capacity bars, capabilities, join command).
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import NodesView from '@/views/admin/NodesView.vue'
import SettingsView from '@/views/admin/SettingsView.vue'
import { adminUser, apiError, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
  document.body.innerHTML = ''
})

const list = <T>(items: T[], total = items.length) => ({ status: 200, body: { items, page: 1, per_page: 20, total } })

/** A settings answer shaped like backend/api/settings.go. */
const settings = {
  version: { version: 'v0.9.0', go_version: 'go1.26.0', revision: 'abc123', modified: false },
  public_url: 'https://panel.example.test',
  listen: '127.0.0.1:8080',
  data_dir: '/var/lib/nimbo',
  sweep_interval_seconds: 2,
  session_ttl_seconds: 604800,
  log_level: 'info',
  log_format: 'json',
  pprof_enabled: false,
  database: { driver: 'postgres', password_set: true },
  redis: { host: '127.0.0.1:6379', password_set: false },
  nodes: { heartbeat_interval_seconds: 10, offline_after: 3, offline_after_seconds: 30, redis_host: '10.0.0.1:6379', redis_password_set: false, cpu_overcommit: 4, memory_overcommit: 1.5, disk_overcommit: 1 },
  billing: {
    interval_seconds: 60, currency: 'USD', trial_days: 7, reminder_before_seconds: 259200, grace_period_seconds: 259200,
    terminate_after_seconds: 1209600, seller_name: 'Nimbo', seller_email: '', free_servers: false, webhook_url_set: false, webhook_secret_set: false,
  },
  mail: { enabled: true, host: 'smtp.example.test', port: 587, username: 'mailer', password_set: true, from: 'Nimbo', tls: 'starttls', require_verification: true },
  payments: {
    gateways: ['manual', 'stripe'],
    stripe: { enabled: true, secret_key_set: true, webhook_secret_set: true, api_base: 'https://api.stripe.com', tolerance_seconds: 300 },
    alipay: { enabled: false, app_id: '', private_key_set: false, public_key_set: false, gateway: 'https://openapi.alipay.com/gateway.do', tolerance_seconds: 86400 },
  },
  metrics: { interval_seconds: 60, raw_retention_seconds: 172800, hourly_retention_seconds: 2592000 },
}

describe('SettingsView', () => {
  it('shows every section, secrets only as set or not, durations in words', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({ 'GET /api/v1/me': { status: 200, body: adminUser }, 'GET /api/v1/admin/settings': { status: 200, body: settings } }).fn,
    )
    const { wrapper } = await mountApp(SettingsView, '/admin/settings')
    expect(wrapper.get('[data-test=settings-note]').text()).toContain('the configuration file or the NIMBO_* environment variables (listed in the README), then restart the panel.')
    const names = wrapper.findAll('[data-test=settings] [data-section]').map((s) => s.attributes('data-section'))
    expect(names).toEqual(['general', 'version', 'database', 'redis', 'nodes', 'billing', 'mail', 'payments', 'metrics'])
    const row = (section: string, key: string) => wrapper.get(`[data-section=${section}] [data-setting="${key}"]`)
    const cells = (section: string, key: string) => row(section, key).findAll('th, td').map((c) => c.text()).join(' | ')
    expect(cells('general', 'public_url')).toBe('Public URL | https://panel.example.test')
    expect(cells('general', 'session_ttl_seconds')).toBe('Session lifetime | 7 d')
    expect(row('database', 'password_set').get('[data-secret]').attributes('data-secret')).toBe('set')
    expect(cells('redis', 'password_set')).toBe('Password | Not set')
    expect(cells('billing', 'terminate_after_seconds')).toBe('Terminate after | 14 d')
    expect(cells('billing', 'seller_email')).toBe('Seller e-mail | Not set')
    expect(cells('nodes', 'memory_overcommit')).toBe('Memory overcommit | 1.5')
    expect(cells('payments', 'gateways')).toBe('Gateways enabled | manual, stripe')
    expect(cells('payments', 'stripe.tolerance_seconds')).toBe('Stripe webhook tolerance | 5 min')
    expect(cells('mail', 'require_verification')).toBe('Verified e-mail required to order | Yes')
    expect(cells('metrics', 'hourly_retention_seconds')).toBe('Hourly averages kept for | 30 d')
  })

  it('speaks Chinese and shows fields it has no label for', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/settings': { status: 200, body: { ...settings, backups: { chunk_size_seconds: 90, s3_secret_set: true } } },
      }).fn,
    )
    const { wrapper } = await mountApp(SettingsView, '/admin/settings', 'zh-CN')
    expect(wrapper.get('[data-section=metrics] h2').text()).toBe('用量历史')
    expect(wrapper.get('[data-section=general] [data-setting=session_ttl_seconds]').text()).toBe('会话有效期7 天')
    expect(wrapper.get('[data-section=backups] h2').text()).toBe('Backups')
    expect(wrapper.get('[data-section=backups] [data-setting=chunk_size_seconds]').text()).toBe('Chunk size1 分钟 30 秒')
    expect(wrapper.get('[data-section=backups] [data-setting=s3_secret_set]').text()).toBe('S3 secret已设置')
  })

  it('shows an error in words', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/settings': { status: 403, body: apiError('forbidden', 'scope admin:read needed') },
      }).fn,
    )
    const { wrapper } = await mountApp(SettingsView, '/admin/settings')
    expect(wrapper.get('[data-test=error]').text()).toBe('You are not allowed to do this.')
    expect(wrapper.find('[data-test=settings]').exists()).toBe(false)
  })
})

const GiB = 1024 ** 3
const node = {
  id: 'n-1',
  name: 'node-a',
  status: 'online',
  version: '0.9.0',
  hostname: 'host-a',
  last_seen_at: '2025-03-01T10:00:00Z',
  capabilities: { containers: true, virtual_machines: false, vm_reason: '/dev/kvm is missing', server_name: 'lxd', server_version: '5.0.2', storage_driver: 'dir' },
  resources: { cpus: 8, memory_total: 16 * GiB, memory_used: 4 * GiB, disk_total: 100 * GiB, disk_used: 90 * GiB, allocated_cpu: 6, allocated_memory_mib: 8192, allocated_disk_mib: 51200 },
  images: ['debian/12', 'busybox'],
  job_types: [],
  drift: { missing_in_incus: ['nimbo-x'], unknown_to_panel: [], checked_at: '2025-03-01T09:00:00Z' },
  created_at: '2025-01-01T00:00:00Z',
}

describe('NodesView', () => {
  it('shows state, capacity bars, capabilities, images and drift per node', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: adminUser },
        'GET /api/v1/admin/nodes': list([node, { ...node, id: 'n-2', name: 'node-b', status: 'pending', last_seen_at: undefined, drift: undefined, images: [], resources: { cpus: 0, memory_total: 0, memory_used: 0, disk_total: 0, disk_used: 0, allocated_cpu: 0, allocated_memory_mib: 0, allocated_disk_mib: 0 } }]),
      }).fn,
    )
    const { wrapper } = await mountApp(NodesView, '/admin/nodes')
    const a = wrapper.get('[data-node=node-a]')
    expect(a.get('[data-status]').attributes('data-status')).toBe('online')
    expect(a.text()).toContain('daemon 0.9.0')
    expect(a.get('[data-test=node-heartbeat]').text()).toContain('last heartbeat')
    const cap = a.get('[data-test=node-capacity]')
    expect(cap.text()).toContain('6 of 8')
    expect(cap.text()).toContain('8 GiB of 16 GiB')
    expect(cap.findAll('[role=progressbar]').map((b) => b.attributes('aria-valuenow'))).toEqual(['75', '50', '50'])
    const host = a.get('[data-test=node-host]')
    expect(host.findAll('[role=progressbar]').map((b) => b.attributes('aria-valuenow'))).toEqual(['25', '90'])
    expect(host.find('.progress.high').exists()).toBe(true)
    expect(a.get('[data-capability=vm]').attributes('data-on')).toBe('false')
    expect(a.get('[data-capability=vm]').text()).toContain('/dev/kvm is missing')
    expect(a.get('[data-test=node-images]').text()).toContain('debian/12')
    expect(a.get('[data-test=node-drift]').text()).toContain('Missing on the node: nimbo-x')
    const b = wrapper.get('[data-node=node-b]')
    expect(b.get('[data-status]').attributes('data-status')).toBe('pending')
    expect(b.text()).toContain('no heartbeat yet')
    expect(b.text()).toContain('has not reported its resources')
  })

  it('adds a node and shows its join command once; refreshes by itself', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/nodes': list([]),
      'POST /api/v1/admin/nodes': [
        { status: 422, body: apiError('validation_failed', 'invalid', { name: 'must be a DNS label' }) },
        { status: 201, body: { node: { ...node, name: 'node-c' }, join_token: 'tok', join_command: 'nimbo-daemon join https://panel tok', expires_at: '2025-03-02T00:00:00Z' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(NodesView, '/admin/nodes')
    await wrapper.get('#node-name').setValue('Bad Name')
    await wrapper.get('[data-test=node-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#node-name-error').text()).toBe('must be a DNS label')
    await wrapper.get('#node-name').setValue('node-c')
    await wrapper.get('[data-test=node-form]').trigger('submit')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'POST').at(-1)!.body).toEqual({ name: 'node-c' })
    expect(wrapper.get('[data-test=secret]').text()).toBe('nimbo-daemon join https://panel tok')
    const before = calls.filter((c) => c.path.startsWith('/api/v1/admin/nodes?')).length
    await vi.advanceTimersByTimeAsync(10_000)
    await flushPromises()
    expect(calls.filter((c) => c.path.startsWith('/api/v1/admin/nodes?')).length).toBe(before + 1)
    wrapper.unmount()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(calls.filter((c) => c.path.startsWith('/api/v1/admin/nodes?')).length).toBe(before + 1)
  })
})
