"""The edges of the app: security headers (ASGI middleware), debug paths, and log redaction."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient

from cme_app import security
from cme_app.settings import get_settings
from tests.factories import CANARIES, CANARY_FIRST, CANARY_LAST, CANARY_UPN

REQUIRED_CSP = (
    "default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
    "form-action 'self'", "connect-src 'self'",
)


async def _ws(websocket):
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def _tiny_app() -> Starlette:
    """Stands in for Reflex's backend: a page, a hashed chunk, data, and paths to hide."""
    page = HTMLResponse("<!doctype html><title>x</title>")
    routes = [
        Route("/login/", lambda _r: page),
        Route("/assets/app-abc123.js", lambda _r: PlainTextResponse(
            "1", media_type="text/javascript")),
        Route("/api/v1/health", lambda _r: JSONResponse({"status": "ok"})),
        Route("/ping", lambda _r: JSONResponse("pong")),
        *[Route(p, lambda _r: PlainTextResponse("secret"))
          for p in ("/.git/HEAD", "/docs", "/openapi.json", "/_all_routes", "/.env")],
        WebSocketRoute("/_event/", _ws),
    ]
    return Starlette(routes=routes)


@pytest.fixture
def client():
    return TestClient(security.security_headers(_tiny_app()))


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("CME_ENV", "production")
    monkeypatch.delenv("CME_ARGON2_COST", raising=False)  # production refuses the test cost
    monkeypatch.setenv("CME_SECRET_KEY", "a-production-secret-for-this-test-only")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _assert_common(headers) -> None:
    csp = headers["content-security-policy"]
    for directive in REQUIRED_CSP:
        assert directive in csp, directive
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "geolocation=()" in headers["permissions-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_every_kind_of_response_gets_the_headers_and_data_is_not_stored(client):
    for path in ("/login/", "/assets/app-abc123.js", "/api/v1/health", "/ping", "/nowhere"):
        response = client.get(path)
        _assert_common(response.headers)
        assert "strict-transport-security" not in response.headers  # not production
    # Pages and data are never stored; a hashed chunk keeps whatever caching it had.
    assert client.get("/login/").headers["cache-control"] == "no-store"
    assert client.get("/api/v1/health").headers["cache-control"] == "no-store"
    assert client.get("/ping").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/assets/app-abc123.js").headers


def test_hsts_only_in_production(client, production):
    assert get_settings().production
    response = client.get("/login/")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("path", ["/.git/HEAD", "/docs", "/openapi.json", "/_all_routes", "/.env"])
def test_debug_and_tooling_paths_are_404_even_if_something_serves_them(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "secret" not in response.text
    _assert_common(response.headers)


def test_the_websocket_handshake_gets_the_headers(client):
    with client.websocket_connect("/_event/") as ws:
        assert ws.receive_text() == "hello"
        # Starlette's test client keeps the accept message's headers.
        headers = dict(ws.extra_headers or [])
    assert headers[b"content-security-policy"] == security.CSP.encode()
    assert headers[b"x-content-type-options"] == b"nosniff"


# ------------------------------------------------------------------------------ redaction


@pytest.mark.parametrize("message", [
    f"Received event from session abc with no associated token. This may indicate a bug. "
    f"Event data: {{'payload': {{'first_name': '{CANARY_FIRST}'}}}}",
    f"Received event data as a string. Event data: {{\"upn\": \"{CANARY_UPN}\"}}",
    f"Failed to deserialize event data: {{'last_name': '{CANARY_LAST}'}}.",
    f"Event data must be a dictionary, but received ['{CANARY_FIRST}'] of type <class 'list'>.",
    f"Error transforming event payload for handler CaseState.save: Error transforming event "
    f"argument 'form' with value '{{'upn': '{CANARY_UPN}'}}' and type hint '<class 'dict'>'",
    f"Received a string value ({CANARY_LAST}) but expected a <class 'int'>",
    f"[SID: abc] TypeError: cannot read {CANARY_FIRST} of undefined",
    f"CaseState({{'child_name': '{CANARY_FIRST} {CANARY_LAST}'}})",
])
def test_reflex_payload_echoes_are_redacted(message):
    redacted = security.redact(message)
    assert security.REDACTED in redacted
    assert not any(canary in redacted for canary in CANARIES), redacted


def test_a_traceback_keeps_its_frames_and_types_but_no_message():
    try:
        try:
            raise KeyError(CANARY_UPN)
        except KeyError as inner:
            raise ValueError(f"bad value {CANARY_FIRST}\nsecond line {CANARY_LAST}") from inner
    except ValueError:
        logger = logging.getLogger("cme_app.tests.redaction")
        with _capture(logger) as records:
            logger.exception("Handler failed")
    (record,) = records
    text = logging.Formatter().format(record)
    assert not any(canary in text for canary in CANARIES), text
    assert "Handler failed" in text
    assert "ValueError: [redacted]" in text and "KeyError: [redacted]" in text
    assert "test_a_traceback_keeps_its_frames_and_types_but_no_message" in text  # the frame


def test_a_reflex_backend_exception_report_is_redacted():
    """Reflex's default handler writes the traceback into the message itself."""
    from reflex.app import default_backend_exception_handler

    logger = logging.getLogger("reflex.app")
    try:
        raise ValueError(f"no child with UPN {CANARY_UPN}")
    except ValueError as exc:
        with _capture(logger) as records:
            default_backend_exception_handler(exc)
    text = "\n".join(r.getMessage() for r in records)
    assert "[Reflex Backend Exception]" in text and "ValueError: [redacted]" in text
    assert CANARY_UPN not in text


# ------------------------------------------------------- the real Reflex event path (no socket)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


class _capture:
    """Collect the records one logger (and its children) emits, whatever its propagation."""

    def __init__(self, logger: logging.Logger):
        self.logger, self.handler = logger, _Capture()

    def __enter__(self):
        self.level = self.logger.level
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.DEBUG)
        return self.handler.records

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def _text(records) -> str:
    return "\n".join(logging.Formatter().format(r) for r in records)


def _run_apart(coroutine):
    """asyncio.run in a thread of its own: in a whole-suite run an earlier test may have left
    an event loop running in this one (seen once, after the browser tests)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_malformed_events_through_reflexs_event_namespace_are_logged_redacted():
    """Reflex's own on_event, as the websocket calls it, with payloads carrying canaries."""
    from reflex.app import EventNamespace
    from reflex_base.utils.exceptions import EventDeserializationError

    from cme_app.cme_app import app

    namespace = EventNamespace("/_event", app)
    reflex_logger = logging.getLogger("reflex")
    payload = {"name": "state.case_state.save", "payload": {"first_name": CANARY_FIRST}}
    with _capture(reflex_logger) as records:
        # A socket with no token: Reflex warns with the whole event.
        _run_apart(namespace.on_event("sid-unknown", payload))
        # A linked socket sending a string that is not JSON: warned, then raised; the socket
        # server logs the exception (engineio's "message handler error").
        namespace._token_manager.sid_to_token["sid-known"] = "token-1"
        with pytest.raises(EventDeserializationError) as raised:
            _run_apart(namespace.on_event("sid-known", f"{{not json {CANARY_UPN}"))
        assert CANARY_UPN in str(raised.value)  # the exception itself does carry it
        try:
            raise raised.value
        except EventDeserializationError:
            logging.getLogger("reflex.engineio").exception("message async handler error")
    text = _text(records)
    assert "Event data: [redacted]" in text
    assert "EventDeserializationError: [redacted]" in text
    assert not any(canary in text for canary in CANARIES), text


def test_an_argument_that_cannot_be_transformed_is_logged_redacted():
    """Reflex's event processor turns the payload to the handler's types, and warns on failure."""
    import reflex as rx
    from reflex_base.event.processor.base_state_processor import _prepare_event_payload

    class _Probe(rx.State):
        count: int = 0

        @rx.event
        def set_count(self, count: int):
            self.count = count

    with _capture(logging.getLogger("reflex")) as records:
        _prepare_event_payload(_Probe.event_handlers["set_count"], {"count": CANARY_UPN})
    text = _text(records)
    assert "Error transforming event payload for handler" in text
    assert not any(canary in text for canary in CANARIES), text


# ------------------------------------------------------------- telemetry and the version check


def test_telemetry_is_off_and_the_version_check_is_forced_off():
    """rxconfig.py, imported in a clean environment, turns both off whatever make exports."""
    import os
    import subprocess
    import sys

    from tests.e2e.helpers import ROOT

    env = {k: v for k, v in os.environ.items()
           if k not in ("REFLEX_CHECK_LATEST_VERSION", "REFLEX_TELEMETRY_ENABLED")}
    code = ("import os, rxconfig; "
            "print(rxconfig.config.telemetry_enabled, os.environ['REFLEX_CHECK_LATEST_VERSION'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert out[-2:] == ["False", "0"]
