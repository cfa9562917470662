// The state of an audit-log page (the admin's whole log or the caller's own activity): the
// filters live in the page URL, so a link can open the log filtered to one object.
import { onMounted, ref, watch } from 'vue'
import { useI18n } from 'vue-i18n'
import { useRoute, useRouter } from 'vue-router'
import type { AuditEntry } from '@/api/adminPanel'
import type { Query } from '@/api/client'
import { fieldErrors } from '@/api/errors'
import type { List } from '@/api/types'
import { draftFromQuery, filterOfQuery, queryFromDraft } from './audit'
import { userIdOf, useUserEmails } from './userEmails'

/** The entries of one page of the log. */
export const auditPerPage = 25

/**
 * useAuditLog loads the entries fetch returns for the filters of the page URL, resolves the
 * actors' e-mails, and moves the filters and the page through the URL. It loads on mount.
 */
export function useAuditLog(fetch: (q: Query) => Promise<List<AuditEntry>>, admin: boolean) {
  const route = useRoute()
  const router = useRouter()
  const { t } = useI18n()
  const { resolve, emailOf } = useUserEmails()
  const draft = ref(draftFromQuery(route.query))
  const entries = ref<AuditEntry[]>([])
  const total = ref(0)
  const page = ref(1)
  const loading = ref(true)
  const error = ref<unknown>(null)
  const fields = ref<Record<string, string>>({})

  async function load() {
    loading.value = true
    error.value = null
    fields.value = {}
    page.value = Math.max(1, Number(route.query.page) || 1)
    try {
      const res = await fetch({ ...filterOfQuery(route.query), page: page.value, per_page: auditPerPage })
      entries.value = res.items
      total.value = res.total
      void resolve(res.items.map((e) => e.actor_id))
    } catch (e) {
      error.value = e
      fields.value = fieldErrors(e)
    } finally {
      loading.value = false
    }
  }

  async function go(query: Record<string, string>) {
    const same = JSON.stringify(query) === JSON.stringify(route.query)
    await router.replace({ query })
    if (same) await load()
  }

  /** apply moves the filter form into the URL (an admin's actor e-mail becomes its id). */
  async function apply() {
    let actor: string | null = draft.value.actor.trim()
    if (admin) {
      try {
        actor = await userIdOf(actor)
      } catch (e) {
        error.value = e
        return
      }
      if (actor === null) {
        fields.value = { actor_id: t('adminPanel.audit.noSuchUser') }
        return
      }
    }
    await go(queryFromDraft(draft.value, actor))
  }

  /** narrow adds filters (from a click in the table) to the current ones. */
  async function narrow(q: Record<string, string>) {
    await go({ ...filterOfQuery(route.query), ...q })
  }

  async function reset() {
    await go({})
  }

  async function setPage(p: number) {
    await go({ ...filterOfQuery(route.query), ...(p > 1 ? { page: String(p) } : {}) })
  }

  const name = route.name
  watch(
    () => route.query,
    () => {
      if (route.name !== name) return
      draft.value = draftFromQuery(route.query)
      void load()
    },
  )
  onMounted(load)

  return { draft, entries, total, page, loading, error, fields, emailOf, load, apply, narrow, reset, setPage }
}
