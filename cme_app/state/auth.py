"""The signed-in actor, looked up from the server-side session on every event."""

from __future__ import annotations

import json
from functools import partial

import reflex as rx

from .. import routes
from ..db import session_scope
from ..permissions import Actor, Capability
from ..services.notify import notifications
from ..services.trust import auth
from ..settings import get_settings
from . import tab
from .handlers import handler

# `__Host-` pins the cookie to this host over HTTPS with Path=/ (production only: it needs
# Secure, which plain-http local runs cannot send).
SESSION_COOKIE = "__Host-cme_session" if get_settings().production else "cme_session"
# The browser's side of sign-in and sign-out (assets/app.js): the HttpOnly cookie can only be
# set and cleared by an HTTP response. Both then load the next page in full with a new tab
# token, so the WebSocket reconnects carrying the new cookie and nothing of the last tab's
# state (server or browser) is reused.
SIGN_IN_SCRIPT = "window.cmeSignIn({ticket})"
SIGN_OUT_SCRIPT = "window.cmeSignOut()"
# A full navigation with a new tab token (a session that ended by itself: idle, expired).
NEW_TAB_SCRIPT = "window.cmeNewTab({url})"


def cookie_value(header: str, name: str = SESSION_COOKIE) -> str:
    """One cookie's value from a Cookie header."""
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip()
    return ""


class AuthState(rx.State):
    """Base for page states. The session token never enters the state or any script: it is
    read from the HttpOnly cookie sent with the WebSocket handshake."""

    user_name: str = ""
    user_role: str = ""
    # The header's inbox badge: set on every page load and by the header's poll.
    unread_count: int = 0
    # Whose session this tab's state was built for (cme_app/state/tab.py): a fingerprint of
    # the cookie, never the cookie. Checked before every event.
    _bound_to: str = ""
    # This state has been built for a signed-in user, so a wipe must also drop it. One that
    # never was holds nothing of anyone's; dropping it would only make Reflex rebuild it for
    # the page load still under way, which finds no session and wipes it again, in a loop.
    _served: bool = False

    def _session_token(self) -> str:
        # Reflex keeps the handshake's headers server-side and never serialises the cookie.
        return cookie_value(self.router.headers.cookie)

    def _client_ip(self) -> str | None:
        return (self.router.session.client_ip or "")[:64] or None

    def _actor(self, *, touch: bool = True) -> Actor | None:
        """The actor for this event, checked against the database every time.

        `touch=False` for automatic requests (polling) that are not the user's activity."""
        with session_scope() as session:
            actor = auth.actor_for_token(
                session, self._session_token(), ip=self._client_ip(), touch=touch
            )
        if actor is not None and not self._served:
            self._served = True
        name, role = (actor.name, str(actor.role)) if actor else ("", "")
        # Assign only on change: an assignment is sent to the browser even if equal.
        if (self.user_name, self.user_role) != (name, role):
            self.user_name, self.user_role = name, role
        return actor

    def _set_unread(self, count: int) -> None:
        # Assign only on change: an assignment is sent to the browser even if equal.
        if self.unread_count != count:
            self.unread_count = count

    def _refresh_unread(self, actor: Actor | None) -> None:
        if actor is None:
            self._set_unread(0)
            return
        with session_scope() as session:
            self._set_unread(notifications.unread_count(session, actor=actor))

    # ----- the adapter's hooks for the header's own handlers (PageFeedback's replace them
    # on every page) ----------------------------------------------------------------------

    def _clear_feedback(self) -> None:
        """The header shows no messages."""

    def _after_success(self, actor: Actor, result) -> None:
        """Nothing to reload in the header."""

    def _count_unread(self, count: int) -> None:
        self._set_unread(count)

    def _forget_unread(self) -> None:
        # Signed out meanwhile: the poll only drops the badge, the next click goes to sign-in.
        self._set_unread(0)

    def _wipe_tab(self, *, drop: bool = True) -> None:
        """Forget everything this tab's state holds, on every page's state, and (`drop`) drop
        the tab's state from the state manager once this event is done. The browser is about
        to start a new tab token, so nothing of it is needed again."""
        tab.wipe_loaded(self, AuthState)
        if drop:
            tab.purge_later(self.router.session.client_token, AuthState)

    def _leave(self, url: str = routes.LOGIN):
        """The session has ended (idle, expired, revoked), or there never was one: wipe the
        tab and load `url` in full with a new tab token, not a client-side move that keeps
        the old one. A state never built for anyone is not dropped (see `_served`)."""
        self._wipe_tab(drop=self._served)
        return rx.call_script(NEW_TAB_SCRIPT.format(url=json.dumps(url)))

    def _ended(self, _result=None):
        """Signed out: the tab's state is wiped; the browser clears the HttpOnly cookie (only
        an HTTP response can) and loads the sign-in page with a new tab token."""
        self._wipe_tab()
        return rx.call_script(SIGN_OUT_SCRIPT)

    def _ended_already(self, confirmed=True):
        """Sign out pressed after the session ended (idle, or signed out elsewhere): clearing
        the cookie ends what is left of it."""
        return self._ended() if confirmed is True else None

    @rx.event
    @handler(Capability.SIGNED_IN, touch=False, quiet=True, then=_count_unread,
             signed_out=_forget_unread)
    def poll_unread(self):
        """The header's tick while the tab is visible. Not the user's activity, so it does not
        keep an unattended session alive."""
        return notifications.unread_count

    @rx.event
    @handler(Capability.SIGNED_IN, then=_ended, signed_out=_ended_already)
    def sign_out(self):
        return partial(auth.sign_out, token=self._session_token())

    @rx.event
    @handler(Capability.SIGNED_IN, then=_ended, signed_out=_ended_already)
    def confirm_sign_out(self, confirmed):
        """The header's Sign out, once the phone's outbox said yes (sent, or discarded)."""
        if confirmed is not True:
            return None
        return partial(auth.sign_out, token=self._session_token())


def bind_tabs(app) -> None:
    """Bind every tab's state to the session it was built for (cme_app/state/tab.py)."""
    tab.install(app, AuthState, AuthState._session_token)
