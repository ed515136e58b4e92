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


def test_the_allowance_belongs_to_the_session_not_the_connection():
    """Reconnecting, or opening more sockets with the same cookie, gives no fresh allowance;
    sockets with no session each have their own."""
    from cme_app.settings import get_settings
    from cme_app.socket_guard import GuardedEventNamespace
    from cme_app.state.auth import SESSION_COOKIE

    guard = object.__new__(GuardedEventNamespace)  # the arithmetic only: no app needed
    guard._settings, guard._buckets, guard._keys = get_settings(), {}, {}
    cookie = {"HTTP_COOKIE": f"theme=dark; {SESSION_COOKIE}=tok-1"}
    for sid in ("a", "b"):
        guard._keys[sid] = GuardedEventNamespace.limit_key(sid, cookie)
    for sid in ("c", "d"):
        guard._keys[sid] = GuardedEventNamespace.limit_key(sid, {})
    assert guard._bucket("a") is guard._bucket("b")
    assert guard._bucket("c") is not guard._bucket("d")
    assert "tok-1" not in guard._keys["a"]  # the key is a hash, never the token
    burst = int(get_settings().socket_event_burst)
    assert sum(guard._bucket(sid).take(guard._bucket("a").stamp) for sid in "ab" * burst) == burst
