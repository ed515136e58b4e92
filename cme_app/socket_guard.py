"""The edge of the `/_event` WebSocket: Origin, rate limit, event size limit.

Reflex 0.10 checks none of these itself: python-engineio refuses a *foreign* Origin (rxconfig
sets `cors_allowed_origins`) but lets a handshake with no Origin through, any client may send
events as fast as it likes, and a frame may be as big as `REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE`.
`install(app)` swaps the app's event namespace for `GuardedEventNamespace`, which adds them.

The allowance belongs to the signed-in session (checked against the database at the handshake,
in a thread); a socket with no live session spends its client address's (edge_limits.py), so
before signing in neither opening more sockets nor sending a made-up cookie buys more.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

from reflex.app import App, EventNamespace

from .db import session_scope
from .edge_limits import TokenBucket, address_key, forwarded_client_ip
from .services.trust import auth as auth_service
from .settings import Settings, get_settings
from .state.auth import cookie_value

__all__ = ["GuardedEventNamespace", "TokenBucket", "event_size", "install"]

logger = logging.getLogger(__name__)


def event_size(data: Any) -> int:
    """The event's size as JSON (what the browser sent, give or take whitespace)."""
    return len(json.dumps(data, separators=(",", ":"), default=str))


class GuardedEventNamespace(EventNamespace):
    """Reflex's event namespace with the checks this app needs at its edge."""

    # Socket events that open or close the connection; never rate-limited.
    _LIFECYCLE = frozenset({"connect", "disconnect"})

    # Buckets of sessions nobody has used for this long are forgotten (memory stays bounded).
    _FORGET_AFTER_S = 600.0

    def __init__(self, namespace: str, app: App, settings: Settings | None = None):
        super().__init__(namespace, app)
        self._settings = settings or get_settings()
        self._buckets: dict[str, TokenBucket] = {}
        self._keys: dict[str, str] = {}

    def client_address(self, environ: dict) -> str | None:
        """The client's address as Reflex derives it for `router.session.client_ip` (the
        peer, or with CME_TRUSTED_PROXY_HOPS the trusted X-Forwarded-For entry)."""
        try:
            peer = environ["asgi.scope"]["client"][0]
        except (KeyError, IndexError, TypeError):
            peer = environ.get("REMOTE_ADDR")
        return forwarded_client_ip(peer, environ.get("HTTP_X_FORWARDED_FOR"),
                                   self._settings.trusted_proxy_hops)

    def limit_key(self, environ: dict, *, live: bool) -> str:
        """Whose allowance an event spends: a live session's, so reconnecting or opening more
        sockets with the same cookie gives no fresh allowance; otherwise (no cookie, or one
        that is not a live session: made up, expired, signed out) the client address's, so
        neither more sockets nor a forged cookie buy one either."""
        token = cookie_value(environ.get("HTTP_COOKIE", ""))
        if token and live:
            return "session:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        return address_key(self.client_address(environ))

    async def _key_for(self, environ: dict) -> str:
        token = cookie_value(environ.get("HTTP_COOKIE", ""))
        # The session lookup is a database read: in a thread, off the event loop.
        live = bool(token) and await asyncio.to_thread(_is_live_session, token)
        return self.limit_key(environ, live=live)

    def _bucket(self, sid: str) -> TokenBucket:
        return self._bucket_for(self._keys.get(sid, "sid:" + sid))

    def _bucket_for(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            s = self._settings
            bucket = self._buckets[key] = TokenBucket(
                rate=s.socket_events_per_second, burst=s.socket_event_burst,
                hard_limit=s.socket_flood_disconnect,
            )
        return bucket

    def _forget_idle(self) -> None:
        cutoff = time.monotonic() - self._FORGET_AFTER_S
        live = set(self._keys.values())
        for key in [k for k, b in self._buckets.items() if b.stamp < cutoff and k not in live]:
            del self._buckets[key]

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in self._LIFECYCLE or not args:
            return await super().trigger_event(event, *args)
        sid = args[0]
        bucket = self._bucket(sid)
        if not bucket.take():
            if bucket.flooding:
                # Log once: the disconnect stops the flood, and ids only (no payload).
                bucket.excess = 0.0
                logger.warning("Socket %s disconnected: event flood", sid)
                await self.disconnect(sid)
            return None
        if event == "event":
            data = args[1] if len(args) > 1 else None
            if not isinstance(data, dict):
                # Reflex would log the whole payload while refusing it.
                logger.warning("Socket %s sent an event that is not an object", sid)
                return None
            size = event_size(data)
            if size > self._settings.socket_max_event_bytes:
                logger.warning("Socket %s sent a %d-byte event; refused", sid, size)
                return None
        return await super().trigger_event(event, *args)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None):
        # engineio has already refused a foreign Origin. Browsers always send Origin on a
        # WebSocket handshake, so one without it is a script: refuse it too, so the rule is
        # simply "an allowed Origin or nothing" (ASVS 4.4.2).
        origin = environ.get("HTTP_ORIGIN")
        if origin not in self._settings.allowed_origins:
            logger.warning("Socket handshake refused: Origin not allowed")
            raise ConnectionRefusedError("origin not allowed")
        self._forget_idle()
        key = self._keys[sid] = await self._key_for(environ)
        # The boot event (the page's hydrate, sent with the handshake) is handled like any
        # other: it spends the same allowance, or the connection is refused.
        boot = isinstance(auth, dict) and auth.get("event") is not None  # CONNECT_AUTH_EVENT
        if boot and not self._bucket_for(key).take():
            self._keys.pop(sid, None)
            logger.warning("Socket handshake refused: over the rate limit")
            raise ConnectionRefusedError("rate limited")
        return await super().on_connect(sid, environ, auth)

    def on_disconnect(self, sid: str):
        self._keys.pop(sid, None)  # the bucket stays until idle: reconnecting gives no refill
        return super().on_disconnect(sid)


def _is_live_session(token: str) -> bool:
    with session_scope() as session:
        return auth_service.actor_for_token(session, token, touch=False) is not None


def install(app: App) -> None:
    """Replace the app's event namespace with the guarded one (same name, same app)."""
    current = app.event_namespace
    if current is None or app.sio is None or isinstance(current, GuardedEventNamespace):
        return
    guarded = GuardedEventNamespace(current.namespace, app)
    app._event_namespace = guarded
    app.sio.register_namespace(guarded)
