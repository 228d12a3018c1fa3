# edgerewrite — the Make targets are the contract (see README.md).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//' || echo 0.0.0)
PKG_VERSION ?= 0.1.0
LDFLAGS := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 2m

.PHONY: all build deps lint unit test demo bench fuzz package package-check clean

all: build

## build: compile the daemon into bin/edgerewrite
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/edgerewrite ./cmd/edgerewrite

## deps: install the Debian packages the tests need (Postfix, swaks, OpenDKIM, lintian, rpm) when missing
deps:
	@bash integration/install-deps.sh

## lint: gofmt, go vet and staticcheck (pinned as a tool in go.mod)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go'; git ls-files -o --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## unit: the Go tests of every package, with the race detector, in random order
unit:
	EDGEREWRITE_REQUIRE_POSTFIX=1 $(GO) test -race -shuffle=on -count=1 -timeout 15m ./...

## test: everything CI runs — dependencies, lint, all tests (unit and end to end through a real Postfix), packages
test: deps lint unit package-check

## demo: a throwaway Postfix + edgerewrite + sink, a handful of messages, before -> after
demo: deps build
	$(GO) run ./integration/demo -bin bin/edgerewrite

## bench: Go benchmarks and the end-to-end load benchmark; rewrites BENCHMARKS.md
bench: deps build
	$(GO) run ./integration/bench -bin bin/edgerewrite -out BENCHMARKS.md

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## package: build dist/*.deb and dist/*.rpm with nfpm (pinned as a tool in go.mod)
package: build
	@mkdir -p dist
	PKG_VERSION=$(PKG_VERSION) bash packaging/build.sh

## package-check: build the packages and check them (lintian, install, check, remove, purge, rpm queries)
package-check: package
	bash packaging/check.sh

clean:
	rm -rf bin dist
