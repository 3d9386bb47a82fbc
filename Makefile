# Switchyard's everyday commands. `make test` is the one CI runs.
GO ?= go

.PHONY: run test e2e bench lint build

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
	$(GO) test -race -count=1 ./...

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
