"""Run every benchmark in turn (each starts its own servers and baselines) and print a table
of their summary lines. `make bench` runs this. Exit status 1 if any target was missed.

    .venv/bin/python bench/run_all.py [--only submit,card_move,...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ("board_move", "submit", "card_move", "concurrency", "memory", "hol", "lighthouse",
           "dfe_return", "returns_import", "search", "sign_in_flood", "loop_block",
           "live_update")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args(argv)
    table: list[tuple[str, str, str]] = []
    failed = False
    for name in args.only.split(","):
        started = time.monotonic()
        cmd = [sys.executable, str(ROOT / "bench" / f"{name}.py")]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[") or "ratio" in ln]
        print(f"== {' '.join(cmd[1:])}: exit {proc.returncode} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
        for ln in lines:
            print("   " + ln, flush=True)
        if proc.returncode not in (0, 1):
            print(proc.stderr[-3000:], flush=True)
        failed |= proc.returncode != 0
        table.append((name, "ok" if proc.returncode == 0 else "MISS/ERROR", str(len(lines))))
    print("\nbenchmark      result")
    for name, result, _ in table:
        print(f"{name:<14} {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
