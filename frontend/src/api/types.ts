// Wire types of nimbo-panel's /api/v1, mirroring backend/api (package api). Money is an
// integer number of minor units of a currency; times are RFC 3339 strings.

export interface ErrorBody {
  code: string
  message: string
  fields?: Record<string, string>
}

export interface ErrorResponse {
  error: ErrorBody
  request_id: string
}

export interface List<T> {
  items: T[]
  page: number
  per_page: number
  total: number
}

export type Role = 'admin' | 'reseller' | 'customer'

export const Scopes = [
  'servers:read',
  'servers:write',
  'admin:read',
  'admin:write',
  'reseller:read',
  'reseller:write',
] as const
export type Scope = (typeof Scopes)[number]

export interface User {
  id: string
  email: string
  role: Role
  reseller_id?: string
  email_verified: boolean
  two_factor_enabled: boolean
  created_at: string
}

export interface LoginRequest {
  email: string
  password: string
  totp_code?: string
  recovery_code?: string
}

export interface CreateUserRequest {
  email: string
  password: string
  role: Role
}

export interface TwoFactorEnrollment {
  secret: string
  otpauth_url: string
}

export interface RecoveryCodes {
  recovery_codes: string[]
}

export interface CreateTokenRequest {
  name: string
  scopes: string[]
  expires_in_days?: number
}

export interface Token {
  id: string
  name: string
  scopes: string[]
  prefix: string
  secret?: string
  created_at: string
  last_used_at?: string
  expires_at?: string
}

export interface Session {
  id: string
  created_at: string
  last_seen_at: string
  expires_at: string
  ip: string
  user_agent: string
  current: boolean
}

export const ServerStatuses = [
  'creating',
  'running',
  'stopped',
  'starting',
  'stopping',
  'restarting',
  'deleting',
  'frozen',
  'error',
  'missing',
] as const
export type ServerStatus = (typeof ServerStatuses)[number]

export type InstanceType = 'container' | 'vm'

export interface ServerUsage {
  cpu_ns: number
  memory_bytes: number
  disk_bytes: number
  net_rx_bytes: number
  net_tx_bytes: number
  at: string
}

export interface Server {
  id: string
  name: string
  owner_id: string
  node_id: string
  incus_name: string
  type: InstanceType
  image: string
  cpu: number
  memory_mib: number
  disk_mib: number
  status: ServerStatus
  usage?: ServerUsage
  created_at: string
  updated_at: string
  permissions?: string[]
}

export interface CreateServerRequest {
  name: string
  image: string
  type: InstanceType
  cpu: number
  memory_mib: number
  disk_mib: number
  node_id?: string
}

export type OperationStatus = 'pending' | 'running' | 'success' | 'failure'

export interface Operation {
  id: string
  kind: string
  status: OperationStatus
  progress: number
  message?: string
  error?: string
  server_id?: string
  node_id: string
  created_at: string
  updated_at: string
  finished_at?: string
}

export interface ServerAccepted {
  server: Server
  operation: Operation
}

export type NodeStatus = 'pending' | 'online' | 'offline'

export interface NodeCapabilities {
  containers: boolean
  virtual_machines: boolean
  vm_reason?: string
  server_name?: string
  server_version?: string
  storage_driver?: string
}

export interface NodeResources {
  cpus: number
  memory_total: number
  memory_used: number
  disk_total: number
  disk_used: number
  allocated_cpu: number
  allocated_memory_mib: number
  allocated_disk_mib: number
}

export interface Node {
  id: string
  name: string
  status: NodeStatus
  version?: string
  hostname?: string
  last_seen_at?: string
  capabilities: NodeCapabilities
  resources: NodeResources
  images: string[]
  job_types: string[]
  created_at: string
}

export interface CreateNodeResponse {
  node: Node
  join_token: string
  join_command: string
  expires_at: string
}

export type EntryKind = 'topup' | 'charge' | 'refund' | 'adjustment' | 'settlement'

export interface Wallet {
  id: string
  user_id: string
  currency: string
  exponent: number
  balance: number
  credit_limit: number
  created_at: string
  updated_at: string
}

export interface LedgerEntry {
  id: string
  wallet_id: string
  currency: string
  seq: number
  kind: EntryKind
  amount: number
  balance_after: number
  idempotency_key: string
  reason?: string
  reference?: string
  actor_id: string
  created_at: string
}

export interface PostEntryRequest {
  currency: string
  amount: number
  kind: Exclude<EntryKind, 'settlement'>
  reason?: string
  reference?: string
}

export interface Plan {
  id: string
  name: string
  type: InstanceType
  cpu: number
  memory_mib: number
  disk_mib: number
  traffic_gib: number
  price_month: number
  price_hour: number
  setup_fee: number
  currency: string
  exponent: number
  stock: number | null
  active: boolean
  node_ids?: string[]
  archived_at?: string
  created_at: string
  updated_at: string
}

export interface PlanInput {
  name: string
  type: InstanceType
  cpu: number
  memory_mib: number
  disk_mib: number
  traffic_gib: number
  price_month: number
  price_hour: number
  setup_fee: number
  currency: string
  stock: number | null
  active: boolean
  node_ids: string[]
}

/** Branding is the brand the portal shows: a reseller's on its domain, the provider's otherwise. */
export interface Branding {
  name: string
  logo_url: string
  support_email: string
  reseller: boolean
}

/** QueueStats is one asynq queue right now: a node's job queue, or the panel's own billing
 * queue (no node_id). */
export interface QueueStats {
  queue: string
  node_id?: string
  node_name?: string
  node_status?: string
  pending: number
  active: number
  scheduled: number
  retry: number
  archived: number
  completed: number
  processed_today: number
  failed_today: number
  latency_seconds: number
  paused: boolean
}
