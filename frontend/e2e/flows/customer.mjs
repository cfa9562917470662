// The acceptance flow of a new customer: sign up, verify the e-mail from the mail the panel
// sent, get credit from the admin, order a plan, and take the server through its life
// (RUNNING → stop → start → delete), with the metrics, invoices and subscriptions pages.
import { deleteServer, login, serverStatus, startServer, stopServer, waitMail } from '../lib.mjs'

/** signUp signs a visitor up on base (the panel or a reseller's domain) and waits for the
 * "check your mail" answer. */
export async function signUp(page, base, email, password) {
  await page.goto(`${base}/login`)
  await page.click('[data-test=signup-link]')
  await page.waitForURL(/\/signup/)
  await page.fill('#su-email', email)
  await page.fill('#su-password', password)
  await page.click('[data-test=signup-submit]')
  await page.waitForSelector('[data-test=signup-done]')
}

/** verifyAndSignIn follows the verification link mailed to email and makes sure the page is
 * signed in. */
export async function verifyAndSignIn(page, cfg, email, password) {
  const link = await waitMail(cfg.mailbox, email, /(https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]+)/)
  await page.goto(link)
  await page.waitForSelector('[data-test=verified]')
  // Sign-up signs the visitor in; the link leads on, to the sign-in page when signed out.
  await page.click('[data-test=to-login]')
  await page.waitForLoadState('networkidle')
  if (new URL(page.url()).pathname.startsWith('/login')) {
    await login(page, cfg.url, email, password)
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
  }
}

/** creditUser credits 25.00 USD to the account email through the admin's user page. */
export async function creditUser(admin, cfg, email) {
  await admin.goto(`${cfg.url}/admin/users`)
  await admin.fill('[data-test=user-search]', email)
  await admin.click(`[data-test=users] a:text-is("${email}")`)
  await admin.waitForSelector('[data-test=credit-form]')
  await admin.fill('#w-cur', 'USD')
  await admin.selectOption('#w-kind', 'topup')
  await admin.fill('#w-amount', '25.00')
  await admin.fill('#w-reason', 'welcome credit')
  await admin.click('[data-test=credit-submit]')
  await admin.waitForSelector('[data-test=posted]')
}

/** choosePlan opens the order page and fills the order form for plan. */
async function fillOrder(page, cfg, serverName) {
  await page.click('[data-test=nav-order]')
  await page.waitForSelector(`[data-plan="${cfg.planName}"]`)
  await page.click(`[data-plan="${cfg.planName}"] [data-test=choose-plan]`)
  await page.fill('#o-name', serverName)
  await page.waitForSelector(`#o-image option[value="${cfg.image}"]`, { state: 'attached' })
  await page.selectOption('#o-image', cfg.image)
  await page.waitForSelector('[data-test=quote-total]:has-text("$5.00")')
}

/** customerFlow is the acceptance flow; admin is the admin's signed-in page. */
export async function customerFlow(run, cfg, page, admin) {
  const password = 'Signup-' + Math.random().toString(36).slice(2, 12)

  await run.step('a visitor signs up and gets a verification mail', async () => {
    await signUp(page, cfg.url, cfg.signupEmail, password)
    await run.shot(page, '20-signup-done')
  })

  await run.step('the mailed link verifies the address; the customer signs in', async () => {
    await verifyAndSignIn(page, cfg, cfg.signupEmail, password)
    await page.waitForSelector('[data-test=nav-order]')
  })

  await run.step('an order without money is refused in words, with a way to top up', async () => {
    await fillOrder(page, cfg, cfg.orderServerName)
    await run.shot(page, '21-order-form')
    await page.click('[data-test=order-submit]')
    const alert = await page.waitForSelector('[data-test=error]')
    const text = (await alert.textContent()) ?? ''
    if (!/not enough|insufficient|balance/i.test(text)) throw new Error(`order error reads "${text}"`)
    await page.waitForSelector('a[href*="/billing/wallet"]')
    await run.shot(page, '22-order-insufficient-funds')
  })

  await run.step('the admin credits the new customer 25.00 USD', async () => {
    run.focus(admin)
    await creditUser(admin, cfg, cfg.signupEmail)
    run.focus(page)
  })

  let serverURL = ''
  await run.step('the customer orders the plan and the server runs', async () => {
    await page.goto(`${cfg.url}/`)
    await page.waitForSelector('[data-test=wallet-balances]:has-text("$25.00")')
    await fillOrder(page, cfg, cfg.orderServerName)
    await page.click('[data-test=order-submit]')
    await page.waitForURL(/\/servers\/[0-9a-f-]{36}/)
    serverURL = page.url().replace(/\?.*$/, '')
    await serverStatus(page, 'running')
    await run.shot(page, '23-ordered-server-running')
  })

  await run.step('the metrics tab draws history charts', async () => {
    await page.click('[data-test=tab-metrics]')
    await page.waitForFunction(
      () => Number(document.querySelector('[data-test=metric-chart][data-metric=cpu]')?.getAttribute('data-points') ?? 0) >= 2,
      undefined,
      { timeout: 60_000, polling: 500 },
    )
    for (const m of ['cpu', 'memory', 'network', 'disk']) await page.waitForSelector(`[data-test=metric-chart][data-metric=${m}]`)
    await run.shot(page, '24-server-metrics')
    await page.click('[data-test=tab-overview]')
  })

  await run.step('stop, then start again', async () => {
    await stopServer(page)
    await startServer(page)
  })

  await run.step('the wallet, invoice and subscription of the order are listed', async () => {
    await page.click('[data-test=nav-wallet]')
    await page.waitForSelector('[data-test=ledger] tbody tr:has-text("welcome credit")')
    await run.shot(page, '25-wallet-topup')
    await page.click('[data-test=nav-invoices]')
    await page.waitForSelector('[data-test=invoices] [data-test=invoice-pdf]')
    await run.shot(page, '26-invoices')
    await page.click('[data-test=nav-subscriptions]')
    await page.waitForSelector('[data-test=subscriptions] [data-subscription]')
    await run.shot(page, '27-subscriptions')
  })

  await run.step('delete asks for confirmation, then the ordered server is gone', async () => {
    await deleteServer(page, serverURL, cfg.orderServerName)
    await run.shot(page, '28-servers-after-delete')
  })
}
