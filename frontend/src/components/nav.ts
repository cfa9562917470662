// The navigation: sections and links by role. Only pages that exist are linked; later areas
// (orders, invoices, reseller panel, audit) add their links here.
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
      ],
    },
    {
      title: 'nav.billing',
      links: [
        { name: 'wallet', to: '/billing/wallet', label: 'nav.wallet' },
        { name: 'plans', to: '/billing/plans', label: 'nav.plans' },
      ],
    },
    {
      title: 'nav.account',
      links: [
        { name: 'tokens', to: '/account/tokens', label: 'nav.tokens' },
        { name: 'security', to: '/account/security', label: 'nav.security' },
        { name: 'profile', to: '/account/profile', label: 'nav.profile' },
      ],
    },
  ]
  if (role === 'admin') {
    out.push({
      title: 'nav.admin',
      links: [
        { name: 'admin-nodes', to: '/admin/nodes', label: 'nav.nodes' },
        { name: 'admin-plans', to: '/admin/plans', label: 'nav.adminPlans' },
        { name: 'admin-users', to: '/admin/users', label: 'nav.users' },
        { name: 'admin-servers', to: '/admin/servers', label: 'nav.allServers' },
        { name: 'admin-operations', to: '/admin/operations', label: 'nav.operations' },
      ],
    })
  }
  return out
}
