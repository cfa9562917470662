// Resellers in the admin panel: markup typed as a percentage (sent as basis points), quotas
// typed as whole numbers or left empty for "unlimited", and the PATCH body of an edit.
import type { CreateResellerRequest, UpdateResellerRequest } from '@/api/adminPanel'
import type { Reseller, ResellerQuota } from '@/api/reseller'
import { minorToDecimal, parseMoney } from '@/lib/format'

/** The highest markup the panel accepts: +1000 %. */
export const maxMarkupBP = 100_000

/** The quotas, in the order the forms show them. */
export const QuotaKeys = ['servers', 'cpu', 'memory_mib', 'disk_mib'] as const
/** QuotaKey names one quota. */
export type QuotaKey = (typeof QuotaKeys)[number]

/** QuotaDraft is the four quota inputs as typed ("" is unlimited). */
export type QuotaDraft = Record<QuotaKey, string>

/** ResellerTermsDraft is what an admin sets on a reseller: markup (percent) and quotas. */
export interface ResellerTermsDraft {
  markup: string
  quota: QuotaDraft
}

/** markupPercent renders basis points as the percentage typed in forms ("25", "12.5"). */
export function markupPercent(bp: number): string {
  return minorToDecimal(bp, 2).replace(/\.?0+$/, '') || '0'
}

/** parseMarkup reads a percentage ("25", "12.5") as basis points, or null when invalid. */
export function parseMarkup(input: string): number | null {
  const bp = parseMoney(input.trim().replace(/\s*%$/, ''), 2)
  if (bp === null || bp > maxMarkupBP) return null
  return bp
}

/** parseQuota reads a quota input: "" is unlimited (null), else a whole number; undefined is invalid. */
export function parseQuota(input: string): number | null | undefined {
  const s = input.trim()
  if (s === '') return null
  if (!/^\d+$/.test(s)) return undefined
  const n = Number(s)
  return Number.isSafeInteger(n) && n <= 2 ** 40 ? n : undefined
}

/** termsDraft fills the markup and quota inputs from a reseller (or empty ones). */
export function termsDraft(r?: Pick<Reseller, 'markup_bp' | 'quota'>): ResellerTermsDraft {
  const q = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v))
  return {
    markup: r ? markupPercent(r.markup_bp) : '0',
    quota: { servers: q(r?.quota.servers), cpu: q(r?.quota.cpu), memory_mib: q(r?.quota.memory_mib), disk_mib: q(r?.quota.disk_mib) },
  }
}

/** TermsResult is the markup and quotas ready to send, or the problems (field → i18n key). */
export type TermsResult = { ok: true; markup_bp: number; quota: ResellerQuota } | { ok: false; errors: Record<string, string> }

/** readTerms checks the markup and quota inputs; error fields are the API's names. */
export function readTerms(d: ResellerTermsDraft): TermsResult {
  const errors: Record<string, string> = {}
  const markup = parseMarkup(d.markup)
  if (markup === null) errors.markup_bp = 'adminPanel.resellers.errMarkup'
  const quota: Partial<ResellerQuota> = {}
  for (const k of QuotaKeys) {
    const v = parseQuota(d.quota[k])
    if (v === undefined) errors[`quota_${k}`] = 'adminPanel.resellers.errQuota'
    else quota[k] = v
  }
  if (Object.keys(errors).length) return { ok: false, errors }
  return { ok: true, markup_bp: markup!, quota: quota as ResellerQuota }
}

/** createRequest is the body of POST /admin/resellers (optional texts left out when empty). */
export function createRequest(
  account: { email: string; password: string; brand_name: string; domain: string; support_email: string; logo_url: string },
  markupBP: number,
  quota: ResellerQuota,
): CreateResellerRequest {
  const req: CreateResellerRequest = {
    email: account.email.trim(),
    password: account.password,
    brand_name: account.brand_name.trim(),
    markup_bp: markupBP,
    quota_servers: quota.servers,
    quota_cpu: quota.cpu,
    quota_memory_mib: quota.memory_mib,
    quota_disk_mib: quota.disk_mib,
  }
  const domain = account.domain.trim().toLowerCase()
  if (domain) req.domain = domain
  if (account.support_email.trim()) req.support_email = account.support_email.trim()
  if (account.logo_url.trim()) req.logo_url = account.logo_url.trim()
  return req
}

/** termsPatch is the PATCH body that gives reseller r this markup and these quotas. */
export function termsPatch(r: Pick<Reseller, 'markup_bp' | 'quota'>, markupBP: number, quota: ResellerQuota): UpdateResellerRequest {
  const out: UpdateResellerRequest = {}
  if (markupBP !== r.markup_bp) out.markup_bp = markupBP
  for (const k of QuotaKeys) {
    if (quota[k] !== r.quota[k]) out[`quota_${k}`] = quota[k]
  }
  return out
}
