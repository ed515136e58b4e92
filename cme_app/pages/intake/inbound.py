"""/cases/new: staff log an inbound notification from another LA, a new-to-country child, or a
referral from a partner (health, police, housing, children's social care, another council
service) or a member of the public."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import feedback
from ...components.layout import page
from ...domain import REFERRAL_CHANNELS
from ...permissions import Capability
from ...services.intake import inbound
from ...services.intake import referral_form as rf
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, handler, page_load


def _open_case(state: CaseNewState, case) -> rx.event.EventSpec:
    state.values = {}
    return rx.redirect(routes.case_url(case.reference))


class CaseNewState(PageFeedback, AuthState):
    values: dict[str, str] = {}

    message_id: ClassVar[str] = "inbound-problem"

    def _reset_page(self) -> None:
        self.values = {}
        self._clear_feedback()
        self.form_key += 1

    @rx.event
    @page_load(Capability.INBOUND_LOG)
    def load(self):
        return None

    @rx.event
    @handler(Capability.INBOUND_LOG, then=_open_case)
    def submit_form(self, form_data: dict):
        data = forms.submitted(form_data)
        self.values = data  # kept, so the form shows what was typed beside any errors
        return partial(inbound.log_inbound, form=data)


S = CaseNewState


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.el.section(rx.el.h2(title), *children, class_name="section")


def _referrer() -> rx.Component:
    """Who referred the child (partners and the public). Shown once such a source is chosen
    (assets/styles.css, `.reveal--*`): the rules are the service's."""
    return rx.el.section(
        rx.el.h2("The referrer"),
        forms.select_field("received_via", "How did the referral come in?",
                           REFERRAL_CHANNELS, S.values, S.errors),
        rx.el.div(
            forms.checkbox("referrer_anonymous", "They want to stay anonymous", S.values,
                           hint="A member of the public need not give their name. Leave "
                           "their name blank; a phone number or email is still useful."),
            class_name="form-group reveal reveal--public",
        ),
        forms.text_field("referrer_name", "Referrer's name", S.values, S.errors),
        # One field a line: hints and errors beside each other pushed paired inputs apart.
        rx.el.div(
            forms.text_field("referrer_organisation", "Organisation or service", S.values,
                             S.errors, hint="For example Leeds Community Healthcare"),
            forms.text_field("referrer_job_title", "Role or job title (optional)", S.values,
                             S.errors, width="input--w20"),
            class_name="reveal reveal--agency",
        ),
        forms.text_field("referrer_phone", "Phone number", S.values, S.errors,
                         input_type="tel", width="input--w20",
                         hint="Give a phone number or an email address, or both"),
        forms.text_field("referrer_email", "Email address", S.values, S.errors,
                         input_type="email"),
        class_name="section reveal reveal--referrer",
    )


def _form() -> rx.Component:
    return rx.el.form(
        _section(
            "Where it came from",
            forms.radios("source_type", "Where did this referral come from?",
                         inbound.INBOUND_SOURCES, S.values, S.errors, inline=False),
            rx.el.div(
                rx.el.div(
                    forms.text_field("la_name", "Local authority that notified us", S.values,
                                     S.errors, hint="For example Wakefield"),
                    forms.text_field("la_code", "DfE LA code (optional)", S.values, S.errors,
                                     width="input--w10", hint="3 digits, for example 384"),
                    class_name="grid-2",
                ),
                class_name="reveal reveal--la",
            ),
            forms.date_field("received_on", "Date received", S.values, S.errors),
        ),
        _referrer(),
        _section(
            "The child",
            rx.el.div(
                forms.text_field("first_name", "First name", S.values, S.errors),
                forms.text_field("last_name", "Last name", S.values, S.errors),
                class_name="grid-2",
            ),
            forms.date_field("date_of_birth", "Date of birth", S.values, S.errors),
            forms.radios("sex", "Sex", rf.SEX_CHOICES, S.values, S.errors),
            forms.text_field("upn", "UPN (optional)", S.values, S.errors, width="input--w10",
                             hint="Unique pupil number, if the other LA gave one"),
        ),
        _section(
            "Where the child is believed to live",
            forms.text_field("line1", "Address", S.values, S.errors,
                             hint="Building and street"),
            rx.el.div(
                forms.text_field("town", "Town or city", S.values, S.errors),
                forms.text_field("postcode", "Postcode", S.values, S.errors,
                                 width="input--w10"),
                class_name="grid-2",
            ),
        ),
        _section(
            "Parent or carer",
            rx.el.div(
                forms.text_field("parent_name", "Parent or carer's name", S.values, S.errors),
                forms.text_field("parent_phone", "Parent or carer's phone number (optional)",
                                 S.values, S.errors, input_type="tel"),
                class_name="grid-2",
            ),
        ),
        _section(
            "What we have been told",
            forms.textarea_field("summary", "Summary", S.values, S.errors, rows=5,
                                 hint="What the other LA, the partner or the caller said, "
                                 "including any safeguarding concerns and the last school "
                                 "attended."),
        ),
        rx.el.div(
            rx.el.button("Log referral", type="submit", class_name="button"),
            rx.el.a("Cancel", href=routes.BOARD, class_name="button-group__link"),
            class_name="button-group",
        ),
        key=S.form_key.to(str),
        on_submit=S.submit_form,
        reset_on_submit=False,
        no_validate=True,
    )


@rx.page(route=routes.CASE_NEW, title="Log an inbound referral – Children Missing Education",
         on_load=S.load)
def case_new_page() -> rx.Component:
    return page(
        feedback(S.error_list, S.problem, S.message, element_id=S.message_id,
                 problem_title="There is a problem"),
        rx.el.span("Children missing education", class_name="caption"),
        rx.el.h1("Log an inbound notification or new-to-country referral"),
        rx.el.p("Use this when another local authority tells us a child has moved into Leeds, "
                "a child new to the country needs a school place, or health, the police, "
                "housing, children's social care, another council service or a member of the "
                "public tells us about a child who may be missing education. It opens a case "
                "in New referral.", class_name="lead"),
        rx.cond(S.user_role != "", _form()),
        narrow=True,
    )
