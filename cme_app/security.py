"""The edges of the app: security headers on every response, and no personal data in logs.

`security_headers` is an ASGI middleware applied to the whole backend app (cme_app.py passes it
to `api_transformer`; in single-port production that app also serves the static build).
What the Content-Security-Policy allows, and why, is recorded in docs/security-headers.md.

`install_log_redaction` makes every log record, from any library, pass through `redact`:
Reflex echoes event payloads (typed personal data) in its warnings and exception messages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .settings import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reflex 0.10.1 needs each relaxation below; docs/security-headers.md says where each is used.
CSP = "; ".join([
    "default-src 'self'",
    # The prerendered HTML boots React Router from inline module scripts, and rx.call_script
    # runs its JavaScript through eval (reflex's state.js: evalReactComponent / eval).
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    # Emotion (Radix Themes, rx style props) inserts <style> elements and style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    # 'self' covers the same-origin /_event websocket (CSP3) and the JSON API.
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])

# No feature the app uses (visits record an address typed by the officer, not a location).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
HSTS = "max-age=31536000; includeSubDomains"
NO_STORE = "no-store"

# Backend routes whose answers are data, or about the server, never a static file.
_DATA_PREFIXES = ("/api/", "/_event", "/_upload", "/ping", "/_health")
# Debug and tooling paths that must not answer in any build, whatever serves them. Not
# `/admin`: the product's own /admin/* pages live there; no admin dashboard is
# configured, and the e2e probe checks `/admin` answers 404.
_HIDDEN_PREFIXES = (
    "/.git", "/_all_routes", "/docs", "/redoc", "/openapi.json", "/.env", "/.web",
)


def _base_headers() -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if get_settings().production:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def _is_hidden(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") or path.startswith(p + "?")
               for p in _HIDDEN_PREFIXES)


def _is_data(path: str) -> bool:
    return path.startswith(_DATA_PREFIXES)


def _merge(
    existing: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """`existing` with every header named in `extra` replaced by extra's value."""
    names = {name for name, _ in extra}
    return [(n, v) for n, v in existing if n.lower() not in names] + extra


async def _not_found(send: Send) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")]
    await send({"type": "http.response.start", "status": 404,
                "headers": _merge(headers, [*_base_headers(), (b"cache-control", b"no-store")])})
    await send({"type": "http.response.body", "body": b"Not Found"})


def security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap `app`: every HTTP response and websocket handshake gets the security headers.

    `Cache-Control: no-store` goes on data (the backend routes) and on every HTML page: a page
    holds a child's details once rendered, and a no-store page is kept out of the browser's
    back/forward cache, so Back after signing out on a shared computer shows nothing. Static
    files keep their caching (the service worker copies pages with the Cache API, which
    stores no-store responses too).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and _is_hidden(path):
            await _not_found(send)
            return
        extra = _base_headers()
        data = _is_data(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = list(message.get("headers", []))
                mine = list(extra)
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if data or content_type.startswith(b"text/html") or message.get("status") == 404:
                    mine.append((b"cache-control", NO_STORE.encode()))
                message["headers"] = _merge(headers, mine)
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


# ------------------------------------------------------------------------------ log redaction

REDACTED = "[redacted]"

# Reflex 0.10.1 messages that quote an event's payload (reflex/app.py, reflex_base event
# processor): keep the text up to the payload, drop the payload.
_PAYLOAD_ECHOES = [
    # "... Event data: {...}" (no token / string payload warnings)
    (re.compile(r"(Event data: ).*", re.S), r"\1" + REDACTED),
    (re.compile(r"(Failed to deserialize event data: ).*", re.S), r"\1" + REDACTED),
    (re.compile(r"(Event data must be a dictionary, but received ).*?( of type <[^>]*>)", re.S),
     r"\1" + REDACTED + r"\2"),
    (re.compile(r"(Error transforming event argument '[^']*' with value ).*?"
                r"( and type hint '.*?')?$", re.S | re.M), r"\1" + REDACTED),
    (re.compile(r"(Error transforming event payload for handler [\w.<>]+: ).*", re.S),
     r"\1" + REDACTED),
    (re.compile(r"(Received an invalid enum value |Received a string value )\(.*?\)", re.S),
     r"\1(" + REDACTED + ")"),
    # Frontend error reports quote the browser's error text, which can hold rendered data.
    (re.compile(r"(\[SID: [^\]]*\] [^:\n]*: ).*", re.S), r"\1" + REDACTED),
    # A state's repr is its every field: "SomeState({...})".
    (re.compile(r"\b(\w*State)\(\{.*\}\)", re.S), r"\1(" + REDACTED + ")"),
]

# A traceback's last line(s) name the exception and quote its message: keep the name.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(: .*)$")
_TRACEBACK_KEEP = ("Traceback (most recent call last):", "  File ", "    ",
                   "During handling of the above exception",
                   "The above exception was the direct cause")


def redact_traceback(text: str) -> str:
    """A traceback with every exception message replaced; frames and exception types stay.

    Exception messages quote their input (Reflex's ValueErrors quote the event's value), so
    none is logged: the type and the file and line of each frame are enough to find a bug.
    """
    out, in_tb = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("Traceback (most recent call last):"):
            in_tb = True
            out.append(line)
        elif not in_tb or line.startswith(_TRACEBACK_KEEP) or not line.strip():
            out.append(line)
        elif match := _EXCEPTION_LINE.match(line):
            out.append(f"{match.group(1)}: {REDACTED}")
        elif re.fullmatch(r"[A-Za-z_][\w.]*", line.strip()):
            out.append(line)  # an exception raised with no message
        # else: a continuation line of a multi-line exception message, dropped
    return "\n".join(out)


def redact(message: str) -> str:
    """`message` without the payloads and exception messages Reflex and Python echo."""
    for pattern, replacement in _PAYLOAD_ECHOES:
        message = pattern.sub(replacement, message)
    if "Traceback (most recent call last):" in message:
        message = redact_traceback(message)
    return message


_formatter = logging.Formatter()
_installed = False


def install_log_redaction() -> None:
    """Redact every log record as it is made, whichever logger and handler it goes to.

    A record factory rather than a filter: filters sit on one logger or handler, and Reflex
    (propagation off), granian and engine.io attach handlers of their own. The exception is
    folded into the message as a redacted traceback, so every handler prints the same text.
    """
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format: log the template, never the arguments
            message = str(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            message = f"{message}\n{_formatter.formatException(record.exc_info)}"
        record.msg, record.args = redact(message), ()
        record.exc_info, record.exc_text = None, None
        if record.stack_info:
            record.stack_info = redact_traceback(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
