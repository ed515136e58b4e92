"""/returns/new-pupil: a pupil added to a school's admission register (reg 13(1)). A school
records its own new pupils; LA staff record one for a school they choose."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import feedback
from ...components.layout import page
from ...permissions import Actor, Capability
from ...services.school_returns import new_pupils, views
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load
from .parts import return_form, section, sent_panel

FIELDS = ("school_urn", "upn", "first_name", "last_name", "date_of_birth", "start_date",
          "postcode")


def _record(session, *, actor: Actor, form: dict) -> views.SentReturn:
    return views.sent_new_pupil(new_pupils.record_new_pupil(session, actor=actor, form=form))


def _sent(state: NewPupilState, sent: views.SentReturn):
    state.sent, state.sent_pupil = True, sent.pupil
    state.sent_status, state.sent_colour, state.sent_step = (
        sent.status, sent.status_colour, sent.next_step)
    state.values = {}
    return rx.call_script(focus_script("return-sent"))


class NewPupilState(PageFeedback, AuthState):
    values: dict[str, str] = {}
    schools: list[list[str]] = []  # LA staff choose the school: [URN, "name (URN ...)"]
    is_school: bool = False
    loaded: bool = False
    sent: bool = False
    sent_pupil: str = ""
    sent_status: str = ""
    sent_colour: str = ""
    sent_step: str = ""

    message_id: ClassVar[str] = "new-pupil-problem"

    def _reset_page(self) -> None:
        self.values, self.schools, self.is_school, self.loaded = {}, [], False, False
        self._clear_sent()
        self._clear_feedback()
        self.form_key += 1

    def _clear_sent(self) -> None:
        self.sent = False
        self.sent_pupil = self.sent_status = self.sent_colour = self.sent_step = ""

    def _open(self, session, actor: Actor) -> None:
        self.is_school = actor.is_school
        self.schools = new_pupils.school_choices(session, actor=actor)
        self.loaded = True

    @rx.event
    @page_load(Capability.NEW_PUPIL_RECORD)
    def load(self):
        return self._open

    @rx.event
    @handler(Capability.NEW_PUPIL_RECORD, quiet=True, refresh=False)
    def start_again(self):
        self._clear_sent()
        self._clear_feedback()
        self.form_key += 1

    @rx.event
    @handler(Capability.NEW_PUPIL_RECORD, then=_sent)
    def submit_form(self, form_data: dict):
        sent = forms.submitted(form_data)
        data = {k: sent.get(k, "") for k in FIELDS}
        self.values = data
        return partial(_record, form=data)


S = NewPupilState
V, E = S.values, S.errors


def _form() -> rx.Component:
    return return_form(
        S, "Record new pupil",
        rx.cond(
            S.is_school,
            rx.fragment(),
            section(
                "The school",
                forms.select_field("school_urn", "School the pupil joined", S.schools, V, E),
            ),
        ),
        section(
            "The pupil",
            forms.text_field("upn", "UPN (optional)", V, E, width="input--w20",
                             hint="Unique pupil number: a letter and 12 digits."),
            rx.el.div(
                forms.text_field("first_name", "First name", V, E),
                forms.text_field("last_name", "Last name", V, E),
                class_name="grid-2",
            ),
            forms.date_field("date_of_birth", "Date of birth", V, E),
            forms.text_field("postcode", "Home postcode (optional)", V, E, width="input--w10"),
        ),
        section(
            "Joining the register",
            forms.date_field("start_date", "Date the pupil joined the admission register", V, E,
                             hint="The first day the pupil is expected to attend. It can be up "
                             "to 60 days from today."),
        ),
    )


@rx.page(route=routes.RETURN_NEW_PUPIL, title="Record a new pupil – Children Missing Education",
         on_load=S.load)
def new_pupil_page() -> rx.Component:
    return page(
        rx.cond(
            S.sent,
            sent_panel("New pupil recorded", S.sent_pupil, S.sent_status, S.sent_colour,
                       S.sent_step, again="Record another new pupil", on_again=S.start_again,
                       back="Back to returns"),
            rx.fragment(
                rx.el.p(rx.el.a("Back to returns", href=routes.RETURNS, class_name="back-link")),
                feedback(S.error_list, S.problem, S.message, element_id=S.message_id,
                         problem_title="There is a problem"),
                rx.el.span("School returns", class_name="caption"),
                rx.el.h1("Record a new pupil"),
                rx.el.p("Tell us about every pupil added to the admission register, within "
                        "5 days of adding them. We check whether the CME team is looking for "
                        "the child.", class_name="lead"),
                rx.cond(S.loaded, _form(), rx.el.p("Loading…")),
            ),
        ),
        narrow=True,
    )
