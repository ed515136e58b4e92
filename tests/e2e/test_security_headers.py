"""The edges of the production build: security headers on every kind of route, no debug
endpoints, and a malformed event carrying personal data logged without it."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page

from cme_app.security import CSP, PERMISSIONS_POLICY
from tests.e2e.helpers import ARTIFACTS, wait_for_hydration
from tests.factories import CANARIES, CANARY_FIRST, CANARY_UPN


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 (our own test server)
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def test_every_kind_of_route_carries_the_security_headers(app_url):
    status, _, html = _get(f"{app_url}/login/")
    chunk = re.search(r'"(/assets/[^"]+\.js)"', html).group(1)  # a hashed build chunk
    stored = {"/": True, "/login/": True, "/api/v1/health": True, "/ping": True,
              "/app.js": False, "/manifest.webmanifest": False, chunk: False}
    for path, no_store in stored.items():
        status, headers, _ = _get(f"{app_url}{path}")
        assert status == 200, path
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["permissions-policy"] == PERMISSIONS_POLICY, path
        assert headers["x-frame-options"] == "DENY", path
        assert "strict-transport-security" not in headers, path  # CME_ENV is not production
        assert (headers.get("cache-control") == "no-store") is no_store, path


@pytest.mark.parametrize("path", ["/.git/HEAD", "/docs", "/openapi.json", "/_all_routes",
                                  "/admin", "/.env"])
def test_no_debug_or_tooling_endpoint_answers(app_url, path):
    status, headers, body = _get(f"{app_url}{path}")
    assert status == 404
    assert headers["x-content-type-options"] == "nosniff"
    assert "ref:" not in body and "openapi" not in body.lower()


SEND_RAW_EVENTS = """async ({url, bad}) => {
  const ws = new WebSocket(url);
  const opened = new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  await opened;
  const replies = [];
  ws.onmessage = (m) => replies.push(m.data);
  ws.send('40/_event,');
  await new Promise((r) => setTimeout(r, 300));
  for (const data of bad) ws.send('42/_event,' + JSON.stringify(['event', data]));
  await new Promise((r) => setTimeout(r, 500));
  ws.close();
  return replies;
}"""


def test_a_malformed_event_with_personal_data_is_logged_redacted(page: Page, app_url):
    """Through the real websocket: bad events are logged without the child's details
    (tests/log_canaries.py also searches this server's whole log at the end of the run).
    The socket guard refuses the two that are not objects before Reflex sees them; the
    object with no handler name reaches Reflex, which fails to deserialise it."""
    page.goto(f"{app_url}/login")
    wait_for_hydration(page)
    host = urlparse(app_url).netloc
    url = f"ws://{host}/_event/?token=canary-probe-token&EIO=4&transport=websocket"
    bad = [
        f"{{not json {CANARY_FIRST} {CANARY_UPN}",
        [CANARY_FIRST, CANARY_UPN],
        {"payload": {"first_name": CANARY_FIRST, "upn": CANARY_UPN}},
    ]
    page.evaluate(SEND_RAW_EVENTS, {"url": url, "bad": bad})
    port = urlparse(app_url).port
    log = ARTIFACTS / f"reflex-e2e-{port}.log"
    deadline = time.monotonic() + 10
    while log.read_text(errors="replace").count("sent an event that is not an object") < 2:
        assert time.monotonic() < deadline, "the bad events were not logged"
        time.sleep(0.2)
    time.sleep(1)  # the object goes on to Reflex; give its log line time to land
    text = log.read_text(errors="replace")
    assert not any(canary in text for canary in CANARIES)
