# Switchyard's everyday commands. `make test` is the one CI runs.
GO ?= go

.PHONY: run test e2e bench lint build load

# The whole demo: embedded database, sandbox mode, prints an API key and a checkout link.
run:
	$(GO) run ./server/cmd/switchyard

# Vet, then every test with the race detector. Tests that need a database use
# MySQL/MariaDB when SWITCHYARD_TEST_DATABASE_URL is set, else an embedded engine.
test:
	@if [ -n "$$SWITCHYARD_TEST_DATABASE_URL" ]; then \
		echo "make test: database backend: MySQL/MariaDB at $$(echo "$$SWITCHYARD_TEST_DATABASE_URL" | sed -E 's#^([^:@/]*):[^@]*@#\1:***@#')"; \
	else \
		echo "make test: database backend: embedded engine (set SWITCHYARD_TEST_DATABASE_URL to test against MySQL/MariaDB)"; \
	fi
	$(GO) vet ./...
	node --test web/
	$(GO) test -race -count=1 -timeout 25m ./...

# Black-box tests only: the real server over HTTP, and the built binary.
e2e:
	$(GO) test -count=1 ./e2e/...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

lint:
	@files=$$(gofmt -l .); \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -o bin/switchyard ./server/cmd/switchyard

# Load test: concurrent shoppers pay orders (POST /orders, POST /txns with the
# frictionless sandbox card, GET /orders/{id}) against the app booted in this
# process on a fresh database of the local MariaDB/MySQL (created and dropped);
# prints payments/s, latency percentiles, the orchestrator's own time per
# request (Server-Timing self) and a final consistency check. Options:
# go run ./e2e/load -h; e.g. make load LOAD_FLAGS='-c 64 -d 30s -cpuprofile cpu.pprof'
LOAD_DSN ?= root@tcp(127.0.0.1:3306)/
LOAD_FLAGS ?=
load:
	$(GO) run ./e2e/load -dsn '$(LOAD_DSN)' $(LOAD_FLAGS)
