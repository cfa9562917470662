// A reseller brands its portal on its own domain; a visitor of that domain sees the brand
// and signs up there, which makes the visitor the reseller's customer.
import { login } from '../lib.mjs'
import { signUp } from './customer.mjs'

/** resellerFlow runs on two fresh desktop pages: the reseller's and a visitor's. */
export async function resellerFlow(run, cfg, page, visitor) {
  await run.step("the reseller's domain shows the reseller's brand on the login page", async () => {
    await page.goto(`${cfg.resellerURL}/login`)
    await page.waitForSelector('[data-test=brand-name]:has-text("Acme Starter")')
    await run.shot(page, '30-reseller-domain-login')
  })

  await run.step('the reseller changes its branding; the portal shows it at once', async () => {
    await login(page, cfg.resellerURL, cfg.resellerEmail, cfg.resellerPassword)
    await page.waitForSelector('[data-test=nav-reseller-overview]')
    await page.click('[data-test=nav-reseller-overview]')
    await page.waitForSelector('[data-test=quota] [data-quota=servers]')
    await run.shot(page, '31-reseller-overview')
    await page.click('[data-test=nav-reseller-branding]')
    await page.waitForSelector('[data-test=branding-form]')
    await page.fill('#b-name', 'Acme Cloud')
    await page.fill('#b-support', 'help@acme.example.test')
    await page.click('[data-test=branding-submit]')
    await page.waitForSelector('[data-test=branding-saved]')
    await page.reload()
    await page.waitForSelector('[data-test=brand-name]:has-text("Acme Cloud")')
    if (!(await page.title()).includes('Acme Cloud')) throw new Error(`title "${await page.title()}" lacks the brand`)
    await run.shot(page, '32-reseller-branding')
    for (const [nav, sel, name] of [
      ['nav-reseller-customers', '[data-test=customers]', '33-reseller-customers'],
      ['nav-reseller-prices', `[data-test=prices] [data-plan="${cfg.planName}"]`, '34-reseller-prices'],
      ['nav-reseller-coupons', '[data-test=coupons]', '35-reseller-coupons'],
    ]) {
      await page.click(`[data-test=${nav}]`)
      await page.waitForSelector(sel)
      await run.shot(page, name)
    }
  })

  await run.step("a visitor of the reseller's domain sees its brand and signs up there", async () => {
    run.focus(visitor)
    await visitor.goto(`${cfg.resellerURL}/login`)
    await visitor.waitForSelector('[data-test=brand-name]:has-text("Acme Cloud")')
    await visitor.waitForSelector('[data-test=support-email]:has-text("help@acme.example.test")')
    const password = 'Brand-' + Math.random().toString(36).slice(2, 12)
    await signUp(visitor, cfg.resellerURL, cfg.brandSignupEmail, password)
    await visitor.waitForSelector('[data-test=brand-name]:has-text("Acme Cloud")')
    await run.shot(visitor, '36-reseller-domain-signup')
    run.focus(page)
  })

  await run.step('the new customer appears in the reseller panel', async () => {
    await page.click('[data-test=nav-reseller-customers]')
    await page.waitForSelector(`[data-customer="${cfg.brandSignupEmail}"]`)
  })
}
