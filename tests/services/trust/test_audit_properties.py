"""Property-based audit test (issue 5, Audit): random sequences of service actions by random
actors of every role, anonymous included.

(a) An action that went through wrote at least one audit event naming its actor and record;
    a refused one wrote only refusal events, and a rejected (invalid) one wrote nothing.
    An action that changed the case's own fields (stage, risk, officer, outcome, version...)
    shows each one's value before and after in the audit detail.
(b) The audit log accounts for every change: a flush listener collects every row inserted,
    updated or deleted in a child-record table in each transaction, and each transaction that
    changed such rows also appended an audit event about that child (by child id, case
    reference or referral id).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlmodel import func, select

from cme_app.errors import Refusal, ServiceError
from cme_app.models import (
    AuditEvent,
    Case,
    Child,
    HomeVisit,
    Referral,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import board
from cme_app.services.casework import case_file as casework
from cme_app.services.casework.lifecycle import case_state
from cme_app.services.intake import inbound, referrals
from cme_app.services.intake.referral_view import view_referral
from cme_app.services.trust import auth
from tests.factories import session_token
from tests.services.casework.test_casework import INBOUND
from tests.services.casework.test_lifecycle_properties import ACTIONS as CASE_ACTIONS
from tests.services.casework.test_lifecycle_properties import _do as do_case_action
from tests.services.casework.test_lifecycle_properties import _prelude

ROLES = ("school", "school_b", "officer", "officer2", "lead", "admin", "auditor", None)
OTHER_ACTIONS = (
    "submit", "view", "view_referral", "board", "draft", "inbound",
    "sign_in", "sign_in_bad", "sign_out",
)
ACTIONS = CASE_ACTIONS + OTHER_ACTIONS
LINK_COLUMNS = ("child_id", "case_id", "referral_id", "visit_id")


def _is_child_record(obj) -> bool:
    if isinstance(obj, AuditEvent):
        return False
    return isinstance(obj, Child) or any(hasattr(obj, c) for c in LINK_COLUMNS)


class ChangeLog:
    """Every child-record row and audit event flushed in the current transaction."""

    def __init__(self, session):
        self.rows: list[tuple[str, object]] = []
        self.events: list[AuditEvent] = []
        self.session, self.listener = session, self._after_flush

    def __enter__(self) -> ChangeLog:
        sa_event.listen(self.session, "after_flush", self.listener)
        return self

    def __exit__(self, *_exc) -> None:
        sa_event.remove(self.session, "after_flush", self.listener)

    def reset(self) -> None:
        self.rows, self.events = [], []

    def _after_flush(self, session, _context) -> None:
        for obj in session.new:
            if isinstance(obj, AuditEvent):
                self.events.append(obj)
            elif _is_child_record(obj):
                self.rows.append(("insert", obj))
        for obj in session.dirty:
            if _is_child_record(obj) and session.is_modified(obj):
                self.rows.append(("update", obj))
        self.rows += [("delete", o) for o in session.deleted if _is_child_record(o)]


def _child_of(session, obj) -> int | str | None:
    """The child a row is about (or, for a draft with no child yet, its referral id)."""
    if isinstance(obj, Child):
        return obj.id
    if getattr(obj, "child_id", None) is not None:
        return obj.child_id
    if getattr(obj, "case_id", None) is not None:
        return session.get(Case, obj.case_id).child_id
    if getattr(obj, "visit_id", None) is not None:
        return _child_of(session, session.get(HomeVisit, obj.visit_id))
    referral = obj if isinstance(obj, Referral) else session.get(Referral, obj.referral_id)
    return referral.child_id if referral.child_id is not None else referral.public_id


def _audited(session, e: AuditEvent) -> set[int | str]:
    about: set[int | str] = {e.child_id} if e.child_id is not None else set()
    if e.entity_type == "case" and e.entity_id:
        case = session.exec(select(Case).where(Case.reference == e.entity_id)).first()
        about |= {case.child_id} if case else set()
    if e.entity_type == "referral" and e.entity_id:
        about.add(e.entity_id)
    return about


def _before_after(events, reference: str) -> tuple[dict, dict]:
    """The earliest 'before' and latest 'after' of each field over one case's new events."""
    before: dict = {}
    after: dict = {}
    for e in events:
        if e.entity_id == reference and isinstance(e.detail.get("before"), dict):
            for name, value in e.detail["before"].items():
                before.setdefault(name, value)
            after |= e.detail.get("after") or {}
    return before, after


def _last_event_id(session) -> int:
    return session.exec(select(func.max(AuditEvent.id))).one() or 0


def _do(session, world, case: Case, action: str, role, data):
    """Run one action; returns what its audit event must be about (or None: no record)."""
    actor = world["actors"][role]
    if action in CASE_ACTIONS:
        do_case_action(session, world, case, action, role, data)
        return case.child_id
    if action == "submit":
        made = referrals.submit(session, actor=actor, form=example_referral_form())
        return made.child_id
    if action == "view":
        casework.view_case(session, actor=actor, reference=case.reference)
        return case.child_id
    if action == "view_referral":
        view_referral(session, actor=actor, reference=case.reference)
        return case.child_id
    if action == "board":
        board.load_board(session, actor=actor)
        return None
    if action == "draft":
        return referrals.save_draft(session, actor=actor, form={"first-name": "Zed"}).public_id
    if action == "inbound":
        made = inbound.log_inbound(session, actor=actor, form=INBOUND)
        return made.child_id
    email = f"{role}@example.org" if role and not role.startswith("school") else "nobody@x.org"
    if action == "sign_in":
        world["tokens"][role] = session_token(session, email)
        return "user"
    if action == "sign_in_bad":
        auth.sign_in(session, email=email, password="not the password at all")
        return "user"
    token = world["tokens"].pop(role, None)
    auth.sign_out(session, token=token, actor=actor)
    return "user" if token else None


@pytest.fixture
def world(session, team):
    """One team for every example (the database is not wiped between examples)."""
    other = referrals.submit(session, actor=team["school"], form=example_referral_form(
        upn="N380123456789"))
    session.commit()
    return {"actors": {**team, None: None}, "other": other.reference, "tokens": {}}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_action_is_audited_and_the_log_accounts_for_every_change(session, world, data):
    with ChangeLog(session) as log:
        _run_steps(session, world, data, log)


def _run_steps(session, world, data, log: ChangeLog) -> None:
    case = referrals.submit(session, actor=world["actors"]["school"], form=example_referral_form())
    session.commit()
    if data.draw(st.booleans()):  # start some sequences from a case already under enquiry
        _prelude(session, world, case)
    for _ in range(data.draw(st.integers(min_value=1, max_value=10))):
        action = data.draw(st.sampled_from(ACTIONS))
        role = data.draw(st.sampled_from(ROLES + ("lead", "officer") * 3))
        actor = world["actors"][role]
        session.expire_all()
        case = session.get(Case, case.id)
        log.reset()
        first_new = _last_event_id(session) + 1
        was = case_state(case)
        try:
            about = _do(session, world, case, action, role, data)
        except Refusal:
            session.commit()  # as session_scope does: the record of the attempt is kept
            event(f"{action} refused")
            new = session.exec(select(AuditEvent).where(AuditEvent.id >= first_new)).all()
            assert all(e.outcome != "ok" for e in new), f"refused {action} logged as ok"
            assert log.rows == [], f"refused {action} by {role} changed {log.rows}"
            continue
        except ServiceError:
            session.rollback()
            event(f"{action} invalid")
            assert _last_event_id(session) < first_new, f"rolled-back {action} left events"
            continue
        session.commit()
        event(f"{action} ok")
        new = session.exec(select(AuditEvent).where(AuditEvent.id >= first_new)).all()
        # (a) the action is on the record, under its actor and the record it touched
        if about is not None:
            assert new, f"{action} by {role} wrote no audit event"
        if actor is not None and about is not None and about != "user":
            named = set().union(*(_audited(session, e) for e in new if e.actor_id == actor.user_id))
            assert about in named, f"{action} by {role}: no event names its record"
        if about == "user":
            assert any(e.action.startswith("auth.") for e in new), f"{action} not audited"
        # ... with the case's changed fields before and after
        session.expire_all()
        now = case_state(session.get(Case, case.id))
        shown_before, shown_after = _before_after(new, case.reference)
        for name in (k for k in now if now[k] != was[k]):
            assert (shown_before.get(name), shown_after.get(name)) == (was[name], now[name]), (
                f"{action} by {role} changed {name} without before/after in the audit detail"
            )
        # (b) every changed child record is accounted for in the same transaction
        audited = set().union(set(), *(_audited(session, e) for e in log.events))
        for change, row in log.rows:
            child = _child_of(session, row)
            assert child in audited, (
                f"{action} by {role}: {change} of {type(row).__name__} not in the audit log"
            )
