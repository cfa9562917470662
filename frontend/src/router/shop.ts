// Customer self-service pages (owned by the shop area): the signed-out account pages (sign-up,
// e-mail verification, password reset; meta.public renders them without the app shell),
// ordering, invoices, subscriptions, payments and notification settings.
import type { RouteRecordRaw } from 'vue-router'

export const shopRoutes: RouteRecordRaw[] = [
  { path: '/signup', name: 'signup', component: () => import('@/views/shop/SignupView.vue'), meta: { public: true, title: 'shop.signup.title' } },
  {
    path: '/verify-email',
    name: 'verify-email',
    component: () => import('@/views/shop/VerifyEmailView.vue'),
    meta: { public: true, title: 'shop.verify.title' },
  },
  {
    path: '/forgot-password',
    name: 'forgot-password',
    component: () => import('@/views/shop/ForgotPasswordView.vue'),
    meta: { public: true, title: 'shop.forgot.title' },
  },
  {
    path: '/reset-password',
    name: 'reset-password',
    component: () => import('@/views/shop/ResetPasswordView.vue'),
    meta: { public: true, title: 'shop.reset.title' },
  },
  { path: '/order', name: 'order', component: () => import('@/views/shop/OrderView.vue'), meta: { title: 'shop.order.title' } },
  { path: '/billing/invoices', name: 'invoices', component: () => import('@/views/shop/InvoicesView.vue'), meta: { title: 'nav.invoices' } },
  {
    path: '/billing/subscriptions',
    name: 'subscriptions',
    component: () => import('@/views/shop/SubscriptionsView.vue'),
    meta: { title: 'nav.subscriptions' },
  },
  {
    path: '/billing/subscriptions/:id',
    name: 'subscription',
    component: () => import('@/views/shop/SubscriptionView.vue'),
    props: true,
    meta: { title: 'shop.subscription.title' },
  },
  // Stripe and Alipay bring the payer back here (payment.returnURL: /payments/<id>?checkout=…).
  {
    path: '/payments/:id',
    name: 'payment',
    component: () => import('@/views/shop/PaymentView.vue'),
    props: true,
    meta: { title: 'shop.payment.title' },
  },
  {
    path: '/account/notifications',
    name: 'notifications',
    component: () => import('@/views/shop/NotificationsView.vue'),
    meta: { title: 'nav.notifications' },
  },
]
