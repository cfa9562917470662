// The signed-out account pages (sign-up, e-mail verification, password reset), the login
// page's links and the dashboard's verification banner and order shortcut, against a
// scripted panel.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { useAuth } from '@/stores/auth'
import DashboardView from '@/views/DashboardView.vue'
import LoginView from '@/views/LoginView.vue'
import ForgotPasswordView from '@/views/shop/ForgotPasswordView.vue'
import ResetPasswordView from '@/views/shop/ResetPasswordView.vue'
import SignupView from '@/views/shop/SignupView.vue'
import VerifyEmailView from '@/views/shop/VerifyEmailView.vue'
import { apiError, customerUser, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
  localStorage.clear()
})

const anonymous = { 'GET /api/v1/me': { status: 401, body: apiError('unauthorized') } }
const brand = { 'GET /api/v1/branding': { status: 200, body: { name: 'Acme Cloud', logo_url: '', support_email: '', reseller: true } } }
const unverified = { ...customerUser, email_verified: false }
const emptyList = { status: 200, body: { items: [], page: 1, per_page: 1, total: 0 } }

describe('SignupView', () => {
  it('creates the account, signs it in and shows the brand of the domain', async () => {
    const { fn, calls } = scriptedFetch({ ...anonymous, ...brand, 'POST /api/v1/auth/signup': { status: 201, body: unverified } })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SignupView, '/signup')
    await flushPromises()
    expect(wrapper.get('[data-test=brand-name]').text()).toBe('Acme Cloud')
    await wrapper.get('#su-email').setValue(' cust@example.test ')
    await wrapper.get('#su-password').setValue('correct horse')
    await wrapper.get('[data-test=signup-submit]').trigger('click')
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.path).toBe('/api/v1/auth/signup')
    expect(post?.body).toEqual({ email: 'cust@example.test', password: 'correct horse' })
    expect(wrapper.get('[data-test=signup-done]').text()).toContain('cust@example.test')
    expect(useAuth().user?.id).toBe(customerUser.id)
  })

  it('says when the address is taken and shows field errors in place', async () => {
    const { fn } = scriptedFetch({
      ...anonymous,
      'POST /api/v1/auth/signup': [
        { status: 422, body: apiError('validation_failed', 'invalid', { password: 'must be at least 8 characters' }) },
        { status: 409, body: apiError('conflict', 'a user with this email already exists') },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(SignupView, '/signup')
    await wrapper.get('#su-email').setValue('cust@example.test')
    await wrapper.get('#su-password').setValue('short')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#su-password-error').text()).toBe('must be at least 8 characters')
    expect(wrapper.get('[data-test=error]').text()).toContain('Some fields are not valid')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toContain('An account with this e-mail address exists already')
    expect(wrapper.get('[data-test=error] a').attributes('href')).toBe('/forgot-password')
    expect(wrapper.find('[data-test=signup-done]').exists()).toBe(false)
  })
})

describe('VerifyEmailView', () => {
  it('verifies the token and leads to sign-in', async () => {
    const { fn, calls } = scriptedFetch({ ...anonymous, 'POST /api/v1/auth/verify-email': { status: 200, body: customerUser } })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(VerifyEmailView, '/verify-email?token=tok123')
    await flushPromises()
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ token: 'tok123' })
    expect(wrapper.get('[data-test=verified]').text()).toContain('cust@example.test is verified')
    expect(wrapper.get('[data-test=to-login]').attributes('href')).toBe('/login')
  })

  it('updates the signed-in account and leads home', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: unverified },
      'POST /api/v1/auth/verify-email': { status: 200, body: customerUser },
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(VerifyEmailView, '/verify-email?token=tok123')
    await flushPromises()
    expect(wrapper.get('[data-test=to-login]').attributes('href')).toBe('/')
    expect(useAuth().user?.email_verified).toBe(true)
  })

  it('explains an invalid or missing token', async () => {
    const { fn } = scriptedFetch({ ...anonymous, 'POST /api/v1/auth/verify-email': { status: 400, body: apiError('invalid_token') } })
    vi.stubGlobal('fetch', fn)
    const bad = await mountApp(VerifyEmailView, '/verify-email?token=used')
    await flushPromises()
    expect(bad.wrapper.get('[data-test=verify-error]').text()).toContain('This link is invalid or has expired.')
    const none = await mountApp(VerifyEmailView, '/verify-email')
    expect(none.wrapper.get('[data-test=verify-error]').text()).toContain('This link is incomplete')
  })
})

describe('ForgotPasswordView and ResetPasswordView', () => {
  it('asks for a reset link and says the same thing whatever the address', async () => {
    const { fn, calls } = scriptedFetch({
      ...anonymous,
      'POST /api/v1/auth/password-reset': [
        { status: 429, body: apiError('rate_limited') },
        { status: 202, body: { status: 'accepted' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ForgotPasswordView, '/forgot-password')
    await wrapper.get('#fp-email').setValue('who@example.test')
    await wrapper.get('[data-test=forgot-submit]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toBe('Too many attempts. Wait a moment and try again.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body)).toEqual([{ email: 'who@example.test' }, { email: 'who@example.test' }])
    expect(wrapper.get('[data-test=forgot-done]').text()).toContain('who@example.test')
  })

  it('sets the new password with the token and signs this browser out', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: customerUser },
      'POST /api/v1/auth/password-reset/confirm': [
        { status: 400, body: apiError('invalid_token') },
        { status: 200, body: customerUser },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(ResetPasswordView, '/reset-password?token=rst')
    await wrapper.get('#rp-password').setValue('new password 1')
    await wrapper.get('[data-test=reset-submit]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toBe('This link is invalid or has expired.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)?.body).toEqual({ token: 'rst', password: 'new password 1' })
    expect(wrapper.get('[data-test=reset-done]').text()).toContain('sign in with the new password')
    expect(useAuth().user).toBeNull()
  })

  it('refuses a link without a token', async () => {
    vi.stubGlobal('fetch', scriptedFetch(anonymous).fn)
    const { wrapper } = await mountApp(ResetPasswordView, '/reset-password')
    expect(wrapper.get('[data-test=reset-error]').text()).toContain('This link is incomplete')
    expect(wrapper.find('#rp-password').exists()).toBe(false)
  })
})

describe('LoginView links', () => {
  it('links to sign-up and password reset, and explains email_not_verified', async () => {
    const { fn } = scriptedFetch({ ...anonymous, 'POST /api/v1/auth/login': { status: 403, body: apiError('email_not_verified') } })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(LoginView, '/login')
    expect(wrapper.get('[data-test=signup-link]').attributes('href')).toBe('/signup')
    expect(wrapper.get('[data-test=forgot-link]').attributes('href')).toBe('/forgot-password')
    await wrapper.get('#email').setValue('cust@example.test')
    await wrapper.get('#password').setValue('secret pass')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test=error]').text()).toContain('Verify your e-mail address first')
  })
})

describe('DashboardView', () => {
  it('reminds an unverified customer, resends the link, and offers to order a first server', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: unverified },
      'GET /api/v1/servers': emptyList,
      'GET /api/v1/wallets': emptyList,
      'POST /api/v1/me/email/verification': [
        { status: 429, body: apiError('rate_limited') },
        { status: 202, body: { status: 'accepted' } },
      ],
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(DashboardView, '/')
    await flushPromises()
    expect(wrapper.get('[data-test=verify-banner]').text()).toContain('cust@example.test is not verified')
    expect(wrapper.get('[data-test=order-link]').attributes('href')).toBe('/order')
    await wrapper.get('[data-test=resend-verification]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=verify-banner] [data-test=error]').text()).toContain('Too many attempts')
    await wrapper.get('[data-test=resend-verification]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/v1/me/email/verification', '/api/v1/me/email/verification'])
    expect(wrapper.find('[data-test=verify-sent]').exists()).toBe(true)
  })

  it('shows neither to a verified customer with servers', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: customerUser },
      'GET /api/v1/servers': { status: 200, body: { items: [], page: 1, per_page: 1, total: 2 } },
      'GET /api/v1/wallets': emptyList,
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper } = await mountApp(DashboardView, '/')
    await flushPromises()
    expect(wrapper.find('[data-test=verify-banner]').exists()).toBe(false)
    expect(wrapper.find('[data-test=order-shortcut]').exists()).toBe(false)
  })
})
