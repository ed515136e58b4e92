"""Benchmark: Lighthouse (mobile preset) LCP and total JS of two key screens vs a bare page.

The real app's production build on the design-load SQLite database, and a bare Reflex page
(bench/bare_app: a heading and a paragraph) built and served by the same Reflex, bun and
granian. Pages: /referrals/new (a school user signed in) and /visits (an officer signed in);
the session cookie comes from the real ticket exchange and reaches Lighthouse as
`--extra-headers`. Lighthouse 12.2.3 (Node 20) with Debian's chromium, default mobile preset
(simulated slow 4G, 4x CPU). Rounds alternate app pages and the bare page; per round the
ratio = page LCP / bare LCP; reported: median over the rounds.
Targets: LCP <= 2.5 s and ratio <= 1.3 (perf-security.md P1). Total JS is reported as
transferred (compressed) bytes of script requests, with the bare page's for comparison.

    .venv/bin/python bench/lighthouse.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, seed  # first: sets the environment
from bench.card_move import use_db

LIGHTHOUSE = common.ROOT / ".tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
LH_VERSION = "12.2.3"
BARE = common.ROOT / "bench" / "bare_app"
CHROMIUM = "/usr/bin/chromium"


def install_lighthouse() -> None:
    if LIGHTHOUSE.exists():
        return
    env = {**os.environ, "npm_config_cache": str(common.ROOT / ".tools" / "npm-cache")}
    cmd = ["npm", "install", "--prefix", str(LIGHTHOUSE.parents[2]), "--no-save", "--no-audit",
           "--no-fund", f"lighthouse@{LH_VERSION}"]
    subprocess.run(cmd, check=True, env=env)  # noqa: S603


def start_bare() -> tuple[subprocess.Popen, str]:
    port = common.free_port()
    log = common.BENCH_DIR / f"bare-{port}.log"
    reflex = Path(sys.executable).with_name("reflex")
    env = {**os.environ,
           "PATH": f"{common.BUN_DIR}{os.pathsep}{reflex.parent}{os.pathsep}{os.environ['PATH']}",
           "BUN_INSTALL_CACHE_DIR": str(common.ROOT / ".tools" / "bun-cache")}
    env.pop("REFLEX_DB_URL", None)
    cmd = [str(reflex), "run", "--env", "prod", "--single-port",
           "--frontend-port", str(port), "--backend-port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=BARE, env=env, stdin=subprocess.DEVNULL, stdout=out,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        common.wait_http(f"http://127.0.0.1:{port}/ping", proc, log)
    except BaseException:
        common.stop(proc)
        raise
    return proc, f"http://localhost:{port}"


def lighthouse(url: str, cookie: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
               "--only-categories=performance", f"--chrome-path={CHROMIUM}",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
        if cookie:
            cmd.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)  # noqa: S603
        report = json.loads(out.read_text())
    audits = report["audits"]
    requests = audits["network-requests"]["details"]["items"]
    js = sum(r.get("transferSize", 0) for r in requests if r.get("resourceType") == "Script")
    phases = {}
    for item in (audits.get("largest-contentful-paint-element", {}).get("details", {})
                 .get("items", [])):
        for row in item.get("items", []):
            if "phase" in row:
                phases[row["phase"]] = row.get("timing", 0) / 1000
    main_thread = {row["groupLabel"]: row["duration"] / 1000 for row in
                   audits.get("mainthread-work-breakdown", {}).get("details", {})
                   .get("items", [])}
    return {"lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
            "fcp": audits["first-contentful-paint"]["numericValue"] / 1000,
            "tbt": audits["total-blocking-time"]["numericValue"] / 1000,
            "phases": phases, "main_thread": main_thread,
            "js_kb": js / 1024, "score": report["categories"]["performance"]["score"],
            "final_url": report.get("finalDisplayedUrl") or report.get("finalUrl")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    install_lighthouse()
    url = common.seeded("sqlite")
    use_db(url)
    from tests.e2e.helpers import session_cookie

    procs = []
    try:
        app, app_url = common.start_app(url, name="app-lh")
        procs.append(app)
        bare, bare_url = start_bare()
        procs.append(bare)
        pages = {
            "/referrals/new (school)": (f"{app_url}/referrals/new", seed.school_email(1)),
            "/visits (officer)": (f"{app_url}/visits", seed.officer_email(1)),
        }
        print(f"[lighthouse] {common.load_note()}", flush=True)
        res: dict[str, list[dict]] = {name: [] for name in [*pages, "bare"]}
        ratios: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(max(5, args.rounds)):
            base = lighthouse(f"{bare_url}/", None)
            res["bare"].append(base)
            for name, (page, email) in pages.items():
                r = lighthouse(page, session_cookie(app_url, email, seed.PASSWORD))
                if "/login" in (r["final_url"] or ""):
                    raise RuntimeError(f"{name}: redirected to sign-in ({r['final_url']})")
                res[name].append(r)
                ratios[name].append(r["lcp"] / base["lcp"])
    finally:
        for p in procs:
            common.stop(p)
    ok = True
    bare_lcp = common.median([r["lcp"] for r in res["bare"]])
    bare_js = common.median([r["js_kb"] for r in res["bare"]])
    for name in [*pages, "bare"]:  # why: the median run's LCP phases and main-thread work
        runs = sorted(res[name], key=lambda r: r["lcp"])
        mid = runs[len(runs) // 2]
        top = sorted(mid["main_thread"].items(), key=lambda kv: -kv[1])[:4]
        print(f"[lighthouse] {name} (median run): LCP {mid['lcp']:.2f} s, FCP {mid['fcp']:.2f} s,"
              f" TBT {mid['tbt'] * 1000:.0f} ms; "
              + "".join(f"{k} {v:.2f} s, " for k, v in mid["phases"].items())
              + "main thread " + ", ".join(f"{k} {v:.2f} s" for k, v in top), flush=True)
    for name in pages:
        lcp = common.median([r["lcp"] for r in res[name]])
        js = common.median([r["js_kb"] for r in res[name]])
        ratio = common.median(ratios[name])
        good = lcp <= 2.5 and ratio <= 1.3
        ok &= good
        print(f"[lighthouse] {name}: LCP {lcp:.2f} s, ratio to bare {ratio:.2f}x "
              f"[{', '.join(f'{x:.2f}' for x in ratios[name])}], JS {js:.0f} KB transferred "
              f"(bare: LCP {bare_lcp:.2f} s, JS {bare_js:.0f} KB) "
              f"(targets LCP <= 2.5 s, <= 1.3x) {'PASS' if good else 'MISS'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
