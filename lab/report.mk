# Reports (analysis/report). The HTML report is tested in real headless
# Chromium; the test installs chromium with apt-get when root and missing.
# `make test` should run `$(MAKE) test-report-html` (about 40 s). -p 1: the
# report package installs chromium before cmd/tkesnap needs it.
.PHONY: test-report-html report-screenshot report-update bench-report
BENCH_TARGETS += bench-report

# Rendering a 5000-finding, 50-trace report in every format.
bench-report:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./analysis/report

SCREENSHOT_BUNDLE ?= testdata/bundles/sg-pod-cidr

# -v so that a skip (no chromium, not root) is printed, not silent.
test-report-html:
	@log=$$(mktemp); TKESNAP_CHROMIUM=1 $(GO) test -v -count=1 -p 1 -run 'Chromium' ./analysis/report ./cmd/tkesnap >$$log 2>&1; rc=$$?; \
	  grep -E -A1 -- '--- (SKIP|FAIL)' $$log; grep -E '^(ok|FAIL|panic)' $$log; [ $$rc -eq 0 ] || cat $$log; rm -f $$log; exit $$rc

# docs/report.png, the README picture: the HTML report of a lab bundle
# whose traced flow fails at a security group.
report-screenshot: build
	@command -v chromium >/dev/null || { echo "report-screenshot: needs chromium (apt-get install -y chromium fonts-noto-cjk)"; exit 1; }
	@tmp=$$(mktemp -d); \
	./$(BIN) analyze $(SCREENSHOT_BUNDLE) --format html -o $$tmp/report.html -q; rc=$$?; \
	[ $$rc -eq 0 ] || [ $$rc -eq 3 ] || [ $$rc -eq 4 ] || exit $$rc; \
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	  --disable-background-networking --disable-component-update --disable-sync \
	  --user-data-dir=$$tmp/profile --hide-scrollbars --window-size=1100,1300 \
	  --screenshot=$(CURDIR)/docs/report.png file://$$tmp/report.html 2>/dev/null; \
	rm -rf $$tmp; ls -l docs/report.png

# Refresh every generated report file: renderer goldens, docs/findings.md
# and the lab-bundle report goldens. Review the diff before committing.
report-update:
	$(GO) test -count=1 ./analysis/report -update
	$(GO) test -count=1 -run LabBundle ./cmd/tkesnap -update
