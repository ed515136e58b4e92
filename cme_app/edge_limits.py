"""Rate limits at the app's edge, shared by the `/_event` socket (socket_guard.py) and the JSON
API (api.py): a token bucket, the client's address, and buckets kept per key.

Before anyone signs in there is nothing to key an allowance on but the client's address: a
connection costs nothing to open, and any cookie can be made up. So every event from a socket
without a live session, and every POST /api/v1/session, spends the allowance of its address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def _now() -> float:
    return time.monotonic()


@dataclass
class TokenBucket:
    """`rate` events a second on average, up to `burst` at once. Refused events fill a second
    bucket, `excess`, that drains at the same rate: past `hard_limit` the client is flooding."""

    rate: float
    burst: float
    hard_limit: float
    tokens: float = field(init=False)
    excess: float = 0.0
    stamp: float = field(default_factory=lambda: _now())

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float | None = None) -> bool:
        now = _now() if now is None else now
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


def forwarded_client_ip(peer: str | None, forwarded_for: str | None, hops: int) -> str | None:
    """The client's IP: the peer address, or with `hops` trusted reverse proxies in front, the
    entry that many places from the end of X-Forwarded-For (entries before it are whatever
    the client sent). The same rule as Reflex's `trusted_proxy_hops` for the WebSocket."""
    if hops > 0 and forwarded_for:
        entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
        if len(entries) >= hops:
            return entries[-hops][:64]
    return peer


def address_key(ip: str | None) -> str:
    """The allowance key of a client with no session: its address (unknown: one shared key)."""
    return "addr:" + (ip or "unknown")[:64]


class Allowances:
    """Token buckets by key, made on first use; buckets nobody has used for `forget_after`
    seconds are dropped (memory stays bounded however many addresses turn up)."""

    def __init__(self, rate: float, burst: float, hard_limit: float,
                 forget_after: float = 600.0):
        self.rate, self.burst, self.hard_limit = rate, burst, hard_limit
        self.forget_after = forget_after
        self.buckets: dict[str, TokenBucket] = {}
        self._swept = _now()

    def bucket(self, key: str) -> TokenBucket:
        found = self.buckets.get(key)
        if found is None:
            self.forget_idle()
            found = self.buckets[key] = TokenBucket(
                rate=self.rate, burst=self.burst, hard_limit=self.hard_limit)
        return found

    def take(self, key: str) -> bool:
        return self.bucket(key).take()

    def forget_idle(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        now = _now()
        if now - self._swept < 1.0:
            return
        self._swept = now
        cutoff = now - self.forget_after
        for key in [k for k, b in self.buckets.items() if b.stamp < cutoff and k not in keep]:
            del self.buckets[key]
