// A small typed fetch wrapper for nimbo-panel's /api/v1: JSON in and out, the session cookie
// (credentials: 'include'), the Idempotency-Key header for money movements, and ApiError for
// every answer that is not 2xx.
import type { ErrorResponse } from './types'

/** ApiError is a non-2xx answer of the panel, or a request that never got one (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string>
  readonly requestId: string

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}, requestId = '') {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields
    this.requestId = requestId
  }
}

/** The code of an ApiError for a request that got no answer (offline, DNS, reset). */
export const NetworkErrorCode = 'network'

/** The code of an answer whose body was not the panel's JSON error. */
export const BadResponseCode = 'bad_response'

export type Query = Record<string, string | number | boolean | undefined | null>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  body?: unknown
  query?: Query
  /** Sent as the Idempotency-Key header: required by every call that moves money. */
  idempotencyKey?: string
  signal?: AbortSignal
  /** Do not call onUnauthorized for a 401 (the login form handles its own). */
  quiet401?: boolean
}

export interface ClientOptions {
  baseUrl?: string
  fetch?: typeof fetch
  /** Called on a 401 unauthorized answer (session expired or revoked). */
  onUnauthorized?: () => void
}

/** buildQuery renders the defined, non-empty values of q as a query string ("" or "?a=1"). */
export function buildQuery(q?: Query): string {
  if (!q) return ''
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue
    p.set(k, String(v))
  }
  const s = p.toString()
  return s ? `?${s}` : ''
}

/** newIdempotencyKey returns a fresh key for one money movement (retries reuse it): a random
 * UUID v4. crypto.randomUUID exists only in secure contexts (https, localhost), so a portal
 * reached over plain http on a reseller's domain builds it from getRandomValues. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export class Client {
  private readonly baseUrl: string
  private readonly fetchFn: typeof fetch
  onUnauthorized?: () => void

  constructor(o: ClientOptions = {}) {
    this.baseUrl = o.baseUrl ?? '/api/v1'
    this.fetchFn = o.fetch ?? ((...a) => fetch(...a))
    this.onUnauthorized = o.onUnauthorized
  }

  /** request sends one call and returns the decoded JSON (undefined for 204). */
  async request<T>(path: string, o: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    let body: string | undefined
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(o.body)
    }
    if (o.idempotencyKey) headers['Idempotency-Key'] = o.idempotencyKey
    let res: Response
    try {
      res = await this.fetchFn(this.baseUrl + path + buildQuery(o.query), {
        method: o.method ?? 'GET',
        headers,
        body,
        credentials: 'include',
        signal: o.signal,
      })
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e
      throw new ApiError(0, NetworkErrorCode, e instanceof Error ? e.message : String(e))
    }
    if (res.status === 204) return undefined as T
    const text = await res.text()
    let data: unknown
    try {
      data = text ? JSON.parse(text) : undefined
    } catch {
      data = undefined
    }
    if (!res.ok) {
      const err = toApiError(res.status, data)
      if (res.status === 401 && err.code === 'unauthorized' && !o.quiet401) this.onUnauthorized?.()
      throw err
    }
    if (data === undefined && text) {
      throw new ApiError(res.status, BadResponseCode, 'the answer is not JSON')
    }
    return data as T
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>(path, { query, signal })
  }

  post<T>(path: string, body?: unknown, extra: Omit<RequestOptions, 'method' | 'body'> = {}): Promise<T> {
    return this.request<T>(path, { ...extra, method: 'POST', body })
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(path, { method: 'PATCH', body })
  }

  del<T = void>(path: string, body?: unknown): Promise<T> {
    return this.request<T>(path, { method: 'DELETE', body })
  }
}

function isErrorResponse(v: unknown): v is ErrorResponse {
  if (typeof v !== 'object' || v === null) return false
  const e = (v as { error?: unknown }).error
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
}

/** toApiError turns an error answer's status and decoded body into an ApiError. */
export function toApiError(status: number, data: unknown): ApiError {
  if (isErrorResponse(data)) {
    return new ApiError(status, data.error.code, data.error.message ?? '', data.error.fields ?? {}, data.request_id ?? '')
  }
  return new ApiError(status, BadResponseCode, `HTTP ${status}`)
}
