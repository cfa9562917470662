// vue-i18n with English and Simplified Chinese; the choice is saved in localStorage. English
// is in the entry chunk (it is also the fallback); Chinese is a chunk of its own, loaded before
// the app mounts when it is the chosen language, or when the user switches to it.
import { createI18n, type Composer } from 'vue-i18n'
import en, { type Messages } from './locales/en'

/** The languages of the portal: code → its own name. */
export const languages = { en: 'English', 'zh-CN': '中文' } as const
export type Language = keyof typeof languages

/** The localStorage key of the chosen language. */
export const languageKey = 'nimbo.lang'

export function isLanguage(v: unknown): v is Language {
  return typeof v === 'string' && Object.hasOwn(languages, v)
}

/** initialLanguage is the saved choice, else the browser's language when supported, else en. */
export function initialLanguage(storage: Pick<Storage, 'getItem'> | undefined, navLangs: readonly string[]): Language {
  const saved = storage?.getItem(languageKey)
  if (isLanguage(saved)) return saved
  for (const l of navLangs) {
    if (l.toLowerCase().startsWith('zh')) return 'zh-CN'
    if (l.toLowerCase().startsWith('en')) return 'en'
  }
  return 'en'
}

/** The messages loaded so far, by language (a cache: each language is fetched once). */
const loaded: Partial<Record<Language, Messages>> = { en }

/** registerLanguage makes messages available to makeI18n without loading (tests do this). */
export function registerLanguage(l: Language, messages: Messages) {
  loaded[l] = messages
}

/** loadLanguage returns the messages of l, fetching its chunk the first time. */
export async function loadLanguage(l: Language): Promise<Messages> {
  const have = loaded[l]
  if (have) return have
  const m = (await import('./locales/zh-CN')).default
  loaded['zh-CN'] = m
  return m
}

/** switchLanguage loads l when needed, adds it to the app's i18n and makes it current. */
export async function switchLanguage(i18n: Pick<Composer, 'locale' | 'setLocaleMessage' | 'availableLocales'>, l: Language) {
  const m = await loadLanguage(l)
  if (!i18n.availableLocales.includes(l)) i18n.setLocaleMessage(l, m)
  i18n.locale.value = l
}

/** makeI18n creates the app's i18n with every language loaded so far (call loadLanguage
 * for locale first). */
export function makeI18n(locale: Language) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages: { ...loaded },
    missingWarn: false,
    fallbackWarn: false,
  })
}
