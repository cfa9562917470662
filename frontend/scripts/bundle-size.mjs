// Production bundle size of the portal (make bench): every file of dist/ gzip-compressed as
// the panel serves it, the total, the largest chunk and what the first page load needs.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p) : n.startsWith('.') ? [] : [p]
  })
}

const all = files(dist)
if (!all.some((f) => f.endsWith('index.html'))) {
  console.error('frontend/dist has no build: run `npm run build` first')
  process.exit(1)
}
const rows = all.map((f) => {
  const raw = readFileSync(f)
  return { file: relative(dist, f), raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length }
})
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`
const sum = (rs, k) => rs.reduce((a, r) => a + r[k], 0)
const code = rows.filter((r) => /\.(js|css)$/.test(r.file))
const largest = code.reduce((a, r) => (r.gzip > a.gzip ? r : a), code[0])
// The first load: index.html and the files it references directly.
const index = readFileSync(join(dist, 'index.html'), 'utf8')
const first = rows.filter((r) => r.file === 'index.html' || index.includes(`/${r.file}`))

console.log(`portal bundle: ${rows.length} files`)
console.log(`  total            ${kb(sum(rows, 'raw')).padStart(10)} raw, ${kb(sum(rows, 'gzip')).padStart(10)} gzip`)
console.log(`  first page load  ${kb(sum(first, 'raw')).padStart(10)} raw, ${kb(sum(first, 'gzip')).padStart(10)} gzip (${first.map((r) => r.file).join(', ')})`)
console.log(`  largest chunk    ${kb(largest.raw).padStart(10)} raw, ${kb(largest.gzip).padStart(10)} gzip (${largest.file})`)
