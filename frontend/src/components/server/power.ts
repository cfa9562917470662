// Which power actions a caller may take on a server in a given state.
import type { ServerStatus } from '@/api/types'

/** The power actions of the server page. */
export type PowerAction = 'start' | 'stop' | 'restart' | 'delete'

/**
 * canAct tells whether a caller holding perms may take action a on a server in status:
 * delete needs "manage" (and a server not being deleted), the others "power"; start needs a
 * stopped (or failed) server, stop and restart a running one.
 */
export function canAct(a: PowerAction, status: ServerStatus, perms: ReadonlySet<string>): boolean {
  if (a === 'delete') return perms.has('manage') && status !== 'deleting'
  if (!perms.has('power')) return false
  if (a === 'start') return status === 'stopped' || status === 'error'
  return status === 'running'
}
