"""/inbox: the signed-in person's notifications (issue 7), newest first, urgent unread on top.

Every handler asks services/notify/notifications.py, which only ever reads or changes the
actor's own items: an id from the browser is a request, never a proof of ownership.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components.content import status_line
from ...components.layout import page
from ...dates import relative_date_time, uk_today
from ...db import session_scope
from ...errors import NotFound
from ...numbers import row_id
from ...permissions import Actor, Capability
from ...services.notify import notifications
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load

FILTERS = ("all", "unread")
NOT_FOUND = "That notification was not found. It may not be yours, or it may have been removed."


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


def parse_id(value: object) -> int | None:
    """A notification id from the browser: a positive int (or its digits), nothing else."""
    return row_id(value)


def _safe_link(link: str) -> str | None:
    """Links are the app's own paths, built by the service; refuse anything else."""
    return link if link.startswith("/") and not link.startswith("//") else None


def _row(n: notifications.InboxItem, today) -> InboxRow:
    return InboxRow(
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
        when=relative_date_time(n.created_at, today),
        when_iso=n.created_at.isoformat(),
    )


def _marked_all(count: int) -> str:
    if count == 0:
        return "You have no unread notifications."
    if count == 1:
        return "Marked 1 notification as read."
    return f"Marked {count} notifications as read."


class InboxState(PageFeedback, AuthState):
    items: list[InboxRow] = []
    show: str = "all"
    loaded: bool = False
    receives: bool = True  # admin and auditor are sent nothing
    told_about: list[str] = []  # what this role is told about
    who_is_told: list[list[str]] = []  # [event, who]: for roles that are told nothing
    _user: int = 0
    _acted_on: int = 0  # the item the last action was about, for focus

    message_id: ClassVar[str] = "inbox-message"

    # ----- helpers --------------------------------------------------------------------------

    def _reload(self, session, actor: Actor) -> None:
        """The actor's items; assigned only when they changed, so a quiet poll sends nothing."""
        if actor.user_id != self._user:
            self.items, self._user = [], actor.user_id
        found = notifications.inbox(session, actor=actor, unread_only=self.show == "unread")
        today = uk_today()
        rows = [_row(n, today) for n in found]
        if rows != self.items:
            self.items = rows
        self._set_unread(notifications.unread_count(session, actor=actor))

    def _reload_now(self, actor: Actor) -> None:
        with session_scope() as session:
            self._reload(session, actor)

    def _describe(self, actor: Actor) -> None:
        events = notifications.EVENTS.values()
        self.receives = any(actor.role in info.roles for info in events)
        self.told_about = [info.label for info in events if actor.role in info.roles]
        self.who_is_told = [] if self.receives else [[i.label, i.who] for i in events]

    # ----- how the adapter's answers show ----------------------------------------------------

    def _focus_message(self):
        # The item acted on, or the message when the item has left the list.
        return rx.call_script(focus_script(f"n-{self._acted_on}", self.message_id))

    def _after_success(self, actor: Actor, result) -> None:
        self._reload_now(actor)

    def _after_not_found(self, actor: Actor):
        self._reload_now(actor)
        return self._show_problem(NOT_FOUND)

    def _reset_page(self) -> None:
        # Nothing an earlier visit (perhaps another person's) showed survives a refused load.
        self.items, self.loaded, self.show = [], False, "all"
        self._clear_feedback()

    # ----- events ---------------------------------------------------------------------------

    @rx.event
    @page_load(Capability.SIGNED_IN)
    def load(self):
        return self._show

    def _show(self, session, actor: Actor) -> None:
        self._describe(actor)
        self._reload(session, actor)
        self.loaded = True

    @rx.event
    @handler(Capability.SIGNED_IN, touch=False, quiet=True,
             signed_out=AuthState._forget_unread)
    def poll(self):
        """The header's tick on this page: when the count moved, the list did too. Signed
        out meanwhile, it only drops the badge, as the header's tick does."""
        return self._poll

    def _poll(self, session, actor: Actor) -> None:
        count = notifications.unread_count(session, actor=actor)
        if count != self.unread_count or actor.user_id != self._user:
            self._reload(session, actor)

    @rx.event
    @handler(Capability.SIGNED_IN)
    def set_filter(self, value: str):
        if value not in FILTERS:
            return None
        self.show = value
        return self._reload

    @rx.event
    @handler(Capability.SIGNED_IN, done="Marked as read.")
    def mark_read(self, notification_id: int):
        self._acted_on = parse_id(notification_id) or 0
        return partial(notifications.mark_read, notification_id=self._acted_on)

    @rx.event
    @handler(Capability.SIGNED_IN, done=_marked_all)
    def mark_all_read(self):
        self._acted_on = 0
        return notifications.mark_all_read

    @rx.event
    @handler(Capability.SIGNED_IN)
    def open_item(self, notification_id: int):
        """Mark it read, then go to its case or referral."""
        self._acted_on = 0
        return partial(self._open, notification_id=parse_id(notification_id) or 0)

    def _open(self, session, actor: Actor, *, notification_id: int):
        # Refuses anyone else's item, so the link is the actor's own.
        link = _safe_link(notifications.open_item(
            session, actor=actor, notification_id=notification_id))
        if link is None:
            raise NotFound(NOT_FOUND)
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
    return status_line(s.problem, s.message, element_id=InboxState.message_id,
                       class_name="inbox-message")


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
