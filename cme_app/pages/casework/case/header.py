"""The top of the case page: who the child is and where the case stands, what just happened,
and anything waiting (a closure to approve, a possible match)."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from .parts import V, due_tag, form
from .state import CaseState as S

CONTENTS = (
    ("risk", "Triage and risk"),
    ("safeguarding", "Safeguarding"),
    ("move", "Move the case"),
    ("episode", "CME episode"),
    ("child", "Child and household"),
    ("child-record", "Child's record over time"),
    ("referral", "Original referral"),
    ("enquiries", "Enquiry log"),
    ("visits", "Visits"),
    ("la", "Other local authorities"),
    ("overseas", "Overseas verification"),
    ("documents", "Documents"),
    ("sharing", "Sharing log"),
    ("close", "Closing the case"),
    ("timeline", "Timeline and closures"),
)


def _meta(term: str, value, *, show: rx.Var | bool = True) -> rx.Component:
    item = rx.el.div(rx.el.dt(term), rx.el.dd(value), class_name="case-meta__item")
    return item if show is True else rx.cond(show, item)


def header(c: rx.Var) -> rx.Component:
    risk = rx.fragment(
        content.risk_tag(c.risk, c.risk_label),
        rx.cond(
            (c.risk == "") & (c.proposed_risk_label != ""),
            rx.el.span(" – proposed ", c.proposed_risk_label, class_name="body-s"),
        ),
    )
    return rx.el.div(
        rx.el.h1(rx.el.span(c.reference, class_name="caption"), c.child_name),
        rx.el.dl(
            _meta("Stage", rx.el.strong(c.stage_label, class_name="tag")),
            _meta("Risk", risk),
            _meta("Officer", c.officer),
            _meta("Target", due_tag(c), show=c.due_label != ""),
            _meta("Episode", c.episode.to(str), show=c.episode > 1),
            _meta("Source", c.source_label),
            _meta("Outcome", S.closed_outcome, show=S.closed_outcome != ""),
            _meta("Police", c.police_report, show=c.police_report != ""),
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


def messages() -> rx.Component:
    return content.feedback(S.error_list, S.problem, S.message, element_id="case-message",
                            problem_title="This can't be done yet", message_title="Done")


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
                        rx.el.a("Check it under Child's record over time", href="#child-record"),
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


def contents(c: rx.Var) -> rx.Component:
    items = [rx.el.li(rx.el.a(label, href=f"#{anchor}")) for anchor, label in CONTENTS]
    # Securing education shows once the case has reached Located: after the CME episode.
    at = [anchor for anchor, _ in CONTENTS].index("episode") + 1
    items.insert(at, rx.cond(c.securing.shown,
                             rx.el.li(rx.el.a("Securing education", href="#securing"))))
    return rx.el.nav(
        rx.el.h2("Contents", class_name="contents__title"),
        rx.el.ul(
            *items,
            class_name="contents__list",
        ),
        class_name="contents",
        aria_label="Contents",
    )
