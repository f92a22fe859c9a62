# kanbanshim — see README.md. Needs Go 1.26 and python3; nothing else.
# (`make deps`, run as root on Debian, adds the test-only packages.)
GO      ?= go
BIN     ?= bin
PREFIX  ?= $(HOME)/.local
DURATION ?= 20s
FUZZTIME ?= 5s
CI_TORTURE ?= 60s
CMDS    := $(notdir $(wildcard cmd/*))

# What `--version` prints: the commit (and whether the checkout had
# uncommitted changes) from git, the release from `git describe --tags`
# when the history has a tag. Set VERSION=… to pin it.
CLIKIT  := github.com/kanbanshim/kanbanshim/internal/clikit
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
MODIFIED := $(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true)
LDFLAGS := -X $(CLIKIT).commit=$(COMMIT) -X $(CLIKIT).modified=$(MODIFIED) $(if $(VERSION),-X $(CLIKIT).version=$(VERSION))

.PHONY: all build dist dist-check test deps lint release-check unit stress fuzz bench bench1x torture torture-control demo install clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The CI gate (about 8 minutes on 2 cores): formatting, vet, module
# tidiness, macOS cross-builds (amd64, arm64), no test hooks in the
# release binaries, every test (libraries under the race detector), a
# short fuzz of each parser and argument parser, a 1x run of every
# benchmark, and a $(CI_TORTURE) torture run over both journal modes.
test: lint release-check dist-check unit fuzz bench1x
	$(MAKE) --no-print-directory torture DURATION=$(CI_TORTURE)

bench1x:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./... > /dev/null

# Test-only Debian packages, installed only when asked (`make test`
# installs nothing): bindfs gives the network-fs guard test a real FUSE
# mount; sqlite3 (the CLI) is the reference the end-to-end benchmarks
# measure against. Without them that test and those benchmarks skip.
# Needs root and apt-get. CI (.ci/run) runs it before `make test`.
TEST_DEBS := bindfs sqlite3
deps:
	@missing=; for p in $(TEST_DEBS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -z "$$missing" ]; then echo "test packages present: $(TEST_DEBS)"; exit 0; fi; \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make deps: installing$$missing needs root and apt-get (Debian/Ubuntu)"; exit 1; fi; \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags testhooks ./...
	$(GO) mod tidy -diff
	GOOS=darwin GOARCH=amd64 $(GO) build ./cmd/...
	GOOS=darwin GOARCH=arm64 $(GO) build ./cmd/...

# The release binaries carry no test switch: without the testhooks tag
# nothing links the fault VFS or the KANBANSHIM_TEST_* switches, and the
# built binaries name none. The tagged build must have them, or the
# checks would pass blind.
release-check: build
	@deps=$$($(GO) list -deps ./cmd/...) && \
	  if echo "$$deps" | grep -E '/internal/(faultvfs|testhooks)$$'; then echo "release binaries link test code (above)"; exit 1; fi
	@if strings $(BIN)/* | grep -m 3 KANBANSHIM_TEST_; then echo "release binaries read test switches (above)"; exit 1; fi
	@$(GO) list -deps -tags testhooks ./cmd/kanban | grep -q '/internal/faultvfs$$' || \
	  { echo "release-check is blind: a testhooks build does not link internal/faultvfs"; exit 1; }
	@d=$$(mktemp -d) && $(GO) build -tags testhooks -o $$d/kanban ./cmd/kanban && \
	  strings $$d/kanban | grep -q KANBANSHIM_TEST_FAULT; rc=$$?; rm -rf $$d; \
	  [ $$rc = 0 ] || { echo "release-check is blind: a testhooks build names no KANBANSHIM_TEST_ switch"; exit 1; }
	@echo "release binaries: no internal/faultvfs, no KANBANSHIM_TEST_ switch"

# -short trims the longest real-process suites (16 writers x 10 commands
# instead of x 100, sampled fault sweeps); `make stress` runs them in full.
# The CLI packages' tests are mostly child processes, where the race
# detector only slows start-up, so they run without it.
unit:
	$(GO) test -race -short -count=1 -timeout 20m $$($(GO) list ./... | grep -v /cmd/)
	$(GO) test -short -count=1 -timeout 20m ./cmd/...

# The full-size real-process suites: 16 kanban writers x 100 commands in
# WAL and DELETE with and without a Python peer, and the whole fault sweep.
stress:
	$(GO) test -count=1 -timeout 60m ./shim/store/ ./cmd/...

fuzz:
	@$(GO) list -f '{{.ImportPath}} {{.Dir}}' ./... | while read pkg dir; do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    GO=$(GO) sh scripts/fuzz-one.sh $$pkg $$f $(FUZZTIME) || exit 1; \
	  done; done

# Every benchmark at full size (boards of 1k, 10k and 100k tasks, built
# once into the user cache directory), three times, then the same-run
# ratios and whether each target of docs/PERFORMANCE.md is met.
bench:
	KANBANSHIM_BENCH_FULL=1 $(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 90m ./... | tee bench.txt
	@echo; echo "same-run ratios (medians of 3):"; sh scripts/bench-ratios.sh bench.txt

torture: build
	$(GO) run ./internal/torture -duration $(DURATION) -report torture.json $(TORTURE_FLAGS)

# The control run must FAIL: an unsafe writer (deleting -wal under live
# connections) is caught as corruption or loss by the same checks.
torture-control: build
	@if $(GO) run ./internal/torture -control -duration 60s; then echo "control run passed: the harness is blind"; exit 1; \
	  else echo "control run failed as it must: the harness sees damage"; fi

# A throwaway board under a temporary HERMES_HOME: a short session, then
# the board and its health.
demo: build
	@BIN=$(abspath $(BIN)) sh scripts/demo.sh

# Release binaries: static (CGO_ENABLED=0), -trimpath, for each platform,
# as dist/<tool>-<os>-<arch>, with dist/SHA256SUMS. dist/ is git-ignored.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
dist:
	@rm -rf dist && mkdir -p dist
	@for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
	  for c in $(CMDS); do \
	    echo "dist/$$c-$$os-$$arch"; \
	    CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' \
	      -o dist/$$c-$$os-$$arch ./cmd/$$c || exit 1; \
	  done; done
	@cd dist && if command -v sha256sum >/dev/null 2>&1; then sha256sum *-*; else shasum -a 256 *-*; fi > SHA256SUMS
	@echo "dist/SHA256SUMS"

# What a user downloads from dist/ must be what the README says: every
# tool for every platform, matching SHA256SUMS, built static
# (CGO_ENABLED=0) and -trimpath, free of test switches, and the ones for
# this machine answer --version with their name and SQLite's version.
dist-check: dist
	@cd dist && n=$$(ls *-*-* | wc -l) && want=$$(( $(words $(CMDS)) * $(words $(PLATFORMS)) )) && \
	  [ "$$n" = "$$want" ] || { echo "dist: $$n binaries, want $$want"; exit 1; }
	@cd dist && if command -v sha256sum >/dev/null 2>&1; then sha256sum -c --quiet SHA256SUMS; else shasum -a 256 -c --quiet SHA256SUMS; fi
	@for f in dist/*-*-*; do \
	  m=$$($(GO) version -m $$f) || exit 1; \
	  echo "$$m" | grep -q 'CGO_ENABLED=0' || { echo "$$f: not built with CGO_ENABLED=0"; exit 1; }; \
	  echo "$$m" | grep -q -- '-trimpath=true' || { echo "$$f: not built with -trimpath"; exit 1; }; \
	  if strings $$f | grep -q KANBANSHIM_TEST_; then echo "$$f: names a test switch"; exit 1; fi; \
	done
	@host=$$($(GO) env GOOS)-$$($(GO) env GOARCH); for c in $(CMDS); do \
	  v=$$(dist/$$c-$$host --version) || { echo "dist/$$c-$$host --version failed"; exit 1; }; \
	  echo "$$v" | grep -Eq "^$$c .*SQLite 3\.[0-9]+\.[0-9]+" || { echo "dist/$$c-$$host --version: $$v"; exit 1; }; \
	done
	@echo "dist: $(words $(CMDS)) tools x $(words $(PLATFORMS)) platforms, checksums, static, no test switches, --version ok"

install: build
	@mkdir -p $(PREFIX)/bin
	cp $(BIN)/* $(PREFIX)/bin/
	@echo "installed $(CMDS) into $(PREFIX)/bin"

clean:
	rm -rf $(BIN) dist bench.txt torture.json
