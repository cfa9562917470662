// Preferences of this browser: colour theme and language, both saved in localStorage.
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { languageKey, type Language } from '@/i18n'

/** The localStorage key of the theme choice. */
export const themeKey = 'nimbo.theme'

export type Theme = 'system' | 'light' | 'dark'

function readTheme(): Theme {
  const v = globalThis.localStorage?.getItem(themeKey)
  return v === 'light' || v === 'dark' ? v : 'system'
}

/** effectiveDark tells whether theme shows dark, given the system's preference. */
export function effectiveDark(theme: Theme, systemDark: boolean): boolean {
  return theme === 'dark' || (theme === 'system' && systemDark)
}

export const usePrefs = defineStore('prefs', () => {
  const theme = ref<Theme>(readTheme())
  const media = globalThis.matchMedia?.('(prefers-color-scheme: dark)')
  const systemDark = ref(media?.matches ?? false)
  media?.addEventListener?.('change', (e) => (systemDark.value = e.matches))

  function apply() {
    const dark = effectiveDark(theme.value, systemDark.value)
    document.documentElement.dataset.theme = dark ? 'dark' : 'light'
  }
  watch([theme, systemDark], apply, { immediate: true })

  /** setTheme picks a theme and saves it ('system' forgets the choice). */
  function setTheme(t: Theme) {
    theme.value = t
    if (t === 'system') globalThis.localStorage?.removeItem(themeKey)
    else globalThis.localStorage?.setItem(themeKey, t)
  }

  /** toggleTheme switches between light and dark from what is shown now. */
  function toggleTheme() {
    setTheme(effectiveDark(theme.value, systemDark.value) ? 'light' : 'dark')
  }

  /** saveLanguage remembers the language (the i18n instance is switched by the caller). */
  function saveLanguage(l: Language) {
    globalThis.localStorage?.setItem(languageKey, l)
    document.documentElement.lang = l
  }

  return { theme, systemDark, setTheme, toggleTheme, saveLanguage }
})
