// The shared plumbing of list pages and forms: usePagedList (paging, reload, stale answers,
// errors, keeping the page in range), lastPage, useFormState (busy, error, per-field
// messages), and the URL-kept admin lists' look-up of an account by e-mail address.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, ref } from 'vue'
import { ApiError } from '@/api/client'
import type { List } from '@/api/types'
import { useFormState } from '@/lib/formState'
import { lastPage, usePagedList, type PageQuery, type PagedListOptions } from '@/lib/pagedList'
import InvoicesView from '@/views/admin/InvoicesView.vue'
import { adminUser, mountApp, scriptedFetch } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const page = <T>(items: T[], total = items.length): List<T> => ({ items, total, page: 1, per_page: 10 })

/** withList mounts a component that uses usePagedList(fetch, opts) and returns its state. */
function withList<T>(fetch: (q: PageQuery) => Promise<List<T>>, opts: PagedListOptions) {
  let state!: ReturnType<typeof usePagedList<T>>
  const C = defineComponent({
    setup() {
      state = usePagedList(fetch, opts)
      return () => null
    },
  })
  const wrapper = mount(C)
  return { state, wrapper }
}

/** deferred is a promise settled from outside. */
function deferred<T>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('lastPage', () => {
  it.each([
    [0, 10, 1],
    [1, 10, 1],
    [10, 10, 1],
    [11, 10, 2],
    [25, 25, 1],
    [26, 25, 2],
    [5, 0, 5],
  ])('%i items, %i a page: %i pages', (total, perPage, want) => {
    expect(lastPage(total, perPage)).toBe(want)
  })
})

describe('usePagedList', () => {
  it('loads on mount and on every page change, asking for the page and its size', async () => {
    const fetch = vi.fn(async (q: PageQuery) => page([`item-${q.page}`], 30))
    const { state } = withList(fetch, { perPage: 10 })
    expect(state.loading.value).toBe(true)
    await flushPromises()
    expect(fetch).toHaveBeenLastCalledWith({ page: 1, per_page: 10 })
    expect(state.items.value).toEqual(['item-1'])
    expect(state.total.value).toBe(30)
    expect(state.loading.value).toBe(false)
    state.page.value = 3
    await flushPromises()
    expect(fetch).toHaveBeenLastCalledWith({ page: 3, per_page: 10 })
    expect(state.items.value).toEqual(['item-3'])
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('reload shows the first page: through the page when elsewhere, by loading again when there', async () => {
    const fetch = vi.fn(async (q: PageQuery) => page([q.page], 30))
    const { state } = withList(fetch, { perPage: 10 })
    await flushPromises()
    state.page.value = 2
    await flushPromises()
    await state.reload()
    await flushPromises()
    expect(state.page.value).toBe(1)
    expect(state.items.value).toEqual([1])
    expect(fetch).toHaveBeenCalledTimes(3)
    await state.reload()
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(4)
  })

  it('keeps the items it had when a load fails, and clears the error with the next load', async () => {
    const boom = new ApiError(503, 'unavailable', 'down')
    let fail = false
    const fetch = vi.fn(async () => {
      if (fail) throw boom
      return page(['a', 'b'])
    })
    const { state } = withList(fetch, { perPage: 10 })
    await flushPromises()
    fail = true
    await state.load()
    expect(state.error.value).toBe(boom)
    expect(state.items.value).toEqual(['a', 'b'])
    expect(state.loading.value).toBe(false)
    fail = false
    const next = state.load()
    expect(state.error.value).toBeNull()
    await next
    expect(state.error.value).toBeNull()
  })

  it('drops an answer that arrives after a newer load started', async () => {
    const slow = deferred<List<string>>()
    const fetch = vi.fn((q: PageQuery) => (q.page === 1 ? slow.promise : Promise.resolve(page(['page two'], 20))))
    const { state } = withList(fetch, { perPage: 10 })
    await flushPromises()
    state.page.value = 2
    await flushPromises()
    expect(state.items.value).toEqual(['page two'])
    slow.resolve(page(['stale page one'], 20))
    await flushPromises()
    expect(state.items.value).toEqual(['page two'])
    expect(state.loading.value).toBe(false)
  })

  it('with keepInRange moves from a page that emptied to the last page with items', async () => {
    const fetch = vi.fn(async (q: PageQuery) => (q.page <= 2 ? page([`p${q.page}`], 15) : page([], 15)))
    const { state } = withList(fetch, { perPage: 10, keepInRange: true })
    await flushPromises()
    state.page.value = 3
    await flushPromises()
    expect(state.page.value).toBe(2)
    expect(state.items.value).toEqual(['p2'])
  })

  it('without keepInRange shows the empty page asked for', async () => {
    const fetch = vi.fn(async (q: PageQuery) => (q.page <= 2 ? page([`p${q.page}`], 15) : page([], 15)))
    const { state } = withList(fetch, { perPage: 10 })
    await flushPromises()
    state.page.value = 3
    await flushPromises()
    expect(state.page.value).toBe(3)
    expect(state.items.value).toEqual([])
  })

  it('with auto off loads only when asked, on the page the caller owns', async () => {
    const fetch = vi.fn(async (q: PageQuery) => page([q.page]))
    const own = ref(4)
    const { state } = withList(fetch, { perPage: 10, auto: false, page: own })
    await flushPromises()
    expect(fetch).not.toHaveBeenCalled()
    own.value = 5
    await flushPromises()
    expect(fetch).not.toHaveBeenCalled()
    await state.load()
    expect(fetch).toHaveBeenCalledWith({ page: 5, per_page: 10 })
    expect(state.page).toBe(own)
  })
})

describe('useFormState', () => {
  it('is busy while the action runs, sends one at a time and reports success', async () => {
    const f = useFormState()
    const gate = deferred<void>()
    const first = f.run(() => gate.promise)
    expect(f.busy.value).toBe(true)
    const action = vi.fn(async () => undefined)
    expect(await f.run(action)).toBe(false)
    expect(action).not.toHaveBeenCalled()
    gate.resolve()
    expect(await first).toBe(true)
    expect(f.busy.value).toBe(false)
  })

  it('shows a thrown error with its field messages, and clears both on the next attempt', async () => {
    const f = useFormState()
    const invalid = new ApiError(422, 'validation_failed', 'invalid', { email: 'must be an address' })
    expect(
      await f.run(async () => {
        throw invalid
      }),
    ).toBe(false)
    expect(f.error.value).toBe(invalid)
    expect(f.fields.value).toEqual({ email: 'must be an address' })
    expect(await f.run(async () => undefined)).toBe(true)
    expect(f.error.value).toBeNull()
    expect(f.fields.value).toEqual({})
  })

  it('lets onError turn an error into field messages instead, or leave it to the default', async () => {
    const f = useFormState()
    const conflict = new ApiError(409, 'conflict', 'exists')
    const onError = (e: unknown) => (e instanceof ApiError && e.status === 409 ? { email: 'taken' } : undefined)
    await f.run(async () => {
      throw conflict
    }, onError)
    expect(f.error.value).toBeNull()
    expect(f.fields.value).toEqual({ email: 'taken' })
    const down = new ApiError(503, 'unavailable', 'down')
    await f.run(async () => {
      throw down
    }, onError)
    expect(f.error.value).toBe(down)
    expect(f.fields.value).toEqual({})
  })

  it('invalid shows problems found before sending and drops the last error; reset clears all', () => {
    const f = useFormState()
    f.error.value = new Error('old')
    f.invalid({ amount: 'not an amount' })
    expect(f.error.value).toBeNull()
    expect(f.fields.value).toEqual({ amount: 'not an amount' })
    f.reset()
    expect(f.fields.value).toEqual({})
  })
})

describe('useUrlList (admin invoices)', () => {
  const list = <T>(items: T[]) => ({ status: 200, body: { items, page: 1, per_page: 25, total: items.length } })

  it('says so next to the filter when no account has the e-mail address, and sends nothing', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/invoices': list([]),
      'GET /api/v1/admin/resellers': list([]),
      'GET /api/v1/admin/users': list([]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(InvoicesView, '/admin/invoices')
    const before = calls.filter((c) => c.path.startsWith('/api/v1/admin/invoices')).length
    await wrapper.get('[data-test=invoice-user]').setValue('nobody@example.test')
    await wrapper.get('[data-test=invoice-filters]').trigger('submit')
    await flushPromises()
    expect(calls.some((c) => c.path === '/api/v1/admin/users?q=nobody%40example.test&per_page=100')).toBe(true)
    expect(wrapper.get('#inv-user-error').text()).toBe('No account has this e-mail address.')
    expect(calls.filter((c) => c.path.startsWith('/api/v1/admin/invoices'))).toHaveLength(before)
    expect(router.currentRoute.value.query).toEqual({})
  })

  it('sends an id typed as it is', async () => {
    const { fn, calls } = scriptedFetch({
      'GET /api/v1/me': { status: 200, body: adminUser },
      'GET /api/v1/admin/invoices': list([]),
      'GET /api/v1/admin/resellers': list([]),
    })
    vi.stubGlobal('fetch', fn)
    const { wrapper, router } = await mountApp(InvoicesView, '/admin/invoices')
    await wrapper.get('[data-test=invoice-user]').setValue('u-42')
    await wrapper.get('[data-test=invoice-filters]').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.query).toEqual({ user_id: 'u-42' })
    expect(calls.at(-1)!.path).toBe('/api/v1/admin/invoices?user_id=u-42&page=1&per_page=25')
    expect(calls.some((c) => c.path.startsWith('/api/v1/admin/users'))).toBe(false)
  })
})
