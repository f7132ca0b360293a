# tkesnap — see README.md. `make demo` and `make test` are the two commands
# a newcomer runs; both install what they need or say what they skip.
GO      ?= go
BIN     := bin/tkesnap
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
SAMPLE  ?= testdata/bundles/sample
FUZZTIME ?= 10s

.PHONY: all build demo test test-tshark test-under-load deps fuzz fuzz-short bench lab lab-record clean update-goldens

# Each area adds its own targets in lab/<area>.mk and appends them to
# BENCH_TARGETS (make bench), LAB_TARGETS (make lab: rebuild lab bundles)
# and LAB_RECORD_TARGETS (make lab-record: re-record kernel results).
BENCH_TARGETS :=
LAB_TARGETS :=
LAB_RECORD_TARGETS :=
-include lab/*.mk

all: build

# Static (CGO_ENABLED=0): no dynamic loader or libc to start, ~2 ms of
# every run; nothing in tkesnap needs cgo.
build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tkesnap

# Runs the main job on the sample bundle shipped in the repo. Exit 3/4
# means findings were reported (that is the point of the sample).
demo: build
	@echo "== tkesnap analyze $(SAMPLE)"
	@./$(BIN) analyze $(SAMPLE); rc=$$?; [ $$rc -le 4 ] && [ $$rc -ne 1 ] && [ $$rc -ne 2 ] || exit $$rc

# System tools some tests compare against or drive (tshark, tcpdump,
# iptables, nft, ipset, shellcheck, chromium). Installed when root and apt
# is there; otherwise those tests skip with a visible message.
deps:
	@./.ci/deps.sh

test: deps build
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@# go test -json through internal/testreport: plain go test output
	@# (ok/FAIL lines last, failing tests' output) plus every skip and its
	@# reason, which plain go test hides without -v. -timeout 30m: the
	@# collector package's netns tests run past go test's default 10 min
	@# per package on a loaded 2-core machine.
	@bash -c 'set -o pipefail; $(GO) test -json -count=1 -timeout 30m ./... | $(GO) run ./internal/testreport'
	$(MAKE) test-report-html
	$(MAKE) fuzz-short

# Our Wireshark filters against the installed tshark, live (make test
# compares with tshark's recorded answers: testdata/tshark-frames.json).
test-tshark: deps
	$(GO) test -count=1 ./analysis/pcapflow/filter -run TestFramesAgreeWithTshark -tshark -v

# The one golden switch: every package whose tests import internal/golden
# rewrites its golden files (and docs/findings.md) with -update. Review the
# diff before committing.
update-goldens:
	$(GO) test -count=1 $$(grep -rl '"tkesnap/internal/golden"' --include='*_test.go' . | xargs -n1 dirname | sort -u) -update

# The packages that wait on other processes (netns, tcpdump, Chromium,
# tshark) with a CPU hog on every core beside them (.ci/under-load.sh).
test-under-load: build
	@./.ci/under-load.sh

# Each fuzz target briefly (CI); `make fuzz FUZZTIME=5m` for longer runs.
fuzz-short:
	@./.ci/fuzz.sh 3s

fuzz:
	@./.ci/fuzz.sh $(FUZZTIME)

# Go benchmarks and comparisons with the reference tools, printed as ratios
# (against the reference tool and against the floor: cat, a bare line
# scanner, a bare decode loop); the headline figures of every area are
# repeated at the end (lab/measure.sh summary).
BENCH_SUMMARY ?= $(CURDIR)/bin/bench-summary.txt
export BENCH_SUMMARY
bench: bench-start build $(BENCH_TARGETS)
	@echo; echo "== make bench: summary ($$(cut -d' ' -f1 /proc/loadavg) load on $$(nproc) cores; medians; CPU = user+sys)"; cat "$(BENCH_SUMMARY)"

.PHONY: bench-start
bench-start:
	@mkdir -p "$(dir $(BENCH_SUMMARY))"; : > "$(BENCH_SUMMARY)"

lab: build $(LAB_TARGETS)

lab-record: build $(LAB_RECORD_TARGETS)

clean:
	rm -rf bin
