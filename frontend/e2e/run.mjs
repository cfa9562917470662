// Browser end-to-end tests of the web portal against a REAL running stack (nimbo-panel serving
// the embedded build, nimbo-daemon, Redis, LXD, a real SMTP server). Started by
// backend/internal/e2e/ui_test.go, which creates the stack and the fixtures and passes them in:
//
//   NIMBO_E2E_URL                      the panel, e.g. http://127.0.0.1:41234
//   NIMBO_E2E_ADMIN_EMAIL/_PASSWORD    an admin without two-factor
//   NIMBO_E2E_CUSTOMER_EMAIL/_PASSWORD a customer
//   NIMBO_E2E_FOREIGN_SERVER_ID        a server of another customer
//   NIMBO_E2E_NODE_NAME                the stack's node
//   NIMBO_E2E_IMAGE                    the image to create servers from (busybox)
//   NIMBO_E2E_SERVER_NAME              the server the admin creates through the form
//   NIMBO_E2E_MAILBOX                  GET ?to=<address> → the mail the panel sent there
//   NIMBO_E2E_PLAN_NAME                a 5.00 USD monthly plan on the node
//   NIMBO_E2E_SIGNUP_EMAIL             the address a visitor signs up with
//   NIMBO_E2E_ORDER_SERVER_NAME        the server that visitor orders
//   NIMBO_E2E_RESELLER_URL             http://<reseller domain>:<port> (resolved to loopback)
//   NIMBO_E2E_RESELLER_EMAIL/_PASSWORD the reseller owning that domain
//   NIMBO_E2E_BRAND_SIGNUP_EMAIL       the address a visitor of the reseller's domain signs up with
//   NIMBO_E2E_ARTIFACTS                where screenshots go (default e2e/artifacts)
//   NIMBO_E2E_CHROMIUM                 the browser (default /usr/bin/chromium)
//
// Headless Debian Chromium driven by playwright-core. Exits 1 on the first failed step, with
// a screenshot of the page at that moment.
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { adminTour } from './flows/admin.mjs'
import { customerFlow } from './flows/customer.mjs'
import { resellerFlow } from './flows/reseller.mjs'
import { Runner, env, login } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))

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
  mailbox: env('NIMBO_E2E_MAILBOX'),
  planName: env('NIMBO_E2E_PLAN_NAME'),
  signupEmail: env('NIMBO_E2E_SIGNUP_EMAIL'),
  orderServerName: env('NIMBO_E2E_ORDER_SERVER_NAME'),
  resellerURL: env('NIMBO_E2E_RESELLER_URL').replace(/\/$/, ''),
  resellerEmail: env('NIMBO_E2E_RESELLER_EMAIL'),
  resellerPassword: env('NIMBO_E2E_RESELLER_PASSWORD'),
  brandSignupEmail: env('NIMBO_E2E_BRAND_SIGNUP_EMAIL'),
  artifacts: resolve(env('NIMBO_E2E_ARTIFACTS', join(here, 'artifacts'))),
  chromium: env('NIMBO_E2E_CHROMIUM', '/usr/bin/chromium'),
}

const run = new Runner(cfg.artifacts)

async function desktop(browser, who) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' })
  ctx.setDefaultTimeout(30_000)
  const page = await ctx.newPage()
  run.watch(page, who)
  return page
}

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
      // Resellers' domains (*.example.test) reach the panel on loopback; nothing else resolves.
      '--host-resolver-rules=MAP *.example.test 127.0.0.1',
    ],
  })
  try {
    const page = await desktop(browser, 'admin')
    await adminTour(run, cfg, page)

    const visitor = await desktop(browser, 'new customer')
    await customerFlow(run, cfg, visitor, page)
    await visitor.context().close()

    const reseller = await desktop(browser, 'reseller')
    const brandVisitor = await desktop(browser, 'reseller visitor')
    run.focus(reseller)
    await resellerFlow(run, cfg, reseller, brandVisitor)
    await brandVisitor.context().close()
    await reseller.context().close()
    await page.context().close()

    const cust = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US' })
    cust.setDefaultTimeout(30_000)
    const phone = await cust.newPage()
    run.watch(phone, 'customer')

    await run.step('customer on a phone: dashboard with the wallet balance, collapsible navigation', async () => {
      await login(phone, cfg.url, cfg.customerEmail, cfg.customerPassword)
      await phone.waitForSelector('[data-test=wallet-balances]:has-text("$25.00")')
      if (await phone.isVisible('[data-test=nav-admin-nodes]')) throw new Error('customer sees the admin section')
      if (await phone.isVisible('[data-test=nav-wallet]')) throw new Error('navigation not collapsed on a phone')
      await run.shot(phone, '17-phone-dashboard')
      await phone.click('button.menu')
      await phone.waitForSelector('[data-test=nav-wallet]', { state: 'visible' })
      await run.shot(phone, '18-phone-menu')
      await phone.click('[data-test=nav-wallet]')
      await phone.waitForSelector('[data-test=ledger] tbody tr:has-text("e2e top-up")')
    })

    await run.step("another customer's server shows not found", async () => {
      await phone.goto(`${cfg.url}/servers/${cfg.foreignServer}`)
      await phone.waitForSelector('[data-test=not-found]')
      if (await phone.$('[data-test=power]')) throw new Error('power buttons shown for a foreign server')
      await run.shot(phone, '19-foreign-server')
    })

    await run.step('an admin page is not found for a customer', async () => {
      await phone.goto(`${cfg.url}/admin/nodes`)
      await phone.waitForSelector('[data-test=not-found]')
    })
    await cust.close()

    await run.step('no uncaught errors or CSP violations in the pages', async () => {
      if (run.problems.length) throw new Error(run.problems.join('\n'))
    })
  } finally {
    await browser.close()
  }
  console.log(`${run.passed} passed, 0 failed`)
}

main().catch(() => {
  console.log(`${run.passed} passed, 1 failed`)
  process.exit(1)
})
