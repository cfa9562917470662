import { describe, expect, it, vi } from 'vitest'
import { ApiError, Client, buildQuery, newIdempotencyKey, toApiError } from '@/api/client'
import { errorMessage, fieldErrors, isNotFound } from '@/api/errors'
import { makeI18n } from '@/i18n'
import { apiError, scriptedFetch } from './helpers'

describe('Client', () => {
  it('decodes JSON, sends credentials and a JSON body', async () => {
    const { fn, calls } = scriptedFetch({ 'POST /api/v1/tokens': { status: 201, body: { id: 't1' } } })
    const c = new Client({ fetch: fn })
    const out = await c.post<{ id: string }>('/tokens', { name: 'x', scopes: [] })
    expect(out.id).toBe('t1')
    expect(calls[0]?.headers['Content-Type']).toBe('application/json')
    expect(calls[0]?.body).toEqual({ name: 'x', scopes: [] })
    expect(fn.mock.calls[0]?.[1]?.credentials).toBe('include')
  })

  it('answers undefined for 204', async () => {
    const { fn } = scriptedFetch({ 'DELETE /api/v1/tokens/a': { status: 204 } })
    await expect(new Client({ fetch: fn }).del('/tokens/a')).resolves.toBeUndefined()
  })

  it('sends the Idempotency-Key header only when given', async () => {
    const { fn, calls } = scriptedFetch({ 'POST /api/v1/x': { status: 201, body: {} } })
    const c = new Client({ fetch: fn })
    const key = newIdempotencyKey()
    await c.post('/x', {}, { idempotencyKey: key })
    await c.post('/x', {})
    expect(calls[0]?.headers['Idempotency-Key']).toBe(key)
    expect(calls[1]?.headers['Idempotency-Key']).toBeUndefined()
    expect(newIdempotencyKey()).not.toBe(key)
    expect(key).toMatch(/^[\x21-\x7e]{1,128}$/)
  })

  it('makes UUID v4 keys without crypto.randomUUID (plain http on a reseller domain)', () => {
    const orig = crypto.randomUUID
    Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true })
    try {
      const keys = new Set(Array.from({ length: 50 }, () => newIdempotencyKey()))
      expect(keys.size).toBe(50)
      for (const k of keys) expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    } finally {
      Object.defineProperty(crypto, 'randomUUID', { value: orig, configurable: true })
    }
  })

  it.each([
    [422, apiError('validation_failed', 'bad', { name: 'is required' }), 'validation_failed', { name: 'is required' }],
    [404, apiError('not_found'), 'not_found', {}],
    [409, apiError('insufficient_funds'), 'insufficient_funds', {}],
    [502, '<html>bad gateway</html>', 'bad_response', {}],
  ])('maps a %i answer to ApiError', async (status, body, code, fields) => {
    const { fn } = scriptedFetch({ 'GET /api/v1/x': { status, body } })
    const err = await new Client({ fetch: fn }).get('/x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(status)
    expect((err as ApiError).code).toBe(code)
    expect(fieldErrors(err)).toEqual(fields)
  })

  it('turns a failed fetch into a network error', async () => {
    const c = new Client({ fetch: vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))) })
    const err = (await c.get('/me').catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('network')
    expect(err.status).toBe(0)
  })

  it('calls onUnauthorized on 401 unauthorized only', async () => {
    const { fn } = scriptedFetch({
      'GET /api/v1/servers': { status: 401, body: apiError('unauthorized') },
      'POST /api/v1/auth/login': { status: 401, body: apiError('two_factor_required') },
      'GET /api/v1/me': { status: 401, body: apiError('unauthorized') },
    })
    const on = vi.fn()
    const c = new Client({ fetch: fn, onUnauthorized: on })
    await c.get('/servers').catch(() => undefined)
    expect(on).toHaveBeenCalledTimes(1)
    await c.post('/auth/login', {}).catch(() => undefined)
    expect(on).toHaveBeenCalledTimes(1)
    await c.request('/me', { quiet401: true }).catch(() => undefined)
    expect(on).toHaveBeenCalledTimes(1)
  })

  it('builds queries without empty values', () => {
    expect(buildQuery({ page: 2, status: '', q: 'a b', x: undefined, y: null })).toBe('?page=2&q=a+b')
    expect(buildQuery({})).toBe('')
  })

  it('keeps the request id of error bodies', () => {
    expect(toApiError(409, apiError('conflict')).requestId).toBe('req-1')
  })
})

describe('errorMessage', () => {
  const en = makeI18n('en').global
  const zh = makeI18n('zh-CN').global
  const tr = (g: typeof en) => ({ t: g.t, te: (k: string) => g.te(k) })

  it.each([
    ['insufficient_funds', 'The wallet balance is too low for this.', '钱包余额不足。'],
    ['rate_limited', 'Too many attempts. Wait a moment and try again.', '尝试次数过多，请稍后再试。'],
    ['network', 'The panel cannot be reached. Check your connection and try again.', '无法连接面板，请检查网络后重试。'],
  ])('translates %s', (code, english, chinese) => {
    const err = new ApiError(409, code, 'server text')
    expect(errorMessage(err, tr(en))).toBe(english)
    expect(errorMessage(err, tr(zh))).toBe(chinese)
  })

  it('falls back to the server message for a code this build does not know', () => {
    expect(errorMessage(new ApiError(409, 'brand_new_code', 'Something new happened'), tr(en))).toBe('Something new happened')
    expect(errorMessage(new ApiError(418, 'brand_new_code', ''), tr(en))).toBe('Unexpected error (HTTP 418).')
  })

  it('handles non-API errors', () => {
    expect(errorMessage(new Error('boom'), tr(en))).toBe('Unexpected error: boom')
    expect(isNotFound(new ApiError(404, 'not_found', ''))).toBe(true)
    expect(isNotFound(new Error('x'))).toBe(false)
  })
})
