"""/cases/[ref]: one case, for CME officers and team leads (admin and auditor read-only).

Every handler checks the actor, then calls a service with primitives: the form's fields, the
reference from the URL (or the loaded case) and the version of the case file this page last
loaded. Services re-check everything and explain refusals in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import reflex as rx
from sqlmodel import select

from ... import routes
from ...components import forms
from ...components.layout import page
from ...db import session_scope
from ...domain import RISK_LABELS, Role
from ...errors import NotFound, ServiceError, ValidationFailed
from ...models import Case
from ...permissions import CASE_VIEWERS, PERMISSIONS, Capability
from ...services.casework import case_file as casework
from ...services.casework import closure, lifecycle, pathway, records, triage
from ...services.casework.case_file import CaseFile
from ...services.casework.lifecycle import OUTCOME_LABELS, OUTCOME_RULES, StaleCase
from ...services.trust import purpose
from ...services.visits import safety
from ...state.auth import AuthState
from .data_protection import legal_hold_tag, sharing_section

CASEWORKERS = frozenset({Role.OFFICER, Role.LEAD})
LEADS = frozenset({Role.LEAD})
NOTIFIERS = PERMISSIONS[Capability.LA_NOTIFY]

SAFEGUARDING_KINDS = {
    "notification": "Notification (referral to CSC, MASH or Front Door)",
    "consultation": "Consultation (advice from CSC)",
}
YES_NO = {"yes": "Yes", "no": "No"}

FOCUS_MESSAGE = (
    "window.setTimeout(() => { const m = document.getElementById('case-message');"
    " if (m) { m.focus(); m.scrollIntoView(); } }, 50)"
)




class CaseState(AuthState):
    case: CaseFile | None = None
    not_found: bool = False
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    message: str = ""
    problem: str = ""
    form_key: int = 0
    close_outcome: str = ""
    close_blockers: list[str] = []
    # Out-of-caseload access: nothing of the child is sent until a purpose is given.
    purpose_needed: bool = False
    purpose_errors: dict[str, str] = {}
    purpose_error_list: list[list[str]] = []

    # ------------------------------------------------------------------ display helpers
    @rx.var
    def red_factors(self) -> list[list[str]]:
        return [f for f in (self.case.factor_choices if self.case else []) if f[2] == "red"]

    @rx.var
    def blocked_reasons(self) -> list[list[str]]:
        """Why each move isn't open yet, one line per reason: [stages, reason]."""
        grouped: dict[str, list[str]] = {}
        for _stage, label, reason in self.case.blocked_moves if self.case else []:
            grouped.setdefault(reason, []).append(label)
        return [[" and ".join(labels), reason] for reason, labels in grouped.items()]

    @rx.var
    def closed_outcome(self) -> str:
        """The outcome this episode closed with, and when (empty while open)."""
        if self.case is None or self.case.stage != "closed":
            return ""
        for episode, outcome, status, _by, _approved, closed_on in reversed(self.case.closures):
            if status == "Closed" and episode == str(self.case.episode):
                return f"{outcome} ({closed_on})" if closed_on else outcome
        return ""

    @rx.var
    def amber_factors(self) -> list[list[str]]:
        return [f for f in (self.case.factor_choices if self.case else []) if f[2] != "red"]

    # ------------------------------------------------------------------ internals
    def _url_reference(self) -> str:
        path = str(self.router.url.path or "").rstrip("/")
        return path.rsplit("/", 1)[-1].strip().upper()[:20]

    def _ref(self) -> str:
        return self.case.reference if self.case else self._url_reference()

    def _version(self) -> int:
        return self.case.version if self.case else 0

    def _clear(self) -> None:
        self.errors, self.error_list = {}, []
        self.message, self.problem = "", ""

    def _load_file(self, actor, purpose_form: dict | None = None) -> None:
        """Raises ValidationFailed only for a bad purpose form."""
        try:
            with session_scope() as session:
                self.case = casework.view_case(
                    session, actor=actor, reference=self._ref(), purpose_form=purpose_form
                )
            self.not_found = self.purpose_needed = False
        except NotFound:
            self.case, self.not_found, self.purpose_needed = None, True, False
        except purpose.PurposeRequired:
            self.case, self.purpose_needed = None, True

    def _act(
        self,
        roles: frozenset,
        call: Callable,
        *,
        success: str,
        prefix: str = "",
        field_ids: dict[str, str] | None = None,
    ):
        """Check the actor, run one service call, and show what happened."""
        actor = self._actor()
        if actor is None:
            return rx.redirect(routes.LOGIN)
        self._clear()
        if actor.role not in roles:
            self.problem = "You do not have permission to do that."
            return rx.call_script(FOCUS_MESSAGE)
        try:
            with session_scope() as session:
                call(session, actor)
        except ValidationFailed as exc:
            ids = field_ids or {}
            self.error_list = [[ids.get(e.field, prefix + e.field), e.message] for e in exc.errors]
            for field_id, text in self.error_list:
                self.errors.setdefault(field_id, text)
            self.errors = dict(self.errors)
            return rx.call_script(forms.FOCUS_ERROR_SUMMARY)
        except StaleCase as exc:
            self.problem = str(exc)
            self.form_key += 1
            self._load_file(actor)
            return rx.call_script(FOCUS_MESSAGE)
        except NotFound:
            self.case, self.not_found = None, True
            return None
        except ServiceError as exc:
            self.problem = str(exc)
            return rx.call_script(FOCUS_MESSAGE)
        self.message = success
        self.form_key += 1
        self.close_outcome, self.close_blockers = "", []
        self._load_file(actor)
        return rx.call_script(FOCUS_MESSAGE)

    # ------------------------------------------------------------------ loading
    @rx.event
    def load(self):
        self.case, self.not_found, self.purpose_needed = None, False, False
        self.purpose_errors, self.purpose_error_list = {}, []
        self._clear()
        self.close_outcome, self.close_blockers = "", []
        actor, redirect = self._page_guard(*CASE_VIEWERS)
        if redirect:
            return redirect
        self._load_file(actor)
        return None

    @rx.event
    def give_purpose(self, form_data: dict):
        """The answer to "Why are you opening this case?"; the service checks and records it."""
        actor, redirect = self._page_guard(*CASE_VIEWERS)
        if redirect:
            return redirect
        self.purpose_errors, self.purpose_error_list = {}, []
        data = form_data if isinstance(form_data, dict) else {}
        form = {k: str(data.get(k) or "")[:1000] for k in ("purpose", "purpose_other")}
        try:
            self._load_file(actor, purpose_form=form)
        except ValidationFailed as exc:
            self.purpose_error_list = [[e.field, e.message] for e in exc.errors]
            self.purpose_errors = {e.field: e.message for e in reversed(exc.errors)}
            return rx.call_script(forms.FOCUS_ERROR_SUMMARY)
        return None

    # ------------------------------------------------------------------ triage and risk
    @rx.event
    def save_triage(self, form_data: dict):
        factors = [
            str(k)[len("factor-"):]
            for k, v in (form_data.items() if isinstance(form_data, dict) else ())
            if str(k).startswith("factor-") and forms.ticked(v)
        ]
        return self._act(
            CASEWORKERS,
            lambda s, a: triage.record_triage(
                s, actor=a, reference=self._ref(), factors=factors, version=self._version()
            ),
            success="Triage saved. The risk is now the one the factors propose.",
            prefix="triage-",
        )

    @rx.event
    def override_risk(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "override-")
        return self._act(
            LEADS,
            lambda s, a: triage.override_risk(
                s, actor=a, reference=self._ref(), risk=data.get("risk", ""),
                reason=data.get("reason", ""), version=self._version(),
            ),
            success="Risk overridden. The reason is kept in the risk history.",
            prefix="override-",
        )

    @rx.event
    def allocate(self, form_data: dict):
        raw = forms.prefixed_fields(form_data, "allocate-").get("officer_id", "")
        officer_id = int(raw) if raw.isdigit() and len(raw) < 10 else 0
        return self._act(
            LEADS,
            lambda s, a: triage.allocate(
                s, actor=a, reference=self._ref(), officer_id=officer_id,
                version=self._version(),
            ),
            success="Officer allocated.",
            prefix="allocate-",
        )

    # ------------------------------------------------------------------ safeguarding
    @rx.event
    def record_safeguarding(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "sg-")
        return self._act(
            CASEWORKERS,
            lambda s, a: records.record_safeguarding(s, actor=a, reference=self._ref(),
                                                      form=data),
            success="Safeguarding contact recorded.",
            prefix="sg-",
        )

    # ------------------------------------------------------------------ moving
    @rx.event
    def move(self, stage: str):
        stage = str(stage or "")[:30]
        label = dict((m[0], m[1]) for m in (self.case.allowed_moves if self.case else []))
        return self._act(
            CASEWORKERS,
            lambda s, a: lifecycle.move_case(
                s, actor=a, reference=self._ref(), to_stage=stage, version=self._version()
            ),
            success=f"Case moved to {label.get(stage, 'the next stage')}.",
        )

    @rx.event
    def return_to_referrer(self, form_data: dict):
        note = str((form_data or {}).get("return_note") or "")[:4000]
        return self._act(
            CASEWORKERS,
            lambda s, a: lifecycle.return_to_referrer(
                s, actor=a, reference=self._ref(), note=note, version=self._version()
            ),
            success="Referral returned to the school with your note.",
        )

    # ------------------------------------------------------------------ pathway records
    @rx.event
    def log_enquiry(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "enq-")
        return self._act(
            CASEWORKERS,
            lambda s, a: records.log_enquiry(s, actor=a, reference=self._ref(), form=data),
            success="Enquiry logged.",
            prefix="enq-",
        )

    @rx.event
    def record_visit(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "visit-")
        return self._act(
            CASEWORKERS,
            lambda s, a: records.record_visit(s, actor=a, reference=self._ref(), form=data),
            success="Visit recorded.",
            prefix="visit-",
        )

    @rx.event
    def review_visit_flag(self, visit_id: int):
        visit_id = visit_id if isinstance(visit_id, int) and not isinstance(visit_id, bool) else 0
        return self._act(
            LEADS,
            lambda s, a: safety.review_visit_flag(
                s, actor=a, reference=self._ref(), visit_id=visit_id
            ),
            success="Visit marked as reviewed.",
        )

    # ------------------------------------------------------------------ visit safety
    @rx.event
    def save_visit_safety(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "safety-")
        joint = forms.ticked((form_data or {}).get("safety-joint_visit_required")
                        if isinstance(form_data, dict) else None)
        return self._act(
            CASEWORKERS,
            lambda s, a: safety.set_visit_safety(
                s, actor=a, reference=self._ref(),
                warning_markers=data.get("warning_markers", ""), joint_visit_required=joint,
                version=self._version(),
            ),
            success="Visit safety saved. Officers see it before every visit.",
            prefix="safety-",
        )

    @rx.event
    def notify_la(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "la-")
        return self._act(
            NOTIFIERS,
            lambda s, a: records.send_la_notification(s, actor=a, reference=self._ref(),
                                                       form=data),
            success="Notification to the other LA recorded.",
            prefix="la-",
        )

    @rx.event
    def record_la_response(self, form_data: dict):
        """The row's form names its notification in a hidden field (a foreach row's value
        can't be bound into a memoised form's submit handler)."""
        raw = str((form_data or {}).get("notification_id") or "")
        nid = int(raw) if raw.isdigit() and len(raw) < 10 else 0
        prefix = f"resp-{nid}-"
        data = forms.prefixed_fields(form_data, prefix)
        return self._act(
            NOTIFIERS,
            lambda s, a: records.record_la_response(
                s, actor=a, reference=self._ref(), notification_id=nid, form=data
            ),
            success="The other LA's reply is recorded.",
            prefix=prefix,
            field_ids={"notification_id": prefix + "acknowledged_on"},
        )

    @rx.event
    def record_overseas(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "os-")
        return self._act(
            CASEWORKERS,
            lambda s, a: records.record_overseas(s, actor=a, reference=self._ref(), form=data),
            success="Overseas evidence recorded.",
            prefix="os-",
        )

    @rx.event
    def link_household(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "link-")
        return self._act(
            CASEWORKERS,
            lambda s, a: records.link_household(
                s, actor=a, reference=self._ref(),
                other_reference=data.get("other_reference", ""), reason=data.get("reason", ""),
            ),
            success="Cases linked as the same household.",
            prefix="link-",
            field_ids={"link_reason": "link-reason"},
        )

    # ------------------------------------------------------------------ closing
    @rx.event
    def set_close_outcome(self, outcome: str):
        actor = self._actor()
        if actor is None or actor.role not in CASEWORKERS:
            return
        outcome = str(outcome or "")
        self.close_outcome = outcome if outcome in OUTCOME_LABELS else ""
        self.close_blockers = []
        if not self.close_outcome or self.case is None:
            return
        with session_scope() as session:
            row = session.exec(select(Case).where(Case.reference == self.case.reference)).first()
            if row is not None:
                self.close_blockers = lifecycle.closure_blockers(
                    session, case=row, outcome=self.close_outcome, today=date.today()
                )

    def _closure(self, form_data: dict) -> tuple[str, dict[str, str], str]:
        outcome = str((form_data or {}).get("close-outcome") or "")[:30]
        outcome = outcome if outcome in OUTCOME_RULES else ""
        prefix = f"close-{outcome}-" if outcome else "close-"
        return outcome, forms.prefixed_fields(form_data, prefix), prefix

    @rx.event
    def close(self, form_data: dict):
        outcome, evidence, prefix = self._closure(form_data)
        return self._act(
            LEADS,
            lambda s, a: lifecycle.close_case(
                s, actor=a, reference=self._ref(), outcome=outcome, evidence=evidence,
                version=self._version(),
            ),
            success=f"Case closed: {OUTCOME_LABELS.get(outcome, '')}.",
            prefix=prefix,
            field_ids={"outcome": "close-outcome"},
        )

    @rx.event
    def propose_closure(self, form_data: dict):
        outcome, evidence, prefix = self._closure(form_data)
        return self._act(
            CASEWORKERS,
            lambda s, a: lifecycle.propose_closure(
                s, actor=a, reference=self._ref(), outcome=outcome, evidence=evidence,
                version=self._version(),
            ),
            success="Closure proposed. A team lead will check it and approve it.",
            prefix=prefix,
            field_ids={"outcome": "close-outcome"},
        )

    @rx.event
    def approve_closure(self):
        outcome = self.case.pending_outcome if self.case else ""
        return self._act(
            LEADS,
            lambda s, a: closure.approve_closure(
                s, actor=a, reference=self._ref(), version=self._version()
            ),
            success=f"Closure approved: {OUTCOME_LABELS.get(outcome, '')}.",
        )

    @rx.event
    def reopen(self, form_data: dict):
        reason = str((form_data or {}).get("reopen_reason") or "")[:4000]
        return self._act(
            LEADS,
            lambda s, a: lifecycle.reopen_case(
                s, actor=a, reference=self._ref(), reason=reason, version=self._version()
            ),
            success="Case reopened as a new episode.",
        )


S = CaseState


# ---------------------------------------------------------------------------------- pieces


def _row(key, value) -> rx.Component:
    return rx.el.div(rx.el.dt(key), rx.el.dd(value), class_name="summary-list__row")


def _rows(rows: rx.Var) -> rx.Component:
    return rx.el.dl(rx.foreach(rows, lambda r: _row(r[0], r[1])), class_name="summary-list")


def _table(headers: list[str], rows: rx.Var, cells: Callable, *, empty: str) -> rx.Component:
    """A table that stacks on phones; `cells(row)` gives one td per header."""
    return rx.cond(
        rows.length() > 0,
        rx.el.div(
            rx.el.table(
                rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
                rx.el.tbody(
                    rx.foreach(
                        rows,
                        lambda r: rx.el.tr(
                            *[
                                rx.el.td(c, data_label=h)
                                for h, c in zip(headers, cells(r), strict=True)
                            ]
                        ),
                    )
                ),
                class_name="table table--stack",
            ),
            class_name="table-wrap",
        ),
        rx.el.p(empty, class_name="hint"),
    )


def _plain(headers: list[str], rows: rx.Var, *, empty: str) -> rx.Component:
    return _table(headers, rows, lambda r: [r[i] for i in range(len(headers))], empty=empty)


def _risk_tag(risk: rx.Var, label: rx.Var) -> rx.Component:
    return rx.el.strong(
        label,
        class_name=rx.match(
            risk,
            ("red", "tag tag--risk-red risk-tag"),
            ("amber", "tag tag--risk-amber risk-tag"),
            ("green", "tag tag--risk-green risk-tag"),
            "tag tag--grey risk-tag",
        ),
    )


def _due_tag(c: rx.Var) -> rx.Component:
    return rx.el.strong(
        c.due_label,
        class_name=rx.match(
            c.due_state,
            ("overdue", "tag tag--red"),
            ("today", "tag tag--yellow"),
            "tag tag--grey",
        ),
    )


def _disclosure(summary: str, *children, open_: bool | rx.Var = False) -> rx.Component:
    return rx.el.details(
        rx.el.summary(rx.el.span(summary, class_name="disclosure__summary-text"),
                      class_name="disclosure__summary"),
        rx.el.div(*children, class_name="disclosure__text"),
        class_name="disclosure",
        open=open_,
    )


def _form(*children, on_submit, button: str, secondary: bool = False, key: str = "",
          warning: bool = False) -> rx.Component:
    cls = "button button--warning" if warning else (
        "button button--secondary" if secondary else "button")
    return rx.el.form(
        *children,
        rx.el.div(rx.el.button(button, type="submit", class_name=cls),
                  class_name="button-group button-group--tight"),
        key=S.form_key.to(str) + key,
        on_submit=on_submit,
        reset_on_submit=False,
        no_validate=True,
    )


def _none_values() -> rx.Var:
    return rx.Var.create({})


V = _none_values()


def _section(anchor: str, title: str, *children) -> rx.Component:
    return rx.el.section(
        rx.el.h2(title, id=anchor, tab_index=-1),
        *children,
        class_name="section case-section",
        aria_labelledby=anchor,
    )


# ---------------------------------------------------------------------------------- header


def _header(c: rx.Var) -> rx.Component:
    return rx.el.div(
        rx.el.h1(
            rx.el.span(c.reference, class_name="caption"),
            c.child_name,
        ),
        rx.el.dl(
            rx.el.div(rx.el.dt("Stage"), rx.el.dd(rx.el.strong(c.stage_label, class_name="tag")),
                      class_name="case-meta__item"),
            rx.el.div(
                rx.el.dt("Risk"),
                rx.el.dd(
                    _risk_tag(c.risk, c.risk_label),
                    rx.cond(
                        (c.risk == "") & (c.proposed_risk_label != ""),
                        rx.el.span(" – proposed ", c.proposed_risk_label, class_name="body-s"),
                    ),
                ),
                class_name="case-meta__item",
            ),
            rx.el.div(rx.el.dt("Officer"), rx.el.dd(c.officer), class_name="case-meta__item"),
            rx.cond(
                c.due_label != "",
                rx.el.div(rx.el.dt("Target"), rx.el.dd(_due_tag(c)),
                          class_name="case-meta__item"),
            ),
            rx.cond(
                c.episode > 1,
                rx.el.div(rx.el.dt("Episode"), rx.el.dd(c.episode.to(str)),
                          class_name="case-meta__item"),
            ),
            rx.el.div(rx.el.dt("Source"), rx.el.dd(c.source_label),
                      class_name="case-meta__item"),
            rx.cond(
                S.closed_outcome != "",
                rx.el.div(rx.el.dt("Outcome"), rx.el.dd(S.closed_outcome),
                          class_name="case-meta__item"),
            ),
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


def _messages() -> rx.Component:
    return rx.fragment(
        forms.error_summary(S.error_list),
        rx.cond(
            S.problem != "",
            rx.el.div(
                rx.el.h2("This can't be done yet", class_name="notification__title"),
                rx.el.div(rx.el.p(S.problem, class_name="notification__heading"),
                          class_name="notification__body"),
                class_name="notification notification--problem",
                id="case-message",
                role="alert",
                tab_index=-1,
            ),
        ),
        rx.cond(
            S.message != "",
            rx.el.div(
                rx.el.h2("Done", class_name="notification__title"),
                rx.el.div(rx.el.p(S.message, class_name="notification__heading"),
                          class_name="notification__body"),
                class_name="notification notification--success",
                id="case-message",
                role="status",
                tab_index=-1,
            ),
        ),
    )


def _matches(c: rx.Var) -> rx.Component:
    return rx.cond(
        c.possible_matches.length() > 0,
        rx.el.div(
            rx.el.h2("Possible match", class_name="notification__title"),
            rx.el.div(
                rx.el.p("This child or household may already be known. Check before you "
                        "carry on:", class_name="notification__heading"),
                rx.el.ul(
                    rx.foreach(
                        c.possible_matches,
                        lambda m: rx.el.li(
                            rx.el.a(m[0], href="/cases/" + m[0]), " ", m[1], " (", m[3],
                            ") – ", m[2],
                        ),
                    ),
                    class_name="list list--bullet",
                ),
                rx.cond(
                    c.can_record,
                    _disclosure(
                        "Link as same household",
                        _form(
                            rx.el.div(
                                rx.el.label("Case to link", html_for="link-other_reference",
                                            class_name="label"),
                                forms._error(S.errors, "link-other_reference"),
                                rx.el.select(
                                    rx.foreach(c.possible_matches,
                                               lambda m: rx.el.option(m[0] + " " + m[1],
                                                                      value=m[0])),
                                    id="link-other_reference",
                                    name="link-other_reference",
                                    class_name="select",
                                ),
                                class_name="form-group",
                            ),
                            forms.textarea_field("link-reason", "Why they are the same household",
                                                 V, S.errors, rows=2),
                            on_submit=S.link_household,
                            button="Link as same household",
                            secondary=True,
                        ),
                    ),
                ),
                rx.el.p(rx.el.a("Same child? Close this case as a duplicate", href="#close")),
                class_name="notification__body",
            ),
            class_name="notification notification--warning",
            role="region",
            aria_label="Possible match",
        ),
    )


def _pending(c: rx.Var) -> rx.Component:
    p = c.pending_closure
    return rx.cond(
        p.length() > 0,
        rx.el.div(
            rx.el.h2("Closure waiting for approval", class_name="notification__title"),
            rx.el.div(
                rx.el.p(rx.el.strong(p[0]), " proposed by ", p[1], " on ", p[2], ".",
                        class_name="notification__heading"),
                rx.el.p(p[3], class_name="pre-line"),
                rx.cond(
                    c.can_close,
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


CONTENTS = (
    ("risk", "Triage and risk"),
    ("safeguarding", "Safeguarding"),
    ("move", "Move the case"),
    ("child", "Child and household"),
    ("referral", "Original referral"),
    ("enquiries", "Enquiry log"),
    ("visits", "Visits"),
    ("la", "Other local authorities"),
    ("overseas", "Overseas verification"),
    ("sharing", "Sharing log"),
    ("close", "Closing the case"),
    ("timeline", "Timeline and closures"),
)


def _contents() -> rx.Component:
    return rx.el.nav(
        rx.el.h2("Contents", class_name="contents__title"),
        rx.el.ul(
            *[rx.el.li(rx.el.a(label, href=f"#{anchor}")) for anchor, label in CONTENTS],
            class_name="contents__list",
        ),
        class_name="contents",
        aria_label="Contents",
    )


# ---------------------------------------------------------------------------------- sections


def _factor(f: rx.Var) -> rx.Component:
    fid = "factor-" + f[0]
    return rx.el.div(
        rx.el.input(type="checkbox", id=fid, name=fid, default_checked=f[3] == "1"),
        rx.el.label(f[1], html_for=fid),
        class_name="choice",
        key=f[0],
    )


def _risk(c: rx.Var) -> rx.Component:
    return _section(
        "risk", "Triage and risk",
        rx.el.dl(
            _row("Risk", _risk_tag(c.risk, c.risk_label)),
            _row("Proposed from the factors", c.proposed_risk_label),
            _row("Risk factors", rx.cond(
                c.risk_factor_labels.length() > 0,
                rx.el.ul(rx.foreach(c.risk_factor_labels, lambda f: rx.el.li(f)),
                         class_name="list"),
                "None recorded",
            )),
            _row("Rationale", rx.el.span(c.risk_rationale, class_name="pre-line")),
            _row("Triage due", c.triage_due),
            _row("First visit due", c.first_visit_due),
            _row("Allocated officer", c.officer),
            class_name="summary-list",
        ),
        rx.cond(
            c.can_triage,
            _disclosure(
                "Triage: confirm the risk factors",
                _form(
                    rx.el.fieldset(
                        rx.el.legend("Red factors", class_name="legend legend--s"),
                        rx.el.p("Any one of these makes the case Red.", class_name="hint"),
                        rx.el.div(rx.foreach(S.red_factors, _factor),
                                 class_name="choices choices--columns"),
                        class_name="fieldset",
                        id="triage-factors",
                    ),
                    rx.el.fieldset(
                        rx.el.legend("Amber factors", class_name="legend legend--s"),
                        rx.el.div(rx.foreach(S.amber_factors, _factor),
                                 class_name="choices choices--columns"),
                        class_name="fieldset",
                    ),
                    rx.el.p("With no factor ticked the case is Green.", class_name="hint"),
                    on_submit=S.save_triage,
                    button="Save triage",
                    key="t",
                ),
                open_=(c.stage == "triage") & (c.risk == ""),
            ),
        ),
        rx.cond(
            c.can_override,
            _disclosure(
                "Override the risk (team lead)",
                _form(
                    forms.radios("override-risk", "Risk", RISK_LABELS, V, S.errors),
                    forms.textarea_field("override-reason", "Reason for the override", V,
                                         S.errors, rows=3,
                                         hint="Say why the factors don't give the right risk."),
                    on_submit=S.override_risk,
                    button="Override risk",
                    secondary=True,
                    key="o",
                ),
            ),
        ),
        rx.cond(
            c.can_allocate,
            _disclosure(
                "Allocate an officer (team lead)",
                _form(
                    rx.el.div(
                        rx.el.label("Officer", html_for="allocate-officer_id",
                                    class_name="label"),
                        forms._error(S.errors, "allocate-officer_id"),
                        rx.el.select(
                            rx.el.option("Select an officer", value=""),
                            rx.foreach(c.officer_choices,
                                       lambda o: rx.el.option(o[1], value=o[0])),
                            id="allocate-officer_id",
                            name="allocate-officer_id",
                            default_value=c.officer_id,
                            class_name="select",
                        ),
                        class_name="form-group",
                    ),
                    on_submit=S.allocate,
                    button="Allocate",
                    secondary=True,
                    key="a",
                ),
                open_=(c.stage == "triage") & (c.officer_id == ""),
            ),
        ),
        rx.el.h3("Risk history"),
        _plain(["When", "Risk", "What", "Factors", "Reason", "By"], c.risk_history,
               empty="No risk decisions yet."),
    )


def _safeguarding(c: rx.Var) -> rx.Component:
    return _section(
        "safeguarding", "Safeguarding",
        rx.el.p("Record every notification to, or consultation with, children's social care, "
                "MASH or the Front Door. A Red case can't leave Triage without a notification.",
                class_name="hint"),
        _plain(["Type", "Agency", "When", "By", "Reference", "Notes"], c.safeguarding,
               empty="No CSC, MASH or Front Door contact recorded."),
        rx.cond(
            c.can_record,
            _disclosure(
                "Record CSC/MASH notification",
                _form(
                    forms.radios("sg-kind", "Type of contact", SAFEGUARDING_KINDS,
                                 rx.Var.create({"sg-kind": "notification"}), S.errors,
                                 inline=False),
                    forms.select_field("sg-agency", "Agency", pathway.SAFEGUARDING_AGENCIES, V,
                                       S.errors),
                    rx.el.div(
                        forms.date_field("sg-contacted_on", "Date contacted", V, S.errors),
                        forms.text_field("sg-contacted_time", "Time contacted", V, S.errors,
                                         input_type="time", width="input--w10"),
                        class_name="grid-2",
                    ),
                    rx.el.div(
                        forms.text_field("sg-contacted_by", "Contacted by", V, S.errors,
                                         hint="Who made the contact"),
                        forms.text_field("sg-contact_reference", "Their reference", V,
                                         S.errors, hint="The CSC, MASH or Front Door reference"),
                        class_name="grid-2",
                    ),
                    forms.textarea_field("sg-notes", "Notes (optional)", V, S.errors, rows=3),
                    on_submit=S.record_safeguarding,
                    button="Record notification",
                    key="s",
                ),
                open_=(c.risk == "red") & (c.safeguarding.length() == 0),
            ),
        ),
    )


def _not_open(c: rx.Var) -> rx.Component:
    return rx.el.p(
        rx.cond(
            c.stage == "closed",
            "This case is closed.",
            "This referral is with the school for more information. It comes back to New "
            "referral when the school resubmits it.",
        ),
    )


def _move(c: rx.Var) -> rx.Component:
    return _section(
        "move", "Move the case",
        rx.el.p("Now in ", rx.el.strong(c.stage_label), "."),
        rx.cond(c.is_open, _moves(c), _not_open(c)),
    )


def _moves(c: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(
            (c.allowed_moves.length() > 0) | (c.blocked_moves.length() > 0),
            rx.el.div(
                rx.foreach(
                    c.allowed_moves,
                    lambda m: rx.el.button(
                        "Move to " + m[1], type="button", class_name="button",
                        on_click=S.move(m[0]), key=m[0],
                    ),
                ),
                rx.foreach(
                    c.blocked_moves,
                    lambda m: rx.el.button(
                        "Move to " + m[1], type="button", class_name="button button--secondary",
                        on_click=S.move(m[0]), key=m[0],
                        aria_describedby="blocked-moves",
                    ),
                ),
                class_name="button-group button-group--tight",
            ),
            rx.el.p("You can't move this case.", class_name="hint"),
        ),
        rx.cond(
            c.blocked_moves.length() > 0,
            rx.el.ul(
                rx.foreach(
                    S.blocked_reasons,
                    lambda m: rx.el.li(rx.el.strong("Not yet – ", m[0], ": "), m[1]),
                ),
                id="blocked-moves",
                class_name="list blocked-moves",
                aria_label="Moves not open yet",
            ),
        ),
        rx.el.p(rx.el.a("Close the case with an outcome", href="#close")),
        rx.cond(
            c.can_return,
            _disclosure(
                "Return to referrer",
                _form(
                    forms.textarea_field(
                        "return_note", "What more information does the school need to give?",
                        V, S.errors, rows=3,
                        hint="The school sees this note. For example: Please complete the home "
                        "visit and the sibling-school checks.",
                    ),
                    on_submit=S.return_to_referrer,
                    button="Return to school",
                    secondary=True,
                    key="r",
                ),
            ),
        ),
    )


def _child(c: rx.Var) -> rx.Component:
    return _section(
        "child", "Child and household",
        _rows(c.child_rows),
        rx.el.h3("Addresses"),
        _plain(["Type", "Address", "Source", "From"], c.addresses, empty="No address known."),
        rx.el.h3("People"),
        _plain(["Name", "Relationship", "Phone", "Lives with the child"], c.people,
               empty="No people recorded."),
        rx.cond(
            c.links.length() > 0,
            rx.fragment(
                rx.el.h3("Linked cases"),
                _table(["Case", "Link", "Reason"], c.links,
                       lambda r: [rx.el.a(r[0], href="/cases/" + r[0]), r[1], r[2]],
                       empty=""),
            ),
        ),
    )


def _referral(c: rx.Var) -> rx.Component:
    return _section(
        "referral", "Original referral",
        rx.el.dl(
            _row("Source", c.source_label),
            rx.cond((c.school_name != "") & (c.school_name != c.source_label),
                    _row("School", c.school_name)),
            class_name="summary-list",
        ),
        rx.cond(c.referrer_rows.length() > 0,
                rx.fragment(rx.el.h3("Referrer"), _rows(c.referrer_rows))),
        rx.el.h3("What the referral says"),
        _rows(c.referral_rows),
        rx.el.h3("Enquiries the referrer made"),
        _plain(["Enquiry", "Date", "Who", "How", "Result"], c.referral_enquiries,
               empty="None recorded."),
    )


def _enquiries(c: rx.Var) -> rx.Component:
    return _section(
        "enquiries", "Enquiry log",
        _table(
            ["Date", "Enquiry", "Result", "Summary", "Next action", "By"],
            c.enquiries,
            lambda r: [
                r[0],
                rx.fragment(rx.el.strong(r[1]), rx.el.div(r[2], ": ", r[3], class_name="body-s")),
                r[4],
                rx.el.span(r[5], class_name="pre-line"),
                rx.cond(r[6] != "", rx.fragment(r[6], rx.cond(
                    r[7] != "", rx.el.div("Due ", r[7], class_name="body-s")))),
                r[8],
            ],
            empty="No enquiries logged yet.",
        ),
        rx.cond(
            c.can_record,
            _disclosure(
                "Log an enquiry",
                _form(
                    forms.select_field("enq-kind", "Type of enquiry", pathway.ENQUIRY_KINDS, V,
                                       S.errors),
                    rx.el.div(
                        forms.date_field("enq-done_on", "Date of enquiry", V, S.errors),
                        forms.select_field("enq-method", "How", pathway.ENQUIRY_METHODS, V,
                                           S.errors),
                        class_name="grid-2",
                    ),
                    forms.text_field("enq-contacted", "Who was contacted", V, S.errors,
                                     hint="The organisation or person, and their role"),
                    forms.select_field("enq-result", "Result", pathway.ENQUIRY_RESULTS, V,
                                       S.errors),
                    forms.textarea_field("enq-summary", "What you found out", V, S.errors,
                                         rows=3),
                    rx.el.div(
                        forms.text_field("enq-next_action", "Next action (optional)", V,
                                         S.errors),
                        forms.date_field("enq-next_action_due", "Next action due (optional)", V,
                                         S.errors),
                        class_name="grid-2",
                    ),
                    on_submit=S.log_enquiry,
                    button="Log enquiry",
                    key="e",
                ),
            ),
        ),
    )


def _visit_status(v: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(v.status == "overdue", rx.el.strong("Overdue", class_name="tag tag--red")),
        rx.cond(
            v.status != "",
            rx.el.strong(v.status_text, class_name=rx.cond(
                v.status == "overdue", "tag tag--red", "tag tag--yellow")),
        ),
        rx.cond(
            v.flag_reason != "",
            rx.cond(
                v.flag_review == "",
                rx.el.strong("Needs review", class_name="tag tag--orange"),
                rx.el.strong("Reviewed", class_name="tag tag--grey"),
            ),
        ),
    )


def _visit_flag(v: rx.Var) -> rx.Component:
    return rx.cond(
        v.flag_reason != "",
        rx.el.div(
            rx.el.p(rx.el.strong("Flagged for a team lead: "), v.flag_reason),
            rx.cond(
                v.flag_review != "",
                rx.el.p(v.flag_review),
                rx.cond(
                    S.case.to(CaseFile).can_review_visits,
                    rx.el.button(
                        "Mark reviewed",
                        rx.el.span(" (visit of ", v.heading, ")", class_name="visually-hidden"),
                        type="button", class_name="button button--secondary",
                        on_click=S.review_visit_flag(v.id),
                    ),
                    rx.el.p("A team lead will review it.", class_name="hint"),
                ),
            ),
            class_name="visit__flag",
        ),
    )


def _observation(title: str, text: rx.Var) -> rx.Component:
    return rx.cond(
        text != "",
        rx.el.div(
            rx.el.h4(title, class_name="visit__obs-title"),
            rx.el.p(text, class_name="pre-line"),
            class_name="visit__obs",
        ),
    )


def _visit(v: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.el.div(
            rx.el.h3(v.heading, class_name="visit__title"),
            _visit_status(v),
            class_name="visit__head",
        ),
        _visit_flag(v),
        rx.el.dl(
            rx.foreach(
                v.rows,
                lambda r: rx.el.div(
                    rx.el.dt(r[0]), rx.el.dd(r[1], class_name="pre-line"),
                    class_name="summary-list__row",
                ),
            ),
            class_name="summary-list visit__rows",
        ),
        # Facts and opinion side by side, each labelled (domain.md 7.1).
        rx.cond(
            (v.notes != "") | (v.opinion != ""),
            rx.el.div(
                _observation("Notes: facts observed", v.notes),
                _observation("Opinion", v.opinion),
                class_name="visit__observations",
            ),
        ),
        rx.cond(v.offline_note != "", rx.el.p(v.offline_note, class_name="hint visit__sync")),
        class_name=rx.match(
            v.status,
            ("overdue", "visit visit--overdue"),
            ("in_progress", "visit visit--in-progress"),
            "visit",
        ),
        key=v.id,
    )


def _visits(c: rx.Var) -> rx.Component:
    return _section(
        "visits", "Visits",
        rx.cond(
            c.can_start_visit,
            rx.el.p(
                rx.el.a("Start a visit on your phone", href=routes.visit_url(c.reference)),
                rx.el.span(" – the visit log works with no signal, and checks you in and out "
                           "for lone working.", class_name="hint"),
                class_name="visit-start",
            ),
        ),
        rx.cond(
            c.visits.length() > 0,
            rx.el.ol(rx.foreach(c.visits, _visit), class_name="visit-list"),
            rx.el.p("No visits recorded yet.", class_name="hint"),
        ),
        rx.cond(
            c.can_record,
            _disclosure(
                "Record a visit at your desk",
                _form(
                    forms.date_field("visit-visited_on", "Date of visit", V, S.errors),
                    forms.text_field("visit-address", "Address visited", V, S.errors),
                    forms.select_field("visit-outcome", "Outcome", pathway.VISIT_OUTCOMES, V,
                                       S.errors),
                    rx.el.div(
                        forms.radios("visit-child_seen", "Child seen", YES_NO, V, S.errors),
                        forms.radios("visit-seen_alone", "Child seen alone", YES_NO, V,
                                     S.errors),
                        class_name="grid-2",
                    ),
                    forms.textarea_field("visit-notes", "Notes", V, S.errors, rows=3,
                                         hint="Keep what you saw separate from your opinion."),
                    on_submit=S.record_visit,
                    button="Record visit",
                    key="v",
                ),
            ),
        ),
    )


def _safety(c: rx.Var) -> rx.Component:
    values = rx.Var.create({
        "safety-warning_markers": c.warning_markers,
        "safety-joint_visit_required": rx.cond(c.joint_visit_required, "on", ""),
    })
    return rx.el.section(
        rx.el.h2("Visit safety", id="safety", tab_index=-1),
        rx.cond(
            c.joint_visit_required,
            rx.el.div(
                rx.el.span("!", class_name="warning-text__icon", aria_hidden="true"),
                rx.el.strong(
                    rx.el.span("Warning: ", class_name="visually-hidden"),
                    "Joint visit required. A visit can't start with only one officer.",
                    class_name="warning-text__text",
                ),
                class_name="warning-text",
            ),
        ),
        rx.el.dl(
            _row("Warning markers", rx.cond(
                c.warning_markers != "",
                rx.el.span(c.warning_markers, class_name="pre-line"),
                "None recorded",
            )),
            _row("Joint visit required", rx.cond(c.joint_visit_required, "Yes", "No")),
            class_name="summary-list safety__list",
        ),
        rx.cond(
            c.can_edit_safety,
            _disclosure(
                "Change visit safety",
                _form(
                    forms.textarea_field(
                        "safety-warning_markers", "Warning markers", values, S.errors, rows=4,
                        hint="What an officer must know before visiting: for example animals, "
                        "a hostile adult, police or social care markers. Officers see this "
                        "before every visit.",
                    ),
                    forms.checkbox(
                        "safety-joint_visit_required", "Joint visit required", values,
                        hint="A visit can't start with only one officer.",
                    ),
                    on_submit=S.save_visit_safety,
                    button="Save visit safety",
                    secondary=True,
                    key="safety",
                ),
            ),
        ),
        class_name=rx.cond(
            (c.warning_markers != "") | c.joint_visit_required,
            "section case-section safety safety--marked",
            "section case-section safety",
        ),
        aria_labelledby="safety",
    )


def _la_row(n: rx.Var) -> list:
    prefix = "resp-" + n[0] + "-"
    return [
        rx.el.strong(n[1], " ", n[2]),
        n[3],
        rx.fragment(n[4], rx.cond(n[8] == "1", rx.el.div(
            rx.el.strong("Response overdue", class_name="tag tag--red")))),
        rx.cond(n[5] != "", n[5], "Not yet"),
        rx.fragment(
            rx.cond(n[6] != "", rx.el.div(rx.el.strong(n[6]), rx.el.div(
                n[7], class_name="pre-line")), "No response yet"),
            rx.cond(
                S.case.to(CaseFile).can_notify_la & (n[6] == ""),
                _disclosure(
                    "Record response",
                    rx.el.form(
                        rx.el.input(type="hidden", name="notification_id", value=n[0]),
                        forms.date_field(prefix + "acknowledged_on", "Date acknowledged", V,
                                         S.errors),
                        forms.date_field(prefix + "response_on", "Date of response", V,
                                         S.errors),
                        forms.textarea_field(prefix + "response", "Their response", V,
                                             S.errors, rows=3),
                        rx.el.button("Record response", type="submit", class_name="button"),
                        key=S.form_key.to(str) + "resp" + n[0],
                        on_submit=S.record_la_response,
                        reset_on_submit=False,
                        no_validate=True,
                        aria_label="Record response from " + n[2],
                    ),
                ),
            ),
        ),
    ]


def _la(c: rx.Var) -> rx.Component:
    return _section(
        "la", "Notifications to and from other LAs",
        _table(["Local authority", "Sent", "Response due", "Acknowledged", "Response"],
               c.la_notifications, _la_row, empty="No notifications to or from other LAs."),
        rx.cond(
            c.can_notify_la,
            _disclosure(
                "Notify another LA",
                _form(
                    rx.el.div(
                        forms.text_field("la-la_name", "Local authority", V, S.errors,
                                         hint="For example Bradford"),
                        forms.text_field("la-la_code", "DfE LA code (optional)", V, S.errors,
                                         width="input--w10", hint="3 digits, like 380"),
                        class_name="grid-2",
                    ),
                    forms.text_field("la-contact", "CME contact at that LA", V, S.errors,
                                     hint="Name and email or secure channel"),
                    forms.textarea_field(
                        "la-question", "What are you asking them?", V, S.errors, rows=3,
                        hint="For example: Is the child known to you, on roll at one of your "
                        "schools, or has a school place been applied for?",
                    ),
                    rx.el.p("The child's names, date of birth, UPN, last school, addresses and "
                            "household are sent with the notification.", class_name="hint"),
                    on_submit=S.notify_la,
                    button="Send notification",
                    key="l",
                ),
            ),
        ),
    )


def _overseas(c: rx.Var) -> rx.Component:
    return _section(
        "overseas", "Overseas verification",
        _plain(["Country", "School or agency", "Evidence", "Independent of the parent",
                "Received", "Recorded by"], c.overseas, empty="No overseas evidence recorded."),
        rx.cond(
            c.can_record,
            _disclosure(
                "Record overseas evidence",
                _form(
                    rx.el.div(
                        forms.text_field("os-country", "Country", V, S.errors),
                        forms.text_field("os-organisation", "School or agency abroad", V,
                                         S.errors),
                        class_name="grid-2",
                    ),
                    forms.select_field("os-evidence_type", "Type of evidence",
                                       records.OVERSEAS_EVIDENCE, V, S.errors),
                    forms.radios("os-independent", "Is the evidence independent of the parent?",
                                 YES_NO, V, S.errors,
                                 hint="Independent means it came from the school or agency, "
                                 "not through the family."),
                    forms.date_field("os-received_on", "Date received", V, S.errors),
                    forms.radios("os-translated", "Was it translated?", YES_NO, V, S.errors),
                    forms.textarea_field("os-notes", "Notes (optional)", V, S.errors, rows=2),
                    on_submit=S.record_overseas,
                    button="Record evidence",
                    key="os",
                ),
            ),
        ),
    )


def _evidence_field(outcome: str, f: lifecycle.EvidenceField) -> rx.Component:
    name = f"close-{outcome}-{f.name}"
    label = f.label if f.required else f"{f.label} (optional)"
    if f.kind == "textarea":
        return forms.textarea_field(name, label, V, S.errors, hint=f.hint, rows=3)
    if f.kind == "date":
        return forms.date_field(name, label, V, S.errors, hint=f.hint)
    width = "input--w10" if f.kind in ("urn", "case_ref") else ""
    return forms.text_field(name, label, V, S.errors, hint=f.hint, width=width)


def _evidence() -> rx.Component:
    return rx.match(
        S.close_outcome,
        *[
            (outcome, rx.fragment(*[_evidence_field(outcome, f) for f in rule.fields]))
            for outcome, rule in OUTCOME_RULES.items()
            if rule.fields
        ],
        rx.fragment(),
    )


def _checklist(c: rx.Var) -> rx.Component:
    return rx.cond(
        S.close_outcome == "untraceable",
        rx.el.div(
            rx.el.h3("Untraceable checklist"),
            rx.el.ul(
                rx.foreach(
                    c.untraceable_checklist,
                    lambda item: rx.el.li(
                        rx.cond(
                            item[1] == "1",
                            rx.el.strong("✓ Done", class_name="tag tag--green"),
                            rx.el.strong("✗ Not done", class_name="tag tag--red"),
                        ),
                        " ",
                        item[0],
                    ),
                ),
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
    return _form(
        forms.select_field("close-outcome", "Outcome", OUTCOME_LABELS, V, S.errors,
                           on_change=S.set_close_outcome),
        _evidence(),
        _checklist(c),
        _blockers(),
        on_submit=S.close if lead else S.propose_closure,
        button="Close case" if lead else "Propose closure",
        warning=lead,
        key="close",
    )


def _close(c: rx.Var) -> rx.Component:
    return rx.cond(
        c.stage != "closed",
        _section(
            "close", "Close case",
            rx.cond(
                c.can_close,
                rx.fragment(
                    rx.el.p("Choose the outcome and give the evidence it needs.",
                            class_name="hint"),
                    _close_form(c, lead=True),
                ),
                rx.cond(
                    c.can_propose,
                    rx.fragment(
                        rx.el.p("A team lead approves every closure. Choose the outcome and "
                                "give the evidence it needs.", class_name="hint"),
                        _close_form(c, lead=False),
                    ),
                    rx.cond(
                        c.is_open,
                        rx.el.p("Only CME officers and team leads can close cases.",
                                class_name="hint"),
                        _not_open(c),
                    ),
                ),
            ),
        ),
        _section(
            "close", "Closed",
            rx.el.p("This case is closed",
                    rx.cond(S.closed_outcome != "", rx.fragment(": ", S.closed_outcome)), "."),
            rx.cond(
                c.can_reopen,
                _disclosure(
                    "Reopen case",
                    _form(
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
                ),
            ),
        ),
    )


def _timeline(c: rx.Var) -> rx.Component:
    return _section(
        "timeline", "Timeline and closures",
        rx.el.h3("Stage changes"),
        _table(["When", "Change", "By", "Reason"], c.timeline,
               lambda r: [r[0], rx.cond(r[1] != "", rx.fragment(r[1], " → ", r[2]), r[2]), r[3],
                          rx.el.span(r[4], class_name="pre-line")],
               empty="No stage changes."),
        rx.el.h3("Closures"),
        _plain(["Episode", "Outcome", "Status", "Proposed by", "Approved by", "Closed on"],
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


def _case_file(c: rx.Var) -> rx.Component:
    return rx.fragment(
        _header(c),
        legal_hold_tag(),
        _messages(),
        _pending(c),
        _matches(c),
        _safety(c),
        _contents(),
        _risk(c),
        _safeguarding(c),
        _move(c),
        _child(c),
        _referral(c),
        _enquiries(c),
        _visits(c),
        _la(c),
        _overseas(c),
        sharing_section(),
        _close(c),
        _timeline(c),
    )


def _purpose_prompt() -> rx.Component:
    values = rx.Var.create({"purpose": "", "purpose_other": ""})
    return rx.el.form(
        forms.error_summary(S.purpose_error_list),
        rx.el.h1("Why are you opening this case?"),
        rx.el.p(
            "This case is not allocated to you. Your reason is recorded with your view and "
            "can be seen by the data protection officer. You will not be asked again today.",
        ),
        forms.radios(
            "purpose", "Reason", purpose.PURPOSES, values, S.purpose_errors, inline=False,
        ),
        forms.textarea_field(
            "purpose_other", "If other, give the reason", values, S.purpose_errors,
            hint=f"Up to {purpose.OTHER_LIMIT} characters. Do not name the child or family.",
            rows=3,
        ),
        rx.el.div(
            rx.el.button("Continue", type="submit", class_name="button"),
            class_name="button-group",
        ),
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
