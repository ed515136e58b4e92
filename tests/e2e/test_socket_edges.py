"""Attacks on the `/_event` WebSocket of the served production build, over a real socket.

The Origin allow-list at the handshake, the per-connection event rate limit and the event size
limit (cme_app/socket_guard.py).
"""

from __future__ import annotations

import statistics
import time

import pytest

from cme_app.state.auth import AuthState
from tests.e2e.socket_client import EventSocket, SocketRefused, handler_name

POLL = handler_name(AuthState, "poll_unread")


def test_foreign_origin_is_refused(app_url):
    with pytest.raises(SocketRefused):
        EventSocket(app_url, origin="https://evil.example").connect()


def test_missing_origin_is_refused(app_url):
    """Browsers always send Origin on a WebSocket; a handshake without one is a script."""
    with pytest.raises(SocketRefused):
        EventSocket(app_url, origin=None).connect()


def test_allowed_origins_are_accepted(app_url):
    port = app_url.rsplit(":", 1)[1]
    for origin in (f"http://localhost:{port}", f"http://127.0.0.1:{port}"):
        with EventSocket(app_url, origin=origin, path="/login") as sock:
            assert sock.connected
            assert sock.updates, "the hydrate sent no state"
            assert sock.round_trip(POLL) < 10
