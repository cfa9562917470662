// Admin pages beyond nodes, plans, users, servers and operations (meta.admin), and the
// caller's own activity (any signed-in user: it shares the audit log's components).
import type { RouteRecordRaw } from 'vue-router'

export const adminPanelRoutes: RouteRecordRaw[] = [
  {
    path: '/admin/resellers',
    name: 'admin-resellers',
    component: () => import('@/views/admin/ResellersView.vue'),
    meta: { admin: true, title: 'nav.resellers' },
  },
  {
    path: '/admin/resellers/:id',
    name: 'admin-reseller',
    component: () => import('@/views/admin/ResellerView.vue'),
    props: true,
    meta: { admin: true, title: 'nav.resellers' },
  },
  {
    path: '/admin/subscriptions',
    name: 'admin-subscriptions',
    component: () => import('@/views/admin/SubscriptionsView.vue'),
    meta: { admin: true, title: 'nav.adminSubscriptions' },
  },
  {
    path: '/admin/invoices',
    name: 'admin-invoices',
    component: () => import('@/views/admin/InvoicesView.vue'),
    meta: { admin: true, title: 'nav.adminInvoices' },
  },
  {
    path: '/admin/coupons',
    name: 'admin-coupons',
    component: () => import('@/views/admin/CouponsView.vue'),
    meta: { admin: true, title: 'nav.adminCoupons' },
  },
  {
    path: '/admin/audit',
    name: 'admin-audit',
    component: () => import('@/views/admin/AuditView.vue'),
    meta: { admin: true, title: 'nav.audit' },
  },
  {
    path: '/admin/settings',
    name: 'admin-settings',
    component: () => import('@/views/admin/SettingsView.vue'),
    meta: { admin: true, title: 'nav.settings' },
  },
  {
    path: '/account/activity',
    name: 'activity',
    component: () => import('@/views/account/ActivityView.vue'),
    meta: { title: 'nav.activity' },
  },
]
