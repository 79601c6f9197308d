# Arbor's build. `make test` is what CI runs (.ci/run); `make bench` prints the
# benchmark figures, each beside its plain-Go baseline; `make bridge` runs the
# Matrix <-> IRC bridge between a local Dendrite and ngIRCd.
GO          ?= go
TOOLS       := $(CURDIR)/.tools
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2
PKGS        := ./...

# The bridge example is a module of its own; its end-to-end tests need a
# Dendrite homeserver (built here, outside any go.mod) and ngIRCd (Debian's).
BRIDGE      := examples/matrixbridge
DENDRITE_VERSION := v0.13.8
DENDRITE_DIR := $(TOOLS)/dendrite-$(DENDRITE_VERSION)
DENDRITE_CMDS := dendrite generate-keys generate-config create-account

.PHONY: test lint fmt-check vet staticcheck race cross qemu bench fuzz demo e2e bridge dendrite ngircd

test: lint race cross e2e

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	cd $(BRIDGE) && $(GO) vet ./...

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) $(PKGS)
	cd $(BRIDGE) && $(STATICCHECK) ./...

race:
	$(GO) test -race -count=1 $(PKGS)

# A crash's stack is captured by walking frame pointers on amd64 and arm64
# (actor/callers_fp.go) and by runtime.Callers elsewhere, and the mailbox has
# amd64 assembly with portable fallbacks. The actor tests run again with the
# fallback forced, and both packages' for arm64 under qemu-aarch64, installed
# when we are root on Debian; ARBOR_CROSS_REQUIRED=1 (set by .ci/run) makes a
# missing emulator a failure rather than a skip.
cross: qemu
	GOARCH=386 $(GO) vet ./actor ./mailbox
	GOARCH=arm64 $(GO) vet ./actor ./mailbox
	$(GO) test -count=1 -tags arbor_callers ./actor
	@if command -v qemu-aarch64 >/dev/null 2>&1; then \
		echo "GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64 ./actor ./mailbox"; \
		GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64 ./actor ./mailbox; \
	elif [ -n "$$ARBOR_CROSS_REQUIRED" ]; then \
		echo "*** qemu-aarch64 is missing: cannot run the arm64 tests ***"; exit 1; \
	else \
		echo "*** qemu-aarch64 is missing (apt-get install qemu-user): the arm64 tests skip ***"; \
	fi

qemu:
	@if command -v qemu-aarch64 >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get install -y -qq qemu-user >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq qemu-user; } || \
		echo "*** could not install qemu-user ***"; \
	fi

demo:
	$(GO) run ./examples/demo

bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# A short run of each fuzz target; FUZZTIME=5m for a longer one.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzMailbox -fuzztime=$(FUZZTIME) ./mailbox

# Dendrite, the homeserver of the bridge's end-to-end tests (about 100 s to
# build the first time: cgo sqlite).
$(DENDRITE_DIR)/dendrite:
	GOBIN=$(DENDRITE_DIR) $(GO) install $(addprefix github.com/matrix-org/dendrite/cmd/,$(addsuffix @$(DENDRITE_VERSION),$(DENDRITE_CMDS)))

dendrite: $(DENDRITE_DIR)/dendrite

# ngIRCd, the IRC server of the end-to-end tests: installed when we are root
# on Debian, else named as missing (the tests then skip, loudly).
ngircd:
	@if command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get install -y -qq ngircd >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq ngircd; } || \
		echo "*** could not install ngircd: the bridge's end-to-end tests will skip ***"; \
	else \
		echo "*** ngircd is missing (apt-get install ngircd): the bridge's end-to-end tests will skip ***"; \
	fi

# The bridge's tests: unit tests always; end-to-end tests against the real
# servers when they are there. ARBOR_E2E_REQUIRED=1 (set by .ci/run) turns a
# missing server into a failure rather than a skip.
e2e: ngircd
	@$(MAKE) --no-print-directory dendrite || { \
		if [ -n "$$ARBOR_E2E_REQUIRED" ]; then exit 1; fi; \
		echo "*** could not build Dendrite: the bridge's end-to-end tests will skip ***"; }
	cd $(BRIDGE) && ARBOR_DENDRITE_DIR=$(DENDRITE_DIR) $(GO) test -race -count=1 ./...

# The whole bridge, locally: servers, bridge, and a greeting each way.
bridge: dendrite ngircd
	cd $(BRIDGE) && ARBOR_DENDRITE_DIR=$(DENDRITE_DIR) $(GO) run ./cmd/demo
