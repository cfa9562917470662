// List filters kept in the page URL (?status=…&page=2), so that links from other pages can
// open a list already filtered and a filtered list can be shared or reloaded.
import { onMounted, reactive, ref, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '')

/**
 * useUrlFilters keeps the named filters and the page in the URL: the form edits filters,
 * apply() moves them into the URL, and every URL change (apply, paging, a link) calls load.
 * It calls load on mount as well.
 */
export function useUrlFilters<K extends string>(keys: readonly K[], load: () => Promise<void>) {
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
