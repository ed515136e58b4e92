"""The case page's data-protection parts: the legal-hold tag and the "Sharing log" section
(BR-D3, BR-D5). A state of its own, so the case page only places two components.

Schools never reach the case page; the service refuses them too.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ....components import content, forms
from ....db import session_scope
from ....domain import case_reference
from ....errors import ServiceError
from ....permissions import Capability
from ....services.trust import retention, sharing
from ....services.trust.sharing import DataProtectionView
from ....state.auth import AuthState
from ....state.handlers import PageFeedback, handler
from .parts import status_lines
from .state import KEEP_PLACE


class DataProtectionState(PageFeedback, AuthState):
    dp: DataProtectionView | None = None

    message_id: ClassVar[str] = "sharing-message"

    def _focus_message(self):
        """As the rest of the case page: the answer in the status bar, the page in place."""
        return rx.call_script(KEEP_PLACE)

    def _reference(self) -> str:
        return case_reference(str(self.router.url.path or "").rstrip("/").rsplit("/", 1)[-1])

    def _show(self, session, actor) -> None:
        self.dp = sharing.case_view(session, actor=actor, reference=self._reference())

    def _reload(self, actor) -> None:
        try:
            with session_scope() as session:
                self._show(session, actor)
        except ServiceError:
            self.dp = None

    def _after_success(self, actor, result) -> None:
        self._reload(actor)

    def _after_refusal(self, actor, exc) -> None:
        self._reload(actor)

    def _after_not_found(self, actor):
        self.dp = None

    def _signed_out(self):
        self.dp = None
        return super()._signed_out()

    @rx.event
    @handler(Capability.SHARING_LOG_VIEW, quiet=True)
    def load(self):
        self.dp = None
        self._clear_feedback()
        return lambda session, actor: self._show(session, actor)

    @rx.event
    @handler(Capability.SHARE_RECORD, done="Share recorded in the sharing log.", prefix="share-")
    def record_share(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "share-")
        form = {k: v for k, v in data.items() if not k.startswith("cat-")}
        form["categories"] = [k[4:] for k, v in data.items()
                              if k.startswith("cat-") and forms.ticked(v)]
        return partial(sharing.record_share, reference=self._reference(), form=form)

    @rx.event
    @handler(Capability.LEGAL_HOLD, prefix="hold-", done=lambda case: (
        "Legal hold set: this case will not be listed for destruction." if case.legal_hold
        else "Legal hold lifted."))
    def save_legal_hold(self, form_data: dict):
        """Set or lift the hold, as the form says (`hold-action`: set | lift)."""
        data = forms.prefixed_fields(form_data, "hold-")
        return partial(retention.set_legal_hold, reference=self._reference(),
                       hold=data.get("action") == "set", reason=data.get("reason", ""))


S = DataProtectionState
V = rx.Var.create({})


def legal_hold_tag() -> rx.Component:
    """Under the case header: a tag while the case is under legal hold. The sharing log is
    read when this (always drawn) part mounts, not when its tab is opened, so the tag shows
    whichever tab is on show."""
    return rx.el.div(
        rx.cond(
            S.dp & S.dp.legal_hold,
            rx.el.p(
                rx.el.strong("Legal hold", class_name="tag tag--purple"),
                " Not to be destroyed. Set by ", S.dp.hold_by, " on ", S.dp.hold_on, ": ",
                S.dp.hold_reason,
                class_name="legal-hold body-s",
            ),
        ),
        on_mount=S.load,
    )


def _messages() -> rx.Component:
    """Field errors in the section (its forms are there); answers in the status bar."""
    return forms.error_summary(S.error_list)


def status() -> rx.Component:
    """This part's answer in the case page's status bar (header.messages)."""
    return status_lines(S.problem, S.message, problem_id="sharing-problem",
                        message_id="sharing-message")


def _share_form() -> rx.Component:
    return rx.el.details(
        rx.el.summary(rx.el.span("Record a share", class_name="disclosure__summary-text"),
                      class_name="disclosure__summary"),
        rx.el.form(
            rx.el.div(
                forms.date_field("share-shared_on", "Date shared", V, S.errors),
                forms.select_field("share-recipient_type", "Shared with",
                                   sharing.RECIPIENT_TYPES, V, S.errors),
                class_name="grid-2",
            ),
            forms.text_field("share-recipient_name", "Recipient", V, S.errors,
                             hint="The organisation and team, e.g. Bradford CME team"),
            rx.el.fieldset(
                rx.el.legend("What was shared", class_name="legend legend--s"),
                forms._error(S.errors, "share-categories"),
                rx.el.div(
                    *[forms.checkbox(f"share-cat-{code}", label, V)
                      for code, label in sharing.SHARE_CATEGORIES.items()],
                    class_name="choices",
                    id="share-categories",
                ),
                class_name="fieldset",
            ),
            forms.textarea_field("share-shared_detail", "Anything else shared (optional)", V,
                                 S.errors, rows=2),
            forms.textarea_field("share-reason", "Why it was shared", V, S.errors, rows=3),
            forms.radios("share-lawful_basis", "Lawful basis", sharing.LAWFUL_BASES, V,
                         S.errors, inline=False),
            forms.text_field("share-lawful_basis_other", "Other lawful basis", V, S.errors,
                             hint="Only if you chose Other"),
            rx.el.div(rx.el.button("Record share", type="submit", class_name="button"),
                      class_name="button-group button-group--tight"),
            key=S.form_key.to(str) + "share",
            on_submit=S.record_share,
            reset_on_submit=False,
            no_validate=True,
        ),
        class_name="disclosure",
    )


def _hold_form() -> rx.Component:
    hold = S.dp.legal_hold
    return rx.el.details(
        rx.el.summary(
            rx.el.span(rx.cond(hold, "Lift legal hold", "Put on legal hold"),
                       class_name="disclosure__summary-text"),
            class_name="disclosure__summary",
        ),
        rx.el.form(
            forms.textarea_field(
                "hold-reason", rx.cond(hold, "Why the hold is lifted", "Reason for the hold"),
                V, S.errors, rows=2,
                hint="For example: IICSA retention instruction, or a court order"),
            rx.el.div(
                rx.el.button(rx.cond(hold, "Lift legal hold", "Put on legal hold"),
                             type="submit", class_name="button button--warning"),
                class_name="button-group button-group--tight",
            ),
            rx.el.input(type="hidden", name="hold-action", value=rx.cond(hold, "lift", "set")),
            key=S.form_key.to(str) + "hold",
            on_submit=S.save_legal_hold,
            reset_on_submit=False,
            no_validate=True,
        ),
        class_name="disclosure",
    )


def _share_table() -> rx.Component:
    return content.stacked_table(
        ["Date", "Shared with", "Recipient", "What", "Why", "Lawful basis", "By"],
        S.dp.shares,
        lambda r: [
            r.shared_on, r.recipient_type, r.recipient,
            rx.fragment(r.categories, rx.cond(
                r.detail != "",
                rx.el.span(rx.cond(r.categories != "", "; ", ""), r.detail))),
            r.reason, r.lawful_basis, r.shared_by,
        ],
        empty="Nothing has been shared outside the team yet.",
    )


def sharing_section() -> rx.Component:
    """The "Sharing log" section, with the legal-hold control for leads."""
    return rx.el.section(
        rx.el.h2("Sharing log", id="sharing", tab_index=-1),
        rx.cond(
            S.dp,
            rx.fragment(
                _messages(),
                rx.el.p("Record every time information about this child is shared outside "
                        "the team: what, why, with whom and on what lawful basis.",
                        class_name="hint"),
                _share_table(),
                rx.cond(S.dp.can_share, _share_form()),
                rx.cond(S.dp.can_hold, _hold_form()),
            ),
            rx.el.p("Loading…", class_name="hint"),
        ),
        class_name="section case-section",
        aria_labelledby="sharing",
    )
