# Nimbo — build, run and test on a Debian 12 machine (as root). `make help` lists the targets.
# Services (Redis, PostgreSQL, LXD, the busybox image) are set up by .ci/services.sh,
# the local panel + daemon are run by .ci/local.sh.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
GOTESTFLAGS ?=
BENCH_FLAGS ?=
# staticcheck 2025.1.1 (the module proxy knows it by its semver v0.6.1).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1

# Where the tests find the services that `make test` starts (override to use others).
export NIMBO_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export NIMBO_TEST_POSTGRES_DSN ?= postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable
export NIMBO_TEST_INCUS_SOCKET ?= /var/lib/lxd/unix.socket
export NIMBO_TEST_IMAGE ?= busybox

.NOTPARALLEL:

GO_FILES = $(shell find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -not -path './bin/*')

.PHONY: help build run stop status test bench lint vet fmt-check test-go test-frontend \
	services-run services-test check-go compose-secrets clean

help:
	@echo "Nimbo make targets:"
	@echo "  make run        install+start Redis/LXD/image, build, start panel + local node daemon, print URL and admin login"
	@echo "  make stop       stop the panel and daemon started by 'make run'"
	@echo "  make status     is the panel / daemon running?"
	@echo "  make test       install+start Redis/PostgreSQL/LXD/image, go vet, gofmt check, go test -race"
	@echo "  make bench      services as for 'make test', then go run ./backend/cmd/nimbo-bench \$$BENCH_FLAGS"
	@echo "  make bench-ui   the portal only: navigation → rendered server list (1,000 servers) in headless Chromium"
	@echo "  make lint       go vet, gofmt check, staticcheck (when it can be downloaded)"
	@echo "  make build      build bin/nimbo-panel and bin/nimbo-daemon"
	@echo "  make test-frontend  web portal: npm install (locked), build, unit tests, vue-tsc, eslint, browser e2e (headless Chromium)"
	@echo "  make frontend-build build the web portal into frontend/dist (embedded by 'make build')"
	@echo "  make clean      remove bin/ and coverage files"
	@echo "  make compose-secrets  create secrets/ for docker-compose.yml (once)"

check-go:
	@command -v $(GO) >/dev/null || { echo "ERROR: Go 1.26 or newer is needed in PATH (e.g. /usr/local/go/bin)" >&2; exit 1; }
	@echo "==> $$($(GO) version)"

build: check-go frontend-build
	@echo "==> go build -o bin/ ./backend/cmd/nimbo-panel ./daemon/cmd/nimbo-daemon"
	@$(GO) build -o bin/ ./backend/cmd/nimbo-panel ./daemon/cmd/nimbo-daemon

services-run:
	@.ci/services.sh run

services-test:
	@.ci/services.sh test

run: services-run build
	@.ci/local.sh run

stop:
	@.ci/local.sh stop

status:
	@.ci/local.sh status

vet: check-go
	@echo "==> go vet ./..."
	@$(GO) vet ./...

fmt-check:
	@echo "==> gofmt -l (must list nothing)"
	@out=$$(gofmt -l $(GO_FILES) </dev/null); if [ -n "$$out" ]; then echo "$$out"; echo "ERROR: files above need gofmt -w" >&2; exit 1; fi

# The web portal (frontend/): Vue 3 + TypeScript + Vite, embedded into nimbo-panel by go:embed.
# The locked dependencies are installed only when node_modules is missing or older than
# package-lock.json. `npm install --no-save` installs exactly the locked versions and leaves the
# lock untouched; `npm ci` is not used because it refuses the lock file npm 11 writes here (the
# lock lacks rollup's optional packages for other platforms, and npm ci reports them missing).
.PHONY: frontend-deps frontend-build bench-frontend check-node
NODE_MIN_MAJOR := 20

check-node:
	@command -v node >/dev/null || { echo "ERROR: Node.js $(NODE_MIN_MAJOR) or newer is needed in PATH for the web portal" >&2; exit 1; }
	@major=$$(node -p 'process.versions.node.split(".")[0]'); if [ "$$major" -lt $(NODE_MIN_MAJOR) ]; then \
		echo "ERROR: Node.js $$(node --version) is too old for the web portal: $(NODE_MIN_MAJOR) or newer is needed" >&2; exit 1; fi

frontend-deps: check-node
	@if [ ! -f frontend/node_modules/.package-lock.json ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then \
		echo "==> frontend: npm install --no-save (locked versions)"; cd frontend && npm install --no-audit --no-fund --no-save; \
	else echo "==> frontend: node_modules up to date"; fi

# Skipped (with a message, the binary then answers "/" with a page saying so) only when node
# is missing on a developer machine; in CI a missing node fails the build.
frontend-build:
	@if ! command -v node >/dev/null && [ "$${CI:-}" != "true" ]; then \
		echo "==> frontend: node not found: SKIPPING the web portal build (nimbo-panel will serve a 'portal not built' page)"; \
		echo "    install Node.js $(NODE_MIN_MAJOR)+ and run 'make build' again to embed the portal"; \
	else $(MAKE) --no-print-directory frontend-deps && echo "==> frontend: npm run build" && cd frontend && npm run build --silent; fi

# Unit tests (Vitest), type check (vue-tsc), lint (ESLint, zero warnings), then the browser
# end-to-end test: backend/internal/e2e TestUIBrowser builds the panel with the portal just
# built, starts the real stack and runs frontend/e2e/run.mjs in headless Chromium
# (screenshots in frontend/e2e/artifacts/).
test-frontend: frontend-build
	@echo "==> frontend: npm test (vitest, vue-tsc, eslint)"
	@cd frontend && npm test --silent
	@echo "==> frontend: browser end-to-end (go test -run '^TestUIBrowser$$' ./backend/internal/e2e/)"
	@$(GO) test -race -count=1 -timeout 15m -run '^TestUIBrowser$$' ./backend/internal/e2e/

bench-frontend: frontend-build
	@echo "==> frontend: production bundle size"
	@node frontend/scripts/bundle-size.mjs

# Navigation → rendered server list: nimbo-bench -ui builds the panel with the portal just built
# (frontend/dist), seeds 1,000 servers of one customer on SQLite and PostgreSQL (-drivers) and
# runs frontend/scripts/ui-bench.mjs in headless Chromium (-ui-n samples per kind).
BENCH_UI := $(GO) run ./backend/cmd/nimbo-bench -ui
.PHONY: bench-ui
bench-ui: services-test check-go frontend-build
	@echo "==> frontend: navigation → rendered server list ($(BENCH_UI) $(BENCH_FLAGS))"
	@$(BENCH_UI) $(BENCH_FLAGS)

test-go: check-go
	@echo "==> test services: NIMBO_TEST_REDIS_URL=$$NIMBO_TEST_REDIS_URL"
	@echo "                   NIMBO_TEST_POSTGRES_DSN=$$NIMBO_TEST_POSTGRES_DSN"
	@echo "                   NIMBO_TEST_INCUS_SOCKET=$$NIMBO_TEST_INCUS_SOCKET NIMBO_TEST_IMAGE=$$NIMBO_TEST_IMAGE CI=$${CI:-}"
	@echo "==> go test -race -count=1 -timeout 30m $(GOTESTFLAGS) ./..."
	@$(GO) test -race -count=1 -timeout 30m $(GOTESTFLAGS) ./...

# go test runs last so that its summary closes the output.
test: services-test vet fmt-check test-frontend test-go
# make test runs the browser end-to-end test once, in test-frontend.
test: GOTESTFLAGS += -skip '^TestUIBrowser$$'

# nimbo-bench: create latency, list throughput, then one billing pass over 100,000 due monthly
# subscriptions on PostgreSQL (-billing-subs, -billing-batch, -billing-workers, -skip-billing).
bench: services-test check-go
	@echo "==> go run ./backend/cmd/nimbo-bench $(BENCH_FLAGS)"
	@$(GO) run ./backend/cmd/nimbo-bench $(BENCH_FLAGS)
	@$(MAKE) --no-print-directory bench-frontend
	@echo "==> frontend: navigation → rendered server list ($(BENCH_UI) $(BENCH_FLAGS))"
	@$(BENCH_UI) $(BENCH_FLAGS)

lint: vet fmt-check
	@echo "==> staticcheck ($(STATICCHECK))"
	@if $(GO) run $(STATICCHECK) -version >/dev/null 2>&1; then \
		$(GO) run $(STATICCHECK) ./...; \
	else \
		echo "    staticcheck could not be downloaded or built: skipped"; \
	fi

# Secrets for docker-compose.yml: one random PostgreSQL password, and the panel's DSN using it.
compose-secrets:
	@mkdir -p secrets && chmod 700 secrets
	@if [ -f secrets/postgres_password ]; then echo "==> secrets/ already present"; else \
		pw=$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'); \
		umask 077; printf '%s' "$$pw" > secrets/postgres_password; \
		printf 'postgres://nimbo:%s@postgres:5432/nimbo?sslmode=disable' "$$pw" > secrets/database_dsn; \
		echo "==> wrote secrets/postgres_password and secrets/database_dsn"; fi

clean:
	@echo "==> rm -rf bin/ coverage files"
	@rm -rf bin/ coverage.out coverage.html cover.out *.coverprofile
