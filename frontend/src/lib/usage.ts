// Usage samples of one server, collected by the server page while it is open: the panel keeps
// only the latest report of each server (CPU time and network are cumulative counters), so
// rates come from the difference between two reports.
import type { ServerUsage } from '@/api/types'

/** UsageSample is one point of the server page's charts. */
export interface UsageSample {
  at: number
  /** CPU use in cores (1 = one core busy) since the previous report. */
  cpuCores: number
  memoryBytes: number
  diskBytes: number
  /** Network bytes per second since the previous report. */
  rxRate: number
  txRate: number
}

/**
 * nextSample derives a sample from two consecutive reports, or null when cur is not newer
 * than prev or a counter went backwards (the instance restarted).
 */
export function nextSample(prev: ServerUsage, cur: ServerUsage): UsageSample | null {
  const t0 = Date.parse(prev.at)
  const t1 = Date.parse(cur.at)
  if (!(t1 > t0)) return null
  const dt = (t1 - t0) / 1000
  const dcpu = cur.cpu_ns - prev.cpu_ns
  const drx = cur.net_rx_bytes - prev.net_rx_bytes
  const dtx = cur.net_tx_bytes - prev.net_tx_bytes
  if (dcpu < 0 || drx < 0 || dtx < 0) return null
  return {
    at: t1,
    cpuCores: dcpu / 1e9 / dt,
    memoryBytes: cur.memory_bytes,
    diskBytes: cur.disk_bytes,
    rxRate: drx / dt,
    txRate: dtx / dt,
  }
}

/** pushSample appends s and keeps at most max samples (the oldest go first). */
export function pushSample(list: UsageSample[], s: UsageSample, max = 60): UsageSample[] {
  const out = [...list, s]
  return out.length > max ? out.slice(out.length - max) : out
}
