// Browser end-to-end tests of the web portal against a REAL running stack (nimbo-panel serving
// the embedded build, nimbo-daemon, Redis, LXD). Started by backend/internal/e2e/ui_test.go,
// which creates the stack, the accounts and a server of another customer, and passes them in:
//
//   NIMBO_E2E_URL                      the panel, e.g. http://127.0.0.1:41234
//   NIMBO_E2E_ADMIN_EMAIL/_PASSWORD    an admin without two-factor
//   NIMBO_E2E_CUSTOMER_EMAIL/_PASSWORD a customer
//   NIMBO_E2E_FOREIGN_SERVER_ID        a server of another customer
//   NIMBO_E2E_NODE_NAME                the stack's node
//   NIMBO_E2E_IMAGE                    the image to create a server from (busybox)
//   NIMBO_E2E_SERVER_NAME              the name of the server to create through the UI
//   NIMBO_E2E_ARTIFACTS                where screenshots go (default e2e/artifacts)
//   NIMBO_E2E_CHROMIUM                 the browser (default /usr/bin/chromium)
//
// Headless Debian Chromium driven by playwright-core. Exits 1 on the first failed step, with
// a screenshot of the page at that moment.
import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))

function env(name, def) {
  const v = process.env[name] ?? def
  if (v === undefined || v === '') {
    console.error(`missing environment variable ${name}`)
    process.exit(2)
  }
  return v
}

const cfg = {
  url: env('NIMBO_E2E_URL').replace(/\/$/, ''),
  adminEmail: env('NIMBO_E2E_ADMIN_EMAIL'),
  adminPassword: env('NIMBO_E2E_ADMIN_PASSWORD'),
  customerEmail: env('NIMBO_E2E_CUSTOMER_EMAIL'),
  customerPassword: env('NIMBO_E2E_CUSTOMER_PASSWORD'),
  foreignServer: env('NIMBO_E2E_FOREIGN_SERVER_ID'),
  nodeName: env('NIMBO_E2E_NODE_NAME'),
  image: env('NIMBO_E2E_IMAGE', 'busybox'),
  serverName: env('NIMBO_E2E_SERVER_NAME'),
  artifacts: resolve(env('NIMBO_E2E_ARTIFACTS', join(here, 'artifacts'))),
  chromium: env('NIMBO_E2E_CHROMIUM', '/usr/bin/chromium'),
}

/** base32 decodes an RFC 4648 base32 string (the TOTP secret). */
export function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  const out = []
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch)
    if (i < 0) throw new Error(`bad base32 character ${ch}`)
    value = (value << 5) | i
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** totp is the RFC 6238 code (SHA1, 6 digits, 30 s) of secret for time step. */
export function totp(secret, step) {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(step))
  const mac = createHmac('sha1', base32(secret)).update(msg).digest()
  const off = mac[mac.length - 1] & 0x0f
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000
  return String(n).padStart(6, '0')
}

const nowStep = () => Math.floor(Date.now() / 1000 / 30)

let current = null // the page a failure screenshot is taken of
const problems = [] // uncaught page errors and CSP violations
let passed = 0

async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    passed++
    console.log(`ok ${passed} - ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    console.log(`not ok - ${name}: ${e?.stack ?? e}`)
    if (current) {
      const file = join(cfg.artifacts, `failure-${name.replace(/[^a-z0-9]+/gi, '-')}.png`)
      await current.screenshot({ path: file, fullPage: true }).catch(() => undefined)
      console.log(`# screenshot of the failure: ${file}`)
      console.log(`# url: ${current.url()}`)
    }
    throw e
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(cfg.artifacts, `${name}.png`), fullPage: true })
}

function watch(page, who) {
  page.on('pageerror', (e) => problems.push(`${who}: uncaught ${e.message}`))
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const text = m.text()
    // Failed API answers (401 before login, the 404 of a foreign server) are expected.
    if (text.startsWith('Failed to load resource')) return
    problems.push(`${who}: console error ${text}`)
  })
  current = page
}

async function login(page, email, password) {
  await page.goto(`${cfg.url}/`)
  await page.waitForURL(/\/login/)
  await page.fill('#email', email)
  await page.fill('#password', password)
  await page.click('[data-test=login-submit]')
}

const serverStatus = (page, status, timeout = 120_000) =>
  page.waitForSelector(`[data-test=server-status][data-status=${status}]`, { timeout })

async function main() {
  mkdirSync(cfg.artifacts, { recursive: true })
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    // playwright-core gives every launch a fresh temporary --user-data-dir of its own.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  try {
    const admin = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' })
    admin.setDefaultTimeout(30_000)
    const page = await admin.newPage()
    watch(page, 'admin')

    await step('admin signs in', async () => {
      await login(page, cfg.adminEmail, cfg.adminPassword)
      await page.waitForSelector('[data-test=server-counts]')
      await page.waitForSelector('[data-test=nav-admin-nodes]')
      await shot(page, '01-dashboard')
    })

    await step('nodes page shows the node online', async () => {
      await page.click('[data-test=nav-admin-nodes]')
      await page.waitForSelector(`[data-node="${cfg.nodeName}"] [data-status=online]`)
      await shot(page, '02-nodes')
    })

    let serverURL = ''
    await step('admin creates a server through the form and it runs', async () => {
      await page.click('[data-test=nav-servers]')
      await page.click('[data-test=new-server]')
      await page.waitForSelector(`#s-image option[value="${cfg.image}"]`, { state: 'attached' })
      await page.fill('#s-name', cfg.serverName)
      await page.selectOption('#s-image', cfg.image)
      await page.fill('#s-cpu', '1')
      await page.fill('#s-mem', '128')
      await page.fill('#s-disk', '512')
      await page.click('[data-test=server-submit]')
      await page.waitForURL(/\/servers\/[0-9a-f-]{36}$/)
      serverURL = page.url()
      await page.waitForSelector('[data-test=operation]')
      await serverStatus(page, 'running')
      await page.waitForSelector('[data-test=operation][data-status=success]')
      await shot(page, '03-server-running')
    })

    await step('stop asks for confirmation, then the server is stopped', async () => {
      await page.click('[data-test=action-stop]')
      await page.waitForSelector('[data-test=confirm-dialog]')
      await page.click('[data-test=confirm]')
      await serverStatus(page, 'stopped')
    })

    await step('start brings it back to running', async () => {
      await page.waitForSelector('[data-test=action-start]:not([disabled])')
      await page.click('[data-test=action-start]')
      await serverStatus(page, 'running')
      await page.waitForSelector('[data-test=operations] tbody tr >> nth=2')
    })

    await step('the servers list shows it with a state badge', async () => {
      await page.click('[data-test=nav-servers]')
      await page.waitForSelector(`[data-server="${cfg.serverName}"] [data-status=running]`)
      await shot(page, '04-servers')
    })

    await step('delete asks for confirmation, then the server is gone', async () => {
      await page.goto(serverURL)
      await serverStatus(page, 'running')
      await page.click('[data-test=action-delete]')
      await page.click('[data-test=confirm]')
      await page.waitForSelector('[data-test=deleted]', { timeout: 120_000 })
      await page.click('[data-test=nav-servers]')
      await page.waitForSelector('[data-test=servers-table]')
      await page.waitForLoadState('networkidle')
      if (await page.$(`[data-server="${cfg.serverName}"]`)) throw new Error('deleted server still listed')
      await page.goto(serverURL)
      await page.waitForSelector('[data-test=not-found]')
    })

    await step('admin credits the customer wallet (idempotent manual gateway)', async () => {
      await page.click('[data-test=nav-admin-users]')
      await page.click(`text=${cfg.customerEmail}`)
      await page.waitForSelector('[data-test=credit-form]')
      await page.fill('#w-cur', 'USD')
      await page.selectOption('#w-kind', 'topup')
      await page.fill('#w-amount', '25.00')
      await page.fill('#w-reason', 'e2e top-up')
      await page.click('[data-test=credit-submit]')
      await page.waitForSelector('[data-test=posted]')
      const bal = await page.textContent('[data-test=wallet-USD]')
      if (!bal?.includes('$25.00')) throw new Error(`wallet shows ${bal}`)
      await shot(page, '05-admin-user-wallet')
    })

    await step('other pages render', async () => {
      for (const [nav, sel, name] of [
        ['nav-admin-operations', '[data-test=operations] tbody tr', '06-admin-operations'],
        ['nav-admin-plans', '[data-test=admin-plans]', '07-admin-plans'],
        ['nav-admin-users', '[data-test=users] tbody tr', '08-admin-users'],
        ['nav-wallet', 'h1', '09-wallet'],
        ['nav-plans', 'h1', '10-plans'],
        ['nav-tokens', '[data-test=token-form]', '11-tokens'],
        ['nav-profile', '[data-test=profile]', '12-profile'],
      ]) {
        await page.click(`[data-test=${nav}]`)
        await page.waitForSelector(sel)
        await shot(page, name)
      }
    })

    await step('language switch to 中文 changes the navigation and is kept', async () => {
      await page.selectOption('[data-test=language]', 'zh-CN')
      await page.waitForSelector('[data-test=nav-servers]:has-text("服务器")')
      await page.reload()
      await page.waitForSelector('[data-test=nav-servers]:has-text("服务器")')
      await page.waitForSelector('[data-test=nav-admin-nodes]:has-text("节点")')
      await page.click('[data-test=nav-dashboard]')
      await page.waitForSelector('[data-test=server-counts]')
      await shot(page, '13-dashboard-zh')
      await page.selectOption('[data-test=language]', 'en')
      await page.waitForSelector('[data-test=nav-servers]:has-text("Servers")')
    })

    await step('dark mode toggle is applied and kept', async () => {
      await page.click('[data-test=theme]')
      const theme = await page.getAttribute('html', 'data-theme')
      await page.reload()
      await page.waitForSelector('[data-test=server-counts]')
      if ((await page.getAttribute('html', 'data-theme')) !== theme) throw new Error('theme not kept')
      await shot(page, `14-dashboard-${theme}`)
    })

    let confirmStep = 0
    await step('two-factor enrolment on the security page', async () => {
      await page.click('[data-test=nav-security]')
      await page.fill('#tf-password', cfg.adminPassword)
      await page.click('[data-test=tf-enroll] button[type=submit]')
      const secret = (await page.textContent('[data-test=tf-secret]'))?.trim() ?? ''
      const link = await page.getAttribute('[data-test=tf-link]', 'href')
      if (!/^[A-Z2-7]{16,}$/.test(secret) || !link?.startsWith('otpauth://totp/')) throw new Error(`bad enrolment ${secret} ${link}`)
      confirmStep = nowStep()
      await page.fill('#tf-code', totp(secret, confirmStep))
      await page.click('[data-test=tf-confirm-submit]')
      await page.waitForSelector('[data-test=recovery-codes] li >> nth=9')
      await page.waitForSelector('[data-test=tf-state]:has-text("On")')
      await shot(page, '15-security-2fa')
      cfg.secret = secret
    })

    await step('sign out, then sign in again with a TOTP code', async () => {
      await page.click('[data-test=logout]')
      await page.waitForURL(/\/login/)
      await page.fill('#email', cfg.adminEmail)
      await page.fill('#password', cfg.adminPassword)
      await page.click('[data-test=login-submit]')
      await page.waitForSelector('[data-test=code]')
      await shot(page, '16-login-2fa')
      // The code of the step used to confirm is spent; the next step's code is accepted
      // (±1 step of skew) until the step after it has passed.
      await page.fill('[data-test=code]', totp(cfg.secret, Math.max(nowStep(), confirmStep + 1)))
      await page.click('[data-test=login-submit]')
      await page.waitForSelector('[data-test=server-counts]')
    })
    await admin.close()

    const cust = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US' })
    cust.setDefaultTimeout(30_000)
    const phone = await cust.newPage()
    watch(phone, 'customer')

    await step('customer on a phone: dashboard with the wallet balance, collapsible navigation', async () => {
      await login(phone, cfg.customerEmail, cfg.customerPassword)
      await phone.waitForSelector('[data-test=wallet-balances]:has-text("$25.00")')
      if (await phone.isVisible('[data-test=nav-admin-nodes]')) throw new Error('customer sees the admin section')
      if (await phone.isVisible('[data-test=nav-wallet]')) throw new Error('navigation not collapsed on a phone')
      await shot(phone, '17-phone-dashboard')
      await phone.click('button.menu')
      await phone.waitForSelector('[data-test=nav-wallet]', { state: 'visible' })
      await shot(phone, '18-phone-menu')
      await phone.click('[data-test=nav-wallet]')
      await phone.waitForSelector('[data-test=ledger] tbody tr:has-text("e2e top-up")')
    })

    await step("another customer's server shows not found", async () => {
      await phone.goto(`${cfg.url}/servers/${cfg.foreignServer}`)
      await phone.waitForSelector('[data-test=not-found]')
      if (await phone.$('[data-test=power]')) throw new Error('power buttons shown for a foreign server')
      await shot(phone, '19-foreign-server')
    })

    await step('an admin page is not found for a customer', async () => {
      await phone.goto(`${cfg.url}/admin/nodes`)
      await phone.waitForSelector('[data-test=not-found]')
    })
    await cust.close()

    await step('no uncaught errors or CSP violations in the pages', async () => {
      if (problems.length) throw new Error(problems.join('\n'))
    })
  } finally {
    await browser.close()
  }
  console.log(`${passed} passed, 0 failed`)
}

main().catch(() => {
  console.log(`${passed} passed, 1 failed`)
  process.exit(1)
})
