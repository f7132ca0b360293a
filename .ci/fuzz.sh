#!/usr/bin/env bash
# Runs every Go native fuzz target for a short time each (make fuzz-short
# in CI, `make fuzz FUZZTIME=5m` for real fuzzing). A new crasher fails
# the run and is kept under the package's testdata/fuzz for a regression.
set -euo pipefail
t=${1:-3s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  # A package whose tests do not compile must fail here, not hide its targets.
  list=$(go test -list '^Fuzz' "$pkg") || { echo "$list"; exit 1; }
  for f in $(grep '^Fuzz' <<<"$list" || true); do
    echo "fuzz $pkg $f ($t)"
    # -fuzzminimizetime bounds minimization so a short run fuzzes.
    if ! go test -run '^$' -fuzz "^${f}\$" -fuzztime "$t" -fuzzminimizetime 100x "$pkg" >"$log" 2>&1; then
      # Go's fuzzer can end a time-bounded run with "context deadline
      # exceeded" when one input is still executing at the deadline; that
      # is not a finding. A real one always writes its failing input.
      if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "  (run ended at the deadline mid-input; no failing input)"
        continue
      fi
      cat "$log"
      exit 1
    fi
  done
done
