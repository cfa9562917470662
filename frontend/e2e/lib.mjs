// Shared pieces of the browser end-to-end flows: configuration from the environment, TOTP
// codes, steps that screenshot the page on failure, and waits the flows share.
import { createHmac } from 'node:crypto'
import { join } from 'node:path'

/** env reads a required environment variable (def when unset), exiting 2 when missing. */
export function env(name, def) {
  const v = process.env[name] ?? def
  if (v === undefined || v === '') {
    console.error(`missing environment variable ${name}`)
    process.exit(2)
  }
  return v
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

/** nowStep is the current 30-second TOTP time step. */
export const nowStep = () => Math.floor(Date.now() / 1000 / 30)

/** Runner numbers the steps, screenshots the current page on a failure and collects uncaught
 * page errors and console errors (CSP violations among them). */
export class Runner {
  constructor(artifacts) {
    this.artifacts = artifacts
    this.current = null
    this.problems = []
    this.passed = 0
  }

  /** step runs fn as one named step; a failure is reported with a screenshot and rethrown. */
  async step(name, fn) {
    const t0 = Date.now()
    try {
      await fn()
      this.passed++
      console.log(`ok ${this.passed} - ${name} (${Date.now() - t0} ms)`)
    } catch (e) {
      console.log(`not ok - ${name}: ${e?.stack ?? e}`)
      if (this.current) {
        const file = join(this.artifacts, `failure-${name.replace(/[^a-z0-9]+/gi, '-')}.png`)
        await this.current.screenshot({ path: file, fullPage: true }).catch(() => undefined)
        console.log(`# screenshot of the failure: ${file}`)
        console.log(`# url: ${this.current.url()}`)
      }
      throw e
    }
  }

  /** shot writes a full-page screenshot artifact. */
  async shot(page, name) {
    await page.screenshot({ path: join(this.artifacts, `${name}.png`), fullPage: true })
  }

  /** watch follows page: its errors become problems and failures screenshot it. */
  watch(page, who) {
    page.on('pageerror', (e) => this.problems.push(`${who}: uncaught ${e.message}`))
    page.on('console', (m) => {
      if (m.type() !== 'error') return
      const text = m.text()
      // Failed API answers (401 before login, the 404 of a foreign server) are expected.
      if (text.startsWith('Failed to load resource')) return
      this.problems.push(`${who}: console error ${text}`)
    })
    this.current = page
  }

  /** focus makes page the one a failure screenshots. */
  focus(page) {
    this.current = page
  }
}

/** login signs in on the login page of base (the panel or a reseller's domain). */
export async function login(page, base, email, password) {
  await page.goto(`${base}/login`)
  await page.fill('#email', email)
  await page.fill('#password', password)
  await page.click('[data-test=login-submit]')
}

/** serverStatus waits until the server page shows status. */
export const serverStatus = (page, status, timeout = 120_000) =>
  page.waitForSelector(`[data-test=server-status][data-status=${status}]`, { timeout })

/** stopServer stops the server of the open server page through the confirmation dialog. */
export async function stopServer(page) {
  await page.click('[data-test=action-stop]')
  await page.waitForSelector('[data-test=confirm-dialog]')
  await page.click('[data-test=confirm]')
  await serverStatus(page, 'stopped')
}

/** startServer starts the stopped server of the open server page. */
export async function startServer(page) {
  await page.waitForSelector('[data-test=action-start]:not([disabled])')
  await page.click('[data-test=action-start]')
  await serverStatus(page, 'running')
}

/** deleteServer deletes the server at serverURL through the confirmation dialog and checks
 * that the servers list no longer shows name. */
export async function deleteServer(page, serverURL, name) {
  await page.goto(serverURL)
  await serverStatus(page, 'running')
  await page.click('[data-test=action-delete]')
  await page.click('[data-test=confirm]')
  await page.waitForSelector('[data-test=deleted]', { timeout: 120_000 })
  await page.click('[data-test=nav-servers]')
  await page.waitForSelector('[data-test=new-server]')
  await page.waitForLoadState('networkidle')
  if (await page.$(`[data-server="${name}"]`)) throw new Error('deleted server still listed')
}

/** waitMail polls the test's mailbox (a loopback HTTP endpoint in front of a real SMTP
 * server the panel sends to) for a message to rcpt whose text matches re; it returns the
 * first capture group of re. */
export async function waitMail(mailbox, rcpt, re, timeout = 30_000) {
  const end = Date.now() + timeout
  for (;;) {
    const r = await fetch(`${mailbox}?to=${encodeURIComponent(rcpt)}`)
    if (!r.ok) throw new Error(`mailbox: ${r.status}`)
    for (const m of await r.json()) {
      const hit = re.exec(m.text)
      if (hit) return hit[1]
    }
    if (Date.now() > end) throw new Error(`no mail to ${rcpt} matching ${re} within ${timeout} ms`)
    await new Promise((res) => setTimeout(res, 250))
  }
}
