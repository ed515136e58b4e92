"""Helpers for the browser tests: hydration wait, sign-in, database reads, axe-core, screenshots."""

from __future__ import annotations

import os
import pickle
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
from playwright.sync_api import BrowserContext, Locator, Page, expect
from sqlmodel import Session, select

from cme_app.db import get_engine
from cme_app.domain import Role
from cme_app.models import User
from cme_app.services.trust import auth
from cme_app.state.auth import SESSION_COOKIE
from tests.factories import PASSWORD


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop a server started with start_new_session=True, and everything it started."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_JS = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"

# The viewports the journeys are looked at in.
DESKTOP = {"width": 1280, "height": 900}
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}  # a small Android phone: the narrowest width served
LARGE_PHONE = {"width": 390, "height": 844}
PHONE_TALL = {"width": 360, "height": 800}  # issue 20's phone: form length in 800 px screens

# The production profile (docs/deploy.md): state in Redis and several backend workers, each
# socket served by whichever worker the kernel hands it to. CI runs the PostgreSQL pass this way,
# with CME_TEST_REDIS=1: the run starts a Redis server of its own (tests/e2e/conftest.py), on a
# port chosen here, so a test may restart it.
PRIVATE_REDIS = os.environ.get("CME_TEST_REDIS", "") == "1"
REDIS_PORT = free_port() if PRIVATE_REDIS else 0
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0" if PRIVATE_REDIS else ""
WORKERS = int(os.environ.get("CME_TEST_WORKERS") or (4 if REDIS_URL else 1))

# Installed in every browser context by tests/e2e/conftest.py (before any page script runs).
# Reflex 0.10's state.js calls window.__reflex_otel?.onSocketConnect?.() when the event
# websocket connects and onSocketDisconnect when it drops; we record that on window.
CONNECTION_PROBE = """
(() => {
  const hooks = window.__reflex_otel || {};
  const onConnect = hooks.onSocketConnect;
  const onDisconnect = hooks.onSocketDisconnect;
  hooks.onSocketConnect = function (...args) {
    window.__cme_socket_connected = true;
    window.__cme_connects = (window.__cme_connects || 0) + 1;
    return onConnect?.apply(this, args);
  };
  hooks.onSocketDisconnect = function (...args) {
    window.__cme_socket_connected = false;
    return onDisconnect?.apply(this, args);
  };
  window.__reflex_otel = hooks;
  window.__cme_probe = true;
})();
"""

# Ready when the websocket is connected and, if the page renders the hydration marker
# <div id="hydrated" data-hydrated="true|false" hidden> (bound to rx.State.is_hydrated),
# the marker says "true" (the hydrate snapshot and the page's on_load handlers are done).
_HYDRATED_JS = """
() => {
  const el = document.getElementById('hydrated');
  const marked = el ? el.getAttribute('data-hydrated') === 'true' : null;
  if (window.__cme_probe) {
    return window.__cme_socket_connected === true && marked !== false;
  }
  return marked === true;
}
"""


def install_connection_probe(target: BrowserContext | Page) -> None:
    """Add the websocket probe to a context/page made outside the `context` fixture."""
    target.add_init_script(CONNECTION_PROBE)


def wait_for_hydration(page: Page, timeout: float = 30_000) -> None:
    """Block until the Reflex page is connected and hydrated, so fills/clicks aren't lost."""
    page.wait_for_load_state("domcontentloaded", timeout=timeout)
    page.wait_for_function(_HYDRATED_JS, timeout=timeout, polling=50)


HOME = "home"  # sign_in's lands_on: the route the user's role starts on


def sign_in(
    page: Page,
    email: str,
    *,
    password: str = PASSWORD,
    viewport: dict | None = None,
    by_form: bool = False,
    code: str | None = None,
    lands_on: str | None = HOME,
) -> Page:
    """Sign in afresh as `email` (any earlier user's cookie cleared), at `viewport` if given,
    and wait until the page is on `lands_on` (the user's home route unless another is named)
    and hydrated. lands_on=None: wait for nothing, the test looks at what comes next.

    By default not through the login page: a staff user's authentication code works once, so a
    second UI sign-in of the same person within one 30-second step would be refused. The
    sign-in ticket is minted through the services instead (password checked, code step skipped)
    and exchanged at POST /api/v1/session like the page does. by_form=True signs in as a person
    would: email and password on the login page, then `code` at the code step if given (a staff
    user given no code stays on the code step: pass lands_on=None)."""
    if viewport:
        page.set_viewport_size(viewport)
    page.context.clear_cookies()
    home = None
    if by_form:
        _sign_in_by_form(page, email, password, code)
    else:
        ticket, home = mint_ticket(email, password)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.request.get("/api/v1/health").url))
        answer = page.request.post("/api/v1/session", data={"ticket": ticket},
                                   headers={"Origin": origin})
        assert answer.ok, f"the ticket was not exchanged: {answer.status}"
        # As after the page's own sign-in: /login finds the session and sends the user home.
        page.goto("/login")
    if lands_on:
        route = (home or home_of(email)) if lands_on == HOME else lands_on
        page.wait_for_url(lambda url: url.split("?")[0].rstrip("/").endswith(route))
        wait_for_hydration(page)
    return page


def _sign_in_by_form(page: Page, email: str, password: str, code: str | None) -> None:
    page.goto("/login")
    wait_for_hydration(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if code is not None:
        page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name="Continue").click()


# The sign-in page as a full load reaches it (/login answers 307 to /login/), or a client-side
# move to it.
LOGIN_URL = re.compile(r"/login/?(\?.*)?$")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(LOGIN_URL)


def home_of(email: str) -> str:
    """The route a user's role starts on."""
    with Session(get_engine()) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        return auth.home_route(Role(user.role))


def mint_ticket(email: str, password: str = PASSWORD) -> tuple[str, str]:
    """A one-time sign-in ticket for a user, and their home route, from a short session."""
    with Session(get_engine()) as session:
        user = auth.check_password(session, email=email, password=password)
        result = auth.open_session(session, user=user)
        session.commit()
    return result.ticket, auth.home_route(result.actor.role)


def session_cookie(app_url: str, email: str, password: str = PASSWORD) -> str:
    """A Cookie header for EventSocket: a ticket from mint_ticket, exchanged at
    POST /api/v1/session (same-site Origin) for the HttpOnly cookie, as the browser does."""
    ticket, _home = mint_ticket(email, password)
    r = httpx.post(f"{app_url}/api/v1/session", json={"ticket": ticket},
                   headers={"Origin": app_url})
    r.raise_for_status()
    return f"{SESSION_COOKIE}={r.cookies[SESSION_COOKIE]}"


@contextmanager
def fresh_session(session: Session) -> Iterator[Session]:
    """A short session of its own, on the test session's engine, to read what is stored now.

    Never read through the test's `session` while the app server may be writing: on SQLite every
    transaction of the app's engine begins with BEGIN IMMEDIATE, i.e. takes the write lock
    (cme_app/db.py). `session.expire_all(); ...; session.rollback()` also expired the test's own
    objects, so the next `case.reference` silently reloaded and held that lock while the test
    waited on the browser. Objects read here are detached when the block ends: their loaded
    values stay readable and can never start a transaction.
    """
    with Session(session.get_bind()) as fresh:
        yield fresh


def open_case(page: Page, reference: str) -> None:
    """Go to a case's page and wait until it shows that case."""
    page.goto(f"/cases/{reference}")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def open_tab(page: Page, name: str) -> None:
    """Open one of the case page's tabs ("Enquiries", "Closing", ...) and wait until it shows."""
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name=name, exact=True)).to_be_visible()


def axe_check(page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the current page; return violations with the given impacts."""
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `make install`")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in impacts]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        lines.extend(f"    at {t}" for t in v["targets"][:10])
    return "\n".join(lines)


def assert_no_axe_violations(page: Page, name: str | None = None) -> None:
    """Fail (and save a screenshot) if axe-core finds a serious or critical violation."""
    violations = axe_check(page)
    if violations:
        if name:
            screenshot(page, f"axe-{name}")
        raise AssertionError(
            f"axe-core: {len(violations)} serious/critical violation(s) on {page.url}\n"
            + format_violations(violations)
        )


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "screenshot"
    path = SCREENSHOTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def worker_of(page: Page) -> str:
    """Which backend worker serves this tab's socket: Reflex's per-process instance id, from the
    socket record its Redis token manager keeps under the tab's token (production profile only)."""
    token = page.evaluate("() => window.sessionStorage.getItem('token')")
    raw = redis.Redis.from_url(REDIS_URL).get(f"token_manager_socket_record_{token}")
    assert raw, f"no socket record in Redis for tab token {token!r}"
    # Reflex pickles the record itself; this reads it back from the test run's own Redis.
    return pickle.loads(raw).instance_id  # noqa: S301


def on_another_worker(page: Page, other: Page, tries: int = 30) -> str:
    """Reload `page` until its socket lands on a different worker from `other`'s."""
    avoid = worker_of(other)
    for _ in range(tries):
        if (mine := worker_of(page)) != avoid:
            return mine
        page.reload()
        wait_for_hydration(page)
    raise AssertionError(f"{tries} reloads all landed on worker {avoid}")


def fill_date(scope: Page | Locator, legend: str, value: date | str, *, within=None) -> None:
    """A GOV.UK date input: Day, Month and Year under one legend (`value` a date or
    YYYY-MM-DD), in `scope` (a page or part of one)."""
    day = value if isinstance(value, date) else date.fromisoformat(value)
    group = (within or scope).get_by_role("group", name=legend, exact=True)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))
