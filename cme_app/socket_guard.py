"""The edge of the `/_event` WebSocket: Origin, per-session rate limit, event size limit.

Reflex 0.10 checks none of these itself: python-engineio refuses a *foreign* Origin (rxconfig
sets `cors_allowed_origins`) but lets a handshake with no Origin through, any client may send
events as fast as it likes, and a frame may be as big as `REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE`.
`install(app)` swaps the app's event namespace for `GuardedEventNamespace`, which adds them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from reflex.app import App, EventNamespace

from .settings import Settings, get_settings
from .state.auth import cookie_value

logger = logging.getLogger(__name__)


@dataclass
class TokenBucket:
    """`rate` events a second on average, up to `burst` at once. Refused events fill a second
    bucket, `excess`, that drains at the same rate: past `hard_limit` the client is flooding."""

    rate: float
    burst: float
    hard_limit: float
    tokens: float = field(init=False)
    excess: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        elapsed, self.stamp = max(0.0, now - self.stamp), now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.excess = max(0.0, self.excess - elapsed * self.rate)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.excess += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.excess > self.hard_limit


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

    @staticmethod
    def limit_key(sid: str, environ: dict) -> str:
        """Whose allowance an event spends: the signed-in session's, so reconnecting or opening
        more sockets with the same cookie gives no fresh allowance; else the connection's."""
        token = cookie_value(environ.get("HTTP_COOKIE", ""))
        if token:
            return "session:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        return "sid:" + sid

    def _bucket(self, sid: str) -> TokenBucket:
        key = self._keys.get(sid, "sid:" + sid)
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
        self._keys[sid] = self.limit_key(sid, environ)
        return await super().on_connect(sid, environ, auth)

    def on_disconnect(self, sid: str):
        key = self._keys.pop(sid, None)
        if key is not None and key.startswith("sid:"):
            self._buckets.pop(key, None)
        return super().on_disconnect(sid)


def install(app: App) -> None:
    """Replace the app's event namespace with the guarded one (same name, same app)."""
    current = app.event_namespace
    if current is None or app.sio is None or isinstance(current, GuardedEventNamespace):
        return
    guarded = GuardedEventNamespace(current.namespace, app)
    app._event_namespace = guarded
    app.sio.register_namespace(guarded)
