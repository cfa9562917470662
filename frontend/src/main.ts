import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { client } from './api'
import { initialLanguage, loadLanguage, makeI18n } from './i18n'
import { makeRouter } from './router'
import { useAuth } from './stores/auth'
import { usePrefs } from './stores/prefs'
import './styles/main.css'

const lang = initialLanguage(globalThis.localStorage, navigator.languages ?? [navigator.language])
document.documentElement.lang = lang
// Chinese comes in a chunk of its own: fetch it before the first render (English is built in).
await loadLanguage(lang).catch(() => undefined)
const app = createApp(App)
const pinia = createPinia()
const router = makeRouter()
app.use(pinia).use(router).use(makeI18n(lang))
usePrefs()

// A 401 on any call means the session ended (expired, revoked, logged out elsewhere).
client.onUnauthorized = () => {
  useAuth().clear()
  const cur = router.currentRoute.value
  if (!cur.meta.public) void router.push({ name: 'login', query: { redirect: cur.fullPath } })
}

app.mount('#app')
