# Reports (analysis/report). The HTML report is tested in real headless
# Chromium; the test installs chromium with apt-get when root and missing.
# `make test` should run `$(MAKE) test-report-html` (it is slow: ~15 s).
.PHONY: test-report-html report-screenshot report-docs

test-report-html:
	TKESNAP_CHROMIUM=1 $(GO) test -count=1 -run 'Chromium' ./analysis/report

# Re-take docs/report.png (the README screenshot) and regenerate
# docs/findings.md and the report golden files.
report-screenshot:
	TKESNAP_CHROMIUM=1 $(GO) test -count=1 -run 'Chromium|Golden|Docs' ./analysis/report -update

report-docs:
	$(GO) test -count=1 -run 'Docs|Golden' ./analysis/report -update
