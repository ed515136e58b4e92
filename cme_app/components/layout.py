"""The page shell: skip link, header with the user's navigation, main, footer."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..domain import Role
from ..permissions import Capability, allows
from ..settings import get_settings
from ..state.activity import ActivityState
from ..state.auth import AuthState
from ..state.search import SearchState
from .poll import every

SERVICE_NAME = "Children Missing Education"
UNREAD_POLL_MS = 30_000  # the header's inbox count, while the tab is visible

# Visits still in this phone's outbox must not vanish on sign-out: the outbox sends them first,
# or the officer confirms discarding them (assets/outbox.js); call_script awaits the Promise.
SIGN_OUT = rx.call_script(
    "window.cmeOutbox ? window.cmeOutbox.beforeSignOut() : true",
    callback=AuthState.confirm_sign_out,
)


def _may(capability: Capability) -> rx.Var:
    """True in the browser when the signed-in role has `capability` in the permissions table.
    Only which links show: every page and handler checks the same table on the server."""
    roles = [str(role) for role in Role if allows(role, capability)]
    return rx.Var.create(roles).contains(AuthState.user_role)


# The header's links, in order, each shown to the roles with its capability.
NAV_LINKS = (
    ("Your referrals", routes.REFERRALS, Capability.REFERRAL_WRITE),
    ("New referral", routes.REFERRAL_NEW, Capability.REFERRAL_WRITE),
    ("Returns", routes.RETURNS, Capability.SCHOOL_RETURNS),
    ("Cases", routes.BOARD, Capability.CASE_VIEW),
    ("Visits", routes.VISITS, Capability.VISIT_LOG),
    ("School returns", routes.RETURNS, Capability.RETURNS_LA_VIEW),
    ("Dashboard", routes.DASHBOARD, Capability.DASHBOARD),
    ("DfE return", routes.DFE_RETURN, Capability.DFE_RETURN_VIEW),
    ("Log inbound", routes.CASE_NEW, Capability.INBOUND_LOG),
    ("Audit", routes.AUDIT, Capability.AUDIT_READ),
    ("Retention", routes.RETENTION, Capability.RETENTION_VIEW),
    ("Users", routes.ADMIN_USERS, Capability.ACCOUNTS_MANAGE),
    ("School calendar", routes.ADMIN_CALENDAR, Capability.CALENDAR_MANAGE),
)


def _nav() -> rx.Component:
    return rx.el.nav(
        *[rx.cond(_may(capability), rx.el.a(text, href=href))
          for text, href, capability in NAV_LINKS],
        _inbox_link(),
        rx.el.span(AuthState.user_name, class_name="app-header__user"),
        rx.el.button("Sign out", on_click=SIGN_OUT, class_name="link-button", type="button"),
        class_name="app-header__nav",
        aria_label="Account",
    )


def _magnifier() -> rx.Component:
    return rx.el.svg(
        rx.el.circle(cx="10", cy="10", r="6.5", fill="none", stroke="currentColor",
                     stroke_width="2.5"),
        rx.el.line(x1="15", y1="15", x2="21", y2="21", stroke="currentColor", stroke_width="2.5"),
        view_box="0 0 24 24", width="22", height="22", aria_hidden="true", focusable="false",
    )


def _search_box() -> rx.Component:
    """Staff only (the roles that may read cases): one box that finds any case. On a phone,
    an icon link to /search instead (the page has the same box)."""
    return rx.cond(
        _may(Capability.CASE_VIEW),
        rx.fragment(
            rx.el.form(
                rx.el.label("Search for a child", html_for="header-q",
                            class_name="visually-hidden"),
                rx.el.input(id="header-q", name="q", type="search", auto_complete="off",
                            placeholder="Name, reference, UPN, date of birth, postcode",
                            class_name="header-search__input"),
                # "Find", not "Search": pages have Search buttons of their own (the audit
                # log's filters), and a test or a voice user asking for one must get one.
                rx.el.button(_magnifier(), rx.el.span("Find", class_name="visually-hidden"),
                             type="submit", class_name="header-search__button"),
                on_submit=SearchState.search,
                reset_on_submit=True,
                role="search",
                aria_label="Find a child",
                class_name="header-search",
            ),
            rx.el.a(
                _magnifier(),
                href=routes.SEARCH,
                aria_label="Search for a child",
                class_name="header-search__link",
            ),
        ),
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


TIMEOUT_WARNING_S = 120  # the warning shows this long before the idle timeout


def timeout_warning() -> rx.Component:
    """The GOV.UK timeout warning: a modal dialog, 2 minutes before the idle timeout signs
    the person out (assets/session_timeout.js opens it and moves focus to it)."""
    idle_s = get_settings().session_idle_minutes * 60
    return rx.el.dialog(
        rx.el.h2("You will be signed out soon", id="timeout-warning-title"),
        rx.el.p(
            rx.el.span(f"You will be signed out in {TIMEOUT_WARNING_S // 60} minutes",
                       id="timeout-warning-time"),
            " if you do not do anything. We will keep what you have saved.",
            id="timeout-warning-text",
        ),
        rx.el.div(
            rx.el.button("Stay signed in", type="button", class_name="button",
                         id="timeout-stay", on_click=ActivityState.still_here),
            rx.el.button("Sign out", type="button", class_name="link-button",
                         on_click=SIGN_OUT),
            class_name="button-group",
        ),
        # Used by the page's keyboard and clicks, not shown: tells the server "still here".
        rx.el.button("Still here", type="button", id="timeout-still-here", hidden=True,
                     tab_index=-1, on_click=ActivityState.still_here),
        id="timeout-warning",
        role="alertdialog",
        aria_modal="true",
        aria_labelledby="timeout-warning-title",
        aria_describedby="timeout-warning-text",
        class_name="timeout-dialog",
        custom_attrs={"data-idle-seconds": str(idle_s),
                      "data-warn-seconds": str(TIMEOUT_WARNING_S)},
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
                        _search_box(),
                        _nav(),
                        every(ms=UNREAD_POLL_MS, on_tick=unread_poll or AuthState.poll_unread),
                        timeout_warning(),
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
