"""The socket guard's arithmetic and settings (real-socket tests: tests/e2e/test_socket_*)."""

from __future__ import annotations

import pytest

from cme_app.settings import _frame_limit
from cme_app.socket_guard import TokenBucket


def test_bucket_allows_a_burst_then_the_steady_rate():
    bucket = TokenBucket(rate=20, burst=40, hard_limit=100)
    now = bucket.stamp
    assert all(bucket.take(now) for _ in range(40))
    assert not bucket.take(now)
    # Half a second later: ten more, not eleven.
    assert sum(bucket.take(now + 0.5) for _ in range(11)) == 10


def test_bucket_flags_a_flood_but_not_a_busy_person():
    bucket = TokenBucket(rate=20, burst=40, hard_limit=100)
    t = bucket.stamp
    for i in range(200):  # 10 a second for 20 s: always allowed
        assert bucket.take(t + i * 0.1)
    t += 20
    for _ in range(40 + 101):  # all at once: the burst, then 101 refusals
        bucket.take(t)
    assert bucket.flooding


@pytest.mark.parametrize("value", ["0", "1000001", "-5"])
def test_frame_limit_over_one_megabyte_is_refused(value):
    with pytest.raises(RuntimeError):
        _frame_limit(value)


def test_frame_limit_within_range():
    assert _frame_limit("262144") == 262144


def _guard(settings=None):
    from cme_app.settings import get_settings
    from cme_app.socket_guard import GuardedEventNamespace

    guard = object.__new__(GuardedEventNamespace)  # the arithmetic only: no app needed
    guard._settings, guard._buckets, guard._keys = settings or get_settings(), {}, {}
    return guard


def _environ(ip: str = "198.51.100.20", *, cookie: str = "", forwarded: str = "") -> dict:
    """What python-engineio hands on_connect for a WebSocket handshake from `ip`."""
    environ = {"asgi.scope": {"client": (ip, 50000)}, "REMOTE_ADDR": "127.0.0.1"}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    if forwarded:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    return environ


def _connect(guard, sid: str, environ: dict) -> str:
    """The key on_connect gives the socket (the live-session lookup included)."""
    from tests.factories import run_async

    guard._keys[sid] = run_async(guard._key_for(environ))
    return guard._keys[sid]


def _allowed(guard, sids, at: float) -> int:
    """How many of one event per sid (in turn) the guard lets through at the instant `at`."""
    return sum(guard._bucket(sid).take(at) for sid in sids)


def test_a_live_sessions_sockets_share_its_allowance(session):
    """Reconnecting, or opening more sockets with the same (live) cookie, gives no fresh
    allowance; the key is a hash, never the token."""
    from cme_app.settings import get_settings
    from cme_app.state.auth import SESSION_COOKIE
    from tests.factories import make_user, session_token

    make_user(session, "officer", email="s@example.org")
    token = session_token(session, "s@example.org")
    session.commit()
    guard = _guard()
    cookie = f"theme=dark; {SESSION_COOKIE}={token}"
    a = _connect(guard, "a", _environ("198.51.100.1", cookie=cookie))
    b = _connect(guard, "b", _environ("203.0.113.9", cookie=cookie))
    assert a == b and a.startswith("session:")
    assert token not in a
    burst = int(get_settings().socket_event_burst)
    t = guard._bucket("a").stamp
    assert _allowed(guard, "ab" * burst, t) == burst


def test_two_anonymous_sockets_from_one_address_share_one_allowance(db):
    from cme_app.settings import get_settings

    guard = _guard()
    assert _connect(guard, "c", _environ()) == _connect(guard, "d", _environ())
    burst = int(get_settings().socket_event_burst)
    t = guard._bucket("c").stamp
    assert _allowed(guard, "cd" * burst, t) == burst
    # Another address has its own.
    _connect(guard, "e", _environ("192.0.2.44"))
    assert guard._bucket("e") is not guard._bucket("c")
    assert guard._bucket("e").take(t)


def test_a_forged_or_dead_cookie_buys_no_fresh_allowance(session):
    """A cookie that is not a live session (made up, or signed out) counts as anonymous: the
    socket spends its address's allowance, already spent by the socket with no cookie."""
    from cme_app.services.trust import auth
    from cme_app.settings import get_settings
    from cme_app.state.auth import SESSION_COOKIE
    from tests.factories import make_user, session_token

    make_user(session, "officer", email="s@example.org")
    ended = session_token(session, "s@example.org")
    auth.sign_out(session, token=ended, actor=None)
    session.commit()
    guard = _guard()
    plain = _connect(guard, "plain", _environ())
    forged = _connect(guard, "forged", _environ(cookie=f"{SESSION_COOKIE}=made-up-token"))
    dead = _connect(guard, "dead", _environ(cookie=f"{SESSION_COOKIE}={ended}"))
    assert plain == forged == dead == "addr:198.51.100.20"
    burst = int(get_settings().socket_event_burst)
    t = guard._bucket("plain").stamp
    assert _allowed(guard, ["plain"] * burst, t) == burst
    assert _allowed(guard, ["forged", "dead"] * 5, t) == 0


@pytest.mark.parametrize(("hops", "key"), [(0, "addr:198.51.100.20"),
                                           (1, "addr:203.0.113.7")])
def test_with_a_trusted_proxy_the_forwarded_address_is_the_key(db, hops, key):
    """Behind CME_TRUSTED_PROXY_HOPS proxies, the X-Forwarded-For entry they added is the
    client: two clients behind one proxy have their own allowances, and with no trusted proxy
    a forged header changes nothing."""
    from dataclasses import replace

    from cme_app.settings import get_settings

    guard = _guard(replace(get_settings(), trusted_proxy_hops=hops))
    one = _connect(guard, "x", _environ(forwarded="10.6.6.6, 203.0.113.7"))
    assert one == key
    other = _connect(guard, "y", _environ(forwarded="10.6.6.6, 192.0.2.8"))
    assert (other == one) is (hops == 0)


def test_the_boot_event_spends_the_allowance_or_the_handshake_is_refused(db, monkeypatch):
    """A new connection's boot event (sent with the handshake) is an event like any other: a
    new socket is no way round an address's spent allowance."""
    from reflex.app import EventNamespace

    from cme_app.settings import get_settings
    from tests.factories import run_async

    async def accepted(self, sid, environ, auth=None):
        return None

    monkeypatch.setattr(EventNamespace, "on_connect", accepted)
    # The clock stands still: no refill between handshakes, however slow the machine.
    monkeypatch.setattr("cme_app.edge_limits._now", lambda: 0.0)
    guard = _guard()
    origin = get_settings().allowed_origins[0]
    environ = {**_environ(), "HTTP_ORIGIN": origin}
    boot = {"event": {"name": "x.hydrate", "payload": {}}}
    burst = int(get_settings().socket_event_burst)
    refused = 0
    for n in range(burst + 3):
        try:
            run_async(guard.on_connect(f"s{n}", environ, boot))
        except ConnectionRefusedError:
            refused += 1
    assert refused == 3  # a burst of handshakes got through, then none
