// Following an operation to its end through the panel's long poll
// (GET /api/v1/operations/{id}/wait), reporting its progress on the way.
import { api } from '@/api'
import type { Operation } from '@/api/types'

/** finished tells an operation that will not change any more. */
export function finished(op: Operation): boolean {
  return op.status === 'success' || op.status === 'failure'
}

/**
 * followOperation long-polls op until it has finished, calling onUpdate with every state seen,
 * and returns the final one. Each poll waits at most step seconds so that progress shows.
 */
export async function followOperation(
  op: Operation,
  onUpdate: (op: Operation) => void,
  signal?: AbortSignal,
  step = 3,
): Promise<Operation> {
  let cur = op
  onUpdate(cur)
  while (!finished(cur)) {
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError')
    cur = await api.waitOperation(cur.id, step, signal)
    onUpdate(cur)
  }
  return cur
}
