// The tabs of the server page and who sees them. Adding a tab is one line here: its id (the
// ?tab= value and data-test="tab-<id>"), its label, the permissions that show it, and its
// component (loaded when first opened).
import { defineAsyncComponent, type Component } from 'vue'

/** ServerTab is one tab of the server page. */
export interface ServerTab {
  id: string
  /** i18n key of the label. */
  label: string
  /** Whether a caller holding perms on the server sees the tab. */
  visible: (perms: ReadonlySet<string>) => boolean
  component: Component
}

const always = () => true
const any =
  (...need: string[]) =>
  (perms: ReadonlySet<string>) =>
    need.some((p) => perms.has(p))

/** Every tab, in order. */
export const serverTabs: readonly ServerTab[] = [
  { id: 'overview', label: 'serverTabs.tab.overview', visible: always, component: defineAsyncComponent(() => import('./OverviewTab.vue')) },
  { id: 'metrics', label: 'serverTabs.tab.metrics', visible: always, component: defineAsyncComponent(() => import('./MetricsTab.vue')) },
  { id: 'members', label: 'serverTabs.tab.members', visible: any('manage'), component: defineAsyncComponent(() => import('./MembersTab.vue')) },
  { id: 'plan', label: 'serverTabs.tab.plan', visible: any('billing', 'manage'), component: defineAsyncComponent(() => import('./PlanTab.vue')) },
  { id: 'invoices', label: 'serverTabs.tab.invoices', visible: any('billing'), component: defineAsyncComponent(() => import('./InvoicesTab.vue')) },
  { id: 'activity', label: 'serverTabs.tab.activity', visible: always, component: defineAsyncComponent(() => import('./ActivityTab.vue')) },
]

/** visibleTabs are the tabs a caller with perms sees, in order. */
export function visibleTabs(perms: Iterable<string>, tabs: readonly ServerTab[] = serverTabs): ServerTab[] {
  const set = new Set(perms)
  return tabs.filter((t) => t.visible(set))
}

/** pickTab is the tab a ?tab= value opens: that tab when visible, else the first one. */
export function pickTab(query: unknown, tabs: readonly ServerTab[]): ServerTab | undefined {
  return tabs.find((t) => t.id === query) ?? tabs[0]
}
