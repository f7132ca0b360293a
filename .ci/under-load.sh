#!/usr/bin/env bash
# Runs the packages whose tests wait on other processes (netns, tcpdump,
# headless Chromium, tshark) with a CPU hog on every core beside them: a
# test that only passes on an idle machine (a sleep standing in for a
# readiness check) fails here instead of at random in CI. The hogs are
# this script's own children and are killed however the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=${LOAD_PKGS:-./collector/... ./analysis/report ./cmd/tkesnap ./analysis/pcapflow/...}
hogs=()
cleanup() { [ "${#hogs[@]}" -eq 0 ] || kill "${hogs[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
go build -o /dev/null ./internal/testreport # build before the hogs start
for _ in $(seq "$(nproc)"); do
  ( while :; do :; done ) &
  hogs+=($!)
done
echo "under load: ${#hogs[@]} CPU hogs (pids ${hogs[*]}) beside go test $pkgs"
# shellcheck disable=SC2086 # pkgs is a list of package patterns
TKESNAP_CHROMIUM=1 go test -json -count=1 -timeout 30m $pkgs | go run ./internal/testreport
