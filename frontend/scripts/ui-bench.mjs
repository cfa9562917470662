// Navigation → rendered server list, in headless Chromium (make bench; started by
// backend/cmd/nimbo-bench -ui, which starts a real panel serving the embedded portal, seeds
// the servers of one customer and passes them in):
//
//   NIMBO_BENCH_URL                the panel, e.g. http://127.0.0.1:41234
//   NIMBO_BENCH_EMAIL / _PASSWORD  the customer who owns the servers
//   NIMBO_BENCH_SERVERS            how many servers the customer has (the list total to expect)
//   NIMBO_BENCH_LABEL              what to name the run in the heading (the database)
//   NIMBO_BENCH_N                  samples per kind (default 20)
//   NIMBO_BENCH_CHROMIUM           the browser (default /usr/bin/chromium)
//   NIMBO_BENCH_ARTIFACTS          where a failure screenshot goes (default the system temp dir)
//
// Kinds, each median/min/max over N samples, timed inside the page (performance.now(), whose
// origin is the start of the navigation) until the frame that shows the first page of rows has
// been painted:
//   cold        a new page of the signed-in browser context opens /servers (the portal's files
//               come from the HTTP cache, as for a returning visitor);
//   first visit the same in a new context holding only the session cookie (empty cache);
//   in-app      on the dashboard, a click on the Servers link (from the click event);
//   per_page    cold with /servers?per_page=100, measured only when the page honours it.
// For each, the Resource Timing of the GET /api/v1/servers request shows where the time goes.
// Exits 1, with a screenshot, when the rows never render or the list is not what was seeded.
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'

function env(name, def) {
  const v = process.env[name] ?? def
  if (v === undefined || v === '') {
    console.error(`ui-bench: missing environment variable ${name}`)
    process.exit(2)
  }
  return v
}

function count(name, def) {
  const v = Number(env(name, def))
  if (!Number.isInteger(v) || v < 1) {
    console.error(`ui-bench: ${name} must be a positive integer, not ${process.env[name]}`)
    process.exit(2)
  }
  return v
}

const cfg = {
  url: env('NIMBO_BENCH_URL').replace(/\/$/, ''),
  email: env('NIMBO_BENCH_EMAIL'),
  password: env('NIMBO_BENCH_PASSWORD'),
  servers: count('NIMBO_BENCH_SERVERS'),
  label: env('NIMBO_BENCH_LABEL', 'panel'),
  n: count('NIMBO_BENCH_N', '20'),
  chromium: env('NIMBO_BENCH_CHROMIUM', '/usr/bin/chromium'),
  artifacts: resolve(env('NIMBO_BENCH_ARTIFACTS', tmpdir())),
}

const ROWS = '[data-test=servers-table] [data-server]'
const WAIT = 30_000

/**
 * probe runs in every document of the bench before the portal's own scripts. Once armed with
 * the number of rows to wait for, it records when that many rows are in the DOM (domAt) and
 * when the frame showing them has been painted (paintAt: a message posted from the next
 * animation frame is delivered after that frame is drawn), and the time of a click on the
 * Servers link (clickAt).
 */
function probe(args) {
  const b = { want: args.want, domAt: null, paintAt: null, clickAt: null }
  const check = () => {
    if (b.want <= 0 || b.domAt !== null) return
    if (document.querySelectorAll(args.rows).length >= b.want) {
      b.domAt = performance.now()
      requestAnimationFrame(() => {
        const ch = new MessageChannel()
        ch.port1.onmessage = () => {
          b.paintAt = performance.now()
        }
        ch.port2.postMessage(null)
      })
    }
  }
  b.arm = (want) => {
    b.want = want
    b.domAt = null
    b.paintAt = null
    b.clickAt = null
    check()
  }
  window.__nimboBench = b
  new MutationObserver(check).observe(document, { childList: true, subtree: true })
  document.addEventListener(
    'click',
    (e) => {
      if (e.target instanceof Element && e.target.closest('[data-test=nav-servers]')) b.clickAt = e.timeStamp
    },
    true,
  )
}

/** measure reads the probe's marks and the Resource Timing of GET /api/v1/servers after `from`. */
function measure(args) {
  const b = window.__nimboBench
  const from = args.fromClick ? b.clickAt : 0
  const api = performance
    .getEntriesByType('resource')
    .filter((e) => new URL(e.name).pathname === '/api/v1/servers' && e.startTime >= from && e.responseEnd <= b.domAt)
    .pop()
  const nav = performance.getEntriesByType('navigation')[0]
  return {
    from,
    started: args.fromClick || !nav ? null : nav.domContentLoadedEventEnd,
    dom: b.domAt,
    paint: b.paintAt,
    rows: document.querySelectorAll(args.rows).length,
    api: api && {
      url: new URL(api.name).pathname + new URL(api.name).search,
      start: api.startTime,
      ttfb: api.responseStart - api.requestStart,
      end: api.responseEnd,
    },
  }
}

let current = null
const pageErrors = []

function watch(page) {
  current = page
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`))
  return page
}

async function fail(msg) {
  console.error(`ui-bench: ${msg}`)
  if (current && !current.isClosed()) {
    const shot = join(cfg.artifacts, `nimbo-ui-bench-failure-${cfg.label}.png`)
    try {
      await current.screenshot({ path: shot, fullPage: true })
      console.error(`ui-bench: the page at that moment: ${shot} (${current.url()})`)
    } catch (e) {
      console.error(`ui-bench: no screenshot: ${e.message}`)
    }
  }
  process.exit(1)
}

/** waitPainted waits until the probe has seen the rows painted, or fails the run. */
async function waitPainted(page, what) {
  try {
    await page.waitForFunction(() => window.__nimboBench?.paintAt !== null, null, { timeout: WAIT })
  } catch {
    const rows = await page.locator(ROWS).count().catch(() => -1)
    await fail(`${what}: the server list never showed its rows within ${WAIT / 1000}s (${rows} rows in the table)`)
  }
  if (pageErrors.length) await fail(`script errors in the portal:\n  ${pageErrors.join('\n  ')}`)
}

/** sample checks one measurement and returns it relative to its start. */
async function sample(page, want, what, fromClick) {
  await waitPainted(page, what)
  const m = await page.evaluate(measure, { rows: ROWS, fromClick })
  if (m.rows !== want) await fail(`${what}: ${m.rows} rows shown, want ${want}`)
  if (m.from === null) await fail(`${what}: the click on the Servers link was not seen`)
  if (!m.api) await fail(`${what}: no GET /api/v1/servers in the page's Resource Timing before the rows appeared`)
  return {
    rendered: m.paint - m.from,
    started: m.started,
    dom: m.dom - m.from,
    apiStart: m.api.start - m.from,
    apiEnd: m.api.end - m.from,
    ttfb: m.api.ttfb,
    url: m.api.url,
  }
}

/**
 * quiet resolves once the page has had no request in flight for 300 ms (the dashboard's own
 * requests done), or after 10 s; it returns how many requests were still in flight.
 */
async function quiet(page, inflight) {
  const deadline = Date.now() + 10_000
  let since = Date.now()
  while (Date.now() < deadline) {
    if (inflight.size > 0) since = Date.now()
    else if (Date.now() - since >= 300) return 0
    await new Promise((r) => setTimeout(r, 25))
  }
  return inflight.size
}

/** firstLoad opens path once (not measured) and returns the list answer and the rows shown. */
async function firstLoad(context, path) {
  const page = watch(await context.newPage())
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/servers', { timeout: WAIT })
  await page.goto(cfg.url + path, { waitUntil: 'commit' })
  let res
  try {
    res = await answer
  } catch {
    await fail(`${path}: the page never asked for GET /api/v1/servers`)
  }
  if (res.status() !== 200) await fail(`${path}: GET ${res.url()} answered ${res.status()}: ${await res.text()}`)
  const list = await res.json()
  const shown = Math.min(list.per_page, list.total)
  try {
    await page.locator(ROWS).nth(shown - 1).waitFor({ timeout: WAIT })
  } catch {
    await fail(`${path}: the server list never showed its ${shown} rows`)
  }
  return { page, list, asked: new URL(res.url()).searchParams, shown }
}

const quantiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  return { median: mid, min: s[0], max: s[s.length - 1] }
}
const med = (xs) => quantiles(xs).median
const ms = (v) => `${v.toFixed(1)}ms`

function report(name, note, samples) {
  const q = quantiles(samples.map((s) => s.rendered))
  const label = name.padEnd(13)
  console.log(`  ${label}median ${ms(q.median).padEnd(9)} min ${ms(q.min).padEnd(9)} max ${ms(q.max).padEnd(9)} ${note}`)
  const at = (k) => ms(med(samples.map((s) => s[k])))
  const started = samples[0].started === null ? '' : `app started (DOMContentLoaded) ${at('started')}, `
  console.log(
    `  ${''.padEnd(13)}medians: ${started}GET ${samples[0].url} sent ${at('apiStart')}, answered ${at('apiEnd')} ` +
      `(request→first byte ${at('ttfb')}), rows in the DOM ${at('dom')}, painted ${at('rendered')}`,
  )
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
})
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const login = await context.request.post(cfg.url + '/api/v1/auth/login', {
    data: { email: cfg.email, password: cfg.password },
    failOnStatusCode: false,
  })
  if (login.status() !== 200) await fail(`sign-in as ${cfg.email}: ${login.status()} ${await login.text()}`)
  const session = await context.storageState()

  // One unmeasured visit: the portal's files into the HTTP cache, and the list checked.
  const first = await firstLoad(context, '/servers')
  if (first.list.total !== cfg.servers) await fail(`the list shows a total of ${first.list.total}, ${cfg.servers} were seeded`)
  const want = first.shown
  if (cfg.servers > want) {
    // More than one page: the pager shows the total (in the locale's digit grouping).
    const pager = (await first.page.locator('[data-test=pager]').textContent({ timeout: WAIT }).catch(() => '')) ?? ''
    const digits = pager.replace(/(\d)[,.\s\u00a0\u202f](?=\d{3}(\D|$))/g, '$1')
    if (!new RegExp(`(^|\\D)${cfg.servers}(\\D|$)`).test(digits)) {
      await fail(`the pager does not show the total ${cfg.servers}: "${pager.trim()}"`)
    }
  }
  await first.page.close()
  await context.addInitScript(probe, { want, rows: ROWS })

  console.log(`\n== portal: navigation → rendered server list (${cfg.servers} servers, ${cfg.label}, n=${cfg.n})`)

  const cold = []
  for (let i = 0; i < cfg.n; i++) {
    const page = watch(await context.newPage())
    await page.goto(cfg.url + '/servers', { waitUntil: 'commit' })
    cold.push(await sample(page, want, 'cold navigation', false))
    await page.close()
  }
  report('cold', '(new page in the signed-in context, files from the HTTP cache)', cold)

  const fresh = []
  for (let i = 0; i < cfg.n; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState: session })
    await ctx.addInitScript(probe, { want, rows: ROWS })
    const page = watch(await ctx.newPage())
    await page.goto(cfg.url + '/servers', { waitUntil: 'commit' })
    fresh.push(await sample(page, want, 'first visit', false))
    await ctx.close()
  }
  report('first visit', '(new context with the session cookie only: empty HTTP cache)', fresh)

  const inApp = []
  const page = watch(await context.newPage())
  const inflight = new Set()
  page.on('request', (r) => inflight.add(r))
  page.on('requestfinished', (r) => inflight.delete(r))
  page.on('requestfailed', (r) => inflight.delete(r))
  let busy = 0
  for (let i = 0; i < cfg.n; i++) {
    await page.goto(cfg.url + '/', { waitUntil: 'commit' })
    try {
      await page.locator('[data-test=nav-servers]').waitFor({ timeout: WAIT })
    } catch {
      await fail('the dashboard never showed the Servers link [data-test=nav-servers]')
    }
    busy = Math.max(busy, await quiet(page, inflight))
    await page.evaluate((w) => {
      performance.clearResourceTimings()
      window.__nimboBench.arm(w)
    }, want)
    await page.locator('[data-test=nav-servers]').click()
    inApp.push(await sample(page, want, 'in-app navigation', true))
  }
  await page.close()
  report(
    'in-app',
    busy ? `(click on Servers on the dashboard; ${busy} dashboard requests were still in flight)` : '(click on Servers on the dashboard)',
    inApp,
  )

  // per_page=100, when the page takes its page size from the query: in a context of its own
  // (the probe waits for that many rows), its files cached by a first unmeasured visit.
  const wideContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState: session })
  const big = await firstLoad(wideContext, '/servers?per_page=100')
  await big.page.close()
  if (big.asked.get('per_page') !== '100' || big.list.per_page !== 100) {
    console.log(`  per_page=100 skipped: the server list page ignores ?per_page (it asked for GET /api/v1/servers?${big.asked})`)
  } else {
    await wideContext.addInitScript(probe, { want: big.shown, rows: ROWS })
    const wide = []
    for (let i = 0; i < cfg.n; i++) {
      const p = watch(await wideContext.newPage())
      await p.goto(cfg.url + '/servers?per_page=100', { waitUntil: 'commit' })
      wide.push(await sample(p, big.shown, 'cold navigation with per_page=100', false))
      await p.close()
    }
    report('per_page=100', `(cold, ${big.shown} rows)`, wide)
  }
  await wideContext.close()
} finally {
  await browser.close()
}
