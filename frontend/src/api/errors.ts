// Error answers as sentences for people: one i18n message per error code (errors.<code>), the
// panel's own message for codes this build does not know, and per-field messages for forms.
import { ApiError, NetworkErrorCode } from './client'

/** Translator is the part of vue-i18n's t/te that errorMessage needs. */
export interface Translator {
  t: (key: string, named?: Record<string, unknown>) => string
  te: (key: string) => boolean
}

/** errorMessage is the sentence to show for any thrown value. */
export function errorMessage(err: unknown, tr: Translator): string {
  if (err instanceof ApiError) {
    const key = `errors.${err.code}`
    if (tr.te(key)) return tr.t(key)
    if (err.message) return err.message
    return tr.t('errors.unknown', { status: err.status })
  }
  if (err instanceof Error && err.message) return tr.t('errors.unexpected', { message: err.message })
  return tr.t('errors.unknown', { status: 0 })
}

/** fieldErrors returns the per-field problems of a validation answer (empty otherwise). */
export function fieldErrors(err: unknown): Record<string, string> {
  return err instanceof ApiError ? { ...err.fields } : {}
}

/** isNotFound tells a 404 answer (also a foreign object: the panel never says 403 for those). */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404
}

/** isNetwork tells a request that got no answer. */
export function isNetwork(err: unknown): boolean {
  return err instanceof ApiError && err.code === NetworkErrorCode
}
