// The state of a form that sends one request: busy while it is on its way, the answer's
// error as a sentence (ErrorAlert) and its per-field messages (FormField).
import { ref } from 'vue'
import { fieldErrors } from '@/api/errors'

/** useFormState holds a form's busy flag, error and per-field messages. */
export function useFormState() {
  const busy = ref(false)
  const error = ref<unknown>(null)
  const fields = ref<Record<string, string>>({})

  /** reset clears the messages of the last attempt. */
  function reset(): void {
    error.value = null
    fields.value = {}
  }

  /** invalid shows problems found before sending, next to their fields. */
  function invalid(problems: Record<string, string>): void {
    error.value = null
    fields.value = problems
  }

  /**
   * run sends at most once at a time: it clears the last messages, is busy until action
   * settles, and shows what action threw (with its per-field messages). onError may turn an
   * error into field messages of its own instead. Resolves whether action succeeded.
   */
  async function run(action: () => Promise<void>, onError?: (e: unknown) => Record<string, string> | undefined): Promise<boolean> {
    if (busy.value) return false
    busy.value = true
    reset()
    try {
      await action()
      return true
    } catch (e) {
      const own = onError?.(e)
      if (own) fields.value = own
      else {
        error.value = e
        fields.value = fieldErrors(e)
      }
      return false
    } finally {
      busy.value = false
    }
  }

  return { busy, error, fields, reset, invalid, run }
}
