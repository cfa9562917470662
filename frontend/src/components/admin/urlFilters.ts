// List filters kept in the page URL (?status=…&page=2), so that links from other pages can
// open a list already filtered and a filtered list can be shared or reloaded.
import { onMounted, reactive, ref, watch } from 'vue'
import { useI18n } from 'vue-i18n'
import { useRoute, useRouter } from 'vue-router'
import type { Query } from '@/api/client'
import { fieldErrors } from '@/api/errors'
import type { List } from '@/api/types'
import { usePagedList } from '@/lib/pagedList'
import { userIdOf } from './userEmails'

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '')

/**
 * useUrlFilters keeps the named filters and the page in the URL: the form edits filters,
 * apply() moves them into the URL, and every URL change (apply, paging, a link) calls load.
 * It calls load on mount as well.
 */
function useUrlFilters<K extends string>(keys: readonly K[], load: () => Promise<void>) {
  const route = useRoute()
  const router = useRouter()
  const name = route.name
  const filters = reactive<Record<string, string>>({}) as Record<K, string>
  const page = ref(1)

  function fromUrl() {
    for (const k of keys) filters[k] = str(route.query[k])
    page.value = Math.max(1, Number(str(route.query.page)) || 1)
  }
  fromUrl()

  /** active is the filters that are set, trimmed (for the API call). */
  function active(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const k of keys) {
      const v = filters[k].trim()
      if (v) out[k] = v
    }
    return out
  }

  async function go(p: number) {
    const query: Record<string, string> = { ...active(), ...(p > 1 ? { page: String(p) } : {}) }
    const same = JSON.stringify(query) === JSON.stringify(route.query)
    page.value = p
    if (same) await load()
    else await router.replace({ query })
  }

  /** apply shows the first page of what the filters select. */
  const apply = () => go(1)
  /** setPage shows another page with the same filters. */
  const setPage = (p: number) => go(p)
  /** clear removes every filter. */
  function clear() {
    for (const k of keys) filters[k] = ''
    return go(1)
  }

  watch(
    () => route.query,
    () => {
      if (route.name !== name) return
      fromUrl()
      void load()
    },
  )
  onMounted(load)

  return { filters, page, active, apply, setPage, clear }
}

/** UrlListOptions tunes useUrlList. */
export interface UrlListOptions<K extends string> {
  /** Items per page. */
  perPage: number
  /** A filter that takes an account by id or by e-mail address (looked up on submit). */
  userFilter?: K
}

/**
 * useUrlList is a paged list whose filters and page live in the URL (useUrlFilters): fetch
 * gets the filters that are set and the page. submit applies the filter form, looking up an
 * account given by e-mail address first; fields holds the per-field messages (the panel's
 * for a refused filter, or an address no account has).
 */
export function useUrlList<T, K extends string>(keys: readonly K[], fetch: (q: Query) => Promise<List<T>>, opts: UrlListOptions<K>) {
  const { t } = useI18n()
  const fields = ref<Record<string, string>>({})
  const { filters, page, active, apply, setPage, clear } = useUrlFilters(keys, load)
  const list = usePagedList((p) => fetch({ ...active(), ...p }), { perPage: opts.perPage, page, auto: false })

  async function load() {
    fields.value = {}
    await list.load()
    fields.value = fieldErrors(list.error.value)
  }

  async function submit() {
    fields.value = {}
    const key = opts.userFilter
    if (key) {
      let id: string | null
      try {
        id = await userIdOf(filters[key])
      } catch (e) {
        list.error.value = e
        return
      }
      if (id === null) {
        fields.value = { [key]: t('adminPanel.audit.noSuchUser') }
        return
      }
      filters[key] = id
    }
    await apply()
  }

  const { items, total, perPage, loading, error } = list
  return { filters, page, setPage, clear, submit, items, total, perPage, loading, error, fields }
}
