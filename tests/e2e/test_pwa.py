"""The installable app: manifest, icons, the service worker (production build), Chrome's
installability, pages opening with no network, shell updates, and the offline banner.

These contexts allow service workers (the other journeys block them; see conftest.py).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.helpers import (
    LAPTOP,
    PHONE,
    assert_no_axe_violations,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import make_case

pytestmark = pytest.mark.browser_context_args(service_workers="allow")

VISITS_OFFLINE = (
    "You're offline. Visits you save are kept on this phone and sent when you reconnect."
)
ELSEWHERE_OFFLINE = (
    "You're offline or the server can't be reached. Changes can't be saved until you reconnect."
)

# The registration once its worker is active (ready resolves while it is still "activating").
SW_READY_JS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (worker.state !== "activated") {
    await new Promise((resolve) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve();
    }));
  }
  return {state: worker.state, scope: registration.scope, script: worker.scriptURL};
}"""

# Every cache and the URLs (path and query) it holds.
CACHES_JS = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const requests = await (await caches.open(name)).keys();
    out[name] = requests.map((r) => { const u = new URL(r.url); return u.pathname + u.search; });
  }
  return out;
}"""

# Ask the worker to rebuild the shell, as a visit page does when it opens online.
REFRESH_JS = """() => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => resolve(event.data);
  navigator.serviceWorker.controller.postMessage("refresh-shell", [channel.port2]);
})"""


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert body[12:16] == b"IHDR"
    return struct.unpack(">II", body[16:24])


def controlled(page: Page, path: str) -> dict:
    """Open `path`, wait until the worker is active and controls the page."""
    page.goto(path)
    worker = page.evaluate(SW_READY_JS)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    return worker


def shell_caches(page: Page) -> dict[str, list[str]]:
    return {k: v for k, v in page.evaluate(CACHES_JS).items() if k.startswith("cme-shell-")}


# ------------------------------------------------------------------ manifest and icons

def test_the_manifest_is_served_and_has_what_chrome_needs(page: Page):
    response = page.request.get("/manifest.webmanifest")
    assert response.ok
    assert response.headers["content-type"].split(";")[0] == "application/manifest+json"
    manifest = json.loads(response.body())
    assert manifest["name"] == "Children Missing Education"
    assert manifest["short_name"] == "CME visits"
    assert manifest["description"]
    assert manifest["start_url"] == "/visits"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["background_color"] == "#ffffff"

    page.goto("/login")
    theme = page.locator('meta[name="theme-color"]').get_attribute("content")
    assert manifest["theme_color"] == theme == "#0b0c0c"
    assert page.locator('link[rel="manifest"]').get_attribute("href") == "/manifest.webmanifest"

    icons = {(i["sizes"], i["purpose"]): i for i in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    apple = page.locator('link[rel="apple-touch-icon"]').get_attribute("href")
    for src, size in [*((i["src"], i["sizes"]) for i in icons.values()), (apple, "180x180")]:
        icon = page.request.get(src)
        assert icon.ok, src
        assert icon.headers["content-type"] == "image/png", src
        width, height = png_size(icon.body())
        assert f"{width}x{height}" == size, src


def test_the_maskable_icon_keeps_its_artwork_in_the_safe_zone(page: Page):
    # Android crops a maskable icon to as little as the centre circle of 80% diameter.
    page.goto("/login")
    farthest = page.evaluate(
        """async () => {
          const img = new Image();
          img.src = '/icons/icon-maskable-512.png';
          await img.decode();
          const c = document.createElement('canvas');
          c.width = img.width; c.height = img.height;
          const ctx = c.getContext('2d');
          ctx.drawImage(img, 0, 0);
          const {data} = ctx.getImageData(0, 0, c.width, c.height);
          const [r0, g0, b0] = [data[0], data[1], data[2]];  // the corner: background
          let farthest = 0;
          for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
            const i = (y * c.width + x) * 4;
            const diff = Math.abs(data[i] - r0) + Math.abs(data[i+1] - g0)
              + Math.abs(data[i+2] - b0);
            if (diff > 24) {
              farthest = Math.max(farthest, Math.hypot(x + 0.5 - c.width / 2,
                                                       y + 0.5 - c.height / 2));
            }
          }
          return farthest / c.width;
        }"""
    )
    assert 0.2 < farthest <= 0.4


# ------------------------------------------------------------------ the service worker

def test_the_service_worker_is_active_and_controls_the_page(page: Page, app_url: str):
    worker = controlled(page, "/login")
    assert worker == {"state": "activated", "scope": f"{app_url}/",
                      "script": f"{app_url}/sw.js"}
    # Registered by the production build's own script, not by the test.
    assert page.locator('script[src="/sw-register.js"]').count() == 1

    # The install precached a complete shell: the login page and the chunks its HTML names.
    shells = shell_caches(page)
    assert len(shells) == 1
    (entries,) = shells.values()
    assert {"/login/", "/app.js", "/sw-register.js", "/manifest.webmanifest",
            "/icons/icon-192.png", "/__cme-shell-complete"} <= set(entries)
    html_chunks = set(page.evaluate(
        """() => [...document.querySelectorAll('link[rel=modulepreload], link[rel=stylesheet]')]
              .map((l) => new URL(l.href).pathname).filter((p) => p.startsWith('/assets/'))"""
    ))
    assert html_chunks and html_chunks <= set(entries)


def test_a_page_the_worker_did_not_claim_asks_to_be_claimed(context: BrowserContext,
                                                            page: Page):
    # A page still loading when the worker activated can miss its claim (Chromium, about one
    # load in ten when they overlap). A hard reload makes such a page on purpose: it bypasses
    # the worker and starts uncontrolled. sw-register.js then asks the worker to claim it.
    context.add_init_script(
        "window.__cmeControlledAtStart = !!navigator.serviceWorker.controller;")
    controlled(page, "/login")
    page.reload()
    assert page.evaluate("() => window.__cmeControlledAtStart") is True
    context.new_cdp_session(page).send("Page.reload", {"ignoreCache": True})
    page.wait_for_function("() => window.__cmeControlledAtStart === false")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)


def test_installable_by_chrome(browser_type, browser_type_launch_args, tmp_path: Path,
                               app_url: str):
    # Chrome never offers to install from an incognito profile, which is what an ordinary
    # Playwright context is, so this one runs in a persistent profile.
    context = browser_type.launch_persistent_context(
        tmp_path / "profile", **browser_type_launch_args, service_workers="allow",
        viewport=PHONE, base_url=app_url,
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        controlled(page, "/login")
        page.reload()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == []
        assert manifest["url"] == f"{app_url}/manifest.webmanifest"
    finally:
        context.close()


def test_a_build_with_different_chunks_replaces_the_shell_cleanly(
    context: BrowserContext, page: Page
):
    controlled(page, "/login")
    (old_name, old_entries), = shell_caches(page).items()

    # Nothing changed on the server: the same cache is kept, nothing rebuilt.
    answer = page.evaluate(REFRESH_JS)
    assert answer["ok"] and answer["changed"] is False and answer["cache"] == old_name
    assert list(shell_caches(page)) == [old_name]

    # A new build: the login page now names a chunk the old one did not.
    chunk = "/assets/new-build-chunk-Zx9.js"

    def new_login_html(route):
        response = route.fetch()
        body = response.text().replace(
            "</head>", f'<link rel="modulepreload" href="{chunk}"/></head>', 1
        )
        route.fulfill(response=response, body=body)

    context.route("**/login/", new_login_html)
    # First the chunk can't be fetched (the deploy is half done): the old shell stays whole.
    context.route(f"**{chunk}", lambda route: route.fulfill(status=503, body="busy"))
    answer = page.evaluate(REFRESH_JS)
    assert answer["ok"] is False and chunk in answer["error"]
    assert shell_caches(page) == {old_name: old_entries}

    # Then it can: a new cache with the new chunk, and the old one is gone.
    context.unroute(f"**{chunk}")
    context.route(f"**{chunk}", lambda route: route.fulfill(
        status=200, body="export {};", content_type="text/javascript"))
    answer = page.evaluate(REFRESH_JS)
    assert answer["ok"] and answer["changed"] is True and answer["cache"] != old_name
    shells = shell_caches(page)
    assert list(shells) == [answer["cache"]]
    assert chunk in shells[answer["cache"]]
    assert "/__cme-shell-complete" in shells[answer["cache"]]
    context.unroute_all(behavior="wait")


# ------------------------------------------------------------------ offline

def test_the_offline_banner_replaces_reflex_overlay_and_passes_axe(
    new_context, app_url: str
):
    for name, viewport in [("desktop", LAPTOP), ("phone", PHONE)]:
        context = new_context(viewport=viewport)
        page = context.new_page()
        controlled(page, "/login")
        wait_for_hydration(page)
        # Online, the banner's live region is empty and is not a status.
        expect(page.locator("#offline-banner")).to_have_text("")
        expect(page.get_by_role("status")).to_have_count(0)

        context.set_offline(True)
        page.reload()
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text(ELSEWHERE_OFFLINE)
        # Reflex's own red toast and pulsing icon are gone, and the form stays usable.
        expect(page.get_by_text("Cannot connect to server")).to_have_count(0)
        page.get_by_label("Email").fill("someone@example.org")
        screenshot(page, f"pwa-offline-banner-login-{name}", full_page=False)
        assert_no_axe_violations(page, f"offline-login-{name}")

        # Back online: Reflex reconnects by itself and the banner goes.
        context.set_offline(False)
        page.wait_for_function("() => window.__cme_socket_connected === true",
                               timeout=20_000)
        expect(page.locator("#offline-banner")).to_have_text("")
        context.close()


# Lets a test make the server unreachable for this page only: while `__cmeServerDown` is
# true, Reflex's new websockets go to a closed port (a real connection failure, as when the
# server is down), and `__cmeDropSockets()` drops the live ones as a server restart would.
SERVER_SWITCH = """
(() => {
  const Native = window.WebSocket;
  const sockets = [];
  window.__cmeServerDown = false;
  window.__cmeDropSockets = () => sockets.forEach((ws) => ws.close());
  function Switched(url, protocols) {
    const down = window.__cmeServerDown && String(url).includes("/_event");
    const ws = new Native(down ? "ws://127.0.0.1:9/_event/" : url, protocols);
    sockets.push(ws);
    return ws;
  }
  Switched.prototype = Native.prototype;
  Object.assign(Switched, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Switched;
})();
"""


# The "server down" switch points the websocket at another origin, which the CSP refuses.
@pytest.mark.csp_expected("ws://127.0.0.1:9")
def test_the_banner_shows_while_the_server_cannot_be_reached_and_goes_on_reconnect(
    page: Page,
):
    page.add_init_script(SERVER_SWITCH)
    page.goto("/login")
    wait_for_hydration(page)
    expect(page.locator("#offline-banner")).to_have_text("")

    page.evaluate("() => { window.__cmeServerDown = true; window.__cmeDropSockets(); }")
    expect(page.locator("#offline-banner")).to_have_text(ELSEWHERE_OFFLINE, timeout=15_000)
    assert page.evaluate("() => navigator.onLine") is True
    expect(page.get_by_text("Cannot connect to server")).to_have_count(0)

    # Reflex keeps retrying by itself; once a retry gets through, the banner goes.
    page.evaluate("() => { window.__cmeServerDown = false; }")
    page.wait_for_function("() => window.__cme_socket_connected === true", timeout=20_000)
    expect(page.locator("#offline-banner")).to_have_text("")


def test_a_page_never_opened_online_says_so_when_offline(context: BrowserContext, page: Page):
    controlled(page, "/login")
    context.set_offline(True)
    page.goto("/referrals/new")
    expect(page.get_by_role("heading", level=1, name="You're offline")).to_be_visible()
    expect(page.get_by_role("link", name="Go to your visits")).to_have_attribute(
        "href", "/visits")
    assert_no_axe_violations(page, "offline-unsaved-page")
    context.set_offline(False)


# ------------------------------------------------------------------ the visit pages offline

@pytest.fixture
def officer_with_a_case(session, team):
    officer = team["officer"]
    case = make_case(session, stage="enquiries", risk="amber", first_name="Amira",
                     last_name="Example", officer_id=officer.user_id,
                     school_id=team["school"].school_id)
    session.commit()
    return officer, case


def test_the_visit_pages_open_offline_from_the_cache(new_context, officer_with_a_case):
    officer, case = officer_with_a_case
    context = new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, officer.email)
    controlled(page, "/visits")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1, name="Visits")).to_be_visible()
    start = page.get_by_role("link", name=f"Start a visit for {case.reference}")
    expect(start).to_be_visible()  # the phone has fetched and stored the case list

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Visits")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="You're offline")).to_have_text(
        VISITS_OFFLINE)
    screenshot(page, "pwa-offline-visits-phone", full_page=False)

    # From the list to the visit form with no network: /visits/new?case=REF opens from the
    # cached /visits/new shell (the query is not part of the cache key).
    start.click()
    page.wait_for_url(re.compile(r"/visits/new/?\?case="))
    expect(page.get_by_role("heading", name="Before you go")).to_be_visible()
    expect(page.get_by_text(case.reference).first).to_be_visible()
    expect(page.locator("#offline-banner")).to_have_text(VISITS_OFFLINE)
    screenshot(page, "pwa-offline-visit-form-phone", full_page=False)

    # Nothing from the API or the backend was ever cached, only the shell and pages.
    cached = [url for urls in page.evaluate(CACHES_JS).values() for url in urls]
    assert {"/visits/", "/visits/new/", "/outbox.js"} <= set(cached)
    assert not [u for u in cached if u.startswith(("/api/", "/_event", "/_upload", "/ping"))]
    # Every chunk React Router would import to move between the two pages without a reload.
    routes = page.evaluate("() => window.__reactRouterManifest.routes")
    visit_routes = [r for r in routes.values() if r.get("path") in ("visits", "visits/new")]
    assert len(visit_routes) == 2
    for route in visit_routes:
        assert {route["module"], *route["imports"], *route["css"]} <= set(cached), route["id"]
    context.set_offline(False)
    page.wait_for_function("() => window.__cme_socket_connected === true", timeout=20_000)
