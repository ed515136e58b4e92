"""The signed-in actor, looked up from the server-side session on every event."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..db import session_scope
from ..models import Role
from ..services import auth, notifications
from ..services.permissions import Actor
from ..settings import get_settings

SESSION_COOKIE = "cme_session"


class AuthState(rx.State):
    """Base for page states. Only the opaque session token lives in the browser."""

    session_token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        same_site="strict",
        secure=get_settings().production,
        max_age=get_settings().session_absolute_hours * 3600,
    )
    user_name: str = ""
    user_role: str = ""
    # The header's inbox badge: set on every page load and by the header's poll.
    unread_count: int = 0

    def _client_ip(self) -> str | None:
        return (self.router.session.client_ip or "")[:64] or None

    def _actor(self, *, touch: bool = True) -> Actor | None:
        """The actor for this event, checked against the database every time.

        `touch=False` for automatic requests (polling) that are not the user's activity."""
        with session_scope() as session:
            actor = auth.actor_for_token(
                session, self.session_token, ip=self._client_ip(), touch=touch
            )
        name, role = (actor.name, str(actor.role)) if actor else ("", "")
        # Assign only on change: an assignment is sent to the browser even if equal.
        if (self.user_name, self.user_role) != (name, role):
            self.user_name, self.user_role = name, role
        return actor

    def _page_guard(self, *roles: Role):
        """Call first in every on_load. Returns (actor, None) or (None, redirect event)."""
        actor = self._actor()
        if actor is None:
            self._set_unread(0)
            return None, rx.redirect(routes.LOGIN)
        if actor.role not in roles:
            return None, rx.redirect(auth.home_route(actor.role))
        self._refresh_unread(actor)
        return actor, None

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

    @rx.event
    def poll_unread(self):
        """The header's tick while the tab is visible. Not the user's activity, so it does not
        keep an unattended session alive."""
        self._refresh_unread(self._actor(touch=False))

    @rx.event
    def sign_out(self):
        return self._sign_out()

    @rx.event
    def confirm_sign_out(self, confirmed):
        """The header's Sign out, once the phone's outbox said yes (sent, or discarded)."""
        if confirmed is not True:
            return None
        return self._sign_out()

    def _sign_out(self):
        actor = self._actor()
        with session_scope() as session:
            auth.sign_out(session, token=self.session_token, actor=actor)
        self.session_token = ""
        self.user_name, self.user_role = "", ""
        self._set_unread(0)
        return rx.redirect(routes.LOGIN)
