"""/login: email and password, then the user's home page."""

from __future__ import annotations

import json

import reflex as rx

from .. import routes
from ..components import forms
from ..components.layout import page
from ..components.visits import outbox_login_notice
from ..db import session_scope
from ..services import auth
from ..services.errors import NotAllowed
from ..state.auth import SIGN_IN_SCRIPT, AuthState

# The sign-in ticket was not exchanged in time (or the connection dropped mid-way).
SIGN_IN_EXPIRED = "Your sign-in did not finish. Enter your email address and password again."


class LoginState(AuthState):
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    values: dict[str, str] = {}

    @rx.event
    def load(self):
        self.errors, self.error_list, self.values = {}, [], {}
        actor = self._actor()
        if actor is not None:
            return rx.redirect(auth.home_route(actor.role))
        if self.router.url.query_parameters.get("expired"):
            self.error_list = [["email", SIGN_IN_EXPIRED]]
            self.errors = {"email": SIGN_IN_EXPIRED}
        return None

    @rx.event
    def go_home(self):
        actor = self._actor()
        return rx.redirect(auth.home_route(actor.role) if actor else routes.LOGIN)

    @rx.event
    def sign_in(self, form_data: dict):
        email = str(form_data.get("email", ""))[:254] if isinstance(form_data, dict) else ""
        password = str(form_data.get("password", ""))[:256] if isinstance(form_data, dict) else ""
        self.values = {"email": email}
        missing = []
        if not email.strip():
            missing.append(["email", "Enter your email address"])
        if not password:
            missing.append(["password", "Enter your password"])
        if missing:
            return self._fail(missing)
        try:
            with session_scope() as session:
                result = auth.sign_in(session, email=email, password=password,
                                      ip=self._client_ip())
        except NotAllowed as exc:
            return self._fail([["email", str(exc)]])
        self.errors, self.error_list = {}, []
        self.user_name, self.user_role = result.actor.name, str(result.actor.role)
        # The page reloads signed in and `load` sends the user home; outbox.js sends any
        # visits left on this phone by a session that ended as soon as it loads.
        return rx.call_script(SIGN_IN_SCRIPT.format(ticket=json.dumps(result.ticket)))

    def _fail(self, errors: list[list[str]]):
        self.error_list = errors
        self.errors = {field: message for field, message in errors}
        return rx.call_script(forms.FOCUS_ERROR_SUMMARY)


@rx.page(route=routes.LOGIN, title="Sign in – Children Missing Education",
         on_load=LoginState.load)
def login_page() -> rx.Component:
    s = LoginState
    return page(
        forms.error_summary(s.error_list),
        outbox_login_notice(),
        rx.el.h1("Sign in"),
        rx.el.p(
            "Schools use this service to refer a child missing education to the local authority "
            "and follow the referral. CME officers and team leads use it to trace the child."
        ),
        rx.el.form(
            forms.text_field("email", "Email", s.values, s.errors, input_type="email",
                             autocomplete="username", width="input--w20"),
            forms.text_field("password", "Password", s.values, s.errors,
                             input_type="password", autocomplete="current-password",
                             width="input--w20"),
            rx.el.button("Sign in", type="submit", class_name="button"),
            on_submit=LoginState.sign_in,
            reset_on_submit=False,
            no_validate=True,
        ),
        rx.el.p(
            "Forgotten your password? Ask your local authority CME team to reset it.",
            class_name="hint",
        ),
        narrow=True,
        signed_in=False,
    )


@rx.page(route="/", title="Children Missing Education", on_load=LoginState.go_home)
def index_page() -> rx.Component:
    return page(rx.el.p("Loading…"), signed_in=False)
