#!/usr/bin/env bash
# Runs every Go native fuzz target for a short time each.
set -euo pipefail
t=${1:-3s}
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz $pkg $f ($t)"
    go test -run '^$' -fuzz "^${f}\$" -fuzztime "$t" -fuzzminimizetime 100x "$pkg" >/tmp/tkesnap-fuzz.log 2>&1 || { cat /tmp/tkesnap-fuzz.log; exit 1; }
  done
done
