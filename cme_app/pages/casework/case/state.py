"""The case page's state: the case file on show, and one handler per thing a person can do.

Every handler is declared with its capability (cme_app/permissions.py) and runs through the
one adapter (state/handlers.py); it passes primitives to a service: the form's fields, the
reference from the URL (or the loaded case) and the version of the case file this page last
loaded, so a change made meanwhile by someone else is refused, not overwritten.
"""

from __future__ import annotations

import json
from functools import partial
from typing import ClassVar

import reflex as rx

from ....components import forms
from ....db import session_scope
from ....domain import STAGE_LABELS, case_reference
from ....errors import NotFound, ServiceError
from ....numbers import row_id
from ....permissions import Actor, Capability
from ....services.casework import case_file, closure, lifecycle, records, securing, triage
from ....services.casework.case_file_types import CaseFile, FactorChoice
from ....services.casework.closure import OUTCOMES, outcome_label
from ....services.casework.lifecycle import StaleCase
from ....services.documents import documents
from ....services.intake import child_records
from ....services.returns import episodes
from ....services.school_returns import new_pupils
from ....services.trust import purpose
from ....services.visits import safety
from ....state.auth import AuthState
from ....state.handlers import PageFeedback, errors_at, focus_script, handler, page_load
from . import tabs

C = Capability


# After an action the page stays where it was: focus goes back to the button that was used
# (or its section's heading, if the button has gone) without scrolling, and the result is
# announced by the status region (assets/app.js, cmeKeepPlace). Moving focus to a message at
# the top, as other pages do, scrolled a long case page to the top after every action.
KEEP_PLACE = "window.setTimeout(() => window.cmeKeepPlace && window.cmeKeepPlace(), 50)"


def _number(raw: object) -> int:
    """A record id from a form or a click: digits only, else 0 (names no record)."""
    return row_id(raw if isinstance(raw, int) else str(raw or "")) or 0


class CaseState(PageFeedback, AuthState):
    case: CaseFile | None = None
    not_found: bool = False
    close_outcome: str = ""
    close_blockers: list[str] = []
    # Out-of-caseload access: nothing of the child is sent until a purpose is given.
    purpose_needed: bool = False
    tab: str = tabs.DEFAULT  # the tab on show: from the URL, then the tab list

    message_id: ClassVar[str] = "case-message"

    def _focus_message(self):
        """Answers (done or refused) are announced where the page is, not at its top."""
        return rx.call_script(KEEP_PLACE)

    # ------------------------------------------------------------------ display helpers
    @rx.var
    def red_factors(self) -> list[FactorChoice]:
        return [f for f in (self.case.factor_choices if self.case else []) if f.red]

    @rx.var
    def amber_factors(self) -> list[FactorChoice]:
        return [f for f in (self.case.factor_choices if self.case else []) if not f.red]

    @rx.var
    def blocked_reasons(self) -> list[list[str]]:
        """Why each move isn't open yet, one line per reason: [stages, reason]."""
        grouped: dict[str, list[str]] = {}
        for move in self.case.blocked_moves if self.case else []:
            grouped.setdefault(move.reason, []).append(move.label)
        return [[" and ".join(labels), reason] for reason, labels in grouped.items()]

    @rx.var
    def closed_outcome(self) -> str:
        """The outcome this episode closed with, and when (empty while open)."""
        if self.case is None or self.case.stage != "closed":
            return ""
        for row in reversed(self.case.closures):
            if row.status == "Closed" and row.episode == str(self.case.episode):
                return f"{row.outcome} ({row.closed_on})" if row.closed_on else row.outcome
        return ""

    # ------------------------------------------------------------------ internals
    def _ref(self) -> str:
        if self.case:
            return self.case.reference
        return case_reference(str(self.router.url.path or "").rstrip("/").rsplit("/", 1)[-1])

    def _version(self) -> int:
        return self.case.version if self.case else 0

    def _show(self, session, actor: Actor, purpose_form: dict | None = None) -> None:
        """Load the case file; a purpose form that fails its checks raises ValidationFailed."""
        try:
            self.case = case_file.view_case(session, actor=actor, reference=self._ref(),
                                            purpose_form=purpose_form)
            self.not_found = self.purpose_needed = False
        except NotFound:
            self.case, self.not_found, self.purpose_needed = None, True, False
        except purpose.PurposeRequired:
            self.case, self.purpose_needed = None, True

    def _reload(self, actor: Actor) -> None:
        with session_scope() as session:
            self._show(session, actor)

    def _after_success(self, actor: Actor, result) -> None:
        self.close_outcome, self.close_blockers = "", []
        self._reload(actor)

    def _after_refusal(self, actor: Actor, exc: ServiceError) -> None:
        if isinstance(exc, purpose.PurposeRequired):  # another officer's case: ask why first
            self.case, self.purpose_needed = None, True
        elif isinstance(exc, StaleCase):  # show the latest, and empty the forms
            self.form_key += 1
            self._reload(actor)

    def _after_not_found(self, actor: Actor):
        self.case, self.not_found = None, True

    def _service(self, fn, **kwargs):
        """A call on this case: its reference and the version this page shows."""
        return partial(fn, reference=self._ref(), version=self._version(), **kwargs)

    # ------------------------------------------------------------------ loading
    def _show_at(self, session, actor: Actor, section: str = ""):
        """The case, then focus on the section a deep link names (`#close`)."""
        self._show(session, actor)
        if section and self.case is not None:
            return rx.call_script(focus_script(section))
        return None

    @rx.event
    @page_load(C.CASE_VIEW)
    def load(self):
        self.case, self.not_found, self.purpose_needed = None, False, False
        self._clear_feedback()
        self.close_outcome, self.close_blockers = "", []
        url = self.router.url
        fragment = str(url.fragment or "")
        self.tab = tabs.tab_for(url.query_parameters.get("tab", ""), fragment)
        return partial(self._show_at, section=tabs.section_of(fragment))

    @rx.event
    @handler(C.CASE_VIEW, quiet=True, refresh=False)
    def show_tab(self, tab: str):
        """A tab chosen from the tab list: shown, and its URL put in the address bar (so a
        reload or a shared link opens it) without reloading the case."""
        if not isinstance(tab, str) or tab not in tabs.KEYS:
            return None
        self.tab = tab
        self._clear_feedback()  # the last answer belongs to the tab it was given on
        return rx.call_script(
            f"window.history.replaceState(window.history.state, '', {json.dumps('?tab=' + tab)})"
        )

    @rx.event
    @handler(C.CASE_VIEW, quiet=True, refresh=False)
    def show_section(self, anchor: str):
        """A link to a section on another tab ("Close the case with an outcome"): its tab,
        and focus on the section's heading."""
        section = tabs.section_of(anchor)
        if not section:
            return None
        self.tab = tabs.TAB_OF_ANCHOR[section]
        self._clear_feedback()
        return [
            rx.call_script(f"window.history.replaceState(window.history.state, '', "
                           f"{json.dumps('?tab=' + self.tab + '#' + section)})"),
            rx.call_script(focus_script(section)),
        ]

    @rx.event
    @handler(C.CASE_VIEW, refresh=False)
    def give_purpose(self, form_data: dict):
        """The answer to "Why are you opening this case?"; the service checks and records it."""
        data = form_data if isinstance(form_data, dict) else {}
        form = {k: str(data.get(k) or "")[:1000] for k in ("purpose", "purpose_other")}
        return partial(self._show, purpose_form=form)

    # ------------------------------------------------------------------ triage and risk
    @rx.event
    @handler(C.CASE_TRIAGE, prefix="triage-",
             done="Triage saved. The risk is now the one the factors propose.")
    def save_triage(self, form_data: dict):
        factors = [
            str(k)[len("factor-"):]
            for k, v in (form_data.items() if isinstance(form_data, dict) else ())
            if str(k).startswith("factor-") and forms.ticked(v)
        ]
        return self._service(triage.record_triage, factors=factors)

    @rx.event
    @handler(C.CASE_RISK_OVERRIDE, prefix="override-",
             done="Risk overridden. The reason is kept in the risk history.")
    def override_risk(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "override-")
        return self._service(triage.override_risk, risk=data.get("risk", ""),
                             reason=data.get("reason", ""))

    @rx.event
    @handler(C.CASE_ALLOCATE, prefix="allocate-", done="Officer allocated.")
    def allocate(self, form_data: dict):
        raw = forms.prefixed_fields(form_data, "allocate-").get("officer_id", "")
        return self._service(triage.allocate, officer_id=_number(raw))

    # ------------------------------------------------------------------ records
    @rx.event
    @handler(C.CASE_RECORD, prefix="sg-", done="Safeguarding contact recorded.")
    def record_safeguarding(self, form_data: dict):
        return partial(records.record_safeguarding, reference=self._ref(),
                       form=forms.prefixed_fields(form_data, "sg-"))

    @rx.event
    @handler(C.CASE_RECORD, prefix="police-", done="Report to the police saved.")
    def save_police_report(self, form_data: dict):
        return self._service(records.record_police_report,
                             form=forms.prefixed_fields(form_data, "police-"))

    @rx.event
    @handler(C.CASE_RECORD, prefix="enq-", done="Enquiry logged.")
    def log_enquiry(self, form_data: dict):
        return partial(records.log_enquiry, reference=self._ref(),
                       form=forms.prefixed_fields(form_data, "enq-"))

    @rx.event
    @handler(C.CASE_RECORD, prefix="visit-", done="Visit recorded.")
    def record_visit(self, form_data: dict):
        return partial(records.record_visit, reference=self._ref(),
                       form=forms.prefixed_fields(form_data, "visit-"))

    @rx.event
    @handler(C.VISIT_FLAG_REVIEW, done="Visit marked as reviewed.")
    def review_visit_flag(self, visit_id: int):
        return partial(safety.review_visit_flag, reference=self._ref(),
                       visit_id=_number(visit_id))

    @rx.event
    @handler(C.CASE_RECORD, prefix="safety-",
             done="Visit safety saved. Officers see it before every visit.")
    def save_visit_safety(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "safety-")
        return self._service(safety.set_visit_safety,
                             warning_markers=data.get("warning_markers", ""),
                             joint_visit_required=forms.ticked(data.get("joint_visit_required")))

    @rx.event
    @handler(C.LA_NOTIFY, prefix="la-", done="Notification to the other LA recorded.")
    def notify_la(self, form_data: dict):
        return partial(records.send_la_notification, reference=self._ref(),
                       form=forms.prefixed_fields(form_data, "la-"))

    @rx.event
    @handler(C.LA_NOTIFY, done="The other LA's reply is recorded.")
    def record_la_response(self, form_data: dict):
        """The row's form names its notification in a hidden field (a foreach row's value
        can't be bound into a memoised form's submit handler)."""
        nid = _number(form_data.get("notification_id") if isinstance(form_data, dict) else None)
        prefix = f"resp-{nid}-"
        work = partial(records.record_la_response, reference=self._ref(), notification_id=nid,
                       form=forms.prefixed_fields(form_data, prefix))
        return errors_at(work, prefix, {"notification_id": prefix + "acknowledged_on"})

    @rx.event
    @handler(C.LA_NOTIFY, done="Our reply to the other LA is recorded.")
    def record_la_reply(self, form_data: dict):
        """As record_la_response, for a notice another LA sent us."""
        nid = _number(form_data.get("notification_id") if isinstance(form_data, dict) else None)
        prefix = f"reply-{nid}-"
        work = partial(records.record_la_reply, reference=self._ref(), notification_id=nid,
                       form=forms.prefixed_fields(form_data, prefix))
        return errors_at(work, prefix, {"notification_id": prefix + "reply_kind"})

    @rx.event
    @handler(C.CASE_RECORD, prefix="os-", done="Overseas evidence recorded.")
    def record_overseas(self, form_data: dict):
        return partial(records.record_overseas, reference=self._ref(),
                       form=forms.prefixed_fields(form_data, "os-"))

    @rx.event
    @handler(C.CASE_RECORD, prefix="link-", field_ids={"link_reason": "link-reason"},
             done="Cases linked as the same household.")
    def link_household(self, form_data: dict):
        data = forms.prefixed_fields(form_data, "link-")
        return partial(records.link_household, reference=self._ref(),
                       other_reference=data.get("other_reference", ""),
                       reason=data.get("reason", ""))

    # ------------------------------------------------------------------ moving
    @rx.event
    @handler(C.CASE_MOVE, done=lambda case: f"Case moved to {STAGE_LABELS[case.stage]}.")
    def move(self, stage: str):
        return self._service(lifecycle.move_case, to_stage=str(stage or "")[:30])

    @rx.event
    @handler(C.CASE_MOVE, done="Referral returned to the school with your note.")
    def return_to_referrer(self, form_data: dict):
        note = str((form_data or {}).get("return_note") or "")[:4000]
        return self._service(lifecycle.return_to_referrer, note=note)

    # ------------------------------------------------------------------ closing
    @rx.event
    @handler(C.CLOSURE_PROPOSE, quiet=True, refresh=False)
    def set_close_outcome(self, outcome: str):
        outcome = str(outcome or "")
        self.close_outcome = outcome if outcome in OUTCOMES else ""
        self.close_blockers = []
        if not self.close_outcome or self.case is None:
            return None
        return lambda session, actor: setattr(self, "close_blockers", closure.closure_preview(
            session, actor=actor, reference=self._ref(), outcome=self.close_outcome))

    def _closure_form(self, form_data: dict) -> tuple[str, dict[str, str], str]:
        outcome = str((form_data or {}).get("close-outcome") or "")[:30]
        outcome = outcome if outcome in OUTCOMES else ""
        prefix = f"close-{outcome}-" if outcome else "close-"
        return outcome, forms.prefixed_fields(form_data, prefix), prefix

    @rx.event
    @handler(C.CASE_CLOSE, done=lambda case: f"Case closed: {outcome_label(case.outcome)}.")
    def close(self, form_data: dict):
        outcome, evidence, prefix = self._closure_form(form_data)
        work = self._service(closure.close_case, outcome=outcome, evidence=evidence)
        return errors_at(work, prefix, {"outcome": "close-outcome"})

    @rx.event
    @handler(C.CLOSURE_PROPOSE, done="Closure proposed. A team lead will check it and approve it.")
    def propose_closure(self, form_data: dict):
        outcome, evidence, prefix = self._closure_form(form_data)
        work = self._service(closure.propose_closure, outcome=outcome, evidence=evidence)
        return errors_at(work, prefix, {"outcome": "close-outcome"})

    @rx.event
    @handler(C.CASE_CLOSE, done=lambda case: f"Closure approved: {outcome_label(case.outcome)}.")
    def approve_closure(self):
        return self._service(closure.approve_closure)

    @rx.event
    @handler(C.CASE_REOPEN, done="Case reopened as a new episode.")
    def reopen(self, form_data: dict):
        reason = str((form_data or {}).get("reopen_reason") or "")[:4000]
        return self._service(lifecycle.reopen_case, reason=reason)

    # ------------------------------------------------------------------ CME episode
    def _episode(self) -> tuple[int, int]:
        e = self.case.cme_episode if self.case else None
        return (e.id, e.version) if e else (0, 0)

    @rx.event
    @handler(C.EPISODE_RECORD, prefix="ep-",
             done="CME episode started. The child now counts as missing education.")
    def start_episode(self, form_data: dict):
        return partial(episodes.start_episode, reference=self._ref(),
                       form=forms.prefixed_fields(form_data, "ep-"))

    @rx.event
    @handler(C.EPISODE_RECORD, prefix="epc-", done="CME episode saved.")
    def change_episode(self, form_data: dict):
        episode_id, version = self._episode()
        return partial(episodes.change_episode, reference=self._ref(), episode_id=episode_id,
                       version=version, form=forms.prefixed_fields(form_data, "epc-"))

    @rx.event
    @handler(C.EPISODE_RECORD, prefix="epe-",
             done="CME episode ended. The child no longer counts as missing education.")
    def end_episode(self, form_data: dict):
        episode_id, version = self._episode()
        return partial(episodes.end_episode, reference=self._ref(), episode_id=episode_id,
                       version=version, form=forms.prefixed_fields(form_data, "epe-"))

    # --- child record: matching and merging
    # Each row's form names its match or merge in a hidden field; the reason's field id
    # carries the row's id, so an error links to the right row's field.
    def _child_record_call(self, fn, form_data: dict, id_name: str, prefix: str):
        data = form_data if isinstance(form_data, dict) else {}
        record_id = _number(data.get(id_name))
        at = f"{prefix}{record_id}-"
        reason = str(forms.prefixed_fields(data, at).get("reason") or "")[:4000]
        work = partial(fn, **{id_name: record_id, "reason": reason})
        return errors_at(work, at, {id_name: at + "reason"})

    @rx.event
    @handler(C.CHILD_MATCH, done="Records merged: this child now has one record.")
    def confirm_child_match(self, form_data: dict):
        return self._child_record_call(child_records.confirm_match, form_data, "match_id",
                                       "merge-")

    @rx.event
    @handler(C.CHILD_MATCH, done="Recorded as not the same child. It won't be proposed again.")
    def reject_child_match(self, form_data: dict):
        return self._child_record_call(child_records.reject_match, form_data, "match_id",
                                       "reject-")

    @rx.event
    @handler(C.CHILD_MERGE_UNDO, done="Merge undone: the records are separate again.")
    def undo_child_merge(self, form_data: dict):
        return self._child_record_call(child_records.undo_merge, form_data, "merge_id", "undo-")

    # --- notices and letters
    @rx.event(background=True)
    @handler(C.DOCUMENT_CREATE, prefix="doc-",
             done=lambda d: f"{d.title} created (version {d.version}). It is listed below.")
    async def create_document(self, form_data: dict):
        # A background event: the PDF is rendered in a worker thread (the adapter's unit of
        # work), holding neither this tab's state lock nor the event loop.
        data = forms.prefixed_fields(form_data, "doc-")
        return partial(documents.generate, reference=self._ref(),
                       kind=data.get("kind", "")[:30], on=data.get("on", "")[:20])

    # --- schools' returns: a new pupil who may be this case's child
    @rx.event
    @handler(C.CLOSURE_PROPOSE,
             done="Closure proposed: on roll at the school. A team lead will check it and "
                  "approve it.")
    def confirm_new_pupil(self, return_id: int):
        return self._service(new_pupils.confirm, return_id=_number(return_id))

    @rx.event
    @handler(C.CLOSURE_PROPOSE, done="Recorded as not this child. The reason is kept.")
    def dismiss_new_pupil(self, form_data: dict):
        """The row's form names its return in a hidden field; the reason's field id carries
        it, so an error links to that row's reason."""
        data = form_data if isinstance(form_data, dict) else {}
        return_id = _number(data.get("return_id"))
        at = f"not-child-{return_id}-"
        reason = str(forms.prefixed_fields(data, at).get("reason") or "")[:1001]
        work = partial(new_pupils.dismiss, reference=self._ref(), return_id=return_id,
                       reason=reason)
        return errors_at(work, at, {"dismiss_reason": at + "reason"})

    # --- securing education (stage Located): a new step's form names its kind, an update's
    # form its step and the version it shows, in hidden fields.
    @rx.event
    @handler(C.CASE_RECORD, done=lambda step: f"{securing.KINDS[step.kind]} recorded.")
    def record_securing(self, form_data: dict):
        data = form_data if isinstance(form_data, dict) else {}
        kind = str(data.get("kind") or "")[:20]
        kind = kind if kind in securing.KINDS else ""
        prefix = f"sec-{kind}-"
        work = partial(securing.record_step, reference=self._ref(), kind=kind,
                       form=forms.prefixed_fields(data, prefix))
        return errors_at(work, prefix, {"kind": prefix + "done_on", "step": prefix + "done_on"})

    @rx.event
    @handler(C.CASE_RECORD, done=lambda step: f"{securing.KINDS[step.kind]} updated.")
    def update_securing(self, form_data: dict):
        data = form_data if isinstance(form_data, dict) else {}
        # No step named: -1, which is no step (0 would record a new one).
        step_id = _number(data.get("step_id")) or -1
        version = _number(data.get("step_version"))
        kind = str(data.get("kind") or "")[:20]
        prefix = f"upd-{step_id}-"
        work = partial(securing.record_step, reference=self._ref(), kind=kind,
                       step_id=step_id, version=version,
                       form=forms.prefixed_fields(data, prefix))
        return errors_at(work, prefix, {"kind": prefix + "done_on", "step": prefix + "done_on"})

    @rx.event
    @handler(C.CASE_RECORD, done="The primary reason now follows the securing-education steps.")
    def follow_securing_reason(self):
        return partial(securing.follow_again, reference=self._ref())
