"""Browser tests against a production build served on a free port.

Every test under tests/e2e is marked ``e2e``. The app is started once per session with
``reflex run --env prod --single-port`` on the run's own test database (migrated by the
``engine`` fixture), never on port 3000 and never on the demo database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_DB_URL
from tests.e2e.helpers import (
    ARTIFACTS,
    CONNECTION_PROBE,
    PRIVATE_REDIS,
    REDIS_PORT,
    REDIS_URL,
    ROOT,
    WORKERS,
    free_port,
    stop_process_group,
)
from tests.redis_server import RedisServer

E2E_DIR = Path(__file__).resolve().parent
BUN_DIR = ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin"
START_TIMEOUT_S = 240
CHROMIUM = "/usr/bin/chromium"

# Every page reports Content Security Policy violations on the console, including ones the
# page swallows (Reflex catches a refused eval), so the autouse check below sees them all.
CSP_PROBE = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
});
"""
_csp_violations: list[str] = []

# An answer may take longer than Playwright's default 5 s to show when the production profile's
# four workers, Redis, PostgreSQL and Chromium share CI's two cores: a CI run once failed on a
# case page still "Loading…" at 5 s. A wait that succeeds costs nothing more; only a failure is
# reported later.
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.path)).is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def redis_server():
    """The production profile's Redis (CME_TEST_REDIS=1), or None."""
    if not PRIVATE_REDIS:
        yield None
        return
    server = RedisServer(REDIS_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_SERVED: dict = {}  # the `reflex run` process, once app_url has started it


@pytest.fixture(scope="session")
def app_process():
    """Filled in by app_url: the `reflex run` process (a test may signal its workers)."""
    return _SERVED


def pytest_runtest_teardown(item, nextitem):
    """Stop the app after the last browser test. The unit tests that follow share its
    database, and its lone-working monitor and mail worker act on the real clock: left
    running, the monitor raised alerts for a unit test's visits dated earlier today."""
    proc = _SERVED.get("proc")
    if proc is None or not _is_last_browser_test(item):
        return
    stop_process_group(proc)


def _is_last_browser_test(item) -> bool:
    here = Path(__file__).parent
    later = item.session.items[item.session.items.index(item) + 1:]
    return not any(here in Path(str(other.path)).parents for other in later)


@pytest.fixture(scope="session")
def app_url(engine, redis_server, app_process):
    """Serve the app (prod build, single port) on a free port; yield http://localhost:PORT."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"reflex-e2e-{port}.log"
    reflex = Path(sys.executable).with_name("reflex")
    env = {
        **os.environ,
        "REFLEX_DB_URL": TEST_DB_URL,
        "CME_SECRET_KEY": os.environ["CME_SECRET_KEY"],
        "CME_ALLOWED_ORIGINS": f"http://localhost:{port},http://127.0.0.1:{port}",
        "PATH": f"{BUN_DIR}{os.pathsep}{reflex.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "REFLEX_CHECK_LATEST_VERSION": "0",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        # Target scans would add inbox items mid-journey; the scans have their own unit tests.
        "CME_NOTIFY_SCAN_SECONDS": "86400",
        "GRANIAN_WORKERS": str(WORKERS),
    }
    env.pop("REFLEX_REDIS_URL", None)
    if REDIS_URL:
        env["REFLEX_REDIS_URL"] = REDIS_URL
    cmd = [
        str(reflex), "run", "--env", "prod", "--single-port",
        "--frontend-port", str(port), "--backend-port", str(port),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    app_process["proc"] = proc
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"reflex exited with {proc.returncode} before serving; log {log_path}:\n"
                    + _tail(log_path)
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"reflex did not answer /ping within {START_TIMEOUT_S}s; log {log_path}:\n"
                    + _tail(log_path)
                )
            time.sleep(0.5)
        yield f"http://localhost:{port}"
    finally:
        stop_process_group(proc)


@pytest.fixture(scope="session")
def base_url(app_url):
    """Lets tests write page.goto("/login")."""
    return app_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ],
    }


@pytest.fixture
def new_context(new_context):
    """Every context (incl. the default `context`/`page`) gets the websocket probe."""

    def factory(**kwargs):
        ctx = new_context(**kwargs)
        ctx.add_init_script(CONNECTION_PROBE)
        ctx.add_init_script(CSP_PROBE)
        ctx.on("console", _record_csp_violation)
        return ctx

    return factory


def _record_csp_violation(message) -> None:
    if "Content Security Policy" in message.text:
        _csp_violations.append(f"{message.location.get('url', '')}: {message.text}")


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Fail any browser test whose pages broke the Content-Security-Policy, except for the
    URLs a test blocks on purpose: @pytest.mark.csp_expected("ws://127.0.0.1:9")."""
    marker = request.node.get_closest_marker("csp_expected")
    expected = marker.args if marker else ()
    _csp_violations.clear()
    yield
    found = [v for v in _csp_violations if not any(url in v for url in expected)]
    _csp_violations.clear()
    assert not found, "Content Security Policy violations:\n" + "\n".join(found)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A UK user's browser (dates show as dd/mm/yyyy), with service workers blocked.

    The production build registers a service worker (assets/sw.js). The journeys test the app,
    not a cache in front of it, so they block it: every request reaches the server, as it did
    before the worker existed. Only the PWA and offline tests allow it, with
    ``@pytest.mark.browser_context_args(service_workers="allow")`` (tests/e2e/test_pwa.py).
    """
    return {
        **browser_context_args, "locale": "en-GB", "timezone_id": "Europe/London",
        "service_workers": "block",
    }
