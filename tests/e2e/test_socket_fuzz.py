"""Hypothesis fuzzing of every public event handler over a real `/_event` socket.

Each example sends one handler hostile arguments: wrong types, long strings (over the event
size limit), deep nesting, extra keys and privileged fields. Afterwards nothing is written,
school A's case keeps its privileged fields, no update carries a stack trace, exception text or
school A's child, and the server still answers.
"""

from __future__ import annotations

import inspect
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cme_app.models import Case
from tests.e2e.helpers import fresh_session, session_cookie
from tests.e2e.socket_client import EventSocket, handler_name
from tests.pages.test_handler_guards import (
    CANARY_FIRST,
    CANARY_LAST,
    CANARY_UPN,
    _table_counts,
    app_states,
    world,  # noqa: F401  (the fixture: school A's case, draft, visit, alert, notifications)
)

# What a stack trace or an exception's text looks like on the wire.
LEAK_MARKERS = (
    "Traceback", 'File "', ".py\"", "Error:", "TypeError", "ValueError", "KeyError",
    "AttributeError", "RecursionError", "ValidationError", "IntegrityError", "sqlalchemy",
    "psycopg", "pydantic", "cme_app.", "cme_app/", "site-packages",
)
PRIVILEGED = ("id", "school_id", "stage", "version", "role", "user_id", "officer_id", "risk",
              "outcome", "created_by", "is_active")
# Events a second, inside the socket's rate limit (cme_app/socket_guard.py).
PACE = 1 / 15
EXAMPLES_PER_HANDLER = 3

HANDLERS = sorted(
    (handler_name(cls, name), [p for p in inspect.signature(h.fn).parameters][1:])
    for cls in app_states() for name, h in cls.event_handlers.items()
)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True), st.text(max_size=40),
    st.sampled_from(["CME-2026-00001", "../../etc/passwd", "<script>alert(1)</script>",
                     "'; DROP TABLE case; --", "\u202e\x00\r\n", "1e309"]),
)
long_strings = st.integers(min_value=10_000, max_value=80_000).map(lambda n: "A" * n)
nested = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=8), kids, max_size=3)),
    max_leaves=30)
deep = st.integers(min_value=50, max_value=400).map(
    lambda n: json.loads("[" * n + "]" * n))
privileged = st.fixed_dictionaries(
    {}, optional={k: st.one_of(st.integers(), st.text(max_size=12)) for k in PRIVILEGED})
values = st.one_of(scalars, long_strings, nested, deep, privileged)


@st.composite
def hostile_payloads(draw, params: list[str]):
    # Mostly every parameter, sometimes one missing.
    payload = {p: draw(values) for p in params if draw(st.integers(0, 4))}
    if draw(st.booleans()):
        payload.update(draw(privileged))  # extra keyword arguments, privileged ones included
    if draw(st.booleans()):
        payload[draw(st.text(min_size=1, max_size=10))] = draw(values)
    return payload


def _counts(session) -> dict[str, int]:
    with fresh_session(session) as s:
        return _table_counts(s)


def _privileged_fields(session, case_id: int) -> tuple:
    with fresh_session(session) as s:
        case = s.get(Case, case_id)
        return (case.stage, case.version, case.risk, case.allocated_officer_id, case.outcome,
                case.warning_markers)


@pytest.mark.parametrize("caller", ["anonymous", "school"])
def test_fuzzed_handlers_leak_nothing_and_write_nothing(app_url, session, world, caller):  # noqa: F811
    cookie = None
    if caller == "school":
        cookie = session_cookie(app_url, "school.107999@example.org")
    case = world["case"]
    before = _counts(session)
    fields = _privileged_fields(session, case.id)
    sock = EventSocket(app_url, path=f"/referrals/{case.reference}", cookie=cookie).connect()
    if caller == "school":
        assert '"school"' in sock.received_text(), "the cookie did not sign the socket in"
    sent = []

    def fire(name: str, payload: dict):
        nonlocal sock
        if not sock.connected:  # a frame over the limit closes the socket: open another
            sock = EventSocket(app_url, path=f"/referrals/{case.reference}",
                               cookie=cookie).connect()
        start = len(sock.updates)
        sock.send(name, payload)
        sent.append(name)
        time.sleep(PACE)
        text = sock.received_text(start)
        for marker in LEAK_MARKERS:
            assert marker not in text, f"{marker!r} reached the client after {name}: {text[:300]}"

    def fuzz_one(name: str, params: list[str]):
        # A few examples per handler keeps every handler covered and the run under 3 min.
        @settings(max_examples=EXAMPLES_PER_HANDLER, deadline=None, database=None,
                  derandomize=True, suppress_health_check=list(HealthCheck))
        @given(hostile_payloads(params))
        def run(payload):
            fire(name, payload)

        run()

    try:
        for name, params in HANDLERS:
            fuzz_one(name, params)
        sock.settle(len(sock.updates), timeout=3)
        text = sock.received_text()
        # School A's own user may see its own child; nobody else may.
        canaries = (CANARY_FIRST, CANARY_LAST, CANARY_UPN) if caller == "anonymous" else ()
        for marker in (*LEAK_MARKERS, *canaries):
            assert marker not in text, f"{marker!r} reached the client"
        # Still up, and this socket still answers.
        start = len(sock.updates)
        sock.load("/login")
        assert sock.connected and len(sock.updates) > start
    finally:
        sock.close()
    assert set(sent) == {name for name, _ in HANDLERS}
    assert _counts(session) == before, "a fuzzed event wrote data"
    assert _privileged_fields(session, case.id) == fields
