"""The top of the case page: who the child is, where they live and where the case stands
(the summary), what just happened, anything waiting (a closure to approve, a possible match),
and the tab list that opens one group of sections at a time."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from . import tabs
from .parts import V, form, section_link, status_lines
from .state import CaseState as S


def _meta(term: str, value, *, show: rx.Var | bool = True, wide: bool = False
          ) -> rx.Component:
    item = rx.el.div(rx.el.dt(term), rx.el.dd(value),
                     class_name="case-meta__item case-meta__item--wide" if wide
                     else "case-meta__item")
    return item if show is True else rx.cond(show, item)


def _next_action(c: rx.Var) -> rx.Component:
    n = c.summary
    return rx.cond(
        n.next_action != "",
        rx.el.span(
            n.next_action,
            class_name=rx.match(
                n.next_action_state,
                ("overdue", "next-action next-action--overdue"),
                ("today", "next-action next-action--today"),
                "next-action",
            ),
        ),
        rx.el.span("Nothing due at this stage", class_name="next-action"),
    )


def header(c: rx.Var) -> rx.Component:
    """The summary: who (name, date of birth and age), where (last known address), risk,
    stage, officer and the next due action, then what else identifies the case."""
    risk = rx.fragment(
        content.risk_tag(c.risk, c.risk_label),
        rx.cond(
            (c.risk == "") & (c.proposed_risk_label != ""),
            rx.el.span(" – proposed ", c.proposed_risk_label, class_name="body-s"),
        ),
    )
    return rx.el.div(
        rx.el.h1(rx.el.span(c.reference, class_name="caption"), c.summary.name),
        rx.el.dl(
            _meta("Date of birth", c.summary.born),
            _meta("Last known address", c.summary.address, wide=True),
            _meta("Stage", rx.el.strong(c.stage_label, class_name="tag")),
            _meta("Risk", risk),
            _meta("Officer", c.officer),
            _meta("Next due", _next_action(c), wide=True),
            _meta("Episode", c.episode.to(str), show=c.episode > 1),
            _meta("Source", c.source_label),
            _meta("Outcome", S.closed_outcome, show=S.closed_outcome != ""),
            _meta("Police", c.police_report, show=c.police_report != ""),
            _meta("Visit safety", section_link("Warning markers: read before a visit", "safety"),
                  show=(c.warning_markers != "") | c.joint_visit_required),
            class_name="case-meta",
        ),
        class_name=rx.match(
            c.risk,
            ("red", "case-header case-header--red"),
            ("amber", "case-header case-header--amber"),
            ("green", "case-header case-header--green"),
            "case-header",
        ),
    )


def messages(*others: rx.Component) -> rx.Component:
    """The GOV.UK error summary at the top (focus goes to it, as GOV.UK's does); the answer to
    an action in a status bar that stays in view at the foot of the window, so the page keeps
    its place (state.KEEP_PLACE). The status region is always on the page, so a screen reader
    announces each new message; it takes no clicks, so it never covers a button. `others`:
    the answers of the page's other parts (the sharing log's)."""
    return rx.fragment(
        forms.error_summary(S.error_list),
        rx.el.div(
            *others,
            status_lines(S.problem, S.message, problem_id="case-problem",
                         message_id="case-message"),
            class_name="case-status",
        ),
    )


def _link_household(c: rx.Var) -> rx.Component:
    return content.disclosure(
        "Link as same household",
        form(
            rx.el.div(
                rx.el.label("Case to link", html_for="link-other_reference", class_name="label"),
                forms._error(S.errors, "link-other_reference"),
                rx.el.select(
                    rx.foreach(c.possible_matches,
                               lambda m: rx.el.option(m.reference + " " + m.child_name,
                                                      value=m.reference)),
                    id="link-other_reference",
                    name="link-other_reference",
                    class_name="select",
                ),
                class_name="form-group",
            ),
            forms.textarea_field("link-reason", "Why they are the same household", V, S.errors,
                                 rows=2),
            on_submit=S.link_household,
            button="Link as same household",
            style="secondary",
            key="link",
        ),
    )


def matches(c: rx.Var) -> rx.Component:
    """The one "Possible match" notice: other records that may be this child (answered in
    "Child's record over time") and other households' cases at the same address."""
    return rx.cond(
        (c.possible_matches.length() > 0) | (c.child_matches.length() > 0),
        rx.el.div(
            rx.el.h2("Possible match", class_name="notification__title"),
            rx.el.div(
                rx.cond(
                    c.child_matches.length() > 0,
                    rx.el.p(
                        "Another record may be this child. ",
                        section_link("Check it under Child's record over time", "child-record"),
                        ", then merge the records or say they are not the same child.",
                        class_name="notification__heading",
                    ),
                ),
                rx.cond(
                    c.possible_matches.length() > 0,
                    rx.fragment(
                        rx.el.p("Other children's cases at the same address: this household "
                                "may already be known.", class_name="notification__heading"),
                        rx.el.ul(
                            rx.foreach(c.possible_matches, lambda m: rx.el.li(
                                rx.el.a(m.reference, href="/cases/" + m.reference), " ",
                                m.child_name, " (", m.stage, ") – ", m.why,
                            )),
                            class_name="list list--bullet",
                        ),
                        rx.cond(c.can.record, _link_household(c)),
                    ),
                ),
                class_name="notification__body",
            ),
            class_name="notification notification--warning",
            role="region",
            aria_label="Possible match",
        ),
    )


def pending(c: rx.Var) -> rx.Component:
    p = c.pending
    return rx.cond(
        p.outcome != "",
        rx.el.div(
            rx.el.h2("Closure waiting for approval", class_name="notification__title"),
            rx.el.div(
                rx.el.p(rx.el.strong(p.label), " proposed by ", p.proposed_by, " on ",
                        p.proposed_on, ".", class_name="notification__heading"),
                rx.el.p(p.evidence, class_name="pre-line"),
                rx.cond(
                    c.can.close,
                    rx.el.button("Approve closure", type="button", class_name="button",
                                 on_click=S.approve_closure),
                    rx.el.p("A team lead needs to approve it.", class_name="hint"),
                ),
                class_name="notification__body",
            ),
            class_name="notification",
            role="region",
            aria_label="Closure waiting for approval",
        ),
    )


def tab_list() -> rx.Component:
    """The case's sections, one tab at a time (the WAI-ARIA tabs pattern: arrow keys, Home and
    End move between tabs, in assets/app.js). Each tab is a link to its own URL."""
    def tab(key: str, label: str) -> rx.Component:
        chosen = S.tab == key
        return rx.el.a(
            label,
            href=f"?tab={key}",
            role="tab",
            id=f"tab-{key}",
            aria_selected=rx.cond(chosen, "true", "false"),
            aria_controls="case-tabpanel",
            tab_index=rx.cond(chosen, 0, -1),
            on_click=S.show_tab(key).prevent_default,
            class_name=rx.cond(chosen, "case-tabs__tab case-tabs__tab--selected",
                               "case-tabs__tab"),
        )

    return rx.el.div(
        *[tab(key, label) for key, label, _ in tabs.TABS],
        role="tablist",
        aria_label="Case sections",
        class_name="case-tabs",
    )
