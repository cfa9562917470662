// One page of a list from the panel at a time, as every list page and tab shows it: the
// items, the total, the page shown, and whether it is loading or failed.
import { onMounted, ref, watch, type Ref } from 'vue'
import type { List } from '@/api/types'

/** PageQuery is the page a fetcher is asked for (a type, so that it is an API Query). */
export type PageQuery = { page: number; per_page: number }

/** PagedListOptions tunes usePagedList. */
export interface PagedListOptions {
  /** Items per page. */
  perPage: number
  /**
   * When true (the default) the list loads on mount and whenever page changes. False leaves
   * both to the caller (a list whose page lives in the URL calls load itself).
   */
  auto?: boolean
  /**
   * When true, a page that has become empty because items went away (it lies past the last
   * page now) is replaced by the last page that has items.
   */
  keepInRange?: boolean
  /** The page shown, when the caller owns it (a page kept in the URL); a new one otherwise. */
  page?: Ref<number>
}

/**
 * usePagedList keeps one page of what fetch returns. load() reads the current page again
 * (an answer that arrives after a newer load started is dropped); reload() shows the first
 * page again, after a filter changed or an item was added. A failed load keeps the items it
 * had and sets error.
 */
export function usePagedList<T>(fetch: (q: PageQuery) => Promise<List<T>>, opts: PagedListOptions) {
  const auto = opts.auto ?? true
  const perPage = opts.perPage
  const items = ref([]) as Ref<T[]>
  const total = ref(0)
  const page = opts.page ?? ref(1)
  const loading = ref(true)
  const error = ref<unknown>(null)
  let seq = 0

  async function load(): Promise<void> {
    const mine = ++seq
    loading.value = true
    error.value = null
    try {
      const res = await fetch({ page: page.value, per_page: perPage })
      if (mine !== seq) return
      const last = lastPage(res.total, perPage)
      if (opts.keepInRange && auto && !res.items.length && page.value > last) {
        page.value = last // the watch loads it
        return
      }
      items.value = res.items
      total.value = res.total
    } catch (e) {
      if (mine === seq) error.value = e
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  async function reload(): Promise<void> {
    if (auto && page.value !== 1) {
      page.value = 1 // the watch loads it
      return
    }
    page.value = 1
    await load()
  }

  if (auto) {
    watch(page, load)
    onMounted(load)
  }

  return { items, total, page, perPage, loading, error, load, reload }
}

/** lastPage is the number of the last page of total items (1 for none). */
export function lastPage(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, perPage)))
}
