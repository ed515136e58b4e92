"""/inbox: the signed-in person's notifications (issue 7), newest first, urgent unread on top.

Every handler looks the actor up from the session and asks services/notify/notifications.py, which
only ever reads or changes the actor's own items: an id from the browser is a request, never
a proof of ownership.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import reflex as rx

from ... import routes
from ...components.layout import page
from ...dates import LONDON
from ...db import session_scope
from ...domain import Role
from ...errors import ServiceError
from ...permissions import Actor
from ...services.notify import notifications
from ...state.auth import AuthState

INBOX_ROLES = tuple(Role)
FILTERS = ("all", "unread")
MAX_ID = 2**31 - 1
NOT_FOUND = "That notification was not found. It may not be yours, or it may have been removed."
# Focus the item that was acted on, or the message when the item left the list.
FOCUS_AFTER = (
    "window.setTimeout(() => {{ const el = document.getElementById('n-{id}')"
    " || document.getElementById('inbox-message'); if (el) el.focus(); }}, 50)"
)


@dataclass(frozen=True)
class InboxRow:
    id: int
    urgent: bool
    unread: bool
    reference: str
    subject: str
    body: str
    link: str
    link_text: str  # "Open CME-2026-00042", or where a lone-working alert is answered
    when: str  # "Today 16:02", UK time
    when_iso: str


def when_label(moment: datetime, today: date) -> str:
    """UK time, as people say it: "Today 16:02", "Yesterday 09:15", "Mon 24 Nov 14:00"."""
    local = moment.astimezone(LONDON)
    day, clock = local.date(), f"{local:%H:%M}"
    if day == today:
        return f"Today {clock}"
    if day == today - timedelta(days=1):
        return f"Yesterday {clock}"
    if day.year == today.year:
        return f"{local:%a} {day.day} {local:%b} {clock}"
    return f"{day.day} {local:%b %Y} {clock}"


def parse_id(value: object) -> int | None:
    """A notification id from the browser: a positive int (or its digits), nothing else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


def _safe_link(link: str) -> str | None:
    """Links are the app's own paths, built by the service; refuse anything else."""
    return link if link.startswith("/") and not link.startswith("//") else None


class InboxState(AuthState):
    items: list[InboxRow] = []
    show: str = "all"
    loaded: bool = False
    receives: bool = True  # admin and auditor are sent nothing
    told_about: list[str] = []  # what this role is told about
    who_is_told: list[list[str]] = []  # [event, who]: for roles that are told nothing
    message: str = ""
    problem: str = ""
    _links: dict[int, str] = {}
    _user: int = 0

    # ----- helpers --------------------------------------------------------------------------

    def _reload(self, session, actor: Actor) -> None:
        """The actor's items; assigned only when they changed, so a quiet poll sends nothing."""
        if actor.user_id != self._user:
            self.items, self._links, self._user = [], {}, actor.user_id
        found = notifications.inbox(session, actor=actor, unread_only=self.show == "unread")
        today = datetime.now(LONDON).date()
        rows = [
            InboxRow(
                id=n.id,
                urgent=n.urgent,
                unread=n.unread,
                reference=n.reference,
                subject=n.subject,
                body=n.body,
                link=n.link,
                link_text=(
                    f"Open {n.reference}"
                    if n.link.startswith(("/cases/", "/referrals/"))
                    else "Go to the lone-working alert"
                ),
                when=when_label(n.created_at, today),
                when_iso=n.created_at.isoformat(),
            )
            for n in found
        ]
        self._links = {r.id: r.link for r in rows}
        if rows != self.items:
            self.items = rows
        self._set_unread(notifications.unread_count(session, actor=actor))

    def _describe(self, actor: Actor) -> None:
        events = notifications.EVENTS.values()
        self.receives = any(actor.role in info.roles for info in events)
        self.told_about = [info.label for info in events if actor.role in info.roles]
        self.who_is_told = [] if self.receives else [[i.label, i.who] for i in events]

    def _clear_messages(self) -> None:
        self.message, self.problem = "", ""

    def _signed_in(self):
        """(actor, None), or (None, the way to the sign-in page)."""
        actor = self._actor()
        if actor is None:
            return None, rx.redirect(routes.LOGIN)
        return actor, None

    # ----- events ---------------------------------------------------------------------------

    @rx.event
    def load(self):
        self.items, self.loaded, self._links, self.show = [], False, {}, "all"
        self._clear_messages()
        actor, redirect = self._page_guard(*INBOX_ROLES)
        if redirect:
            return redirect
        self._describe(actor)
        with session_scope() as session:
            self._reload(session, actor)
        self.loaded = True
        return None

    @rx.event
    def poll(self):
        """The header's tick on this page: when the count moved, the list did too."""
        actor = self._actor(touch=False)
        if actor is None:
            self._set_unread(0)
            return None
        with session_scope() as session:
            count = notifications.unread_count(session, actor=actor)
            if count != self.unread_count or actor.user_id != self._user:
                self._reload(session, actor)
        return None

    @rx.event
    def set_filter(self, value: str):
        actor, redirect = self._signed_in()
        if redirect:
            return redirect
        if value not in FILTERS:
            return None
        self._clear_messages()
        self.show = value
        with session_scope() as session:
            self._reload(session, actor)
        return None

    @rx.event
    def mark_read(self, notification_id: int):
        actor, redirect = self._signed_in()
        if redirect:
            return redirect
        self._clear_messages()
        wanted = parse_id(notification_id)
        try:
            if wanted is None:
                raise ServiceError(NOT_FOUND)
            with session_scope() as session:
                notifications.mark_read(session, actor=actor, notification_id=wanted)
        except ServiceError:
            self.problem = NOT_FOUND
        else:
            self.message = "Marked as read."
        with session_scope() as session:
            self._reload(session, actor)
        return rx.call_script(FOCUS_AFTER.format(id=wanted or 0))

    @rx.event
    def mark_all_read(self):
        actor, redirect = self._signed_in()
        if redirect:
            return redirect
        self._clear_messages()
        with session_scope() as session:
            done = notifications.mark_all_read(session, actor=actor)
        self.message = (
            "You have no unread notifications."
            if done == 0
            else "Marked 1 notification as read."
            if done == 1
            else f"Marked {done} notifications as read."
        )
        with session_scope() as session:
            self._reload(session, actor)
        return rx.call_script(FOCUS_AFTER.format(id=0))

    @rx.event
    def open_item(self, notification_id: int):
        """Mark it read, then go to its case or referral."""
        actor, redirect = self._signed_in()
        if redirect:
            return redirect
        self._clear_messages()
        wanted = parse_id(notification_id)
        link = None
        try:
            if wanted is None:
                raise ServiceError(NOT_FOUND)
            with session_scope() as session:
                # Refuses anyone else's item, so the link below is the actor's own.
                notifications.mark_read(session, actor=actor, notification_id=wanted)
                if actor.user_id != self._user or wanted not in self._links:
                    self._reload(session, actor)
                    if wanted not in self._links:  # beyond the page: look at every item
                        found = notifications.inbox(session, actor=actor, limit=500)
                        self._links |= {n.id: n.link for n in found}
            link = _safe_link(self._links.get(wanted, ""))
        except ServiceError:
            pass
        if link is None:
            self.problem = NOT_FOUND
            with session_scope() as session:
                self._reload(session, actor)
            return rx.call_script(FOCUS_AFTER.format(id=0))
        return rx.redirect(link)


# ----- page ----------------------------------------------------------------------------------


def _tags(n: rx.Var) -> rx.Component:
    return rx.el.span(
        rx.cond(n.urgent, rx.el.strong("Urgent", class_name="tag tag--risk-red")),
        rx.cond(
            n.unread,
            rx.el.strong("Unread", class_name="tag"),
            rx.el.strong("Read", class_name="tag tag--grey"),
        ),
        class_name="inbox-item__tags",
    )


def _item(n: rx.Var) -> rx.Component:
    s = InboxState
    return rx.el.li(
        rx.el.h2(
            _tags(n),
            rx.el.span(n.subject, class_name="inbox-item__subject"),
            class_name="inbox-item__title",
        ),
        rx.el.p(n.body, class_name="inbox-item__body"),
        rx.el.p(rx.el.time(n.when, date_time=n.when_iso), class_name="inbox-item__when"),
        rx.el.div(
            rx.el.a(
                n.link_text,
                href=n.link,
                on_click=s.open_item(n.id).prevent_default,
                class_name="inbox-item__open",
            ),
            rx.cond(
                n.unread,
                rx.el.button(
                    "Mark as read",
                    # Which one, for a screen reader's list of buttons.
                    aria_label="Mark as read: " + n.subject,
                    type="button",
                    on_click=s.mark_read(n.id),
                    class_name="button button--secondary inbox-item__mark",
                ),
            ),
            class_name="inbox-item__actions",
        ),
        id="n-" + n.id.to(str),
        tab_index=-1,
        class_name=rx.cond(
            n.unread,
            rx.cond(
                n.urgent,
                "inbox-item inbox-item--unread inbox-item--urgent",
                "inbox-item inbox-item--unread",
            ),
            "inbox-item",
        ),
        key=n.id,
    )


def _filter_button(value: str, label) -> rx.Component:
    s = InboxState
    return rx.el.button(
        label,
        type="button",
        on_click=s.set_filter(value),
        aria_pressed=rx.cond(s.show == value, "true", "false"),
        class_name=rx.cond(
            s.show == value, "inbox-filter__button inbox-filter__button--on", "inbox-filter__button"
        ),
    )


def _toolbar() -> rx.Component:
    s = InboxState
    return rx.el.div(
        rx.el.div(
            rx.el.span("Show", id="inbox-filter-label", class_name="inbox-filter__label"),
            _filter_button("unread", rx.fragment("Unread (", s.unread_count.to(str), ")")),
            _filter_button("all", "All"),
            role="group",
            aria_labelledby="inbox-filter-label",
            class_name="inbox-filter",
        ),
        rx.cond(
            s.unread_count > 0,
            rx.el.button(
                "Mark all as read",
                type="button",
                on_click=s.mark_all_read,
                class_name="button button--secondary inbox-toolbar__all",
            ),
        ),
        class_name="inbox-toolbar",
    )


def _messages() -> rx.Component:
    s = InboxState
    return rx.el.div(
        rx.cond(
            s.problem != "",
            rx.el.p(s.problem, class_name="board-message board-message--error"),
            rx.cond(s.message != "", rx.el.p(s.message, class_name="board-message")),
        ),
        id="inbox-message",
        role="status",
        tab_index=-1,
        class_name="inbox-message",
    )


def _empty() -> rx.Component:
    s = InboxState
    return rx.cond(
        s.show == "unread",
        rx.el.div(
            rx.el.p("You have no unread notifications."),
            rx.el.button(
                "Show all notifications",
                type="button",
                on_click=s.set_filter("all"),
                class_name="button button--secondary",
            ),
            class_name="inbox-empty",
        ),
        rx.el.div(
            rx.el.p("You have no notifications yet."),
            rx.el.p("You will be told here, and by email, about these events:"),
            rx.el.ul(
                rx.foreach(s.told_about, lambda label: rx.el.li(label)),
                class_name="list list--bullet",
            ),
            class_name="inbox-empty",
        ),
    )


def _not_told() -> rx.Component:
    """Admin and auditor: nothing comes to them, so say who is told what instead."""
    s = InboxState
    return rx.el.div(
        rx.el.p(
            "Administrators and auditors are not sent notifications, so this inbox stays empty."
        ),
        rx.el.p(
            "The CME team and schools are told about these events, in their inbox and by email:"
        ),
        rx.el.div(
            rx.el.table(
                rx.el.caption("Who is told about what", class_name="visually-hidden"),
                rx.el.thead(
                    rx.el.tr(rx.el.th("Event", scope="col"), rx.el.th("Who is told", scope="col"))
                ),
                rx.el.tbody(
                    rx.foreach(
                        s.who_is_told,
                        lambda row: rx.el.tr(
                            rx.el.td(row[0], data_label="Event"),
                            rx.el.td(row[1], data_label="Who is told"),
                        ),
                    )
                ),
                class_name="table table--stack",
            ),
            class_name="table-wrap",
        ),
        class_name="inbox-empty",
    )


@rx.page(route=routes.INBOX, title="Inbox – Children Missing Education", on_load=InboxState.load)
def inbox_page() -> rx.Component:
    s = InboxState
    return page(
        rx.el.div(
            rx.el.h1("Inbox"),
            # Admin and auditor have nothing to set.
            rx.cond(
                s.receives,
                rx.el.a(
                    "Notification settings",
                    href=routes.INBOX_SETTINGS,
                    class_name="inbox-head__settings",
                ),
            ),
            class_name="inbox-head",
        ),
        rx.cond(
            s.loaded,
            rx.cond(
                s.receives,
                rx.fragment(
                    # No filter to offer until there is something to filter.
                    rx.cond((s.items.length() > 0) | (s.show == "unread"), _toolbar()),
                    _messages(),
                    rx.cond(
                        s.items.length() > 0,
                        rx.el.ul(
                            rx.foreach(s.items, _item),
                            class_name="inbox-list",
                            aria_label="Notifications",
                        ),
                        _empty(),
                    ),
                ),
                _not_told(),
            ),
        ),
        narrow=True,
        unread_poll=s.poll,
    )
