// The reseller panel's endpoints (profile and branding, customers, prices, quota, revenue,
// issued invoices, manual credits for its customers, their servers and wallets) and their
// wire types, mirroring backend/api/reseller.go and payments.go. Money is minor units of the plan's or wallet's
// currency; quotas are null when unlimited.
import { client } from './index'
import type { Query } from './client'
import type { Invoice, Payment } from './shop'
import type { List, Server, User, Wallet } from './types'

const enc = encodeURIComponent

/** ResellerResources is an amount of servers and resources (usage across the customers). */
export interface ResellerResources {
  servers: number
  cpu: number
  memory_mib: number
  disk_mib: number
}

/** ResellerQuota is the admin's limit per resource; null is unlimited. */
export interface ResellerQuota {
  servers: number | null
  cpu: number | null
  memory_mib: number | null
  disk_mib: number | null
}

/**
 * Reseller is a reseller account (id: its user id): its brand, markup in basis points
 * (2500 = +25 %), quota, usage and customer count. The admin's reseller pages and the
 * reseller's own profile read the same type (backend/api/reseller.go Reseller).
 */
export interface Reseller {
  id: string
  email: string
  brand_name: string
  logo_url: string
  domain: string
  support_email: string
  markup_bp: number
  quota: ResellerQuota
  usage: ResellerResources
  customers: number
  created_at: string
  updated_at: string
}

/** UpdateBrandingRequest changes the fields sent; "" removes the logo, domain or support e-mail. */
export interface UpdateBrandingRequest {
  brand_name?: string
  logo_url?: string
  domain?: string
  support_email?: string
}

export interface CreateCustomerRequest {
  email: string
  password: string
}

/** PlanPrices are a plan's three independent prices in minor units of its currency. */
export interface PlanPrices {
  price_month: number
  price_hour: number
  setup_fee: number
}

/** ResellerPrice is one plan with the provider's wholesale and the reseller's retail prices. */
export interface ResellerPrice {
  plan_id: string
  name: string
  type: 'container' | 'vm'
  cpu: number
  memory_mib: number
  disk_mib: number
  currency: string
  exponent: number
  wholesale: PlanPrices
  retail: PlanPrices
  /** True when retail is the reseller's own price, false when it is wholesale plus markup. */
  override: boolean
  /** An own price that a later wholesale change put below wholesale. */
  below_wholesale?: boolean
}

/** ResellerQuotaUsage answers GET /reseller/quota. */
export interface ResellerQuotaUsage {
  quota: ResellerQuota
  usage: ResellerResources
}

/** RevenueLine is one currency's revenue over a period: margin = retail − wholesale. */
export interface RevenueLine {
  currency: string
  exponent: number
  retail: number
  wholesale: number
  margin: number
}

/** Revenue answers GET /reseller/revenue for [from, to). */
export interface Revenue {
  from: string
  to: string
  items: RevenueLine[]
}

/** ManualPaymentRequest credits a customer's wallet with money received by hand. */
export interface ManualPaymentRequest {
  user_id: string
  amount: number
  currency: string
  reason: string
}

/** The reseller's calls. The manual payment moves money and takes an idempotency key. */
export const resellerApi = {
  profile: () => client.get<Reseller>('/reseller/profile'),
  updateProfile: (req: UpdateBrandingRequest) => client.patch<Reseller>('/reseller/profile', req),
  quota: () => client.get<ResellerQuotaUsage>('/reseller/quota'),
  revenue: (q: { from?: string; to?: string } = {}) => client.get<Revenue>('/reseller/revenue', q),

  customers: (q: Query) => client.get<List<User>>('/reseller/customers', q),
  customer: (id: string) => client.get<User>(`/reseller/customers/${enc(id)}`),
  createCustomer: (req: CreateCustomerRequest) => client.post<User>('/reseller/customers', req),

  prices: (q: Query) => client.get<List<ResellerPrice>>('/reseller/prices', q),
  setPrice: (planId: string, req: PlanPrices) =>
    client.request<ResellerPrice>(`/reseller/prices/${enc(planId)}`, { method: 'PUT', body: req }),
  resetPrice: (planId: string) => client.request<ResellerPrice>(`/reseller/prices/${enc(planId)}`, { method: 'DELETE' }),

  invoices: (q: Query) => client.get<List<Invoice>>('/reseller/invoices', q),
  creditCustomer: (req: ManualPaymentRequest, idempotencyKey: string) =>
    client.post<Payment>('/payments/manual', req, { idempotencyKey }),

  /** customerServers is one page of a customer's servers: GET /servers narrowed by owner_id. */
  customerServers: (ownerId: string, q: Query = {}) => client.get<List<Server>>('/servers', { ...q, owner_id: ownerId }),
  /** customerWallets are a customer's wallets, one per currency (404 for anybody else's account). */
  customerWallets: (id: string) => client.get<List<Wallet>>(`/reseller/customers/${enc(id)}/wallets`),
}
