// The signed-in account: loaded from GET /api/v1/me once, set by login, cleared by logout or
// by any 401 answer.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api } from '@/api'
import { ApiError } from '@/api/client'
import type { LoginRequest, User } from '@/api/types'

export const useAuth = defineStore('auth', () => {
  const user = ref<User | null>(null)
  /** loaded is true once the session has been checked (signed in or not). */
  const loaded = ref(false)

  const isAdmin = computed(() => user.value?.role === 'admin')
  const isReseller = computed(() => user.value?.role === 'reseller')

  /** load asks the panel who is signed in; a 401 means nobody. Other errors propagate. */
  async function load(): Promise<User | null> {
    try {
      user.value = await api.me()
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) throw e
      user.value = null
    } finally {
      loaded.value = true
    }
    return user.value
  }

  /** login signs in; it throws ApiError two_factor_required when a code is needed. */
  async function login(req: LoginRequest): Promise<User> {
    const u = await api.login(req)
    user.value = u
    loaded.value = true
    return u
  }

  async function logout(): Promise<void> {
    try {
      await api.logout()
    } finally {
      clear()
    }
  }

  /** clear forgets the account (after a 401 or a logout). */
  function clear() {
    user.value = null
    loaded.value = true
  }

  /** refresh reloads /me after the account changed (two-factor on or off). */
  async function refresh(): Promise<void> {
    user.value = await api.me()
  }

  return { user, loaded, isAdmin, isReseller, load, login, logout, clear, refresh }
})
