// Names for the user ids that lists carry (audit actors, subscription owners, coupon issuers):
// the caller's own e-mail, an admin's lookup of any account, a reseller's of its customers.
import { reactive } from 'vue'
import { api } from '@/api'
import { adminPanelApi } from '@/api/adminPanel'
import { resellerApi } from '@/api/reseller'
import { useAuth } from '@/stores/auth'

/**
 * userIdOf reads a filter that takes an account as its id or its e-mail address: an address
 * is looked up (null when no account has it), anything else is the id as typed.
 */
export async function userIdOf(value: string): Promise<string | null> {
  const v = value.trim()
  if (!v.includes('@')) return value
  return (await adminPanelApi.findUser(v))?.id ?? null
}

/** Actor ids that are not accounts. */
export const pseudoActors = ['system', 'anonymous'] as const

/**
 * useUserEmails resolves user ids to e-mail addresses, each id once per page. What the
 * caller may not look up (another reseller's customer, a deleted account) stays unknown.
 */
export function useUserEmails() {
  const auth = useAuth()
  const known = reactive(new Map<string, string>())
  const asked = new Set<string>()

  async function lookup(id: string): Promise<string> {
    if (auth.isAdmin) return (await api.admin.user(id)).email
    if (auth.isReseller) return (await resellerApi.customer(id)).email
    return ''
  }

  /** resolve looks up the ids not known yet (at most once each). */
  async function resolve(ids: Iterable<string>): Promise<void> {
    const todo = [...new Set(ids)].filter(
      (id) => id && !asked.has(id) && !(pseudoActors as readonly string[]).includes(id) && id !== auth.user?.id,
    )
    for (const id of todo) asked.add(id)
    await Promise.all(
      todo.map(async (id) => {
        try {
          const email = await lookup(id)
          if (email) known.set(id, email)
        } catch {
          // Not ours to read, or gone: the id is shown instead.
        }
      }),
    )
  }

  /** emailOf is the e-mail of id when known (the caller's own always). */
  function emailOf(id: string): string | undefined {
    if (auth.user && id === auth.user.id) return auth.user.email
    return known.get(id)
  }

  return { resolve, emailOf }
}
