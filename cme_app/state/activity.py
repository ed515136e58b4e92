"""The idle-timeout warning's server side: "Stay signed in", and the school's typing.

assets/session_timeout.js shows the warning (components/layout.py draws it) two minutes before
the idle timeout, counted from the last time the person used the page; while they type or
click it tells the server now and then (`still_here`), so using a page counts as activity even
where nothing is sent yet.
"""

from __future__ import annotations

import reflex as rx

from ..permissions import Capability
from .auth import AuthState
from .handlers import handler


def _nothing(_state, *_args):
    """Signed out meanwhile: say nothing here (the warning says so; the next action signs
    in again)."""
    return None


class ActivityState(AuthState):
    """No vars: the one handler only keeps the session alive."""

    @rx.event
    @handler(Capability.SIGNED_IN, quiet=True, signed_out=_nothing)
    def still_here(self):
        """The person is using the page ("Stay signed in", typing, clicking): the guard's
        touch is the whole of it."""
        return None
