import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// The panel serves the build from go:embed (frontend/embed.go); `npm run dev` proxies the API
// to a panel on 127.0.0.1:8080 (override with NIMBO_PANEL_URL).
const panel = process.env.NIMBO_PANEL_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  define: {
    // vue-i18n: no legacy API, no devtools in production; JIT message compilation (no eval).
    __VUE_I18N_LEGACY_API__: false,
    __VUE_I18N_FULL_INSTALL__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_PROD_DEVTOOLS__: false,
  },
  server: {
    proxy: {
      '/api': { target: panel, changeOrigin: false },
      '/healthz': panel,
    },
  },
  build: {
    outDir: 'dist',
    // dist/.gitkeep is committed so that go:embed works without a build: keep it.
    emptyOutDir: false,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
  },
})
