// The plans catalogue as the subscription pages need it: names by id and the plans a
// subscription can move to. Subscriptions carry only a plan id; a plan that is no longer
// offered (archived or inactive) is not in the catalogue, and the pages say so.
import { ref } from 'vue'
import { api } from '@/api'
import type { Plan } from '@/api/types'

/** usePlanNames loads the catalogue once (the first 100 plans, cheapest first). */
export function usePlanNames() {
  const plans = ref<Plan[]>([])
  const error = ref<unknown>(null)
  const loaded = ref(false)

  /** load reads the catalogue; a failure is kept in error (names then show as unknown). */
  async function load(): Promise<void> {
    try {
      plans.value = (await api.plans({ per_page: 100 })).items
      error.value = null
    } catch (e) {
      error.value = e
    } finally {
      loaded.value = true
    }
  }

  /** name is the plan's name, or '' when the catalogue does not list it. */
  function name(id: string): string {
    return plans.value.find((p) => p.id === id)?.name ?? ''
  }

  return { plans, error, loaded, load, name }
}
