// Names of operation kinds ("instance.resize") in the reader's language: the portal's opKind
// messages first, then the server page's own (kinds added after them), else the kind itself.
import type { Translator } from '@/api/errors'

/** The operation kinds the panel creates for a server (backend/api Op* constants). */
export const serverOperationKinds = [
  'instance.create',
  'instance.start',
  'instance.stop',
  'instance.restart',
  'instance.delete',
  'instance.resize',
] as const

/** opKindLabel names an operation kind. */
export function opKindLabel(kind: string, tr: Translator): string {
  for (const key of [`opKind.${kind}`, `serverTabs.opKind.${kind}`]) if (tr.te(key)) return tr.t(key)
  return kind
}
