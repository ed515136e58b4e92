"""The page shell: skip link, header with the user's navigation, main, footer."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..services.reporting.reports import REPORT_VIEWERS
from ..state.auth import AuthState
from .poll import every

SERVICE_NAME = "Children Missing Education"
UNREAD_POLL_MS = 30_000  # the header's inbox count, while the tab is visible

# Visits still in this phone's outbox must not vanish on sign-out: the outbox sends them first,
# or the officer confirms discarding them (assets/outbox.js); call_script awaits the Promise.
SIGN_OUT = rx.call_script(
    "window.cmeOutbox ? window.cmeOutbox.beforeSignOut() : true",
    callback=AuthState.confirm_sign_out,
)


def _nav() -> rx.Component:
    return rx.el.nav(
        rx.cond(
            AuthState.user_role == "school",
            rx.fragment(
                rx.el.a("Your referrals", href=routes.REFERRALS),
                rx.el.a("New referral", href=routes.REFERRAL_NEW),
            ),
            rx.cond(AuthState.user_role != "auditor", rx.el.a("Cases", href=routes.BOARD)),
        ),
        rx.cond(
            (AuthState.user_role == "officer") | (AuthState.user_role == "lead"),
            rx.el.a("Visits", href=routes.VISITS),
        ),
        rx.cond(
            rx.Var.create(list(REPORT_VIEWERS)).contains(AuthState.user_role),
            rx.el.a("Dashboard", href=routes.DASHBOARD),
        ),
        rx.cond(
            (AuthState.user_role == "officer")
            | (AuthState.user_role == "lead")
            | (AuthState.user_role == "admin"),
            rx.el.a("Log inbound", href=routes.CASE_NEW),
        ),
        rx.cond(
            (AuthState.user_role == "auditor") | (AuthState.user_role == "lead"),
            rx.fragment(
                rx.el.a("Audit", href=routes.AUDIT),
                rx.el.a("Retention", href=routes.RETENTION),
            ),
        ),
        rx.cond(
            AuthState.user_role == "admin",
            rx.fragment(
                rx.el.a("Users", href=routes.ADMIN_USERS),
                rx.el.a("School calendar", href=routes.ADMIN_CALENDAR),
            ),
        ),
        _inbox_link(),
        rx.el.span(AuthState.user_name, class_name="app-header__user"),
        rx.el.button("Sign out", on_click=SIGN_OUT, class_name="link-button", type="button"),
        class_name="app-header__nav",
        aria_label="Account",
    )


def _inbox_link() -> rx.Component:
    """"Inbox 3" on screen, "Inbox, 3 unread" as its name (an aria-label: hidden spans inside
    a link get spaces of their own in the computed name)."""
    count = AuthState.unread_count
    return rx.el.a(
        "Inbox",
        rx.cond(
            count > 0,
            rx.fragment(
                " ",
                rx.el.span(
                    rx.cond(count > 99, "99+", count.to(str)), class_name="app-header__badge"
                ),
            ),
        ),
        href=routes.INBOX,
        id="header-inbox",
        aria_label=rx.cond(count > 0, "Inbox, " + count.to(str) + " unread", "Inbox"),
        class_name="app-header__inbox",
    )


def page(
    *children: rx.Component,
    narrow: bool = False,
    wide: bool = False,
    signed_in: bool = True,
    unread_poll=None,
) -> rx.Component:
    """`unread_poll`: the handler the header's 30 s tick calls (the inbox page refreshes its
    list with the count in one event); AuthState.poll_unread by default."""
    return rx.fragment(
        # Lets browser tests wait until the page is connected and its on_load has run.
        rx.el.div(id="hydrated", data_hydrated=rx.State.is_hydrated.to(str), hidden=True),
        rx.el.a("Skip to main content", href="#main-content", class_name="skip-link"),
        rx.el.header(
            rx.el.div(
                rx.el.a(
                    SERVICE_NAME,
                    rx.el.span("Leeds City Council", class_name="app-header__la"),
                    href="/",
                    class_name="app-header__service",
                ),
                rx.cond(
                    AuthState.user_role != "",
                    rx.fragment(
                        _nav(),
                        every(ms=UNREAD_POLL_MS, on_tick=unread_poll or AuthState.poll_unread),
                    ),
                )
                if signed_in
                else rx.fragment(),
                class_name="app-header__inner",
            ),
            class_name="app-header",
        ),
        rx.el.main(
            *children,
            id="main-content",
            tab_index=-1,
            class_name="page page--narrow" if narrow else "page page--wide" if wide else "page",
        ),
        rx.el.footer(
            rx.el.div(
                rx.el.p(
                    "Official-sensitive. Information about children is shared under "
                    "section 436A of the Education Act 1996. Every view is recorded."
                ),
                class_name="footer__inner",
            ),
            class_name="footer",
        ),
    )
