// Some npm packages ship Go sources (flatted has golang/). A go.mod in node_modules makes the
// folder a module of its own, so `go vet ./...` and `go test ./...` of the Nimbo module skip it.
import { existsSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules')
if (existsSync(dir)) {
  writeFileSync(join(dir, 'go.mod'), 'module nimbo.invalid/node_modules\n')
}
