# Arbor's build. `make test` is what CI runs (.ci/run); `make bench` prints the
# benchmark figures, each beside its plain-Go baseline.
GO          ?= go
TOOLS       := $(CURDIR)/.tools
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2
PKGS        := ./...

.PHONY: test lint fmt-check vet staticcheck race bench fuzz demo

test: lint race

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

demo:
	$(GO) run ./examples/demo

bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# A short run of each fuzz target; FUZZTIME=5m for a longer one.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzMailbox -fuzztime=$(FUZZTIME) ./mailbox
