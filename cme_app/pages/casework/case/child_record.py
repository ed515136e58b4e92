"""The child's record over time: every CME episode and case of this child, other records
that may be the same child (an officer merges them or says they are not), and the records
merged into this one (a lead can undo a merge). LA only: schools never see matching."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from .parts import V
from .state import CaseState as S


def _reason_form(kind: str, row_id: rx.Var, id_name: str, label: str, button: str, on_submit,
                 style: str) -> rx.Component:
    """One row's form: its id in a hidden field, the reason under `<kind>-<id>-reason`."""
    name = kind + "-" + row_id.to(str) + "-reason"
    cls = "button" if style == "primary" else f"button button--{style}"
    return rx.el.form(
        rx.el.input(type="hidden", name=id_name, value=row_id.to(str)),
        forms.textarea_field(name, label, V, S.errors, rows=2,
                             hint="At least 10 characters. Kept in the audit trail."),
        rx.el.div(rx.el.button(button, type="submit", class_name=cls),
                  class_name="button-group button-group--tight"),
        key=S.form_key.to(str) + kind + row_id.to(str),
        on_submit=on_submit,
        reset_on_submit=False,
        no_validate=True,
    )


def _case_links(references: rx.Var) -> rx.Component:
    return rx.foreach(references, lambda ref: rx.el.span(
        rx.el.a(ref, href="/cases/" + ref), " "))


def _history(c: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.el.h3("CME episodes"),
        content.field_table(
            [("Started", "start"), ("Basis", "basis"), ("Primary reason", "reason"),
             ("Ended", "end"), ("Why it ended", "end_reason"), ("Case", "case_reference")],
            c.history_episodes, empty="No CME episode recorded for this child."),
        rx.el.h3("Cases"),
        content.stacked_table(
            ["Case", "Stage", "Opened", "Outcome"], c.history_cases,
            lambda r: [
                rx.cond(r.this_case, rx.el.strong(r.reference, " (this case)"),
                        rx.el.a(r.reference, href="/cases/" + r.reference)),
                r.stage, r.opened, r.outcome,
            ],
            empty=""),
    )


def _match(c: rx.Var, m: rx.Var) -> rx.Component:
    return rx.el.div(
        rx.el.h4(m.name),
        rx.el.dl(
            content.summary_row("Why proposed", m.why),
            content.summary_row("Date of birth", m.born),
            content.summary_row("UPN", m.upn),
            content.summary_row("Cases", _case_links(m.cases)),
            class_name="summary-list",
        ),
        rx.cond(
            c.can.match_children,
            rx.fragment(
                content.disclosure(
                    "Same child – merge records",
                    rx.el.p("This record and its cases, referrals, addresses, people and CME "
                            "episodes join the record known first. A team lead can undo it."),
                    _reason_form("merge", m.id, "match_id", "Why they are the same child",
                                 "Same child – merge records", S.confirm_child_match,
                                 "primary"),
                ),
                content.disclosure(
                    "Not the same child",
                    _reason_form("reject", m.id, "match_id", "Why they are not the same child",
                                 "Not the same child", S.reject_child_match, "secondary"),
                ),
            ),
        ),
        class_name="inset-text",
    )


def _merges(c: rx.Var) -> rx.Component:
    return rx.cond(
        c.child_merges.length() > 0,
        rx.fragment(
            rx.el.h3("Records merged into this one"),
            rx.foreach(c.child_merges, lambda g: rx.el.div(
                rx.el.p(rx.el.strong(g.name), " merged on ", g.merged_on, " by ", g.by, ": ",
                        g.moved, "."),
                rx.el.p("Reason: ", g.reason, class_name="body-s"),
                rx.cond(
                    c.can.undo_merge,
                    content.disclosure(
                        "Undo merge",
                        _reason_form("undo", g.id, "merge_id", "Why the merge was wrong",
                                     "Undo merge", S.undo_child_merge, "warning"),
                    ),
                ),
                class_name="inset-text",
            )),
        ),
    )


def child_record(c: rx.Var) -> rx.Component:
    return content.section(
        "child-record", "Child's record over time",
        _history(c),
        rx.cond(
            c.child_matches.length() > 0,
            rx.fragment(
                rx.el.h3("Records that may be this child"),
                rx.el.p("Matching found these records. Check them, then say whether they are "
                        "the same child.", class_name="hint"),
                rx.foreach(c.child_matches, lambda m: _match(c, m)),
            ),
        ),
        _merges(c),
    )
