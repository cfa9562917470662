// Fixtures shared by the reseller panel's tests: a reseller account and the panel's answers.
import { adminUser } from './helpers'

export const resellerUser = { ...adminUser, id: 'u-res', email: 'res@example.test', role: 'reseller' }

export const customer = {
  id: '7d0f6a52-5b9c-4f7e-9d55-0c2b1a4e8f10',
  email: 'alice@example.test',
  role: 'customer',
  reseller_id: 'u-res',
  email_verified: true,
  two_factor_enabled: false,
  created_at: '2025-02-03T10:00:00Z',
}

export const profile = {
  id: 'u-res',
  email: 'res@example.test',
  brand_name: 'Acme Cloud',
  logo_url: '',
  domain: '',
  support_email: '',
  markup_bp: 2500,
  quota: { servers: 10, cpu: null, memory_mib: 8192, disk_mib: 20480 },
  usage: { servers: 9, cpu: 12, memory_mib: 8192, disk_mib: 4096 },
  customers: 3,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
}

export const price = {
  plan_id: 'p-small',
  name: 'Small',
  type: 'container',
  cpu: 1,
  memory_mib: 1024,
  disk_mib: 10240,
  currency: 'USD',
  exponent: 2,
  wholesale: { price_month: 1000, price_hour: 2, setup_fee: 0 },
  retail: { price_month: 1250, price_hour: 3, setup_fee: 0 },
  override: false,
}

export const invoice = {
  id: 'inv-1',
  number: 'ACME-2025-0001',
  issuer_id: 'u-res',
  user_id: customer.id,
  subscription_id: 'sub-1',
  order_id: 'ord-1',
  status: 'paid',
  currency: 'USD',
  exponent: 2,
  subtotal: 1250,
  discount: 0,
  total: 1250,
  period_start: '2025-02-03T10:00:00Z',
  period_end: '2025-03-03T10:00:00Z',
  seller_name: 'Acme Cloud',
  seller_email: '',
  buyer_email: customer.email,
  issued_at: '2025-02-03T10:00:00Z',
  due_at: null,
  paid_at: '2025-02-03T10:00:00Z',
}

/** list wraps items as the panel's paginated answer. */
export function list<T>(items: T[], total = items.length, perPage = 20) {
  return { items, total, page: 1, per_page: perPage }
}
