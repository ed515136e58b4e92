"""Closing the case (with the evidence each outcome needs), reopening it, and the timeline of
stage changes and closures."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from ....services.casework.closure import OUTCOMES, EvidenceField
from ....services.forms import YES_NO
from .parts import V, form, not_open
from .state import CaseState as S

OUTCOME_CHOICES = {code: o.label for code, o in OUTCOMES.items()}


def _evidence_field(outcome: str, f: EvidenceField) -> rx.Component:
    name = f"close-{outcome}-{f.name}"
    label = f.label if f.required or f.needed_when else f"{f.label} (optional)"
    hint = f.needed_when or f.hint
    if f.kind == "textarea":
        return forms.textarea_field(name, label, V, S.errors, hint=hint, rows=3)
    if f.kind == "date":
        return forms.date_field(name, label, V, S.errors, hint=hint)
    if f.kind == "yesno":
        return forms.radios(name, label, YES_NO, V, S.errors, hint=hint)
    width = "input--w10" if f.kind in ("urn", "case_ref", "registration") else ""
    return forms.text_field(name, label, V, S.errors, hint=hint, width=width)


def _evidence() -> rx.Component:
    """The chosen outcome's evidence fields."""
    return rx.match(
        S.close_outcome,
        *[
            (code, rx.fragment(*[_evidence_field(code, f) for f in outcome.fields]))
            for code, outcome in OUTCOMES.items()
            if outcome.fields
        ],
        rx.fragment(),
    )


def _checklist(c: rx.Var) -> rx.Component:
    return rx.cond(
        S.close_outcome == "untraceable",
        rx.el.div(
            rx.el.h3("Untraceable checklist"),
            rx.el.ul(
                rx.foreach(c.untraceable_checklist, lambda item: rx.el.li(
                    rx.cond(item.done, rx.el.strong("✓ Done", class_name="tag tag--green"),
                            rx.el.strong("✗ Not done", class_name="tag tag--red")),
                    " ",
                    item.label,
                )),
                class_name="checklist",
            ),
        ),
    )


def _blockers() -> rx.Component:
    return rx.cond(
        S.close_blockers.length() > 0,
        rx.el.div(
            rx.el.p(rx.el.strong("Before this case can close:")),
            rx.el.ul(rx.foreach(S.close_blockers, lambda b: rx.el.li(b)),
                     class_name="list list--bullet"),
            class_name="warning-box",
            role="status",
        ),
    )


def _close_form(c: rx.Var, *, lead: bool) -> rx.Component:
    return form(
        forms.select_field("close-outcome", "Outcome", OUTCOME_CHOICES, V, S.errors,
                           on_change=S.set_close_outcome),
        _evidence(),
        _checklist(c),
        _blockers(),
        on_submit=S.close if lead else S.propose_closure,
        button="Close case" if lead else "Propose closure",
        style="warning" if lead else "primary",
        key="close",
    )


def _closing(c: rx.Var) -> rx.Component:
    return rx.cond(
        c.can.close,
        rx.fragment(
            rx.el.p("Choose the outcome and give the evidence it needs.", class_name="hint"),
            _close_form(c, lead=True),
        ),
        rx.cond(
            c.can.propose,
            rx.fragment(
                rx.el.p("A team lead approves every closure. Choose the outcome and "
                        "give the evidence it needs.", class_name="hint"),
                _close_form(c, lead=False),
            ),
            rx.cond(
                c.is_open,
                rx.el.p("Only CME officers and team leads can close cases.", class_name="hint"),
                not_open(c),
            ),
        ),
    )


def _reopen_form() -> rx.Component:
    return content.disclosure(
        "Reopen case",
        form(
            forms.textarea_field(
                "reopen_reason", "Reason for reopening", V, S.errors, rows=3,
                hint="For example new information, a Lost Pupils Database match "
                "or a new referral. The case reopens in Enquiries as a new episode.",
            ),
            on_submit=S.reopen,
            button="Reopen case",
            key="reopen",
        ),
        open_=True,
    )


def close(c: rx.Var) -> rx.Component:
    return rx.cond(
        c.stage != "closed",
        content.section("close", "Close case", _closing(c)),
        content.section(
            "close", "Closed",
            rx.el.p("This case is closed",
                    rx.cond(S.closed_outcome != "", rx.fragment(": ", S.closed_outcome)), "."),
            rx.cond(c.can.reopen, _reopen_form()),
        ),
    )


def timeline(c: rx.Var) -> rx.Component:
    return content.section(
        "timeline", "Timeline and closures",
        rx.el.h3("Stage changes"),
        content.stacked_table(
            ["When", "Change", "By", "Reason"], c.timeline,
            lambda r: [r.when, rx.cond(r.from_stage != "",
                                       rx.fragment(r.from_stage, " → ", r.to_stage), r.to_stage),
                       r.by, rx.el.span(r.reason, class_name="pre-line")],
            empty="No stage changes."),
        rx.el.h3("Closures"),
        content.field_table(
            [("Episode", "episode"), ("Outcome", "outcome"), ("Status", "status"),
             ("Proposed by", "proposed_by"), ("Approved by", "approved_by"),
             ("Closed on", "closed_on")],
            c.closures, empty="Not closed before."),
        rx.cond(
            c.school_notice != "",
            rx.fragment(
                rx.el.h3("Notice to the school"),
                rx.el.div(rx.el.p(c.school_notice, class_name="pre-line"),
                          class_name="inset-text"),
            ),
        ),
    )
