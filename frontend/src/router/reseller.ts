// The reseller panel (meta.reseller: resellers only).
import type { RouteRecordRaw } from 'vue-router'

export const resellerRoutes: RouteRecordRaw[] = [
  {
    path: '/reseller',
    name: 'reseller-overview',
    component: () => import('@/views/reseller/OverviewView.vue'),
    meta: { reseller: true, title: 'nav.resellerOverview' },
  },
  {
    path: '/reseller/customers',
    name: 'reseller-customers',
    component: () => import('@/views/reseller/CustomersView.vue'),
    meta: { reseller: true, title: 'nav.customers' },
  },
  {
    path: '/reseller/customers/:id',
    name: 'reseller-customer',
    component: () => import('@/views/reseller/CustomerView.vue'),
    props: true,
    meta: { reseller: true, title: 'nav.customers' },
  },
  {
    path: '/reseller/prices',
    name: 'reseller-prices',
    component: () => import('@/views/reseller/PricesView.vue'),
    meta: { reseller: true, title: 'nav.prices' },
  },
  {
    path: '/reseller/coupons',
    name: 'reseller-coupons',
    component: () => import('@/views/reseller/CouponsView.vue'),
    meta: { reseller: true, title: 'nav.coupons' },
  },
  {
    path: '/reseller/invoices',
    name: 'reseller-invoices',
    component: () => import('@/views/reseller/InvoicesView.vue'),
    meta: { reseller: true, title: 'nav.resellerInvoices' },
  },
  {
    path: '/reseller/branding',
    name: 'reseller-branding',
    component: () => import('@/views/reseller/BrandingView.vue'),
    meta: { reseller: true, title: 'nav.branding' },
  },
]
