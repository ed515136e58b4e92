"""A WebSocket client that speaks Reflex 0.10.1's `/_event` protocol, for attack tests.

It connects as the browser does (reflex_base/.templates/web/utils/state.js): socket.io at path
`/_event`, namespace `/_event`, websocket transport only, `?token=<tab uuid>` in the URL, and the
boot event (`hydrate_and_load`) in the CONNECT packet's auth. Unlike a browser it may send any
Origin (or none), any Cookie, and any handler name with any payload. Every update the server
sends (`{"delta": {...}, "events": [...]}`) is kept in `updates`, in order.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import reflex as rx
import socketio

NAMESPACE = "/_event"
STATE = "reflex___state____state"
BOOT_EVENT = f"{STATE}.hydrate_and_load"


def handler_name(cls: type[rx.State], handler: str) -> str:
    """The wire name of a handler: the state's full path, a dot, the method."""
    return f"{cls.get_full_name()}.{handler}"


def router_data(path: str) -> dict[str, Any]:
    """What state.js's withRouterData adds to each event."""
    parts = urlsplit(path)
    data: dict[str, Any] = {"pathname": parts.path, "asPath": path}
    if parts.query:
        data["query"] = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    return data


class SocketRefused(Exception):
    """The server refused the handshake."""


class EventSocket:
    """One browser tab's socket. Use as a context manager, or call connect()/close()."""

    def __init__(
        self,
        app_url: str,
        *,
        origin: str | None = "default",
        cookie: str | None = None,
        path: str = "/",
        boot: bool = True,
        token: str | None = None,
    ):
        self.app_url = app_url
        self.origin = app_url if origin == "default" else origin
        self.cookie = cookie
        self.path = path
        self.boot = boot
        self.token = token or str(uuid.uuid4())
        self.updates: list[dict] = []
        self.disconnected = threading.Event()
        self.disconnected_at: float | None = None  # time.perf_counter() when the server hung up
        self._cond = threading.Condition()
        # websocket-client adds its own Origin unless told not to; ours (or none) is the test.
        self.sio = socketio.Client(
            reconnection=False, websocket_extra_options={"suppress_origin": True}
        )
        self.sio.on("event", self._on_update, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)

    # -- connection -----------------------------------------------------------------------

    def connect(self, timeout: float = 15) -> EventSocket:
        headers = {}
        if self.origin is not None:
            headers["Origin"] = self.origin
        if self.cookie is not None:
            headers["Cookie"] = self.cookie
        auth = {"event": self._event(BOOT_EVENT, {}, self.path)} if self.boot else None
        try:
            self.sio.connect(
                f"{self.app_url}?token={self.token}", headers=headers, auth=auth,
                transports=["websocket"], socketio_path=NAMESPACE, namespaces=[NAMESPACE],
                wait_timeout=timeout,
            )
        except socketio.exceptions.ConnectionError as e:
            raise SocketRefused(str(e)) from e
        if self.boot:
            self.settle(0, timeout=timeout)  # the hydrate and the page's on_load
        return self

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()

    def __enter__(self) -> EventSocket:
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self.sio.connected and not self.disconnected.is_set()

    # -- events ---------------------------------------------------------------------------

    def _event(self, name: str, payload: Any, path: str | None) -> dict:
        return {
            "name": name, "payload": payload, "router_data": router_data(path or self.path),
            "token": self.token,
        }

    def send(self, name: str, payload: Any = None, *, path: str | None = None) -> None:
        """Fire one event (no ack, as the browser does)."""
        self.sio.emit(
            "event", self._event(name, {} if payload is None else payload, path),
            namespace=NAMESPACE,
        )

    def send_raw(self, data: Any) -> None:
        """Emit anything as the `event` message, even a non-object."""
        self.sio.emit("event", data, namespace=NAMESPACE)

    def load(self, path: str, timeout: float = 15) -> list[dict]:
        """Navigate as the browser does on a client-side route change: the page's on_load."""
        start = len(self.updates)
        self.send(f"{STATE}.reflex___state____on_load_internal_state.on_load_internal",
                  path=path)
        self.path = path
        self.settle(start, timeout=timeout)
        return self.updates[start:]

    def call(self, name: str, payload: Any = None, *, timeout: float = 10,
             path: str | None = None) -> list[dict]:
        """Send an event and return the updates that arrive until the socket goes quiet."""
        start = len(self.updates)
        self.send(name, payload, path=path)
        self.settle(start, timeout=timeout)
        return self.updates[start:]

    def round_trip(self, name: str, payload: Any = None, timeout: float = 10) -> float:
        """Seconds from sending an event to its first update."""
        start = len(self.updates)
        t0 = time.perf_counter()
        self.send(name, payload)
        self.wait_for(lambda u: True, after=start, timeout=timeout)
        return time.perf_counter() - t0

    # -- received updates -----------------------------------------------------------------

    def _on_update(self, update: dict) -> None:
        with self._cond:
            self.updates.append(update)
            self._cond.notify_all()

    def _on_disconnect(self, *args) -> None:
        self.disconnected_at = time.perf_counter()
        self.disconnected.set()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[dict], bool], *, after: int | None = None,
                 timeout: float = 10) -> dict:
        """The first update after index `after` (default: now) that matches."""
        start = len(self.updates) if after is None else after
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for update in self.updates[start:]:
                    if predicate(update):
                        return update
                start = len(self.updates)
                left = deadline - time.monotonic()
                if left <= 0 or self.disconnected.is_set():
                    raise TimeoutError(f"no matching update within {timeout}s")
                self._cond.wait(left)

    def settle(self, start: int, *, quiet: float = 0.3, timeout: float = 10) -> None:
        """Wait for at least one update after `start`, then until none arrives for `quiet` s."""
        try:
            self.wait_for(lambda u: True, after=start, timeout=timeout)
        except TimeoutError:
            return
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = len(self.updates)
            while time.monotonic() < deadline and not self.disconnected.is_set():
                self._cond.wait(quiet)
                if len(self.updates) == seen:
                    return
                seen = len(self.updates)

    def received_text(self, start: int = 0) -> str:
        """Everything received since update `start`, as JSON text, for canary searches."""
        return json.dumps(self.updates[start:], default=str)
