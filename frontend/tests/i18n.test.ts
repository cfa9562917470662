import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ServerStatuses } from '@/api/types'
import { initialLanguage, languageKey } from '@/i18n'
import en from '@/locales/en'
import zhCN from '@/locales/zh-CN'
import { navSections } from '@/components/nav'

type Tree = { [k: string]: string | Tree }

function flatten(t: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(t)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (typeof v === 'string') out.set(key, v)
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv)
  }
  return out
}

const enKeys = flatten(en as unknown as Tree)
const zhKeys = flatten(zhCN as unknown as Tree)
const root = join(__dirname, '..')
const src = join(root, 'src')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p) : /\.(ts|vue)$/.test(n) ? [p] : []
  })
}

/** usedKeys finds every literal key passed to t(), $t() or te() and the i18n keys in route
 * metas and the navigation (title: 'x.y', label: 'x.y'). */
function usedKeys(): Map<string, string> {
  const used = new Map<string, string>()
  const call = /(?:\$t|\bt|\bte)\(\s*'([^'$`]+)'/g
  const meta = /\b(?:title|label): '([a-zA-Z]+\.[a-zA-Z.]+)'/g
  for (const f of files(src)) {
    if (f.includes('/locales/')) continue
    const text = readFileSync(f, 'utf8')
    for (const re of [call, meta]) for (const m of text.matchAll(re)) used.set(m[1]!, relative(root, f))
  }
  return used
}

describe('locales', () => {
  it('have the same keys', () => {
    const missingZh = [...enKeys.keys()].filter((k) => !zhKeys.has(k))
    const missingEn = [...zhKeys.keys()].filter((k) => !enKeys.has(k))
    expect(missingZh, 'keys missing in zh-CN').toEqual([])
    expect(missingEn, 'keys missing in en').toEqual([])
  })

  it('translate every message (no empty strings)', () => {
    for (const [k, v] of [...enKeys, ...zhKeys]) expect(v.trim(), k).not.toBe('')
  })

  it('use the same placeholders in both languages', () => {
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    for (const [k, v] of enKeys) expect(ph(zhKeys.get(k) ?? ''), k).toEqual(ph(v))
  })

  it('avoid the characters vue-i18n reads as syntax', () => {
    for (const [k, v] of [...enKeys, ...zhKeys]) expect(v, k).not.toMatch(/[@|<>]/)
  })

  it('define every key the sources use', () => {
    const used = usedKeys()
    expect(used.size).toBeGreaterThan(100)
    const missing = [...used].filter(([k]) => !enKeys.has(k)).map(([k, f]) => `${k} (${f})`)
    expect(missing).toEqual([])
  })

  it('define the keys built at run time', () => {
    const families: Record<string, readonly string[]> = {
      serverStatus: ServerStatuses,
      operationStatus: ['pending', 'running', 'success', 'failure'],
      nodeStatus: ['pending', 'online', 'offline'],
      entryKind: ['topup', 'charge', 'refund', 'adjustment', 'settlement'],
      roles: ['admin', 'reseller', 'customer'],
      'server.confirm': ['start.title', 'start.text', 'stop.title', 'stop.text', 'restart.title', 'restart.text', 'delete.title', 'delete.text'],
    }
    for (const [fam, names] of Object.entries(families)) {
      for (const n of names) expect(enKeys.has(`${fam}.${n}`), `${fam}.${n}`).toBe(true)
    }
    for (const kind of ['instance.create', 'instance.start', 'instance.stop', 'instance.restart', 'instance.delete']) {
      expect(enKeys.has(`opKind.${kind}`), kind).toBe(true)
    }
    for (const s of navSections('admin')) {
      expect(enKeys.has(s.title), s.title).toBe(true)
      for (const l of s.links) expect(enKeys.has(l.label), l.label).toBe(true)
    }
  })

  it('translate every error code of the API (backend/api)', () => {
    const apiDir = join(root, '..', 'backend', 'api')
    const codes = new Set<string>()
    for (const f of readdirSync(apiDir).filter((n) => n.endsWith('.go') && !n.endsWith('_test.go'))) {
      for (const m of readFileSync(join(apiDir, f), 'utf8').matchAll(/\bCode\w+\s*=\s*"([a-z_]+)"/g)) codes.add(m[1]!)
    }
    const apierr = readFileSync(join(root, '..', 'backend', 'internal', 'apierr', 'apierr.go'), 'utf8')
    for (const m of apierr.matchAll(/\bCode\w+\s*=\s*"([a-z_]+)"/g)) codes.add(m[1]!)
    expect(codes.size).toBeGreaterThan(20)
    const missing = [...codes].filter((c) => !enKeys.has(`errors.${c}`))
    expect(missing, 'error codes without a message').toEqual([])
  })
})

describe('initialLanguage', () => {
  const store = (v: string | null) => ({ getItem: (k: string) => (k === languageKey ? v : null) })
  it.each([
    [store('zh-CN'), ['en-US'], 'zh-CN'],
    [store('en'), ['zh-CN'], 'en'],
    [store('fr'), ['zh-TW', 'en'], 'zh-CN'],
    [store(null), ['de-DE', 'en-GB'], 'en'],
    [store(null), ['de-DE'], 'en'],
    [undefined, [], 'en'],
  ])('picks the saved or browser language', (s, nav, want) => {
    expect(initialLanguage(s, nav)).toBe(want)
  })
})

describe('language loading', () => {
  it('adds a language the app was created without, then makes it current', async () => {
    const { createI18n } = await import('vue-i18n')
    const { default: en } = await import('@/locales/en')
    const { switchLanguage, loadLanguage } = await import('@/i18n')
    const i18n = createI18n({ legacy: false, locale: 'en', fallbackLocale: 'en', messages: { en } })
    const g = i18n.global
    expect(g.availableLocales).toEqual(['en'])
    expect(g.t('nav.servers')).toBe('Servers')
    await switchLanguage(g, 'zh-CN')
    expect(g.locale.value).toBe('zh-CN')
    expect(g.availableLocales).toContain('zh-CN')
    expect(g.t('nav.servers')).toBe('服务器')
    expect(await loadLanguage('zh-CN')).toBe(await loadLanguage('zh-CN'))
    await switchLanguage(g, 'en')
    expect(g.t('nav.servers')).toBe('Servers')
  })
})
