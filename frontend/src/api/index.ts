// The panel's endpoints, typed. Pages call these; later areas (orders, invoices, resellers…)
// add their own modules next to this one and use the same client.
import { Client, type Query } from './client'
import type {
  Branding,
  CreateNodeResponse,
  CreateServerRequest,
  CreateTokenRequest,
  CreateUserRequest,
  LedgerEntry,
  List,
  LoginRequest,
  Node,
  Operation,
  Plan,
  PlanInput,
  PostEntryRequest,
  QueueStats,
  RecoveryCodes,
  Server,
  ServerAccepted,
  Session,
  Token,
  TwoFactorEnrollment,
  User,
  Wallet,
} from './types'

/** The one client of the app; main.ts sets its onUnauthorized. */
export const client = new Client()

const enc = encodeURIComponent

export const api = {
  login: (req: LoginRequest) => client.request<User>('/auth/login', { method: 'POST', body: req, quiet401: true }),
  logout: () => client.request<void>('/auth/logout', { method: 'POST', quiet401: true }),
  me: () => client.request<User>('/me', { quiet401: true }),
  branding: () => client.request<Branding>('/branding', { quiet401: true }),

  enrollTwoFactor: (password: string) => client.post<TwoFactorEnrollment>('/me/2fa/enroll', { password }),
  confirmTwoFactor: (code: string) => client.post<RecoveryCodes>('/me/2fa/confirm', { code }),
  disableTwoFactor: (password: string, code: string) => client.del('/me/2fa', { password, code }),
  regenerateRecoveryCodes: (code: string) => client.post<RecoveryCodes>('/me/2fa/recovery-codes', { code }),

  sessions: () => client.get<List<Session>>('/me/sessions'),
  revokeSession: (id: string) => client.del(`/me/sessions/${enc(id)}`),
  revokeOtherSessions: () => client.del<{ revoked: number }>('/me/sessions'),

  tokens: () => client.get<List<Token>>('/tokens'),
  createToken: (req: CreateTokenRequest) => client.post<Token>('/tokens', req),
  deleteToken: (id: string) => client.del(`/tokens/${enc(id)}`),

  servers: (q: Query) => client.get<List<Server>>('/servers', q),
  server: (id: string) => client.get<Server>(`/servers/${enc(id)}`),
  createServer: (req: CreateServerRequest) => client.post<ServerAccepted>('/servers', req),
  serverAction: (id: string, action: 'start' | 'stop' | 'restart') =>
    client.post<Operation>(`/servers/${enc(id)}/${action}`),
  deleteServer: (id: string) => client.request<Operation>(`/servers/${enc(id)}`, { method: 'DELETE' }),
  serverOperations: (id: string, q: Query) => client.get<List<Operation>>(`/servers/${enc(id)}/operations`, q),
  operation: (id: string) => client.get<Operation>(`/operations/${enc(id)}`),
  waitOperation: (id: string, timeout: number, signal?: AbortSignal) =>
    client.get<Operation>(`/operations/${enc(id)}/wait`, { timeout }, signal),

  wallets: () => client.get<List<Wallet>>('/wallets'),
  entries: (currency: string, q: Query) => client.get<List<LedgerEntry>>(`/wallets/${enc(currency)}/entries`, q),
  plans: (q: Query) => client.get<List<Plan>>('/plans', q),

  admin: {
    users: (q: Query) => client.get<List<User>>('/admin/users', q),
    user: (id: string) => client.get<User>(`/admin/users/${enc(id)}`),
    createUser: (req: CreateUserRequest) => client.post<User>('/admin/users', req),
    userWallets: (id: string) => client.get<List<Wallet>>(`/admin/users/${enc(id)}/wallets`),
    userEntries: (id: string, currency: string, q: Query) =>
      client.get<List<LedgerEntry>>(`/admin/users/${enc(id)}/wallets/${enc(currency)}/entries`, q),
    postEntry: (id: string, req: PostEntryRequest, idempotencyKey: string) =>
      client.post<LedgerEntry>(`/admin/users/${enc(id)}/wallet/entries`, req, { idempotencyKey }),
    setCreditLimit: (id: string, currency: string, creditLimit: number) =>
      client.patch<Wallet>(`/admin/users/${enc(id)}/wallets/${enc(currency)}`, { credit_limit: creditLimit }),
    nodes: (q: Query) => client.get<List<Node>>('/admin/nodes', q),
    createNode: (name: string) => client.post<CreateNodeResponse>('/admin/nodes', { name }),
    deleteNode: (id: string) => client.del(`/admin/nodes/${enc(id)}`),
    operations: (q: Query) => client.get<List<Operation>>('/admin/operations', q),
    queues: () => client.get<List<QueueStats>>('/admin/queues'),
    plans: (q: Query) => client.get<List<Plan>>('/admin/plans', q),
    createPlan: (req: PlanInput) => client.post<Plan>('/admin/plans', req),
    updatePlan: (id: string, req: Partial<PlanInput>) => client.patch<Plan>(`/admin/plans/${enc(id)}`, req),
    archivePlan: (id: string) => client.request<Plan>(`/admin/plans/${enc(id)}`, { method: 'DELETE' }),
  },
}
