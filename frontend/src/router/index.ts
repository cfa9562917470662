// Routes of the portal. Pages are loaded lazily so the first load stays small; admin pages
// need the admin role; everything but /login needs a session.
import {
  createRouter,
  createWebHistory,
  type RouteLocationNormalized,
  type RouteRecordRaw,
  type Router,
  type RouterHistory,
} from 'vue-router'
import { useAuth } from '@/stores/auth'
import { adminPanelRoutes } from './adminPanel'
import { resellerRoutes } from './reseller'
import { shopRoutes } from './shop'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session. */
    public?: boolean
    /** Admins only (others see the not-found page). */
    admin?: boolean
    /** Resellers only (others see the not-found page). */
    reseller?: boolean
    /** i18n key of the page title. */
    title?: string
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/views/LoginView.vue'), meta: { public: true, title: 'login.title' } },
  { path: '/', name: 'dashboard', component: () => import('@/views/DashboardView.vue'), meta: { title: 'nav.dashboard' } },
  { path: '/servers', name: 'servers', component: () => import('@/views/ServersView.vue'), meta: { title: 'nav.servers' } },
  {
    path: '/servers/new',
    name: 'server-new',
    component: () => import('@/views/ServerCreateView.vue'),
    meta: { admin: true, title: 'serverNew.title' },
  },
  { path: '/servers/:id', name: 'server', component: () => import('@/views/ServerView.vue'), props: true, meta: { title: 'nav.servers' } },
  { path: '/billing/wallet', name: 'wallet', component: () => import('@/views/WalletView.vue'), meta: { title: 'nav.wallet' } },
  { path: '/billing/plans', name: 'plans', component: () => import('@/views/PlansView.vue'), meta: { title: 'nav.plans' } },
  { path: '/account/tokens', name: 'tokens', component: () => import('@/views/TokensView.vue'), meta: { title: 'nav.tokens' } },
  { path: '/account/security', name: 'security', component: () => import('@/views/SecurityView.vue'), meta: { title: 'nav.security' } },
  { path: '/account/profile', name: 'profile', component: () => import('@/views/ProfileView.vue'), meta: { title: 'nav.profile' } },
  {
    path: '/admin/nodes',
    name: 'admin-nodes',
    component: () => import('@/views/admin/NodesView.vue'),
    meta: { admin: true, title: 'nav.nodes' },
  },
  {
    path: '/admin/plans',
    name: 'admin-plans',
    component: () => import('@/views/admin/PlansView.vue'),
    meta: { admin: true, title: 'nav.adminPlans' },
  },
  {
    path: '/admin/users',
    name: 'admin-users',
    component: () => import('@/views/admin/UsersView.vue'),
    meta: { admin: true, title: 'nav.users' },
  },
  {
    path: '/admin/users/:id',
    name: 'admin-user',
    component: () => import('@/views/admin/UserView.vue'),
    props: true,
    meta: { admin: true, title: 'nav.users' },
  },
  {
    path: '/admin/servers',
    name: 'admin-servers',
    component: () => import('@/views/ServersView.vue'),
    props: { admin: true },
    meta: { admin: true, title: 'nav.allServers' },
  },
  {
    path: '/admin/operations',
    name: 'admin-operations',
    component: () => import('@/views/admin/OperationsView.vue'),
    meta: { admin: true, title: 'nav.operations' },
  },
  ...shopRoutes,
  ...resellerRoutes,
  ...adminPanelRoutes,
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/views/NotFoundView.vue'), meta: { title: 'notFound.title' } },
]

/** Public pages that make no sense with a session: they lead home instead. */
const signedOutOnly = new Set(['login', 'signup', 'forgot-password'])

/** guard decides where a navigation goes: the login page without a session, home with one. */
export async function guard(to: RouteLocationNormalized) {
  const auth = useAuth()
  if (!auth.loaded) await auth.load()
  if (to.meta.public) return auth.user && signedOutOnly.has(String(to.name)) ? { name: 'dashboard' } : true
  if (!auth.user) return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  if ((to.meta.admin && !auth.isAdmin) || (to.meta.reseller && !auth.isReseller)) {
    return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') }, replace: true }
  }
  return true
}

export function makeRouter(history: RouterHistory = createWebHistory()): Router {
  const router = createRouter({ history, routes, scrollBehavior: () => ({ top: 0 }) })
  router.beforeEach(guard)
  return router
}

/** safeRedirect keeps a post-login redirect inside the app (no other origin, no //host). */
export function safeRedirect(v: unknown): string {
  if (typeof v !== 'string' || !v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\')) return '/'
  return v
}
