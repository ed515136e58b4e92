"""/login: email and password; staff then enter an authentication code (or set up their
authenticator app at their first sign-in); then the user's home page."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...components.visits import outbox_login_notice
from ...db import session_scope
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import utcnow
from ...services.trust import auth, mfa
from ...state.auth import SIGN_IN_SCRIPT, AuthState
from ...state.handlers import PageFeedback, focus_script, public

# The sign-in ticket was not exchanged in time (or the connection dropped mid-way).
SIGN_IN_EXPIRED = "Your sign-in did not finish. Enter your email address and password again."
PASSWORD_STEP, CODE_STEP, ENROL_STEP = "password", "code", "enrol"
# The query flag assets/app.js adds after signing in on a phone-sized screen (cmeSignIn).
PHONE_QUERY = "phone"
QR_ALT = (
    "QR code to add this service to your authenticator app. If you cannot scan it, "
    "enter the setup key shown below the code instead."
)


def _lower_priority() -> None:
    """Sign-in threads run at a lower CPU priority than the event loop (argon2's own threads,
    started from them, inherit it): signing in waits for CPU, signed-in users' events don't."""
    with contextlib.suppress(AttributeError, OSError):
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + 10))


# The sign-in steps' work (argon2, the database) runs here, never on the event loop: two at a
# time per worker at most, so a flood of sign-in attempts queues instead of taking every core.
SIGN_IN_THREADS = ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="cme-sign-in", initializer=_lower_priority
)


async def off_loop(fn, /, *args, **kwargs):
    """Run a blocking step of signing in (hashing, database) in a sign-in thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(SIGN_IN_THREADS, functools.partial(fn, *args, **kwargs))


def _actor_for(token: str, ip: str | None):
    """A session lookup (one indexed read): in the default thread pool, not queued behind the
    sign-in threads' hashes."""
    with session_scope() as session:
        return auth.actor_for_token(session, token, ip=ip)


def _password_step(email: str, password: str, ip: str | None):
    return auth.sign_in_steps(session_scope, email=email, password=password, ip=ip)


def _enrolment(email: str) -> tuple[str, str]:
    secret = mfa.new_secret()
    return secret, mfa.qr_svg_data_uri(secret, auth.normalise_email(email))


def _second_step(step: tuple[str, int, str, str | None], passed_at: datetime,
                 code: str) -> auth.SignInResult:
    """The code from the authenticator app: the first one confirms the new app."""
    shown, user_id, enrol_secret, ip = step
    with session_scope() as session:
        if shown == ENROL_STEP:
            return mfa.confirm_enrolment(
                session, user_id=user_id, passed_at=passed_at, secret=enrol_secret, code=code,
                ip=ip,
            )
        return mfa.complete_sign_in(
            session, user_id=user_id, passed_at=passed_at, code=code, ip=ip,
        )


def _field(form_data, name: str, limit: int) -> str:
    return str(form_data.get(name, ""))[:limit] if isinstance(form_data, dict) else ""


class LoginState(PageFeedback, AuthState):
    """The sign-in steps run before anyone is signed in, so they are `@public`: each checks
    what it needs itself (the password, then the code for the user who passed it).

    Each is a background event: it holds the tab's state lock only to read and write the
    state (`async with self`), and its database work and password hashing run in a sign-in
    thread (`off_loop`), so nobody's sign-in attempts hold up the worker's event loop."""

    values: dict[str, str] = {}
    # Which step the page shows; the server decides it, the browser cannot skip a step.
    step: str = PASSWORD_STEP
    # Enrolment only: the QR code and the same secret as text, for the user to copy.
    qr_src: str = ""
    secret_text: str = ""
    # Who passed the password step, and when: server-side only, gone after 5 minutes.
    _pending_user: int = 0
    _passed_at: float = 0.0
    _enrol_secret: str = ""

    @rx.event(background=True)
    @public
    async def load(self):
        async with self:
            self._clear_feedback()
            self.values = {}
            self._forget_pending()
            token, ip = self._session_token(), self._client_ip()
            query = self.router.url.query_parameters
            expired = bool(query.get("expired"))
            # Back to where the session ended (only a path on this site), else home.
            back = routes.safe_return_path(query.get("next"))
            # Set by app.js's cmeSignIn from the screen's width: it only picks the start page.
            phone = query.get(PHONE_QUERY) == "1"
        actor = await asyncio.to_thread(_actor_for, token, ip)
        async with self:
            self._show_user(actor)
            if actor is not None:
                return rx.redirect(back or auth.home_route(actor.role, phone=phone))
            if expired:
                # Shown as the page opens; focus stays where the browser puts it.
                self._show_field_errors([FieldError("email", SIGN_IN_EXPIRED)])
        return None

    @rx.event(background=True)
    @public
    async def go_home(self):
        async with self:
            token, ip = self._session_token(), self._client_ip()
        actor = await asyncio.to_thread(_actor_for, token, ip)
        async with self:
            self._show_user(actor)
        return rx.redirect(auth.home_route(actor.role) if actor else routes.LOGIN)

    @rx.event(background=True)
    @public
    async def sign_in(self, form_data: dict):
        email, password = _field(form_data, "email", 254), _field(form_data, "password", 256)
        async with self:
            self._forget_pending()
            self.values = {"email": email}
            missing = []
            if not email.strip():
                missing.append(FieldError("email", "Enter your email address"))
            if not password:
                missing.append(FieldError("password", "Enter your password"))
            if missing:
                return self._show_field_errors(missing)
            ip = self._client_ip()
        try:
            result = await off_loop(_password_step, email, password, ip)
        except NotAllowed as exc:
            async with self:
                return self._show_field_errors([FieldError("email", str(exc))])
        enrolment = None
        if isinstance(result, auth.CodeNeeded) and result.enrol:
            enrolment = await off_loop(_enrolment, email)
        async with self:
            return self._password_passed(result, email, enrolment)

    def _password_passed(self, result, email: str, enrolment: tuple[str, str] | None):
        self._clear_feedback()
        if isinstance(result, auth.SignInResult):
            return self._signed_in(result)
        # Staff: no session yet. The authentication code (or the app's set-up) comes next.
        self._pending_user, self._passed_at = result.user_id, result.passed_at.timestamp()
        if enrolment is not None:
            self._enrol_secret, self.qr_src = enrolment
            self.secret_text = mfa.grouped(self._enrol_secret)
            self.step = ENROL_STEP
        else:
            self.step = CODE_STEP
        # Focus only, no scrolling the field to the top: the page is short, and the
        # enrolment step's submit stopped reaching the server when it did (found in the
        # browser tests at a phone's size).
        return rx.call_script(focus_script("code", block=None))

    @rx.event(background=True)
    @public
    async def submit_code(self, form_data: dict):
        code = _field(form_data, "code", 40)
        async with self:
            passed_at = datetime.fromtimestamp(self._passed_at, tz=UTC)
            if not self._pending_user or utcnow() - passed_at > timedelta(
                minutes=mfa.PASSWORD_STEP_MINUTES
            ):
                return self._start_over(mfa.STEP_EXPIRED)
            step = (self.step, self._pending_user, self._enrol_secret, self._client_ip())
        try:
            result = await off_loop(_second_step, step, passed_at, code)
        except ValidationFailed as exc:
            async with self:
                return self._show_field_errors(exc.errors)
        except NotAllowed as exc:
            async with self:
                if str(exc) == mfa.STEP_EXPIRED:
                    return self._start_over(str(exc))
                return self._show_field_errors([FieldError("code", str(exc))])
        async with self:
            self._forget_pending()
            self._clear_feedback()
            return self._signed_in(result)

    @rx.event
    @public
    def start_again(self):
        """Back to email and password (someone else signing in, or no app to hand)."""
        self._forget_pending()
        self._clear_feedback()
        self.values = {}

    def _start_over(self, why: str):
        self._forget_pending()
        return self._show_field_errors([FieldError("email", why)])

    def _forget_pending(self) -> None:
        self._pending_user, self._passed_at, self._enrol_secret = 0, 0.0, ""
        if (self.step, self.qr_src, self.secret_text) != (PASSWORD_STEP, "", ""):
            self.step, self.qr_src, self.secret_text = PASSWORD_STEP, "", ""

    def _show_user(self, actor) -> None:
        name, role = (actor.name, str(actor.role)) if actor else ("", "")
        # Assign only on change: an assignment is sent to the browser even if equal.
        if (self.user_name, self.user_role) != (name, role):
            self.user_name, self.user_role = name, role

    def _signed_in(self, result: auth.SignInResult):
        # Nothing of this tab's state (the steps, an earlier person's pages) is kept: the
        # page loads again signed in, with a new tab token, and `load` sends the user home;
        # outbox.js sends any visits left on this phone by a session that ended as it loads.
        self._wipe_tab()
        return rx.call_script(SIGN_IN_SCRIPT.format(ticket=json.dumps(result.ticket)))


def _password_form(s) -> rx.Component:
    return rx.fragment(
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
    )


def _code_form(s, hint: str) -> rx.Component:
    return rx.el.form(
        forms.text_field("code", "Authentication code", s.values, s.errors, hint=hint,
                         autocomplete="one-time-code", width="input--w10",
                         input_mode="numeric"),
        rx.el.button("Continue", type="submit", class_name="button"),
        on_submit=LoginState.submit_code,
        reset_on_submit=True,
        no_validate=True,
    )


def _start_again() -> rx.Component:
    return rx.el.p(
        rx.el.button("Sign in as someone else", type="button",
                     class_name="link-button link-button--body",
                     on_click=LoginState.start_again),
    )


def _code_step(s) -> rx.Component:
    return rx.fragment(
        rx.el.h1("Enter your authentication code"),
        rx.el.p("Open the authenticator app on your phone and enter the 6-digit code it shows "
                "for Leeds CME."),
        _code_form(s, "Each code works once. A new one appears every 30 seconds."),
        rx.el.p(
            "Lost your phone or changed your app? Ask an administrator to reset your "
            "authentication app.",
            class_name="hint",
        ),
        _start_again(),
    )


def _enrol_step(s) -> rx.Component:
    return rx.fragment(
        rx.el.h1("Set up your authenticator app"),
        rx.el.p("Staff sign in with a password and a code from an authenticator app on their "
                "phone, such as Microsoft Authenticator or Google Authenticator."),
        rx.el.ol(
            rx.el.li("Open the app and choose to add an account."),
            rx.el.li("Scan this QR code, or enter the setup key below."),
            rx.el.li("Enter the 6-digit code the app then shows."),
            class_name="mfa-steps",
        ),
        rx.el.img(src=s.qr_src, alt=QR_ALT, width="205", height="205", class_name="mfa-qr"),
        rx.el.p("Setup key (if you cannot scan the code):", class_name="label",
                id="setup-key-label"),
        rx.el.p(rx.el.code(s.secret_text, id="setup-key", aria_labelledby="setup-key-label"),
                class_name="mfa-key"),
        _code_form(s, "The 6-digit code from your authenticator app."),
        _start_again(),
    )


@rx.page(route=routes.LOGIN, title="Sign in – Children Missing Education",
         on_load=LoginState.load)
def login_page() -> rx.Component:
    s = LoginState
    return page(
        forms.error_summary(s.error_list),
        outbox_login_notice(),
        rx.match(
            s.step,
            (CODE_STEP, _code_step(s)),
            (ENROL_STEP, _enrol_step(s)),
            _password_form(s),
        ),
        narrow=True,
        signed_in=False,
    )


@rx.page(route="/", title="Children Missing Education", on_load=LoginState.go_home)
def index_page() -> rx.Component:
    return page(rx.el.p("Loading…"), signed_in=False)
