// The brand of the portal for the domain it is visited on (GET /api/v1/branding): a reseller's
// name, logo and support address on the reseller's domain, the provider's elsewhere. Loaded
// once; until it arrives, or if it cannot be loaded, the product name is shown.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api } from '@/api'
import type { Branding } from '@/api/types'

/** The name shown when the panel has no seller name configured. */
export const productName = 'Nimbo'

export const useBranding = defineStore('branding', () => {
  const brand = ref<Branding | null>(null)
  let pending: Promise<void> | null = null

  const name = computed(() => brand.value?.name.trim() || productName)
  const logoUrl = computed(() => brand.value?.logo_url.trim() ?? '')
  const supportEmail = computed(() => brand.value?.support_email.trim() ?? '')
  const isReseller = computed(() => brand.value?.reseller === true)

  /** load fetches the brand once; later calls share the first request (a failed one is retried). */
  function load(): Promise<void> {
    pending ??= api
      .branding()
      .then((b) => {
        brand.value = b
      })
      .catch(() => {
        pending = null
      })
    return pending
  }

  /** refresh fetches the brand again (after the reseller changed it on its own domain). */
  function refresh(): Promise<void> {
    pending = null
    return load()
  }

  return { brand, name, logoUrl, supportEmail, isReseller, load, refresh }
})
