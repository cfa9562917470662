// The admin's tour of the portal: nodes, a server created through the form and taken
// through its life, a wallet credited, the other admin pages, language and theme, and
// two-factor enrolment followed by a sign-in with a TOTP code.
import { deleteServer, login, nowStep, serverStatus, startServer, stopServer, totp } from '../lib.mjs'

/** adminTour runs the admin's steps on page (a fresh desktop context) and leaves it signed in. */
export async function adminTour(run, cfg, page) {
  await run.step('admin signs in', async () => {
    await login(page, cfg.url, cfg.adminEmail, cfg.adminPassword)
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    await page.waitForSelector('[data-test=server-counts]')
    await page.waitForSelector('[data-test=nav-admin-nodes]')
    await run.shot(page, '01-dashboard')
  })

  await run.step('nodes page shows the node online', async () => {
    await page.click('[data-test=nav-admin-nodes]')
    await page.waitForSelector(`[data-node="${cfg.nodeName}"] [data-status=online]`)
    await run.shot(page, '02-nodes')
  })

  let serverURL = ''
  await run.step('admin creates a server through the form and it runs', async () => {
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
    await run.shot(page, '03-server-running')
  })

  await run.step('stop asks for confirmation, then the server is stopped', async () => {
    await stopServer(page)
  })

  await run.step('start brings it back to running', async () => {
    await startServer(page)
    await page.waitForSelector('[data-test=operations] tbody tr >> nth=2')
  })

  await run.step('the servers list shows it with a state badge', async () => {
    await page.click('[data-test=nav-servers]')
    await page.waitForSelector(`[data-server="${cfg.serverName}"] [data-status=running]`)
    await run.shot(page, '04-servers')
  })

  await run.step('delete asks for confirmation, then the server is gone', async () => {
    await deleteServer(page, serverURL, cfg.serverName)
    await page.goto(serverURL)
    await page.waitForSelector('[data-test=not-found]')
  })

  await run.step('admin credits the customer wallet (idempotent manual gateway)', async () => {
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
    await run.shot(page, '05-admin-user-wallet')
  })

  await run.step('other pages render', async () => {
    for (const [nav, sel, name] of [
      ['nav-admin-operations', '[data-test=operations] tbody tr', '06-admin-operations'],
      ['nav-admin-operations', '[data-test=queues] tbody tr[data-queue^="node:"]', '06-admin-operations'],
      ['nav-admin-plans', '[data-test=admin-plans]', '07-admin-plans'],
      ['nav-admin-users', '[data-test=users] tbody tr', '08-admin-users'],
      ['nav-wallet', 'h1', '09-wallet'],
      ['nav-plans', 'h1', '10-plans'],
      ['nav-tokens', '[data-test=token-form]', '11-tokens'],
      ['nav-profile', '[data-test=profile]', '12-profile'],
      ['nav-admin-resellers', '[data-test=resellers]', '12a-admin-resellers'],
      ['nav-admin-subscriptions', '[data-test=subscriptions]', '12b-admin-subscriptions'],
      ['nav-admin-invoices', '[data-test=invoices]', '12c-admin-invoices'],
      ['nav-admin-coupons', '[data-test=coupons]', '12d-admin-coupons'],
      ['nav-admin-audit', '[data-test=audit] tbody tr', '12e-admin-audit'],
      ['nav-admin-settings', '[data-test=settings] [data-section]', '12f-admin-settings'],
      ['nav-activity', '[data-test=activity]', '12g-activity'],
    ]) {
      await page.click(`[data-test=${nav}]`)
      await page.waitForSelector(sel)
      await run.shot(page, name)
    }
  })

  await run.step('language switch to 中文 changes the navigation and is kept', async () => {
    await page.selectOption('[data-test=language]', 'zh-CN')
    await page.waitForSelector('[data-test=nav-servers]:has-text("服务器")')
    await page.reload()
    await page.waitForSelector('[data-test=nav-servers]:has-text("服务器")')
    await page.waitForSelector('[data-test=nav-admin-nodes]:has-text("节点")')
    await page.click('[data-test=nav-dashboard]')
    await page.waitForSelector('[data-test=server-counts]')
    await run.shot(page, '13-dashboard-zh')
    await page.selectOption('[data-test=language]', 'en')
    await page.waitForSelector('[data-test=nav-servers]:has-text("Servers")')
  })

  await run.step('dark mode toggle is applied and kept', async () => {
    await page.click('[data-test=theme]')
    const theme = await page.getAttribute('html', 'data-theme')
    await page.reload()
    await page.waitForSelector('[data-test=server-counts]')
    if ((await page.getAttribute('html', 'data-theme')) !== theme) throw new Error('theme not kept')
    await run.shot(page, `14-dashboard-${theme}`)
  })

  let confirmStep = 0
  await run.step('two-factor enrolment on the security page', async () => {
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
    await run.shot(page, '15-security-2fa')
    cfg.secret = secret
  })

  await run.step('sign out, then sign in again with a TOTP code', async () => {
    await page.click('[data-test=logout]')
    await page.waitForURL(/\/login/)
    await page.fill('#email', cfg.adminEmail)
    await page.fill('#password', cfg.adminPassword)
    await page.click('[data-test=login-submit]')
    await page.waitForSelector('[data-test=code]')
    await run.shot(page, '16-login-2fa')
    // The code of the step used to confirm is spent; the next step's code is accepted
    // (±1 step of skew) until the step after it has passed.
    await page.fill('[data-test=code]', totp(cfg.secret, Math.max(nowStep(), confirmStep + 1)))
    await page.click('[data-test=login-submit]')
    await page.waitForSelector('[data-test=server-counts]')
  })
}
