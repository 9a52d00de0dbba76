# make build writes bin/venvpkg stamped with the version, commit and commit date of the checkout (venvpkg version).
# make bench runs the full benchmark and rewrites docs/benchmarks.md and docs/benchmarks.svg (tens of minutes).
PKG := github.com/venvpkg/venvpkg/internal/cli
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
DATE ?= $(shell git log -1 --format=%cI 2>/dev/null)

.PHONY: build bench
build:
	go build -trimpath -ldflags "-X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)" -o bin/venvpkg ./cmd/venvpkg

bench:
	go run ./bench
