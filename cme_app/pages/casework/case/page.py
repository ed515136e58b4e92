"""/cases/[ref]: one case, for CME officers and team leads (admin read-only but for notices to
other LAs). The page is its sections, in the order an officer works through a case."""

from __future__ import annotations

import reflex as rx

from .... import routes
from ....components import forms
from ....components.layout import page
from ....services.casework.case_file_types import CaseFile
from ....services.trust import purpose
from . import (
    child_record,
    closing,
    documents,
    episode,
    header,
    household,
    moves,
    records,
    school_returns,
    securing,
    tabs,
    triage,
    visits,
)
from .data_protection import legal_hold_tag, sharing_section
from .data_protection import status as sharing_status
from .state import CaseState as S

# Each tab's sections, in the order of tabs.TABS.
PANELS = {
    "overview": lambda c: (moves.move(c), triage.risk(c), triage.safeguarding(c)),
    "child": lambda c: (household.child(c), child_record.child_record(c), household.referral(c)),
    "enquiries": lambda c: (records.enquiries(c), records.other_las(c), records.overseas(c)),
    "visits": lambda c: (visits.safety(c), visits.visits(c)),
    "education": lambda c: (episode.episode(c), securing.securing(c)),
    "documents": lambda c: (documents.documents(c), sharing_section()),
    "close": lambda c: (closing.close(c), closing.timeline(c)),
}


def _panel(c: rx.Var) -> rx.Component:
    """Only the chosen tab's sections are drawn: the page is as long as one group."""
    return rx.el.div(
        rx.match(
            S.tab,
            *[(key, rx.fragment(*PANELS[key](c))) for key, _, _ in tabs.TABS],
            rx.fragment(*PANELS[tabs.DEFAULT](c)),
        ),
        role="tabpanel",
        id="case-tabpanel",
        aria_labelledby="tab-" + S.tab,
        class_name="case-tabpanel",
    )


def _case_file(c: rx.Var) -> rx.Component:
    return rx.el.div(
        header.header(c),
        legal_hold_tag(),
        header.messages(sharing_status()),
        header.pending(c),
        header.matches(c),
        school_returns.school_returns(c),
        header.tab_list(),
        _panel(c),
        # assets/app.js keeps the place of an action taken in here (state.KEEP_PLACE).
        data_keep_place="",
        class_name="case-file",
    )


def _purpose_prompt() -> rx.Component:
    values = rx.Var.create({"purpose": "", "purpose_other": ""})
    return rx.el.form(
        forms.error_summary(S.error_list),
        rx.el.h1("Why are you opening this case?"),
        rx.el.p(
            "This case is not allocated to you. Your reason is recorded with your view and "
            "can be seen by the data protection officer. You will not be asked again today.",
        ),
        forms.radios("purpose", "Reason", purpose.PURPOSES, values, S.errors, inline=False),
        forms.textarea_field(
            "purpose_other", "If other, give the reason", values, S.errors,
            hint=f"Up to {purpose.OTHER_LIMIT} characters. Do not name the child or family.",
            rows=3,
        ),
        rx.el.div(rx.el.button("Continue", type="submit", class_name="button"),
                  class_name="button-group"),
        on_submit=S.give_purpose,
        reset_on_submit=False,
    )


@rx.page(route=routes.CASE_DETAIL, title="Case – Children Missing Education", on_load=S.load)
def case_page() -> rx.Component:
    return page(
        rx.el.p(rx.el.a("Back to cases", href=routes.BOARD), class_name="back"),
        rx.cond(
            S.not_found,
            rx.fragment(
                rx.el.h1("Case not found"),
                rx.el.p("Check the case reference, for example CME-2026-00042."),
            ),
            rx.cond(
                S.purpose_needed,
                _purpose_prompt(),
                rx.cond(S.case, _case_file(S.case.to(CaseFile)), rx.el.p("Loading…")),
            ),
        ),
    )
