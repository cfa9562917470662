// The customer self-service endpoints (sign-up, e-mail verification, password reset, orders,
// subscriptions, payments, invoices, notification settings) and their wire types, mirroring
// backend/api (accounts.go, orders.go, payments.go, invoices.go, resize.go).
import { client } from './index'
import type { Query } from './client'
import type { List, Operation, Plan, Server, User } from './types'

const enc = encodeURIComponent

/** Billing cycles of an order and its subscription. */
export const Cycles = ['monthly', 'hourly'] as const
export type Cycle = (typeof Cycles)[number]

export const InvoiceStatuses = ['open', 'paid', 'void'] as const
export type InvoiceStatus = (typeof InvoiceStatuses)[number]

/** InvoiceLine is quantity × unit_amount = amount (minor units; negative for a credit). */
export interface InvoiceLine {
  position: number
  description: string
  quantity: number
  unit_amount: number
  amount: number
}

/** Invoice is a numbered, immutable bill; lines are present when one invoice is read. */
export interface Invoice {
  id: string
  number: string
  issuer_id: string
  user_id: string
  subscription_id: string | null
  order_id: string | null
  status: InvoiceStatus
  currency: string
  exponent: number
  subtotal: number
  discount: number
  total: number
  period_start: string | null
  period_end: string | null
  seller_name: string
  seller_email: string
  buyer_email: string
  issued_at: string
  due_at: string | null
  paid_at: string | null
  lines?: InvoiceLine[]
}

/** invoiceHtmlUrl is the printable page of an invoice (the session cookie authenticates). */
export function invoiceHtmlUrl(id: string): string {
  return `/api/v1/invoices/${enc(id)}/html`
}

/** invoicePdfUrl is the PDF download of an invoice. */
export function invoicePdfUrl(id: string): string {
  return `/api/v1/invoices/${enc(id)}/pdf`
}

export interface SignupRequest {
  email: string
  password: string
}

/** Accepted answers a request whose effect is not visible (a mail sent or not). */
export interface Accepted {
  status: string
}

export interface QuoteRequest {
  plan_id: string
  cycle: Cycle
  coupon_code?: string
  trial?: boolean
}

/** OrderQuote is what an order would cost now (minor units of currency). */
export interface OrderQuote {
  plan_id: string
  cycle: Cycle
  currency: string
  exponent: number
  setup_fee: number
  price: number
  subtotal: number
  discount: number
  total: number
  trial: boolean
  trial_available: boolean
  trial_days: number
}

export interface CreateOrderRequest {
  plan_id: string
  cycle: Cycle
  server_name: string
  image: string
  coupon_code?: string
  trial?: boolean
}

export const OrderStatuses = ['provisioning', 'active', 'failed', 'refunded'] as const
export type OrderStatus = (typeof OrderStatuses)[number]

export interface Order {
  id: string
  user_id: string
  plan_id: string
  subscription_id?: string
  server_id?: string
  operation_id?: string
  status: OrderStatus
  cycle: Cycle
  trial: boolean
  currency: string
  subtotal: number
  discount: number
  total: number
  coupon_id?: string
  server_name: string
  image: string
  error?: string
  created_at: string
  updated_at: string
}

export const SubscriptionStatuses = ['pending', 'trial', 'active', 'suspended', 'terminated', 'cancelled'] as const
export type SubscriptionStatus = (typeof SubscriptionStatuses)[number]

export interface Subscription {
  id: string
  user_id: string
  reseller_id?: string
  plan_id: string
  server_id?: string
  cycle: Cycle
  status: SubscriptionStatus
  currency: string
  price: number
  wholesale_price?: number
  cpu: number
  memory_mib: number
  disk_mib: number
  auto_renew: boolean
  period_start: string
  period_end: string
  trial_ends_at?: string
  suspended_at?: string
  terminated_at?: string
  cancelled_at?: string
  created_at: string
  updated_at: string
}

/** OrderAccepted answers a new order: the order, its subscription, the server and its create operation. */
export interface OrderAccepted {
  order: Order
  subscription: Subscription
  server: Server
  operation: Operation
}

export const ChangeStatuses = ['pending', 'applied', 'reverted'] as const

/** SubscriptionChange is a plan change and its proration. */
export interface SubscriptionChange {
  id: string
  subscription_id: string
  from_plan_id: string
  to_plan_id: string
  cycle: Cycle
  currency: string
  price: number
  amount: number
  remaining_seconds: number
  period_seconds: number
  status: (typeof ChangeStatuses)[number]
  invoice_id?: string
  operation: Operation
  created_at: string
}

export const PaymentStatuses = ['created', 'paid', 'failed', 'expired'] as const
export type PaymentStatus = (typeof PaymentStatuses)[number]

export interface PaymentGateway {
  name: string
  checkout: boolean
  currencies?: string[]
}

export interface Payment {
  id: string
  user_id: string
  gateway: string
  amount: number
  currency: string
  status: PaymentStatus
  external_id?: string
  ledger_entry_id?: string
  reason?: string
  failure?: string
  created_by: string
  created_at: string
  updated_at: string
  paid_at?: string
}

export interface CreatePaymentRequest {
  gateway: string
  amount: number
  currency: string
}

export interface CreatePaymentResponse {
  payment: Payment
  redirect_url: string
}

export interface LowBalanceThreshold {
  currency: string
  threshold: number
}

export interface NotificationSettings {
  webhook_url: string
  webhook_secret?: string
  webhook_secret_set: boolean
  low_balance: LowBalanceThreshold[]
}

export interface UpdateNotificationSettingsRequest {
  webhook_url?: string
  rotate_secret?: boolean
  low_balance?: LowBalanceThreshold[]
}

/** ImageChoice is an image that online nodes able to host a plan have. */
export interface ImageChoice {
  alias: string
  nodes: number
}

/** The customer self-service calls. Every call that moves money takes an idempotency key. */
export const shopApi = {
  signup: (req: SignupRequest) => client.request<User>('/auth/signup', { method: 'POST', body: req, quiet401: true }),
  verifyEmail: (token: string) => client.request<User>('/auth/verify-email', { method: 'POST', body: { token }, quiet401: true }),
  resendVerification: () => client.post<Accepted>('/me/email/verification'),
  requestPasswordReset: (email: string) =>
    client.request<Accepted>('/auth/password-reset', { method: 'POST', body: { email }, quiet401: true }),
  confirmPasswordReset: (token: string, password: string) =>
    client.request<User>('/auth/password-reset/confirm', { method: 'POST', body: { token, password }, quiet401: true }),

  plan: (id: string) => client.get<Plan>(`/plans/${enc(id)}`),
  images: (planId: string, signal?: AbortSignal) => client.get<List<ImageChoice>>('/images', { plan_id: planId }, signal),
  quote: (req: QuoteRequest, signal?: AbortSignal) => client.request<OrderQuote>('/orders/quote', { method: 'POST', body: req, signal }),
  createOrder: (req: CreateOrderRequest, idempotencyKey: string) => client.post<OrderAccepted>('/orders', req, { idempotencyKey }),
  orders: (q: Query) => client.get<List<Order>>('/orders', q),
  order: (id: string) => client.get<Order>(`/orders/${enc(id)}`),

  subscriptions: (q: Query) => client.get<List<Subscription>>('/subscriptions', q),
  subscription: (id: string) => client.get<Subscription>(`/subscriptions/${enc(id)}`),
  setAutoRenew: (id: string, autoRenew: boolean) => client.patch<Subscription>(`/subscriptions/${enc(id)}`, { auto_renew: autoRenew }),
  renew: (id: string, idempotencyKey: string) => client.post<Subscription>(`/subscriptions/${enc(id)}/renew`, undefined, { idempotencyKey }),
  /** changePlan moves a subscription to another plan, prorated: money moves, so it needs a key. */
  changePlan: (id: string, planId: string, idempotencyKey: string) =>
    client.post<SubscriptionChange>(`/subscriptions/${enc(id)}/resize`, { plan_id: planId }, { idempotencyKey }),

  gateways: () => client.get<{ items: PaymentGateway[] }>('/payments/gateways'),
  createPayment: (req: CreatePaymentRequest, idempotencyKey: string) =>
    client.post<CreatePaymentResponse>('/payments', req, { idempotencyKey }),
  payments: (q: Query) => client.get<List<Payment>>('/payments', q),
  payment: (id: string) => client.get<Payment>(`/payments/${enc(id)}`),

  invoices: (q: Query) => client.get<List<Invoice>>('/invoices', q),
  invoice: (id: string) => client.get<Invoice>(`/invoices/${enc(id)}`),

  notifications: () => client.get<NotificationSettings>('/me/notifications'),
  updateNotifications: (req: UpdateNotificationSettingsRequest) =>
    client.request<NotificationSettings>('/me/notifications', { method: 'PUT', body: req }),
}
