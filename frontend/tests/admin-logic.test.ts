// Pure logic of the admin pages: coupon and reseller forms, audit links and filters,
// settings layout, durations; and the i18n keys those pages build at run time.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Coupon, Settings } from '@/api/adminPanel'
import { InvoiceStatuses, SubscriptionStatuses } from '@/api/shop'
import { AuditObjectTypes, detailsText, draftFromQuery, filterOfQuery, objectLink, queryFromDraft } from '@/components/admin/audit'
import { couponDiscount, couponPatch, couponState, CouponStates, draftRequest, newDraft, type CouponDraft } from '@/components/admin/coupon'
import { durationParts, DurationUnits, fromLocalInput, percentOfBasisPoints, toLocalInput } from '@/components/admin/format'
import { createRequest, markupPercent, parseMarkup, parseQuota, readTerms, termsDraft, termsPatch } from '@/components/admin/reseller'
import { humanize, settingKind, settingsSections } from '@/components/admin/settings'
import { makeI18n } from '@/i18n'

const coupon: Coupon = {
  id: 'c1',
  code: 'SPRING',
  kind: 'percent',
  value: 1250,
  expires_at: null,
  max_uses: null,
  uses: 0,
  once_per_customer: true,
  plan_ids: ['p2', 'p1'],
  active: true,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
}

const draft = (o: Partial<CouponDraft>): CouponDraft => ({ ...newDraft(), code: 'SAVE10', value: '10', ...o })

describe('coupon form', () => {
  it.each([
    ['percent 10', draft({}), { code: 'SAVE10', kind: 'percent', value: 1000, currency: '' }],
    ['percent 12.5, code upper-cased', draft({ code: ' save-12_5 ', value: '12.5' }), { code: 'SAVE-12_5', value: 1250 }],
    ['percent 100', draft({ value: '100' }), { value: 10000 }],
    ['fixed USD', draft({ kind: 'fixed', value: '5.5', currency: 'USD' }), { kind: 'fixed', value: 550, currency: 'USD' }],
    ['fixed JPY', draft({ kind: 'fixed', value: '500', currency: 'JPY' }), { value: 500, currency: 'JPY' }],
    ['max uses', draft({ maxUses: ' 3 ' }), { max_uses: 3 }],
    ['unlimited', draft({ maxUses: '' }), { max_uses: null, expires_at: null }],
    ['plans sorted', draft({ planIds: ['b', 'a'] }), { plan_ids: ['a', 'b'] }],
  ])('turns a valid draft into a request: %s', (_, d, want) => {
    const r = draftRequest(d)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.req).toMatchObject(want)
  })

  it.each([
    ['short code', draft({ code: 'AB' }), 'code'],
    ['code with a space', draft({ code: 'A B C' }), 'code'],
    ['percent 0', draft({ value: '0' }), 'value'],
    ['percent over 100', draft({ value: '100.01' }), 'value'],
    ['percent 3 decimals', draft({ value: '1.234' }), 'value'],
    ['fixed JPY with decimals', draft({ kind: 'fixed', currency: 'JPY', value: '1.5' }), 'value'],
    ['fixed 0', draft({ kind: 'fixed', value: '0' }), 'value'],
    ['not a number', draft({ value: 'ten' }), 'value'],
    ['max uses 0', draft({ maxUses: '0' }), 'max_uses'],
    ['max uses fraction', draft({ maxUses: '1.5' }), 'max_uses'],
  ])('reports the field of an invalid draft: %s', (_, d, field) => {
    const r = draftRequest(d)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(Object.keys(r.errors)).toEqual([field])
  })

  it('fills the form from a coupon and sends back only what changed', () => {
    const d = newDraft(coupon)
    expect(d).toMatchObject({ code: 'SPRING', kind: 'percent', value: '12.50', maxUses: '', planIds: ['p2', 'p1'] })
    const same = draftRequest(d)
    expect(same.ok && couponPatch(coupon, same.req)).toEqual({})
    const changed = draftRequest({ ...d, maxUses: '5', active: false, planIds: [] })
    expect(changed.ok && couponPatch(coupon, changed.req)).toEqual({ max_uses: 5, active: false, plan_ids: [] })
  })

  it('sends value and currency with a kind change, and null to remove limits', () => {
    const fixed: Coupon = { ...coupon, kind: 'fixed', value: 500, currency: 'USD', max_uses: 10, expires_at: '2030-01-01T10:00:00Z' }
    const d = newDraft(fixed)
    expect(d).toMatchObject({ value: '5.00', currency: 'USD', maxUses: '10', expiresAt: toLocalInput('2030-01-01T10:00:00Z') })
    const r = draftRequest({ ...d, kind: 'percent', value: '5', maxUses: '', expiresAt: '' })
    expect(r.ok && couponPatch(fixed, r.req)).toEqual({ kind: 'percent', value: 500, currency: '', max_uses: null, expires_at: null })
  })

  it('keeps an expiry with seconds that the form did not change', () => {
    const c: Coupon = { ...coupon, expires_at: '2030-05-01T10:20:30.5Z' }
    const r = draftRequest(newDraft(c))
    expect(r.ok && couponPatch(c, r.req)).toEqual({})
  })

  it.each([
    [{}, 'active'],
    [{ active: false }, 'inactive'],
    [{ expires_at: '2025-01-01T00:00:00Z' }, 'expired'],
    [{ max_uses: 2, uses: 2 }, 'usedUp'],
    [{ max_uses: 2, uses: 1, expires_at: '2031-01-01T00:00:00Z' }, 'active'],
  ])('tells the state of a coupon %j', (o, want) => {
    expect(couponState({ ...coupon, ...o }, new Date('2026-01-01T00:00:00Z'))).toBe(want)
  })

  it('renders the discount', () => {
    expect(couponDiscount(coupon, 'en')).toBe('12.5%')
    expect(couponDiscount({ ...coupon, kind: 'fixed', value: 1999, currency: 'USD' }, 'en')).toBe('$19.99')
    expect(couponDiscount({ ...coupon, kind: 'fixed', value: 500, currency: 'JPY' }, 'en')).toBe('¥500')
  })
})

describe('reseller terms', () => {
  it.each([
    ['25', 2500],
    ['12.5', 1250],
    ['0', 0],
    ['1000', 100000],
    ['7.25 %', 725],
    ['1000.01', null],
    ['-5', null],
    ['1.234', null],
    ['', null],
  ])('reads markup %j as basis points', (input, want) => {
    expect(parseMarkup(input)).toBe(want)
  })

  it.each([
    [2500, '25'],
    [1250, '12.5'],
    [725, '7.25'],
    [0, '0'],
    [100000, '1000'],
  ])('shows %i basis points as %j', (bp, want) => {
    expect(markupPercent(bp)).toBe(want)
    expect(parseMarkup(markupPercent(bp))).toBe(bp)
  })

  it.each([
    ['', null],
    ['  ', null],
    ['0', 0],
    ['4096', 4096],
    ['1.5', undefined],
    ['-1', undefined],
    ['many', undefined],
  ])('reads quota %j', (input, want) => {
    expect(parseQuota(input)).toBe(want)
  })

  it('reads the terms or reports each bad field under its API name', () => {
    const ok = readTerms({ markup: '25', quota: { servers: '10', cpu: '', memory_mib: '8192', disk_mib: '' } })
    expect(ok).toEqual({ ok: true, markup_bp: 2500, quota: { servers: 10, cpu: null, memory_mib: 8192, disk_mib: null } })
    const bad = readTerms({ markup: 'x', quota: { servers: '1.5', cpu: '', memory_mib: '', disk_mib: '-1' } })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['markup_bp', 'quota_disk_mib', 'quota_servers'])
  })

  it('builds the create body without empty optional texts', () => {
    const req = createRequest(
      { email: ' r@example.test ', password: 'pw', brand_name: ' Acme ', domain: ' Cloud.Acme.Test ', support_email: '', logo_url: '' },
      1500,
      { servers: 5, cpu: null, memory_mib: null, disk_mib: 10240 },
    )
    expect(req).toEqual({
      email: 'r@example.test',
      password: 'pw',
      brand_name: 'Acme',
      domain: 'cloud.acme.test',
      markup_bp: 1500,
      quota_servers: 5,
      quota_cpu: null,
      quota_memory_mib: null,
      quota_disk_mib: 10240,
    })
  })

  it('patches only the changed terms, null for a quota made unlimited', () => {
    const r = { markup_bp: 2500, quota: { servers: 10, cpu: 4, memory_mib: null, disk_mib: null } }
    expect(termsDraft(r)).toEqual({ markup: '25', quota: { servers: '10', cpu: '4', memory_mib: '', disk_mib: '' } })
    expect(termsPatch(r, 2500, { ...r.quota })).toEqual({})
    expect(termsPatch(r, 3000, { servers: null, cpu: 4, memory_mib: 2048, disk_mib: null })).toEqual({
      markup_bp: 3000,
      quota_servers: null,
      quota_memory_mib: 2048,
    })
  })
})

describe('audit log', () => {
  it.each([
    [{ object_type: 'server', object_id: 's1' }, true, '/servers/s1'],
    [{ object_type: 'server', object_id: 's1' }, false, '/servers/s1'],
    [{ object_type: 'user', object_id: 'u/1' }, true, '/admin/users/u%2F1'],
    [{ object_type: 'user', object_id: 'u1' }, false, null],
    [{ object_type: 'reseller', object_id: 'r1' }, true, '/admin/resellers/r1'],
    [{ object_type: 'coupon', object_id: 'c1' }, true, null],
    [{ object_type: 'server', object_id: '' }, true, null],
  ])('links %j (admin %s) to %s', (e, admin, want) => {
    expect(objectLink(e, admin)).toBe(want)
  })

  it.each([
    [{}, ''],
    [null, ''],
    [[], ''],
    [{ markup_bp: 2500 }, '{\n  "markup_bp": 2500\n}'],
    [{ note: '<img src=x onerror=alert(1)>' }, '{\n  "note": "<img src=x onerror=alert(1)>"\n}'],
  ])('renders details %j as text', (d, want) => {
    expect(detailsText(d)).toBe(want)
  })

  it('moves filters between the form and the URL', () => {
    const q = queryFromDraft({ actor: ' u1 ', owner: '', objectType: 'server', objectId: ' s1 ', action: 'POST /api', from: '2025-03-01T10:00', to: '' })
    expect(q).toEqual({ actor_id: 'u1', object_type: 'server', object_id: 's1', action: 'POST /api', from: new Date('2025-03-01T10:00').toISOString() })
    const back = draftFromQuery({ ...q, page: '3' })
    expect(back).toMatchObject({ actor: 'u1', objectType: 'server', objectId: 's1', from: '2025-03-01T10:00', to: '' })
    expect(filterOfQuery({ ...q, page: '3', other: 'x' })).toEqual(q)
    expect(queryFromDraft(back, 'resolved-id').actor_id).toBe('resolved-id')
  })

  it('reads datetime-local inputs in the browser zone', () => {
    expect(fromLocalInput('')).toBeNull()
    expect(fromLocalInput('nonsense')).toBeNull()
    expect(toLocalInput(fromLocalInput('2030-12-31T23:59'))).toBe('2030-12-31T23:59')
  })
})

describe('settings', () => {
  it('groups top-level values under general and flattens nested objects', () => {
    const s: Settings = {
      public_url: 'https://panel.test',
      pprof_enabled: false,
      metrics: { interval_seconds: 60 },
      version: { version: 'v1', go_version: 'go1.26' },
      payments: { gateways: ['manual'], stripe: { enabled: false, secret_key_set: false } },
      zeta: { x: 1 },
    }
    expect(settingsSections(s)).toEqual([
      { name: 'general', rows: [{ key: 'public_url', value: 'https://panel.test' }, { key: 'pprof_enabled', value: false }] },
      { name: 'version', rows: [{ key: 'version', value: 'v1' }, { key: 'go_version', value: 'go1.26' }] },
      {
        name: 'payments',
        rows: [
          { key: 'gateways', value: ['manual'] },
          { key: 'stripe.enabled', value: false },
          { key: 'stripe.secret_key_set', value: false },
        ],
      },
      { name: 'metrics', rows: [{ key: 'interval_seconds', value: 60 }] },
      { name: 'zeta', rows: [{ key: 'x', value: 1 }] },
    ])
  })

  it.each([
    ['password_set', true, 'secret'],
    ['stripe.webhook_secret_set', false, 'secret'],
    ['interval_seconds', 60, 'duration'],
    ['enabled', true, 'boolean'],
    ['gateways', ['manual'], 'list'],
    ['seller_email', '', 'empty'],
    ['port', 587, 'text'],
    ['mail.smtp_port', 2525, 'text'],
    ['trial_days', 7, 'number'],
    ['cpu_overcommit', 1234, 'number'],
    ['host', 'smtp.test', 'text'],
    ['interval_seconds', '1m', 'text'],
  ])('shows %s = %j as %s', (k, v, want) => {
    expect(settingKind(k, v)).toBe(want)
  })

  it.each([
    ['offline_after_seconds', 'Offline after'],
    ['stripe.secret_key_set', 'Stripe · secret key'],
    ['go_version', 'Go version'],
  ])('humanizes %s', (k, want) => {
    expect(humanize(k)).toBe(want)
  })

  it.each([
    [0, [{ unit: 's', n: 0 }]],
    [59.6, [{ unit: 'min', n: 1 }]],
    [90, [{ unit: 'min', n: 1 }, { unit: 's', n: 30 }]],
    [259200, [{ unit: 'd', n: 3 }]],
    [90061, [{ unit: 'd', n: 1 }, { unit: 'h', n: 1 }, { unit: 'min', n: 1 }, { unit: 's', n: 1 }]],
  ])('splits %d seconds', (s, want) => {
    expect(durationParts(s)).toEqual(want)
  })

  it('renders basis points as a percentage', () => {
    expect(percentOfBasisPoints(2500, 'en')).toBe('25%')
    expect(percentOfBasisPoints(1234, 'en')).toBe('12.34%')
  })
})

describe('admin messages built at run time', () => {
  const langs = ['en', 'zh-CN'] as const

  it.each(langs)('exist in %s', (lang) => {
    const { te } = makeI18n(lang).global
    const fams: [string, readonly string[]][] = [
      ['adminPanel.audit.objectTypes', AuditObjectTypes],
      ['adminPanel.audit.actors', ['system', 'anonymous']],
      ['adminPanel.coupons.state', CouponStates],
      ['adminPanel.subscriptions.status', SubscriptionStatuses],
      ['adminPanel.invoices.status', InvoiceStatuses],
      ['adminPanel.duration', DurationUnits],
      ['adminPanel.settings.sections', ['general', 'version', 'database', 'redis', 'nodes', 'billing', 'mail', 'payments', 'metrics']],
    ]
    for (const [fam, names] of fams) for (const n of names) expect(te(`${fam}.${n}`, lang), `${fam}.${n}`).toBe(true)
  })

  it('label every field of the settings answer (backend/api/settings.go)', () => {
    // The JSON names of the Go structs, by struct; Settings' own fields are "general".
    const src = readFileSync(join(__dirname, '..', '..', 'backend', 'api', 'settings.go'), 'utf8')
    const structs = new Map<string, { name: string; type: string }[]>()
    for (const m of src.matchAll(/type (\w+) struct \{([\s\S]*?)\n\}/g)) {
      const fields = [...m[2]!.matchAll(/^\s*\w+\s+([\w.[\]*]+)\s+`json:"([a-z_]+)/gm)].map((f) => ({ type: f[1]!, name: f[2]! }))
      structs.set(m[1]!, fields)
    }
    expect(structs.has('Settings')).toBe(true)
    const keys: string[] = []
    const walk = (struct: string, section: string, prefix: string) => {
      for (const f of structs.get(struct) ?? []) {
        if (structs.has(f.type)) {
          if (struct === 'Settings') walk(f.type, f.name, '')
          else walk(f.type, section, `${prefix}${f.name}.`)
        } else keys.push(`${section}.${prefix}${f.name}`)
      }
    }
    walk('Settings', 'general', '')
    expect(keys.length).toBeGreaterThan(40)
    for (const lang of langs) {
      const { te } = makeI18n(lang).global
      const missing = keys.filter((k) => !te(`adminPanel.settings.keys.${k}`, lang))
      expect(missing, lang).toEqual([])
    }
  })
})
