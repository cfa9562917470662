// The server page's shared state, provided by ServerView to its tabs: the server, the
// operation being followed, the usage samples of this visit and the latest operations.
import { inject, type ComputedRef, type InjectionKey, type Ref } from 'vue'
import type { Operation, Server } from '@/api/types'
import type { UsageSample } from '@/lib/usage'

/** ServerPage is what every tab of the server page can use. */
export interface ServerPage {
  /** The server (tabs render only once it is loaded). */
  server: ComputedRef<Server>
  /** The caller's permissions on the server ("manage" for owners, resellers and admins). */
  perms: ComputedRef<ReadonlySet<string>>
  /** The operation the page follows (the latest one started or found running), if any. */
  op: Ref<Operation | null>
  /** True while that operation has not finished: no other action may start. */
  busy: ComputedRef<boolean>
  /** Usage samples derived from the reports seen while the page is open. */
  samples: Ref<UsageSample[]>
  /** The latest operations of the server, newest first. */
  recent: Ref<Operation[]>
  /** Increases each time an operation followed by the page ends: tabs reload then. */
  version: Ref<number>
  /** follow shows op's progress until it ends, then reloads the server. */
  follow: (op: Operation) => void
  /** reload reads the server again. */
  reload: () => Promise<void>
}

/** The injection key of ServerPage. */
export const serverPageKey: InjectionKey<ServerPage> = Symbol('serverPage')

/** useServerPage returns the page state provided by ServerView. */
export function useServerPage(): ServerPage {
  const page = inject(serverPageKey)
  if (!page) throw new Error('useServerPage outside the server page')
  return page
}
