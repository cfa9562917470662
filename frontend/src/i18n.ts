// vue-i18n with English and Simplified Chinese; the choice is saved in localStorage.
import { createI18n } from 'vue-i18n'
import en from './locales/en'
import zhCN from './locales/zh-CN'

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

export function makeI18n(locale: Language) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages: { en, 'zh-CN': zhCN },
    missingWarn: false,
    fallbackWarn: false,
  })
}
