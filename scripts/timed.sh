#!/usr/bin/env bash
# Run a command and say how long it took: `scripts/timed.sh "phase name" cmd args...`.
# CI's log then shows the time of each phase (install, browser and unit tests, scans, lint).
set -uo pipefail
name=$1; shift
start=$(date +%s)
"$@"
status=$?
printf '=== phase "%s": %ds (exit %d) ===\n' "$name" "$(( $(date +%s) - start ))" "$status"
exit "$status"
