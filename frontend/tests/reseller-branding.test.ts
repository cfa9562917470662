import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Component } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import AppLayout from '@/components/AppLayout.vue'
import BrandMark from '@/components/BrandMark.vue'
import SupportLine from '@/components/reseller/SupportLine.vue'
import TopBarPreview from '@/components/reseller/TopBarPreview.vue'
import { makeI18n } from '@/i18n'
import { productName, useBranding } from '@/stores/branding'
import BrandingView from '@/views/reseller/BrandingView.vue'
import { adminUser, apiError, mountApp, scriptedFetch } from './helpers'

const resellerUser = { ...adminUser, id: 'u-res', email: 'res@example.test', role: 'reseller' }
const acme = { name: 'Acme Cloud', logo_url: 'https://cdn.acme.test/logo.png', support_email: 'help@acme.test', reseller: true }
const profile = {
  id: 'u-res',
  email: 'res@example.test',
  brand_name: 'Acme Cloud',
  logo_url: 'https://cdn.acme.test/logo.png',
  domain: 'panel.acme.test',
  support_email: 'help@acme.test',
  markup_bp: 2500,
  quota: { servers: 10, cpu: null, memory_mib: 8192, disk_mib: null },
  usage: { servers: 2, cpu: 2, memory_mib: 1024, disk_mib: 4096 },
  customers: 3,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
}

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

/** withPlugins mounts a component with English messages and a memory router without guards. */
function withPlugins(component: Component, props: Record<string, unknown> = {}): VueWrapper {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:any(.*)*', component: { render: () => null } }] })
  return mount(component, { props, global: { plugins: [makeI18n('en'), router] } } as never) as VueWrapper
}

describe('branding store', () => {
  it('loads the brand once, shares the request and falls back to the product name', async () => {
    const { fn, calls } = scriptedFetch({ 'GET /api/v1/branding': { status: 200, body: acme } })
    vi.stubGlobal('fetch', fn)
    const b = useBranding()
    expect(b.name).toBe(productName)
    await Promise.all([b.load(), b.load()])
    await b.load()
    expect(calls).toHaveLength(1)
    expect([b.name, b.logoUrl, b.supportEmail, b.isReseller]).toEqual(['Acme Cloud', acme.logo_url, 'help@acme.test', true])
  })

  it('keeps the product name when the brand cannot be loaded, and retries later', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/branding': [{ status: 503, body: apiError('unavailable') }, { status: 200, body: { ...acme, name: '  ' } }],
    })
    vi.stubGlobal('fetch', fn)
    const b = useBranding()
    await b.load()
    expect(b.name).toBe(productName)
    await b.load()
    expect(calls).toHaveLength(2)
    expect(b.name).toBe(productName) // a blank name is no name
    expect(b.logoUrl).toBe(acme.logo_url)
  })

  it('refresh asks again', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/branding': [{ status: 200, body: acme }, { status: 200, body: { ...acme, name: 'Acme Two', logo_url: '' } }],
    })
    vi.stubGlobal('fetch', fn)
    const b = useBranding()
    await b.load()
    await b.refresh()
    expect(calls).toHaveLength(2)
    expect(b.name).toBe('Acme Two')
    expect(b.logoUrl).toBe('')
  })
})

describe('brand components', () => {
  it('BrandMark shows the logo and the name, and hides a logo that fails to load', async () => {
    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/branding': { status: 200, body: acme } }).fn)
    const w = withPlugins(BrandMark)
    await flushPromises()
    expect(w.get('[data-test=brand-name]').text()).toBe('Acme Cloud')
    const img = w.get('[data-test=brand-logo]')
    expect(img.attributes('src')).toBe(acme.logo_url)
    await img.trigger('error')
    expect(w.find('[data-test=brand-logo]').exists()).toBe(false)
    expect(w.get('[data-test=brand-name]').text()).toBe('Acme Cloud')
  })

  it('BrandMark shows no logo and the product name for a provider without one', async () => {
    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/branding': { status: 200, body: { name: '', logo_url: '', support_email: '', reseller: false } } }).fn)
    const w = withPlugins(BrandMark)
    await flushPromises()
    expect(w.find('[data-test=brand-logo]').exists()).toBe(false)
    expect(w.get('[data-test=brand-name]').text()).toBe(productName)
  })

  it('SupportLine links the brand’s support address, or the one given, and hides without one', async () => {
    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/branding': { status: 200, body: acme } }).fn)
    const w = withPlugins(SupportLine)
    await flushPromises()
    const a = w.get('[data-test=support-email]')
    expect(a.text()).toBe('help@acme.test')
    expect(a.attributes('href')).toBe('mailto:help@acme.test')
    expect(w.text()).toContain('Support:')

    const given = withPlugins(SupportLine, { email: 'other@x.test' })
    expect(given.get('[data-test=support-email]').text()).toBe('other@x.test')
    const none = withPlugins(SupportLine, { email: '' })
    expect(none.find('[data-test=support-email]').exists()).toBe(false)
  })

  it('TopBarPreview shows name, logo and support line, and reports a broken logo', async () => {
    const w = withPlugins(TopBarPreview, { name: 'Beta', logoUrl: 'https://b.test/l.svg', supportEmail: 's@b.test' })
    expect(w.get('[data-test=preview-name]').text()).toBe('Beta')
    await w.get('[data-test=preview-logo]').trigger('error')
    expect(w.find('[data-test=preview-logo]').exists()).toBe(false)
    expect(w.find('[data-test=logo-broken]').exists()).toBe(true)
    await w.setProps({ logoUrl: 'https://b.test/other.svg' })
    expect(w.find('[data-test=logo-broken]').exists()).toBe(false)
    expect(w.get('[data-test=support-email]').text()).toBe('s@b.test')
    await w.setProps({ name: '  ' })
    expect(w.get('[data-test=preview-name]').text()).toBe('Your brand')
  })

  it('the app shell shows the brand and its support address', async () => {
    vi.stubGlobal(
      'fetch',
      scriptedFetch({ 'GET /api/v1/me': { status: 200, body: resellerUser }, 'GET /api/v1/branding': { status: 200, body: acme } }).fn,
    )
    const { wrapper } = await mountApp(AppLayout, '/')
    await flushPromises()
    expect(wrapper.get('[data-test=brand-name]').text()).toBe('Acme Cloud')
    expect(wrapper.get('[data-test=brand-logo]').attributes('src')).toBe(acme.logo_url)
    expect(wrapper.get('.sidebar [data-test=support-email]').text()).toBe('help@acme.test')
    expect(wrapper.find('[data-test=nav-reseller-branding]').exists()).toBe(true)
  })
})

describe('BrandingView', () => {
  const routes = (extra: Record<string, unknown> = {}) =>
    scriptedFetch({
      'GET /api/v1/me': { status: 200, body: resellerUser },
      'GET /api/v1/reseller/profile': { status: 200, body: profile },
      'GET /api/v1/branding': { status: 200, body: acme },
      ...(extra as Record<string, never>),
    })

  it('fills the form from the profile and previews changes live', async () => {
    vi.stubGlobal('fetch', routes().fn)
    const { wrapper: w } = await mountApp(BrandingView, '/reseller/branding')
    expect((w.get('#b-name').element as HTMLInputElement).value).toBe('Acme Cloud')
    expect((w.get('#b-logo').element as HTMLInputElement).value).toBe(acme.logo_url)
    expect((w.get('#b-domain').element as HTMLInputElement).value).toBe('panel.acme.test')
    expect((w.get('#b-support').element as HTMLInputElement).value).toBe('help@acme.test')
    expect(w.get('[data-test=preview-name]').text()).toBe('Acme Cloud')
    await w.get('#b-name').setValue('Acme Hosting')
    await w.get('#b-logo').setValue('https://cdn.acme.test/new.png')
    await w.get('#b-support').setValue('care@acme.test')
    expect(w.get('[data-test=preview-name]').text()).toBe('Acme Hosting')
    expect(w.get('[data-test=preview-logo]').attributes('src')).toBe('https://cdn.acme.test/new.png')
    expect(w.get('[data-test=brand-preview] [data-test=support-email]').text()).toBe('care@acme.test')
    const terms = w.get('[data-test=provider-terms]').text()
    expect(terms).toContain('25%')
    expect(terms).toContain('Unlimited')
    expect(terms).toContain('8,192')
  })

  it('saves the brand with PATCH and says so', async () => {
    const { fn, calls } = routes({
      'PATCH /api/v1/reseller/profile': (c: { body: Record<string, string> }) => ({ status: 200, body: { ...profile, ...c.body } }),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(BrandingView, '/reseller/branding')
    await w.get('#b-name').setValue(' Acme Hosting ')
    await w.get('#b-logo').setValue('')
    await w.get('#b-domain').setValue('Cloud.Acme.Test')
    await w.get('#b-support').setValue('')
    await w.get('[data-test=branding-form]').trigger('submit')
    await flushPromises()
    const patch = calls.find((c) => c.method === 'PATCH')
    expect(patch?.path).toBe('/api/v1/reseller/profile')
    expect(patch?.body).toEqual({ brand_name: 'Acme Hosting', logo_url: '', domain: 'cloud.acme.test', support_email: '' })
    expect(w.find('[data-test=branding-saved]').text()).toBe('Branding saved.')
    expect((w.get('#b-domain').element as HTMLInputElement).value).toBe('cloud.acme.test')
  })

  it('applies the new brand at once when saved on the reseller’s own domain', async () => {
    const { fn, calls } = routes({
      'GET /api/v1/branding': [{ status: 200, body: acme }, { status: 200, body: { ...acme, name: 'Acme Hosting' } }],
      'PATCH /api/v1/reseller/profile': { status: 200, body: { ...profile, brand_name: 'Acme Hosting', domain: window.location.hostname } },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(BrandingView, '/reseller/branding')
    const brand = useBranding()
    await brand.load()
    expect(brand.name).toBe('Acme Cloud')
    await w.get('#b-name').setValue('Acme Hosting')
    await w.get('[data-test=branding-form]').trigger('submit')
    await flushPromises()
    expect(calls.filter((c) => c.path === '/api/v1/branding')).toHaveLength(2)
    expect(brand.name).toBe('Acme Hosting')
  })

  it('shows the API’s refusal in words with the field messages next to the inputs', async () => {
    vi.stubGlobal(
      'fetch',
      routes({
        'PATCH /api/v1/reseller/profile': { status: 422, body: apiError('validation_failed', 'invalid', { logo_url: 'must be an https URL (http only for localhost)' }) },
      }).fn,
    )
    const { wrapper: w } = await mountApp(BrandingView, '/reseller/branding')
    await w.get('#b-logo').setValue('http://evil.test/x.png')
    await w.get('[data-test=branding-form]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-test=error]').text()).toBe('Some fields are not valid: see the messages next to them.')
    expect(w.get('#b-logo-error').text()).toContain('https URL')
    expect(w.find('[data-test=branding-saved]').exists()).toBe(false)
  })

  it('says when another reseller has the domain', async () => {
    vi.stubGlobal('fetch', routes({ 'PATCH /api/v1/reseller/profile': { status: 409, body: apiError('conflict', 'another reseller already uses this domain') } }).fn)
    const { wrapper: w } = await mountApp(BrandingView, '/reseller/branding')
    await w.get('[data-test=branding-form]').trigger('submit')
    await flushPromises()
    expect(w.get('#b-domain-error').text()).toBe('Another reseller already uses this domain.')
    expect(w.find('[data-test=branding-saved]').exists()).toBe(false)
  })

  it('refuses an empty brand name before asking the panel', async () => {
    const { fn, calls } = routes()
    vi.stubGlobal('fetch', fn)
    const { wrapper: w } = await mountApp(BrandingView, '/reseller/branding', 'zh-CN')
    await w.get('#b-name').setValue('   ')
    await w.get('[data-test=branding-form]').trigger('submit')
    await flushPromises()
    expect(w.get('#b-name-error').text()).toBe('请输入品牌名称。')
    expect(calls.some((c) => c.method === 'PATCH')).toBe(false)
  })
})
