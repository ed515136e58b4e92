#!/usr/bin/env bash
# The whole suite as two pytest runs at once: the browser journeys (tests/e2e) and everything
# else. The journeys spend much of their time waiting on Chromium and the served app; the rest
# is CPU work, run at the lowest priority (nice 19) so it only fills those waits and never slows
# a journey (run at equal priority, a timing-sensitive journey failed on CI's 2 cores). Each
# run has a database of its own (tests/conftest.py) and its own e2e server port.
# The browser run's output is printed when both have finished, so the log stays readable.
# With arguments, one run of exactly what was asked for.
set -uo pipefail
pytest=${PYTEST:-.venv/bin/pytest}
if [ "$#" -gt 0 ]; then exec "$pytest" "$@"; fi

browser_log=$(mktemp)
# The slowest journeys are listed: this half is .ci/run's critical path.
"$pytest" tests/e2e --durations=25 >"$browser_log" 2>&1 &
browser=$!
nice -n 19 "$pytest" --ignore=tests/e2e
rest=$?
wait "$browser"
browser_rc=$?
printf '\n=== the browser journeys (tests/e2e) ===\n'
cat "$browser_log"
rm -f "$browser_log"
# pytest's "no tests ran" (5) is a failure here too: both halves must have run.
[ "$rest" -eq 0 ] && [ "$browser_rc" -eq 0 ]
