// Test setup: the app loads Chinese lazily (a chunk of its own); tests create i18n instances
// synchronously in either language, so both are registered up front.
import { registerLanguage } from '@/i18n'
import zhCN from '@/locales/zh-CN'

registerLanguage('zh-CN', zhCN)
