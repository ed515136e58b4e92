"""The child's CME episode on the case page: whether, in law, they are missing education now,
since when and why, and the officer's forms to start, change or end it."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from ....services.forms import YES_NO
from .parts import V, form, section_link
from .state import CaseState as S

_START_HINT = ("The day of the fact the episode starts from: the deletion from roll, the arrival "
               "in the area, the day home education was found unsuitable, or the day the child "
               "was found to be on no school roll. Not the referral date.")


def _fields(e: rx.Var, values: rx.Var, prefix: str) -> list[rx.Component]:
    return [
        forms.date_field(f"{prefix}start_date", "Date the child became missing education",
                         values, S.errors, hint=_START_HINT),
        forms.select_field(f"{prefix}start_basis", "What that date is the date of",
                           e.basis_choices, values, S.errors),
        forms.radios(f"{prefix}lives_in_la", "Does the child live in this local authority?",
                     YES_NO, values, S.errors),
        forms.select_field(f"{prefix}primary_reason", "Primary reason (DfE's list)",
                           e.reason_choices, values, S.errors),
    ]


def _start(e: rx.Var) -> rx.Component:
    return content.disclosure(
        "Start a CME episode",
        form(*_fields(e, V, "ep-"), on_submit=S.start_episode, button="Start the episode",
             key="episode-start"),
    )


def _change(e: rx.Var) -> rx.Component:
    values = rx.Var.create({
        "epc-start_date": e.start_date, "epc-start_basis": e.start_basis,
        "epc-lives_in_la": e.lives_in_la, "epc-primary_reason": e.primary_reason,
    })
    return content.disclosure(
        rx.cond(e.to_confirm, "Confirm or correct the episode", "Change the episode"),
        form(
            *_fields(e, values, "epc-"),
            forms.date_field("epc-reason_from", "If the reason changed: the date it applies from",
                             V, S.errors, hint="Leave blank for today. Returns for earlier "
                             "census days keep the reason they had."),
            on_submit=S.change_episode, button="Save the episode", key="episode-change",
        ),
        open_=e.to_confirm,
    )


def _end(e: rx.Var) -> rx.Component:
    return content.disclosure(
        "End the episode",
        form(
            forms.date_field("epe-end_date", "The first day the child was no longer missing "
                             "education", V, S.errors,
                             hint="For example, the first day on a school roll."),
            forms.select_field("epe-end_reason", "Why the episode ended", e.end_choices, V,
                               S.errors),
            on_submit=S.end_episode, button="End the episode", key="episode-end",
            style="secondary",
        ),
    )


def _open(e: rx.Var, may: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(
            e.to_confirm,
            rx.el.div(
                rx.el.strong("To confirm: ", class_name="tag tag--yellow"),
                " this episode was made from an older case by the data migration. Its start "
                "is the referral date; check it and choose what the date is the date of.",
                class_name="inset",
            ),
        ),
        content.summary_list(e.rows),
        rx.cond(
            e.reason_history.length() > 1,
            rx.fragment(rx.el.h3("Primary reason over time"),
                        content.summary_list(e.reason_history)),
        ),
        rx.cond(may, rx.fragment(_change(e), _end(e))),
    )


def episode(c: rx.Var) -> rx.Component:
    e = c.cme_episode
    may = c.can.record_episode
    return content.section(
        "episode", "CME episode",
        rx.cond(
            e.id > 0,
            _open(e, may),
            rx.fragment(
                rx.el.p("The child is not recorded as missing education now. A pupil still "
                        "on a school roll is not CME, however long they are absent. Start an "
                        "episode when the child is on no school roll and not receiving "
                        "suitable education otherwise."),
                rx.cond(may, _start(e)),
            ),
        ),
        rx.el.p(section_link("Every episode of this child", "child-record")),
    )
