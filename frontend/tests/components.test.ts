import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import ConfirmDialog from '@/components/ConfirmDialog.vue'
import FormField from '@/components/FormField.vue'
import PagerNav from '@/components/PagerNav.vue'
import StatusBadge from '@/components/StatusBadge.vue'
import AppLayout from '@/components/AppLayout.vue'
import { languageKey, makeI18n } from '@/i18n'
import LoginView from '@/views/LoginView.vue'
import ServerView from '@/views/ServerView.vue'
import TokensView from '@/views/TokensView.vue'
import { adminUser, apiError, customerUser, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
  localStorage.clear()
})

const i18n = () => makeI18n('en')

describe('small components', () => {
  it('StatusBadge translates and colours a state', () => {
    const w = mount(StatusBadge, { props: { status: 'running' }, global: { plugins: [makeI18n('zh-CN')] } })
    expect(w.text()).toBe('运行中')
    expect(w.classes()).toContain('ok')
    const op = mount(StatusBadge, { props: { status: 'failure', kind: 'operation' }, global: { plugins: [i18n()] } })
    expect(op.text()).toBe('Failed')
    expect(op.classes()).toContain('bad')
    const odd = mount(StatusBadge, { props: { status: 'weird' }, global: { plugins: [i18n()] } })
    expect(odd.text()).toBe('weird')
  })

  it('FormField shows a field error instead of its hint', async () => {
    const w = mount(FormField, { props: { label: 'Name', for: 'n', hint: 'a hint' }, slots: { default: '<input id="n" />' } })
    expect(w.text()).toContain('a hint')
    await w.setProps({ error: 'is required' })
    expect(w.find('[role=alert]').text()).toBe('is required')
    expect(w.text()).not.toContain('a hint')
    expect(w.classes()).toContain('invalid')
  })

  it('ConfirmDialog emits confirm and cancel', async () => {
    const w = mount(ConfirmDialog, { props: { title: 'Stop?', message: 'Really' }, global: { plugins: [i18n()] } })
    await w.get('[data-test=confirm]').trigger('click')
    await w.findAll('button')[0]!.trigger('click')
    expect(w.emitted('confirm')).toHaveLength(1)
    expect(w.emitted('cancel')).toHaveLength(1)
  })

  it('PagerNav pages within bounds', async () => {
    const w = mount(PagerNav, { props: { page: 1, perPage: 10, total: 25 }, global: { plugins: [i18n()] } })
    expect(w.text()).toContain('Page 1 of 3 (25 in all)')
    const [prev, next] = w.findAll('button')
    expect(prev!.attributes('disabled')).toBeDefined()
    await next!.trigger('click')
    expect(w.emitted('update:page')?.[0]).toEqual([2])
    const none = mount(PagerNav, { props: { page: 1, perPage: 10, total: 5 }, global: { plugins: [i18n()] } })
    expect(none.find('[data-test=pager]').exists()).toBe(false)
  })
})

describe('AppLayout', () => {
  it('shows the admin section to admins only and switches language', async () => {
    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/me': { status: 200, body: adminUser } }).fn)
    const { wrapper } = await mountApp(AppLayout, '/')
    expect(wrapper.find('[data-test=nav-admin-nodes]').exists()).toBe(true)
    expect(wrapper.get('[data-test=nav-servers]').text()).toBe('Servers')
    await wrapper.get('[data-test=language]').setValue('zh-CN')
    expect(wrapper.get('[data-test=nav-servers]').text()).toBe('服务器')
    expect(localStorage.getItem(languageKey)).toBe('zh-CN')

    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/me': { status: 200, body: customerUser } }).fn)
    const cust = await mountApp(AppLayout, '/')
    expect(cust.wrapper.find('[data-test=nav-admin-nodes]').exists()).toBe(false)
  })
})

describe('LoginView', () => {
  it('asks for a code after two_factor_required, then signs in', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 401, body: apiError('unauthorized') },
      'POST /api/v1/auth/login': [
        { status: 401, body: apiError('unauthorized', 'invalid email or password') },
        { status: 401, body: apiError('two_factor_required') },
        { status: 200, body: customerUser },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(LoginView, '/login?redirect=/servers')
    await wrapper.get('#email').setValue('cust@example.test')
    await wrapper.get('#password').setValue('wrong')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toBe('Wrong e-mail or password.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.text()).toContain('Two-factor authentication')
    await wrapper.get('[data-test=code]').setValue('123 456')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)?.body).toMatchObject({ email: 'cust@example.test', totp_code: '123456' })
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/servers'))
  })
})

describe('ServerView', () => {
  it('shows "not found" for an unknown or foreign server', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({
        'GET /api/v1/me': { status: 200, body: customerUser },
        'GET /api/v1/servers/abc': { status: 404, body: apiError('not_found', 'server not found') },
      }).fn,
    )
    const { wrapper } = await mountApp(ServerView, '/servers/abc', 'en', { id: 'abc' })
    expect(wrapper.get('[data-test=not-found]').text()).toContain('Not found')
    expect(wrapper.find('[data-test=power]').exists()).toBe(false)
  })
})

describe('TokensView', () => {
  it('shows field errors next to inputs and the secret once', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: customerUser },
      'GET /api/v1/tokens': { status: 200, body: { items: [], page: 1, per_page: 0, total: 0 } },
      'POST /api/v1/tokens': [
        { status: 422, body: apiError('validation_failed', 'the request has invalid fields', { name: 'is required' }) },
        { status: 201, body: { id: 't', name: 'ci', scopes: ['servers:read'], prefix: 'nimbo_ab', secret: 'nimbo_secret_value', created_at: '2025-01-01T00:00:00Z' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(TokensView, '/account/tokens')
    expect(wrapper.findAll('input[type=checkbox]')).toHaveLength(2)
    await wrapper.get('[data-test=token-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#tok-name-error').text()).toBe('is required')
    expect(wrapper.get('[data-test=error]').text()).toContain('Some fields are not valid')
    await wrapper.get('#tok-name').setValue('ci')
    await wrapper.get('[data-test=token-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=secret]').text()).toBe('nimbo_secret_value')
  })
})

describe('OperationProgress', () => {
  it('names the operation kind in the language', async () => {
    const { default: OperationProgress } = await import('@/components/OperationProgress.vue')
    const op = { id: 'o', kind: 'instance.create', status: 'running' as const, progress: 40, node_id: 'n', created_at: '', updated_at: '' }
    const w = mount(OperationProgress, { props: { op }, global: { plugins: [makeI18n('zh-CN')] } })
    expect(w.text()).toContain('创建')
    expect(w.get('[role=progressbar]').attributes('aria-valuenow')).toBe('40')
  })
})
