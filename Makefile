# edgerewrite — the Make targets are the contract (see README.md).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//' || echo 0.0.0)
PKG_VERSION ?= 0.1.0
LDFLAGS := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 2m
# FUZZTIME_SHORT is how long `make test` fuzzes each target: long enough to catch a target that
# fails in its first seconds, short enough that all of them together stay under two minutes on
# two cores (building and starting each target takes longer than the fuzzing).
FUZZTIME_SHORT ?= 3s

# fuzz_targets prints "package FuzzName" for every fuzz target in the module. It reads the test
# files go list names (so build constraints apply) instead of running `go test -list`, which
# would link a test binary per package just to list names.
fuzz_targets = $(GO) list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' ./... | \
	while read -r pkg dir files; do \
		[ -n "$$files" ] || continue; \
		(cd "$$dir" && grep -ho '^func Fuzz[A-Za-z0-9_]*' $$files) | sed "s|^func |$$pkg |"; \
	done

.PHONY: all build deps lint unit test scale demo bench fuzz fuzz-short package package-check clean

all: build

## build: compile the daemon into bin/edgerewrite
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/edgerewrite ./cmd/edgerewrite

## deps: install the Debian packages the tests need (Postfix, swaks, OpenDKIM, lintian, rpm) when missing
deps:
	@bash integration/install-deps.sh

## lint: go.mod and go.sum tidy, gofmt, go vet and staticcheck (pinned as a tool in go.mod)
lint:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@unformatted=$$(gofmt -l $$(git ls-files '*.go'; git ls-files -o --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## unit: the Go tests of every package, with the race detector, in random order
unit:
	EDGEREWRITE_REQUIRE_POSTFIX=1 $(GO) test -race -shuffle=on -count=1 -timeout 15m ./...

## test: everything CI runs — dependencies, lint, all tests (unit and end to end through a real Postfix), a short fuzz of every target, packages
test: deps lint unit fuzz-short package-check

## scale: the scale tests (minutes, up to ~2 GiB): heap under sustained load, latency during a large reload
scale:
	EDGEREWRITE_SCALE=1 $(GO) test -run '^TestScale' -count=1 -v -timeout 60m ./...

## demo: a throwaway Postfix + edgerewrite + sink, a handful of messages, before -> after
demo: deps build
	$(GO) run ./integration/demo -bin bin/edgerewrite

## bench: Go benchmarks and the end-to-end load benchmark; rewrites BENCHMARKS.md
bench: deps build
	$(GO) run ./integration/bench -bin bin/edgerewrite -out BENCHMARKS.md

## fuzz: run every fuzz target for FUZZTIME each, one after another
# It stops at the first target that fails; the failing input is left in testdata/fuzz/, to be
# committed with the fix.
fuzz:
	@set -o pipefail; targets=$$($(fuzz_targets)) && [ -n "$$targets" ] || { echo "no fuzz targets found"; exit 1; }; \
	while read -r pkg f; do GO=$(GO) bash integration/fuzz.sh $$pkg $$f $(FUZZTIME) || exit 1; done <<< "$$targets"

## fuzz-short: run every fuzz target for FUZZTIME_SHORT each (part of make test)
# Two targets at a time with one fuzzing worker each: building and starting a target costs more
# than its few seconds of fuzzing, and that way two cores overlap it. A target's output is shown
# when it fails.
fuzz-short:
	@set -o pipefail; $(fuzz_targets) | GO=$(GO) FUZZ_QUIET=1 FUZZ_FLAGS=-parallel=1 \
		xargs -P 2 -L 1 sh -c 'bash integration/fuzz.sh "$$0" "$$1" $(FUZZTIME_SHORT) || exit 255'

## package: build dist/*.deb and dist/*.rpm with nfpm (pinned as a tool in go.mod)
package: build
	@mkdir -p dist
	PKG_VERSION=$(PKG_VERSION) bash packaging/build.sh

## package-check: build the packages and check them (lintian, install, check, remove, purge, rpm queries)
package-check: package
	bash packaging/check.sh

clean:
	rm -rf bin dist
