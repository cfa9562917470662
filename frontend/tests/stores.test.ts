import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'
import { ApiError } from '@/api/client'
import { makeRouter, safeRedirect } from '@/router'
import { useAuth } from '@/stores/auth'
import { effectiveDark, themeKey, usePrefs } from '@/stores/prefs'
import { adminUser, apiError, customerUser, scriptedFetch } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
  localStorage.clear()
})
afterEach(() => vi.unstubAllGlobals())

describe('auth store', () => {
  it('loads the signed-in user, or nobody on 401', async () => {
    const { fn } = scriptedFetch({ 'GET /api/v1/me': [{ status: 200, body: adminUser }, { status: 401, body: apiError('unauthorized') }] })
    vi.stubGlobal('fetch', fn)
    const auth = useAuth()
    expect(await auth.load()).toMatchObject({ email: adminUser.email })
    expect(auth.isAdmin).toBe(true)
    expect(await auth.load()).toBeNull()
    expect(auth.loaded).toBe(true)
  })

  it('propagates errors other than 401 from load', async () => {
    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/me': { status: 503, body: apiError('unavailable') } }).fn)
    await expect(useAuth().load()).rejects.toBeInstanceOf(ApiError)
  })

  it('logs in with a code after two_factor_required and logs out', async () => {
    const { fn, calls } = scriptedFetch({
      'POST /api/v1/auth/login': [{ status: 401, body: apiError('two_factor_required') }, { status: 200, body: customerUser }],
      'POST /api/v1/auth/logout': { status: 204 },
    })
    vi.stubGlobal('fetch', fn)
    const auth = useAuth()
    const err = await auth.login({ email: 'a', password: 'b' }).catch((e: unknown) => e)
    expect((err as ApiError).code).toBe('two_factor_required')
    expect(auth.user).toBeNull()
    await auth.login({ email: 'a', password: 'b', totp_code: '123456' })
    expect(calls[1]?.body).toMatchObject({ totp_code: '123456' })
    expect(auth.user?.role).toBe('customer')
    await auth.logout()
    expect(auth.user).toBeNull()
  })
})

describe('prefs store', () => {
  it('toggles and saves the theme', () => {
    const prefs = usePrefs()
    prefs.systemDark = false
    prefs.toggleTheme()
    expect(prefs.theme).toBe('dark')
    expect(localStorage.getItem(themeKey)).toBe('dark')
    prefs.toggleTheme()
    expect(localStorage.getItem(themeKey)).toBe('light')
    prefs.setTheme('system')
    expect(localStorage.getItem(themeKey)).toBeNull()
  })

  it.each([
    ['dark', false, true],
    ['light', true, false],
    ['system', true, true],
    ['system', false, false],
  ] as const)('effectiveDark(%s, system dark %s) = %s', (theme, sys, want) => {
    expect(effectiveDark(theme, sys)).toBe(want)
  })
})

describe('router guard', () => {
  async function at(path: string, me: { status: number; body?: unknown }) {
    vi.stubGlobal('fetch', scriptedFetch({ 'GET /api/v1/me': me }).fn)
    const router = makeRouter(createMemoryHistory())
    await router.push(path)
    return router.currentRoute.value
  }

  it('sends visitors without a session to the login page with a redirect', async () => {
    const r = await at('/servers?status=running', { status: 401, body: apiError('unauthorized') })
    expect(r.name).toBe('login')
    expect(r.query.redirect).toBe('/servers?status=running')
  })

  it('shows admin pages to admins only', async () => {
    expect((await at('/admin/nodes', { status: 200, body: adminUser })).name).toBe('admin-nodes')
    setActivePinia(createPinia())
    const r = await at('/admin/nodes', { status: 200, body: customerUser })
    expect(r.name).toBe('not-found')
    expect(r.path).toBe('/admin/nodes')
  })

  it('sends a signed-in user away from the login page', async () => {
    expect((await at('/login', { status: 200, body: customerUser })).name).toBe('dashboard')
  })

  it.each([
    ['/servers/1', '/servers/1'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example', '/'],
    [undefined, '/'],
  ])('safeRedirect(%s) = %s', (v, want) => {
    expect(safeRedirect(v)).toBe(want)
  })
})
