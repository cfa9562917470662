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
	@echo "  make lint       go vet, gofmt check, staticcheck (when it can be downloaded)"
	@echo "  make build      build bin/nimbo-panel and bin/nimbo-daemon"
	@echo "  make clean      remove bin/ and coverage files"
	@echo "  make compose-secrets  create secrets/ for docker-compose.yml (once)"

check-go:
	@command -v $(GO) >/dev/null || { echo "ERROR: Go 1.26 or newer is needed in PATH (e.g. /usr/local/go/bin)" >&2; exit 1; }
	@echo "==> $$($(GO) version)"

build: check-go
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

# Hook for the frontend's own tests: runs once frontend/package.json exists.
test-frontend:
	@if [ -f frontend/package.json ]; then \
		echo "==> frontend: npm ci && npm test"; \
		cd frontend && npm ci --no-audit --no-fund && npm test; \
	else \
		echo "==> frontend: no frontend/package.json yet, nothing to test"; \
	fi

test-go: check-go
	@echo "==> test services: NIMBO_TEST_REDIS_URL=$$NIMBO_TEST_REDIS_URL"
	@echo "                   NIMBO_TEST_POSTGRES_DSN=$$NIMBO_TEST_POSTGRES_DSN"
	@echo "                   NIMBO_TEST_INCUS_SOCKET=$$NIMBO_TEST_INCUS_SOCKET NIMBO_TEST_IMAGE=$$NIMBO_TEST_IMAGE CI=$${CI:-}"
	@echo "==> go test -race -count=1 -timeout 30m $(GOTESTFLAGS) ./..."
	@$(GO) test -race -count=1 -timeout 30m $(GOTESTFLAGS) ./...

# go test runs last so that its summary closes the output.
test: services-test vet fmt-check test-frontend test-go

bench: services-test check-go
	@echo "==> go run ./backend/cmd/nimbo-bench $(BENCH_FLAGS)"
	@$(GO) run ./backend/cmd/nimbo-bench $(BENCH_FLAGS)

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
