"""/referrals/new: the school's CME referral as a GOV.UK task list.

`?section=` names the page: none for the task list, a section's key for its page (one topic
each; the enquiries have two: which checks were done, then their details), `check` for Check
your answers. The state is in referral_state.py, the section pages in referral_sections.py.
"""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from . import referral_drafts as rd
from . import referral_sections as sections
from . import referral_tasks as rt
from .referral_state import SUBMIT_BUTTON, ReferralFormState

S = ReferralFormState
__all__ = ["SUBMIT_BUTTON", "ReferralFormState", "referral_form_page"]


def _caption() -> rx.Component:
    return rx.el.span(
        rx.cond(S.resubmitting, "Resubmit referral " + S.resubmit_reference,
                "Refer a child missing education"),
        class_name="caption",
    )


def _request() -> rx.Component:
    """A referral sent back: what the CME team asked for, and its reference."""
    return rx.cond(
        S.resubmitting,
        rx.el.div(
            rx.el.h2("The CME team needs more information", class_name="notification__title"),
            rx.el.div(
                rx.el.p("Referral ", rx.el.strong(S.resubmit_reference),
                        ". The CME team says:"),
                rx.el.p(S.team_request, class_name="pre-line"),
                rx.el.p("Change your answers, then check them and resubmit the referral."),
                class_name="notification__body",
            ),
            class_name="notification",
            role="region",
            aria_label="The CME team needs more information",
        ),
    )


def _saved_notice() -> rx.Component:
    return rx.cond(
        S.saved_at != "",
        rx.el.div(
            rx.el.h2("Draft saved", class_name="notification__title"),
            rx.el.div(S.saved_at, class_name="notification__body"),
            class_name="notification notification--success",
            role="status",
        ),
    )


def _status(key: str) -> rx.Component:
    status = S.statuses[key].to(str)
    return rx.el.strong(
        status,
        id=f"status-{key}",
        class_name=rx.match(status, (rt.COMPLETED, "task-list__status tag tag--green"),
                            (rt.IN_PROGRESS, "task-list__status tag"),
                            "task-list__status tag tag--grey"),
    )


def _task_list() -> rx.Component:
    items = [
        rx.el.li(
            rx.link(s.title, href=_section_url(s.key), aria_describedby=f"status-{s.key}",
                    id=f"task-{s.key}"),
            _status(s.key),
            class_name="task-list__item",
        )
        for s in rt.SECTIONS
    ]
    return rx.fragment(
        rx.el.h1(rx.cond(S.resubmitting, "Resubmit referral", "Refer a child missing education")),
        _request(),
        rx.cond(~S.resubmitting, rx.el.p(
            "Tell the local authority about a child of compulsory school age whose whereabouts "
            "you do not know, after your own enquiries.", class_name="lead")),
        rx.el.p("Your answers are saved as you go. You can leave and come back to this referral "
                "from your list of referrals."),
        rx.el.p("You have completed ", S.completed.to(str), " of ", str(len(rt.SECTIONS)),
                " sections.", class_name="heading-s"),
        rx.el.ul(*items, class_name="task-list"),
        rx.link("Check your answers", href=_section_url(rt.CHECK), class_name="button"),
    )


def _section_url(section: str) -> rx.Var:
    """The address of a page of this draft (its id is known once the first answer is kept)."""
    tail = f"&section={section}" if section else ""
    return rx.cond(S.draft_ref != "",
                   routes.REFERRAL_NEW + "?draft=" + S.draft_ref + tail,
                   routes.referral_page("", section))


def _back_link() -> rx.Component:
    return rx.link(
        rx.cond(S.back_to_check, "Back to check your answers", "Back to task list"),
        href=rx.cond(S.back_to_check, _section_url(rt.CHECK), _section_url("")),
        class_name="back-link",
    )


def _section_page() -> rx.Component:
    return rx.fragment(
        _back_link(),
        forms.error_summary(S.error_list),
        rd.timed_out_notice(S),
        _caption(),
        # A check's page is headed by the check.
        rx.el.h1(rx.match(S.section, *sections.PAGE_TITLES.items(),
                          (rt.DETAILS, S.check_row[1].to(str)), "")),
        rx.el.form(
            rx.el.input(type="hidden", name="draft_id", value=S.draft_ref),
            sections.body(),
            rx.el.div(
                rx.el.button(rx.cond(S.back_to_check, "Save and go back to check your answers",
                                     "Save and continue"),
                             type="submit", class_name="button", id=SUBMIT_BUTTON,
                             on_click=S.set_intent("continue")),
                rx.el.button("Save draft", type="submit", class_name="button button--secondary",
                             on_click=S.set_intent("draft")),
                class_name="button-group",
            ),
            # One form per page, never redrawn by a load of the same page again (a reconnect,
            # even to fresh state): that would lose what was typed. A check's page is keyed
            # inside (sections.py).
            key=S.section,
            on_submit=S.save_page,
            reset_on_submit=False,
            no_validate=True,
            id="referral-form",
            # assets/referral_autosave.js: what one event may carry, and the forms it uses.
            custom_attrs={"data-max-event-bytes": str(rd.max_event())},
        ),
        rd.hidden_parts(S),
    )


def _error_links() -> rx.Component:
    """Check your answers' error summary: each error links to the page and field."""
    return rx.cond(
        S.error_list.length() > 0,
        rx.el.div(
            rx.el.h2("There is a problem", class_name="error-summary__title",
                     id="error-summary-title"),
            rx.el.ul(rx.foreach(S.error_links, lambda e: rx.el.li(rx.link(e[1], href=e[0]))),
                     class_name="error-summary__list"),
            id="error-summary", class_name="error-summary", role="alert", tab_index=-1,
            aria_labelledby="error-summary-title",
        ),
    )


def _answer(row: rx.Var) -> rx.Component:
    """[section, question, answer, page, field]"""
    href = rx.cond(S.draft_ref != "",
                   routes.REFERRAL_NEW + "?draft=" + S.draft_ref + "&section=" + row[3]
                   + "&from=check&field=" + row[4],
                   routes.REFERRAL_NEW + "?section=" + row[3] + "&from=check&field=" + row[4])
    return rx.el.div(
        rx.el.dt(row[1]),
        rx.el.dd(row[2], class_name="pre-line"),
        rx.el.dd(rx.link("Change", rx.el.span(" ", row[1].to(str).lower(),
                                              class_name="visually-hidden"), href=href)),
        class_name="summary-list__row summary-list__row--change",
    )


def _answers_of(section: rt.Section) -> rx.Component:
    """One section's answers. (rx.foreach passes a second argument, the index, to a function
    that takes two: the section's key is closed over instead.)"""
    key = section.key
    return rx.fragment(
        rx.el.h2(section.title, class_name="heading-m"),
        rx.el.dl(rx.foreach(S.answers, lambda r: rx.cond(r[0] == key, _answer(r))),
                 class_name="summary-list"),
    )


def _check_answers() -> rx.Component:
    return rx.fragment(
        rx.link("Back to task list", href=_section_url(""), class_name="back-link"),
        _error_links(),
        _caption(),
        rx.el.h1("Check your answers before sending your referral"),
        _request(),
        *[_answers_of(s) for s in rt.SECTIONS],
        rx.el.h2("Now send your referral", class_name="heading-m"),
        rx.el.p("By sending this referral you confirm that, to the best of your knowledge, the "
                "details you are providing are correct."),
        rx.el.form(
            rx.el.input(type="hidden", name="submission_id", value=S.submission_id),
            rx.el.input(type="hidden", name="draft_id", value=S.draft_ref),
            rx.el.button(rx.cond(S.resubmitting, "Resubmit referral", "Submit referral"),
                         type="submit", class_name="button", id=SUBMIT_BUTTON),
            on_submit=S.submit_referral,
            reset_on_submit=False,
            id="send-referral",
        ),
    )


def _confirmation() -> rx.Component:
    return rx.fragment(
        rx.el.div(
            rx.el.h1(rx.cond(S.resubmitting, "Referral resubmitted", "Referral submitted")),
            rx.el.div("Your reference is", rx.el.strong(S.submitted_reference),
                      class_name="panel__body"),
            class_name="panel",
        ),
        rx.cond(
            S.submitted_late,
            rx.el.div(
                rx.el.h2("Submitted after 4 weeks", class_name="notification__title"),
                rx.el.div(
                    "This referral was sent more than 4 weeks after the school became aware the "
                    "child was missing, so it is marked late.",
                    class_name="notification__body",
                ),
                class_name="notification",
                role="region",
                aria_label="Late referral",
            ),
        ),
        rx.el.h2("What happens next"),
        rx.el.p("The Children Missing Education team will check the referral and decide how "
                "urgent it is. You can follow its status in your list of referrals."),
        rx.el.p("If you become worried about the child's safety, contact the Front Door at once."),
        rx.el.a("View your referrals", href=routes.REFERRALS, class_name="button"),
    )


def _task_list_page() -> rx.Component:
    return rx.fragment(
        forms.error_summary(S.error_list),
        rd.timed_out_notice(S),
        _saved_notice(),
        rx.cond(S.resubmitting, _caption()),
        _task_list(),
    )


@rx.page(route=routes.REFERRAL_NEW, title="New referral – Children Missing Education",
         on_load=S.load)
def referral_form_page() -> rx.Component:
    return page(
        rx.cond(
            S.submitted_reference != "",
            _confirmation(),
            rx.cond(
                S.not_found,
                rx.fragment(rx.el.h1("Draft not found"),
                            rx.el.p(rx.el.a("Back to your referrals", href=routes.REFERRALS))),
                rx.cond(
                    S.form_open,
                    rx.match(S.section, ("", _task_list_page()), (rt.CHECK, _check_answers()),
                             _section_page()),
                ),
            ),
        ),
    )
