"""A browser tab's server-side state belongs to one signed-in session (issue 18, part 1).

Reflex keys a tab's state by a token the tab keeps in sessionStorage, not by who is signed in,
so without these rules the next person to use a tab would be sent what the last one opened.

- Bound: before any event is handled (and so before anything is sent), `TabBinding` compares
  a fingerprint of the session cookie the event's socket carries with the one the tab's state
  was built for. On a difference every app state of the tab is reset first.
- Wiped: signing in or out, or a handler finding the session has ended, resets the tab's app
  states at once and then drops the tab's state from the state manager (in memory: deleted;
  in Redis: written back empty, and the keys expire with Reflex's token TTL). The browser
  starts a new tab token by full navigation (assets/app.js). A state never built for a
  signed-in user is reset but not dropped (AuthState._served): dropping it mid page load made
  Reflex rebuild it and load the page again, in a loop.

The fingerprint is a truncated SHA-256 of the cookie: it tells sessions apart and cannot be
used as one. The raw cookie never enters the state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.middleware import Middleware
from reflex.state import BaseState

if TYPE_CHECKING:
    from reflex.app import App

logger = logging.getLogger(__name__)

# The fingerprint of "no session cookie", and of a tab wiped at sign-in or sign-out: neither
# is ever a cookie's fingerprint (hex), so a wiped tab is reset again on its next event.
NO_SESSION = "none"
WIPED = "wiped"
# The backend-only var (on the bound state class) holding the fingerprint; "" = not bound yet.
BOUND_VAR = "_bound_to"


def fingerprint(session_token: str) -> str:
    """Who a tab's state was built for: enough to tell sessions apart, useless as one."""
    if not session_token:
        return NO_SESSION
    return hashlib.sha256(session_token.encode()).hexdigest()[:16]


def _descendants(cls: type[BaseState]) -> list[type[BaseState]]:
    found, todo = [], [cls]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(current.get_substates())
    return found


def _path(cls: type[BaseState]) -> list[str]:
    return cls.get_full_name().split(".")[1:]


def wipe_loaded(state: BaseState, bound: type[BaseState]) -> None:
    """Reset every app state of this tab that is loaded (with the memory manager: all of
    them), and mark the tab wiped so its next event resets what a Redis store still holds.
    For a handler, which cannot await."""
    root = state._get_root_state()
    app_root = root.get_substate(_path(bound))
    app_root.reset()  # recursive over the loaded substates, backend-only vars included
    setattr(app_root, BOUND_VAR, WIPED)


async def wipe(root: BaseState, bound: type[BaseState]) -> None:
    """Reset every app state of this tab, loading from the store any not loaded yet."""
    for cls in _descendants(bound):
        await root.get_state(cls)
    (await root.get_state(bound)).reset()


# ----------------------------------------------------------------------- the event path


class TabBinding(Middleware):
    """Runs before every event's handler, under the tab's state lock: a state built for
    another session (or for nobody) is reset before the handler runs or anything is sent."""

    def __init__(self, bound: type[BaseState], session_token):
        # `session_token(state)`: the session cookie of the event's socket, from the state.
        self.bound = bound
        self.session_token = session_token

    async def preprocess(self, app: App, state: BaseState, event: Any):
        _remember(app)
        app_root = await state.get_state(self.bound)
        now = fingerprint(self.session_token(app_root))
        was = getattr(app_root, BOUND_VAR)
        if was != now:
            if was:
                await wipe(state._get_root_state(), self.bound)
                logger.info("Tab state reset: its socket's session differs from its own")
            setattr(app_root, BOUND_VAR, now)
        return None


# ----------------------------------------------------------------------- purging a token

_where: dict[str, Any] = {}  # the app and the event loop, seen by the first event
_purging: set[asyncio.Task] = set()


def _remember(app: App) -> None:
    if _where.get("app") is not app:
        _where["app"] = app
        _where["loop"] = asyncio.get_running_loop()


def purge_later(token: str, bound: type[BaseState]) -> None:
    """Drop a tab's state once the event that asked (it holds the tab's lock) is done.
    Safe to call from a handler in a worker thread."""
    loop, app = _where.get("loop"), _where.get("app")
    if not token or loop is None or app is None or loop.is_closed():
        return
    loop.call_soon_threadsafe(_start_purge, app, token, bound)


def _start_purge(app: App, token: str, bound: type[BaseState]) -> None:
    task = asyncio.get_running_loop().create_task(purge(app.state_manager, token, bound))
    _purging.add(task)
    task.add_done_callback(_purging.discard)


async def purge(manager, token: str, bound: type[BaseState]) -> None:
    """Wipe a tab's state under its lock and drop it: from memory at once; in Redis it stays
    empty until Reflex's token TTL expires the keys."""
    # Keyed by the bound class: Redis then loads its whole subtree (every app state).
    key = BaseStateToken(ident=token, cls=bound)
    try:
        async with manager.modify_state(key) as root:
            app_root = root.get_substate(_path(bound))
            app_root.reset()
            setattr(app_root, BOUND_VAR, WIPED)
            if isinstance(manager, StateManagerMemory):
                # Under the lock, so no event sees it half gone; the next one starts afresh.
                manager.states.pop(key.cache_key, None)
    except Exception:  # never let a purge take the worker down; the TTL still applies
        logger.exception("Could not purge a tab's state")


def install(app: App, bound: type[BaseState], session_token) -> None:
    """Bind every tab's state to its session: first of the app's middleware."""
    if not any(isinstance(m, TabBinding) for m in app._middlewares):
        app.add_middleware(TabBinding(bound, session_token), index=0)
