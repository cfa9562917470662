// The navigation: sections and links by role. Only pages that exist are linked (a unit test
// resolves every link to a route); later areas (console, apps, tunnels, backups) add theirs here.
import type { Role } from '@/api/types'

export interface NavLink {
  name: string
  to: string
  /** i18n key of the label. */
  label: string
}

export interface NavSection {
  /** i18n key of the section title. */
  title: string
  links: NavLink[]
}

export function navSections(role: Role | undefined): NavSection[] {
  const out: NavSection[] = [
    {
      title: 'nav.servers',
      links: [
        { name: 'dashboard', to: '/', label: 'nav.dashboard' },
        { name: 'servers', to: '/servers', label: 'nav.servers' },
        { name: 'order', to: '/order', label: 'nav.order' },
      ],
    },
    {
      title: 'nav.billing',
      links: [
        { name: 'wallet', to: '/billing/wallet', label: 'nav.wallet' },
        { name: 'invoices', to: '/billing/invoices', label: 'nav.invoices' },
        { name: 'subscriptions', to: '/billing/subscriptions', label: 'nav.subscriptions' },
        { name: 'plans', to: '/billing/plans', label: 'nav.plans' },
      ],
    },
    {
      title: 'nav.account',
      links: [
        { name: 'tokens', to: '/account/tokens', label: 'nav.tokens' },
        { name: 'security', to: '/account/security', label: 'nav.security' },
        { name: 'notifications', to: '/account/notifications', label: 'nav.notifications' },
        { name: 'activity', to: '/account/activity', label: 'nav.activity' },
        { name: 'profile', to: '/account/profile', label: 'nav.profile' },
      ],
    },
  ]
  if (role === 'reseller') {
    out.push({
      title: 'nav.reseller',
      links: [
        { name: 'reseller-overview', to: '/reseller', label: 'nav.resellerOverview' },
        { name: 'reseller-customers', to: '/reseller/customers', label: 'nav.customers' },
        { name: 'reseller-prices', to: '/reseller/prices', label: 'nav.prices' },
        { name: 'reseller-coupons', to: '/reseller/coupons', label: 'nav.coupons' },
        { name: 'reseller-invoices', to: '/reseller/invoices', label: 'nav.resellerInvoices' },
        { name: 'reseller-branding', to: '/reseller/branding', label: 'nav.branding' },
      ],
    })
  }
  if (role === 'admin') {
    out.push({
      title: 'nav.admin',
      links: [
        { name: 'admin-nodes', to: '/admin/nodes', label: 'nav.nodes' },
        { name: 'admin-plans', to: '/admin/plans', label: 'nav.adminPlans' },
        { name: 'admin-users', to: '/admin/users', label: 'nav.users' },
        { name: 'admin-resellers', to: '/admin/resellers', label: 'nav.resellers' },
        { name: 'admin-servers', to: '/admin/servers', label: 'nav.allServers' },
        { name: 'admin-operations', to: '/admin/operations', label: 'nav.operations' },
        { name: 'admin-subscriptions', to: '/admin/subscriptions', label: 'nav.adminSubscriptions' },
        { name: 'admin-invoices', to: '/admin/invoices', label: 'nav.adminInvoices' },
        { name: 'admin-coupons', to: '/admin/coupons', label: 'nav.adminCoupons' },
        { name: 'admin-audit', to: '/admin/audit', label: 'nav.audit' },
        { name: 'admin-settings', to: '/admin/settings', label: 'nav.settings' },
      ],
    })
  }
  return out
}
