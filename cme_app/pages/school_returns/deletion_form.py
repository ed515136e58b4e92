"""/returns/new: a school's deletion return (reg 13(3), 2024 Regulations), one pupil at a time.

The checks are services/school_returns/checks.py; this page only shows the form, the grounds
in words, and what the LA will do with the return."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import feedback
from ...components.layout import page
from ...domain import DELETION_GROUNDS, GROUND_I_CONFIRMATION, GROUNDS_NAMING_A_SCHOOL
from ...permissions import Capability
from ...services.school_returns import checks, deletions, views
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load
from .parts import return_form, section, sent_panel

MOVED_TO = {"uk": "Somewhere else in the UK", "abroad": "Abroad", "unknown": "Not known"}
FOCUS_SENT = focus_script("return-sent")


def _send(session, *, actor, form: dict) -> views.SentReturn:
    ret = deletions.submit_deletion(session, actor=actor, form=form)
    return views.sent_deletion(session, ret)


def _sent(state: DeletionReturnState, sent: views.SentReturn):
    state.sent, state.sent_pupil = True, sent.pupil
    state.sent_status, state.sent_colour, state.sent_step = (
        sent.status, sent.status_colour, sent.next_step)
    state.values, state.ground = {}, ""
    return rx.call_script(FOCUS_SENT)


class DeletionReturnState(PageFeedback, AuthState):
    values: dict[str, str] = {}
    ground: str = ""  # the chosen ground, for the conditional questions under it
    sent: bool = False
    sent_pupil: str = ""
    sent_status: str = ""
    sent_colour: str = ""
    sent_step: str = ""

    message_id: ClassVar[str] = "deletion-problem"

    def _reset_page(self) -> None:
        self.values, self.ground, self.sent = {}, "", False
        self.sent_pupil = self.sent_status = self.sent_colour = self.sent_step = ""
        self._clear_feedback()
        self.form_key += 1

    @rx.event
    @page_load(Capability.SCHOOL_RETURNS)
    def load(self):
        return None

    @rx.event
    @handler(Capability.SCHOOL_RETURNS, quiet=True, refresh=False)
    def choose_ground(self, value: str):
        value = str(value or "")
        self.ground = value if value in DELETION_GROUNDS else ""

    @rx.event
    @handler(Capability.SCHOOL_RETURNS, quiet=True, refresh=False)
    def start_again(self):
        self._reset_page()

    @rx.event
    @handler(Capability.SCHOOL_RETURNS, then=_sent)
    def submit_form(self, form_data: dict):
        data = forms.submitted(form_data)
        self.values = data  # kept, so the form shows what was typed beside any errors
        return partial(_send, form=data)


S = DeletionReturnState
V, E = S.values, S.errors


def _ground_option(letter: str) -> rx.Component:
    g = DELETION_GROUNDS[letter]
    option_id, hint_id = f"ground-{letter}", f"ground-{letter}-hint"
    reveal = None
    if letter == "I":
        reveal = rx.cond(S.ground == "I", rx.el.div(
            forms.checkbox("absence_codes_confirmed", GROUND_I_CONFIRMATION, V),
            rx.cond(E.contains("absence_codes_confirmed"), rx.el.p(
                rx.el.span("Error: ", class_name="visually-hidden"),
                E["absence_codes_confirmed"], class_name="error-message",
                id="absence_codes_confirmed-error")),
            class_name=rx.cond(E.contains("absence_codes_confirmed"),
                               "conditional form-group--error", "conditional"),
        ))
    elif letter in GROUNDS_NAMING_A_SCHOOL:
        reveal = rx.cond(S.ground == letter, rx.el.div(
            forms.text_field("destination_school_urn",
                             "URN of the school the pupil is now registered at", V, E,
                             width="input--w10", input_mode="numeric",
                             hint="6 digits, like 107999. Ask the family or the new school."),
            class_name="conditional",
        ))
    return rx.el.div(
        rx.el.div(
            rx.el.input(type="radio", id=option_id, name="ground", value=letter,
                        default_checked=V["ground"].to(str) == letter,
                        aria_describedby=hint_id, on_change=S.choose_ground),
            rx.el.div(
                rx.el.label(g.title, html_for=option_id, class_name="choice__label"),
                rx.el.p(g.explanation, " (ground ", letter, ")", id=hint_id,
                        class_name="hint choice__hint"),
            ),
            class_name="choice",
        ),
        reveal if reveal is not None else rx.fragment(),
    )


def _grounds() -> rx.Component:
    return rx.el.div(
        rx.el.fieldset(
            rx.el.legend("Why was the pupil deleted from the register?",
                         class_name="legend legend--s"),
            rx.el.p("Choose the reason that applies. The letter is the ground in the pupil "
                    "registration regulations, as your MIS shows it.", id="ground-hint",
                    class_name="hint"),
            rx.cond(E.contains("ground"), rx.el.p(
                rx.el.span("Error: ", class_name="visually-hidden"), E["ground"],
                class_name="error-message", id="ground-error")),
            rx.el.div(*[_ground_option(letter) for letter in DELETION_GROUNDS],
                      class_name="choices"),
            class_name="fieldset",
            aria_describedby="ground-hint ground-error",
        ),
        id="ground",
        tab_index=-1,
        class_name=rx.cond(E.contains("ground"), "form-group form-group--error", "form-group"),
    )


def _pupil() -> rx.Component:
    return section(
        "The pupil",
        forms.text_field("upn", "UPN (optional)", V, E, width="input--w20",
                         hint="Unique pupil number: a letter and 12 digits, from your MIS."),
        rx.el.div(
            forms.text_field("first_name", "First name", V, E),
            forms.text_field("last_name", "Last name", V, E),
            class_name="grid-2",
        ),
        forms.date_field("date_of_birth", "Date of birth", V, E),
        forms.radios("sex", "Sex", checks.SEXES, V, E),
    )


def _home() -> rx.Component:
    return section(
        "Where the pupil lives",
        forms.text_field("address_line1", "Address", V, E, hint="Building and street"),
        rx.el.div(
            forms.text_field("town", "Town or city (optional)", V, E),
            forms.text_field("postcode", "Postcode (optional)", V, E, width="input--w10"),
            class_name="grid-2",
        ),
    )


def _parent(slot: int) -> rx.Component:
    key = f"parent_{slot}_"
    if slot == 1:
        return rx.fragment(
            forms.text_field(key + "name", "Parent or carer's full name", V, E),
            forms.text_field(key + "address", "Their address (optional)", V, E,
                             hint="Only if it is not the pupil's address"),
            forms.text_field(key + "phone", "Their emergency phone number", V, E,
                             input_type="tel", width="input--w20"),
        )
    return rx.fragment(
        forms.text_field(key + "name", "Second parent or carer's full name (optional)", V, E),
        forms.text_field(key + "address", "Second parent or carer's address (optional)", V, E,
                         hint="Only if it is not the pupil's address"),
        forms.text_field(key + "phone",
                         "Second parent or carer's emergency phone number (optional)", V, E,
                         input_type="tel", width="input--w20",
                         hint="Needed if you give a second parent or carer's name"),
    )


def _parents() -> rx.Component:
    return section(
        "Parents or carers the pupil lives with",
        _parent(1),
        rx.el.h3("Second parent or carer (optional)"),
        _parent(2),
        hint="Each parent or carer the pupil normally lives with, with a phone number for "
             "emergencies.",
    )


def _deletion() -> rx.Component:
    return section(
        "The deletion",
        forms.date_field("deletion_date", "Date the pupil was deleted from the register", V,
                         E),
        _grounds(),
    )


def _destination() -> rx.Component:
    return section(
        "Where the pupil is going (if known)",
        forms.radios("moved_to", "Where has the pupil moved to? (optional)", MOVED_TO, V, E),
        forms.textarea_field("new_address", "New address (optional)", V, E, rows=3),
        rx.el.div(
            forms.text_field("new_parent_name",
                             "Parent or carer the pupil will live with (optional)", V, E),
            forms.date_field("new_parent_from", "Living with them from (optional)", V, E),
            class_name="grid-2",
        ),
        rx.cond(
            (S.ground == "A") | (S.ground == "D"),
            rx.fragment(),  # asked under the ground, where it is needed
            forms.text_field("destination_school_urn", "New school's URN (optional)", V, E,
                             width="input--w10", input_mode="numeric",
                             hint="6 digits, like 107999"),
        ),
        forms.date_field("destination_school_start", "Start date at the new school (optional)",
                         V, E),
        forms.text_field("destination_la_code", "New local authority's code (optional)", V, E,
                         width="input--w10", input_mode="numeric",
                         hint="3 digits, like 384 for Wakefield"),
    )


def _form() -> rx.Component:
    return return_form(
        S, "Send deletion return",
        _pupil(),
        _home(),
        _parents(),
        _deletion(),
        _destination(),
        section(
            "Anything else",
            forms.textarea_field("notes", "Notes (optional)", V, E, rows=4,
                                 hint="Anything the CME team should know, such as what the "
                                 "school did to find the pupil."),
        ),
    )


@rx.page(route=routes.RETURN_NEW, title="Send a deletion return – Children Missing Education",
         on_load=S.load)
def deletion_return_page() -> rx.Component:
    return page(
        rx.cond(
            S.sent,
            sent_panel("Deletion return sent", S.sent_pupil, S.sent_status, S.sent_colour,
                       S.sent_step, again="Send another deletion return",
                       on_again=S.start_again),
            rx.fragment(
                rx.el.p(rx.el.a("Back to your returns", href=routes.RETURNS,
                                class_name="back-link")),
                feedback(S.error_list, S.problem, S.message, element_id=S.message_id,
                         problem_title="There is a problem"),
                rx.el.span("School returns", class_name="caption"),
                rx.el.h1("Send a deletion return"),
                rx.el.p("Tell us about a pupil you have deleted from your admission register. "
                        "We use it to check the pupil is safe and in education.",
                        class_name="lead"),
                rx.cond(S.user_role != "", _form()),
            ),
        ),
        narrow=True,
    )
