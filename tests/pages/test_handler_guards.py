"""Every public event handler of every State, called by people who must get nothing.

Any browser can call any public handler with any arguments, so each one is called here as
anonymous, as each wrong role and as a school user of another school, with arguments that point
at school A's records. Afterwards no table but the audit/sign-in log has changed, and school A's
child appears nowhere in the caller's state or in what the handler returned.
"""

from __future__ import annotations

import inspect
import json
from datetime import date

import pytest
import reflex as rx
from sqlalchemy import func
from sqlmodel import SQLModel, select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.domain import Role
from cme_app.models import (
    AuditEvent,
    Case,
    CensusDate,
    Child,
    ChildMatch,
    ChildMerge,
    DeletionReturn,
    HomeVisit,
    LaNotification,
    LoneWorkingAlert,
    NewPupilReturn,
    Notification,
    User,
)
from cme_app.models.calendar import NonTeachingDay, TermPeriod
from cme_app.ops.demo import example_deletion_form, example_referral_form
from cme_app.permissions import PERMISSIONS, Capability, roles_with
from cme_app.services.intake import referrals
from cme_app.services.school_calendar.default_terms import seed_term_dates
from cme_app.services.school_returns import deletions, new_pupils
from cme_app.services.school_returns.uploads import DELETION_COLUMNS
from cme_app.state.auth import AuthState
from cme_app.state.handlers import capabilities_of, is_public
from tests.factories import (
    CANARIES,
    CANARY_FIRST,
    CANARY_LAST,
    CANARY_UPN,
    actor_for,
    make_user,
    run_async,
    session_token,
    state_for,
    two_schools,
)

LOG_TABLES = {"auditevent", "loginattempt", "mfaattempt", "usersession"}
ALL_ROLES = {Role.SCHOOL, Role.OFFICER, Role.LEAD, Role.ADMIN, Role.AUDITOR}


def app_states() -> list[type[rx.State]]:
    found, todo = [], [AuthState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return found


# The permission matrix as agreed with the CME team (role x capability). The app's table must
# equal it: a change to who may do what is a change to this test too.
SCH, OFF, LEAD, ADM, AUD = Role.SCHOOL, Role.OFFICER, Role.LEAD, Role.ADMIN, Role.AUDITOR
EXPECTED_PERMISSIONS = {
    Capability.SIGNED_IN: {SCH, OFF, LEAD, ADM, AUD},
    Capability.REFERRAL_WRITE: {SCH},
    Capability.SCHOOL_RETURNS: {SCH},
    Capability.NEW_PUPIL_RECORD: {SCH, OFF, LEAD, ADM},
    Capability.RETURNS_LA_VIEW: {OFF, LEAD, ADM},
    Capability.OFF_ROLLING_REVIEW: {LEAD},
    # Not the auditor: view_referral and the page refused the DPO before the table.
    Capability.REFERRAL_VIEW: {SCH, OFF, LEAD, ADM},
    Capability.INBOUND_LOG: {OFF, LEAD, ADM},
    Capability.CASE_VIEW: {OFF, LEAD, ADM},
    Capability.CASELOAD: {OFF, LEAD},
    Capability.WHOLE_CASELOAD: {LEAD},
    Capability.CASE_TRIAGE: {OFF, LEAD},
    Capability.CASE_RISK_OVERRIDE: {LEAD},
    Capability.CASE_ALLOCATE: {LEAD},
    Capability.CASE_RECORD: {OFF, LEAD},
    Capability.CASE_MOVE: {OFF, LEAD},
    Capability.LA_NOTIFY: {OFF, LEAD, ADM},
    Capability.CLOSURE_PROPOSE: {OFF, LEAD},
    Capability.CASE_CLOSE: {LEAD},
    Capability.CASE_REOPEN: {LEAD},
    Capability.VISIT_FLAG_REVIEW: {LEAD},
    Capability.EPISODE_RECORD: {OFF, LEAD},
    Capability.DOCUMENT_CREATE: {OFF, LEAD},
    Capability.DOCUMENT_READ: {SCH, OFF, LEAD, ADM},
    Capability.CHILD_MATCH: {OFF, LEAD},
    Capability.CHILD_MERGE_UNDO: {LEAD},
    Capability.VISIT_LOG: {OFF, LEAD},
    Capability.LONE_WORKING_RESPOND: {OFF, LEAD},
    Capability.NOTIFICATION_PREFERENCES: {SCH, OFF, LEAD},
    Capability.TEAM_NOTIFICATION_RULES: {LEAD},
    Capability.AUDIT_READ: {AUD, LEAD},
    Capability.SHARE_RECORD: {OFF, LEAD},
    Capability.SHARING_LOG_VIEW: {OFF, LEAD, ADM},
    Capability.LEGAL_HOLD: {LEAD},
    Capability.RETENTION_VIEW: {LEAD, AUD},
    Capability.RETENTION_APPROVE: {LEAD},
    Capability.ACCOUNTS_MANAGE: {ADM},
    Capability.SCHOOLS_MANAGE: {ADM},
    Capability.DASHBOARD: {LEAD, ADM},
    Capability.CALENDAR_MANAGE: {ADM},
    # Read-only for the auditor (DPO): DfE queries outliers, and the DPO checks what was sent.
    Capability.DFE_RETURN_VIEW: {LEAD, ADM, AUD},
    Capability.DFE_RETURN_MANAGE: {LEAD},
}
# Reflex's own handler on every state: it reaches only explicit setters (auto-setters are off).
BUILT_IN = {"setvar"}


def allowed_roles(fn) -> set[Role]:
    """Who the handler's declaration lets in (sign-in steps: everyone, before signing in)."""
    if is_public(fn):
        return set(ALL_ROLES)
    return set(roles_with(*capabilities_of(fn)))


@pytest.fixture
def world(session):
    """School A with a submitted referral and a draft; tokens for every kind of caller."""
    school_a, _school_b = two_schools(session)
    form = example_referral_form(first_name=CANARY_FIRST, last_name=CANARY_LAST, upn=CANARY_UPN)
    case = referrals.submit(session, actor=school_a, form=form)
    draft = referrals.save_draft(
        session, actor=school_a, form={"first_name": CANARY_FIRST, "last_name": CANARY_LAST}
    )
    # One record per child: a second referral of the same child (a proposed match) and a
    # record merged into the child's, for the case page's matching and merging handlers.
    referrals.submit(session, actor=school_a, form=form)
    match_id = session.exec(select(ChildMatch.id)).one()
    merged = Child(first_name=CANARY_FIRST, last_name=CANARY_LAST, date_of_birth=date(2014, 3, 2),
                   sex="female", merged_into_id=case.child_id)
    session.add(merged)
    session.flush()
    merge = ChildMerge(from_child_id=merged.id, into_child_id=case.child_id, moved={},
                       reason="Same UPN (guard test)")
    session.add(merge)
    session.flush()
    for role in ("officer", "lead", "admin", "auditor"):
        make_user(session, role, email=f"{role}@example.org")
    # School A's deletion return of the child under ground I (possible off-rolling, waiting
    # for a lead's review) and a new pupil matching the child's case (waiting for an answer).
    deletion = deletions.submit_deletion(session, actor=school_a, form=example_deletion_form(
        first_name=CANARY_FIRST, last_name=CANARY_LAST, upn=CANARY_UPN))
    assert deletion.possible_off_rolling
    officer = actor_for(session.exec(select(User).where(User.email == "officer@example.org")).one())
    proposal = new_pupils.record_new_pupil(session, actor=officer, form={
        "school_urn": "107999", "upn": CANARY_UPN, "first_name": CANARY_FIRST,
        "last_name": CANARY_LAST, "date_of_birth": "2014-03-02",
        "start_date": date.today().isoformat()})
    assert proposal.proposal == new_pupils.PROPOSED
    # A visit kept while its case changed, waiting for a lead's review.
    visit = HomeVisit(
        client_uuid="0b7e3c1e-93f4-4d0a-9a43-54f3c1a1d001", case_id=case.id,
        visited_on=date(2026, 1, 5), address="14 Example Street", outcome="refused",
        flag_reason="The case moved on while this visit was offline.",
    )
    session.add(visit)
    session.flush()
    # And an open lone-working alert about it, to the officer as buddy.
    officer_id = session.exec(select(User.id).where(User.email == "officer@example.org")).one()
    alert = LoneWorkingAlert(visit_id=visit.id, level="buddy", recipient_id=officer_id)
    session.add(alert)
    # An unread inbox item for school A's user and one for the lead: nobody else may read them.
    lead_id = session.exec(select(User.id).where(User.email == "lead@example.org")).one()
    mine = [
        _notification(school_a.user_id, case.reference, "returned", f"/referrals/{case.reference}"),
        _notification(lead_id, case.reference, "referral_red", f"/cases/{case.reference}"),
    ]
    session.add_all(mine)
    # Another LA's notice about school A's child, unanswered: the case page's reply and
    # response forms aim at it.
    la_notice = LaNotification(case_id=case.id, direction="inbound", la_name="Wakefield",
                               contact="", question="Family moved to Leeds.",
                               sent_on=date(2026, 1, 5))
    session.add(la_notice)
    # Term dates, so the calendar's handlers have a term and a non-teaching day to aim at.
    seed_term_dates(session)
    # A census day, so the DfE return's handlers have one to aim at.
    census = CensusDate(census_date=date(2026, 10, 1), term="Autumn 2026")
    session.add(census)
    session.commit()
    term_id = session.exec(select(TermPeriod.id).order_by(TermPeriod.id)).first()
    day_id = session.exec(select(NonTeachingDay.id).order_by(NonTeachingDay.id)).first()

    def token(email: str) -> str:
        return session_token(session, email)

    tokens = {
        "anonymous": "",
        "forged": "not-a-real-session-token",
        Role.SCHOOL: token("school.108111@example.org"),  # school B: the wrong school
        **{Role(r): token(f"{r}@example.org") for r in ("officer", "lead", "admin", "auditor")},
    }
    session.commit()
    return {"case": case, "draft": draft.public_id, "tokens": tokens, "form": form,
            "visit_id": visit.id, "alert_id": alert.id, "officer_id": officer_id,
            "notification_id": mine[0].id, "notification_ids": [n.id for n in mine],
            "term_id": term_id, "day_id": day_id, "census_id": census.id,
            "school_user_id": school_a.user_id, "la_notice_id": la_notice.id,
            "deletion_id": deletion.id, "deletion_public_id": deletion.public_id,
            "proposal_id": proposal.id,
            "match_id": match_id, "merge_id": merge.id, "merged_child_id": merged.id}


def _notification(recipient_id: int, reference: str, event: str, link: str) -> Notification:
    return Notification(
        recipient_id=recipient_id, event=event, dedupe_key=f"guard:{event}",
        urgent=event == "referral_red", reference=reference,
        subject=f"About {reference}", body=f"Something happened on {reference}.", link=link,
        delivery="immediate",
    )


def _args_for(handler_name: str, fn, world) -> list:
    """Hostile arguments for each parameter, aimed at school A's records."""
    hostile_form = example_referral_form(first_name="Mallory", last_name="Intruder")
    reference = world["case"].reference
    alert = world["alert_id"]
    notice = world["la_notice_id"]
    case_forms = {
        "alert_id": str(alert), f"safe-{alert}-note": "Hostile note: all safe",
        # Case page forms (ids are prefixed per form) and the staff intake form.
        "factor-cp_plan": "on", "factor-fgm": True,
        "override-risk": "green", "override-reason": "Hostile override of the risk",
        "allocate-officer_id": "1",
        "sg-kind": "notification", "sg-agency": "mash", "sg-contacted_on": "2026-01-05",
        "sg-contacted_time": "10:00", "sg-contacted_by": "Mallory", "sg-contact_reference": "X1",
        "return_note": "Hostile note sent back to the school",
        "enq-kind": "csws", "enq-done_on": "2026-01-05", "enq-method": "phone",
        "enq-contacted": "Mallory", "enq-result": "no_trace", "enq-summary": "Hostile",
        "visit-visited_on": "2026-01-05", "visit-address": "1 Hostile Road",
        "visit-outcome": "child_seen_safe", "visit-child_seen": "yes", "visit-seen_alone": "no",
        "la-la_name": "Wakefield", "la-la_code": "384", "la-contact": "Mallory",
        "la-question": "Hostile question",
        "notification_id": str(notice), f"resp-{notice}-acknowledged_on": "2026-01-05",
        f"resp-{notice}-response_on": "2026-01-06",
        f"resp-{notice}-response": "Hostile response",
        f"reply-{notice}-reply_kind": "not_known", f"reply-{notice}-response_on": "2026-01-06",
        f"reply-{notice}-response": "Hostile reply",
        "os-country": "Pakistan", "os-organisation": "School", "os-evidence_type": "letter",
        "os-independent": "yes", "os-received_on": "2026-01-05",
        "link-other_reference": reference, "link-reason": "Hostile link",
        "close-outcome": "untraceable", "close-untraceable-off_roll_date": "2026-01-05",
        "reopen_reason": "Hostile reason to reopen the case",
        # The case page's documents: a calling card needs nothing but the case.
        "doc-kind": "calling_card", "doc-on": "2026-01-05",
        "safety-warning_markers": "Hostile markers", "safety-joint_visit_required": "on",
        "police-reported": "yes", "police-reported_on": "2026-01-05",
        "police-police_reference": "Hostile police reference",
        # /cases/new as a partner's referral (the LA's fields come along, as the page sends them).
        "source_type": "health", "la_name": "Wakefield", "received_on": "2026-01-05",
        "received_via": "phone", "referrer_organisation": "Hostile Health Trust",
        "line1": "1 Hostile Road", "town": "Leeds", "postcode": "LS1 1AA",
        "parent_name": "Mallory", "summary": "Hostile inbound notification",
        # Notification settings: a person's choices, the team's rules and the duty officer.
        "delivery-referral_new": "digest", "delivery-referral_returned": "digest",
        "delivery-referral_red": "digest", "enabled-referral_new": "",
        "default-referral_new": "digest", "duty_officer": str(world["officer_id"]),
        # Sharing log and legal hold.
        "share-shared_on": "2026-01-05", "share-recipient_type": "police",
        "share-recipient_name": "Mallory", "share-cat-identity": "on",
        "share-reason": "Hostile share", "share-lawful_basis": "art6_1_e",
        "hold-action": "set", "hold-reason": "Hostile hold",
        # Why a case outside one's caseload is opened, and the audit log's filters on it.
        "purpose": "other", "purpose_other": "Hostile reason", "child": reference,
        "action": "case.viewed", "date_from": "2026-01-01",
        # The school calendar's term and non-teaching day forms.
        "term-school_year": "2026-27", "term-name": "Hostile term",
        "term-starts_on": "2027-07-26", "term-ends_on": "2027-07-30",
        "day-on": "2026-11-30", "day-reason": "Hostile closure",
        # The case page's child record: merge or reject school A's proposed match, undo a merge.
        "match_id": str(world["match_id"]),
        f"merge-{world['match_id']}-reason": "Hostile reason to merge the records",
        f"reject-{world['match_id']}-reason": "Hostile reason to reject the match",
        "merge_id": str(world["merge_id"]),
        f"undo-{world['merge_id']}-reason": "Hostile reason to undo the merge",
        # School returns: review school A's flagged deletion, answer its new-pupil match.
        "public_id": world["deletion_public_id"],
        f"review-{world['deletion_public_id']}-note": "Hostile review of the off-rolling flag",
        "return_id": str(world["proposal_id"]),
        f"not-child-{world['proposal_id']}-reason": "Hostile reason: not this child",
        # Securing education: a new step, and an update to step 1 (tests/pages/
        # test_case_securing.py aims these at a case in Located).
        "kind": "application", "sec-application-school": "Hostile school",
        "sec-application-done_on": "2026-01-05", "sec-application-outcome": "awaiting",
        "step_id": "1", "step_version": "1", "upd-1-school": "Hostile school",
        "upd-1-done_on": "2026-01-05", "upd-1-outcome": "awaiting",
        # The header's search box: school A's child by name.
        "q": CANARY_LAST,
    }
    values = {
        "form_data": {
            **hostile_form, **case_forms, "email": "school.a@example.org", "password": "guess",
            "code": "123456",
            # The referral form's autosave: fields for school A's draft, named by its id.
            "fields": json.dumps({"first_name": "Mallory", "concerns_narrative": "Hostile"}),
            "draft_id": world["draft"],
        },
        "group": "enquiry",
        "row_id": "e0",
        "kind": "home_visit",
        "intent": "submit",
        "question": "known_to_csc",
        "value": "moved_out_of_area",
        "reference": reference,
        "version": 1,
        # School A's user's inbox item.
        "notification_id": world["notification_id"],
        "visit_id": world["visit_id"],
        # The case page's tabs and its links to a section on another tab.
        "tab": "visits",
        "anchor": "close",
        "outcome": "untraceable",
        "stage": "closed",
        # The board: school A's case, moved one legal step.
        "to_stage": "triage",
        # The header's Sign out after the outbox said yes.
        "confirmed": True,
        # The retention page: school A's case, as if it were listed.
        "record_class": "closed_case",
        "record_id": world["case"].id,
        # The audit log's pager.
        "number": 2,
        # The school calendar: a seeded term and INSET day.
        "school_year": "2026-27",
        "term_id": world["term_id"],
        "day_id": world["day_id"],
        # /admin/users: an action on school A's user.
        "action": "disable",
        "user_id": world["school_user_id"],
        # /reports/dfe-return: a figure's list, a warning's, census days, the EHE import and
        # the DfE reason list.
        "measure": "by_sex",
        "category": "Female",
        "code": "no_episode",
        "on": "2026-10-01",
        "term": "Autumn 2026",
        "census_id": world["census_id"],
        "text": "measure,category,count\non_census_day,,1\nany_time_previous_year,,1\n",
        "label": "Mental health",
        # School returns: school A's new-pupil match; a file of rows for school A.
        "return_id": world["proposal_id"],
        "upload": {"kind": "deletions", "confirmed": True, "problem": "", "text": (
            ",".join(DELETION_COLUMNS) + "\n107999,,Mallory,Intruder,2014-03-02,F,1 Hostile "
            "Road,LS1 1AA,Eve,07700 900999,2026-01-05,I,,,,\n")},
    }
    params = list(inspect.signature(fn).parameters)[1:]
    missing = [p for p in params if p not in values]
    assert not missing, f"add hostile arguments for {handler_name}({', '.join(missing)})"
    return [values[p] for p in params]


def _callers(cls, handler_name: str) -> list:
    fn = cls.event_handlers[handler_name].fn
    allowed = ALL_ROLES if handler_name in BUILT_IN else allowed_roles(fn)
    callers = ["anonymous", "forged"]
    callers += [r for r in ALL_ROLES if r not in allowed]
    if Role.SCHOOL in allowed:
        callers.append(Role.SCHOOL)  # school B, aiming at school A's records
    return callers


# setvar(name, value) only reaches explicit `set_<name>` methods (auto-setters are off); these
# names cover a guarded setter, state vars without a setter, and the session cookie.
SETVAR_TARGETS = ("intent", "category", "values", "errors", "session_token", "user_role", "step",
                  "_pending_user")


def _call(fn, state, handler_name: str, args: list):
    if handler_name != "setvar":
        return _run(fn(state, *args))
    returned = []
    for name in SETVAR_TARGETS:
        try:
            returned.append(_run(fn(state, name, "moved_out_of_area")))
        except AttributeError:
            returned.append("refused")
    return returned


def _run(result):
    if inspect.iscoroutine(result):
        result = run_async(result)
    if inspect.isgenerator(result):
        result = list(result)
    return result


def _table_counts(session) -> dict[str, int]:
    counts = {
        t.name: session.exec(select(func.count()).select_from(t)).one()
        for t in SQLModel.metadata.sorted_tables
        if t.name not in LOG_TABLES
    }
    session.rollback()  # end the read so the handler's own transaction isn't blocked
    return counts


def _cases():
    for cls in app_states():
        for name in cls.event_handlers:
            yield pytest.param(cls, name, id=f"{cls.__name__}.{name}")


def test_the_permissions_table_is_the_agreed_matrix():
    assert {c: set(r) for c, r in PERMISSIONS.items()} == EXPECTED_PERMISSIONS


def test_every_handler_is_declared_with_capabilities_in_the_table():
    """A handler can't ship without saying what it needs: the adapter's declaration is what
    the guard checks, so an undeclared handler would have no guard at all."""
    undeclared = [
        f"{cls.__name__}.{name}"
        for cls in app_states()
        for name, h in cls.event_handlers.items()
        if name not in BUILT_IN and not is_public(h.fn) and not capabilities_of(h.fn)
    ]
    assert not undeclared, f"declare these with @handler/@page_load/@public: {undeclared}"
    for cls in app_states():
        for name, h in cls.event_handlers.items():
            for capability in capabilities_of(h.fn) or ():
                assert capability in PERMISSIONS, f"{cls.__name__}.{name}: {capability}"


def _refusals(session, label: str) -> int:
    count = session.exec(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "permission.refused", AuditEvent.entity_id == label)
    ).one()
    session.rollback()
    return count


@pytest.mark.parametrize(("cls", "handler_name"), list(_cases()))
def test_handler_gives_nothing_to_wrong_callers(world, session, cls, handler_name):
    case, draft = world["case"], world["draft"]
    handler = cls.event_handlers[handler_name]
    fn = handler.fn
    label = f"{cls.__name__}.{handler_name}"
    args = [] if handler_name == "setvar" else _args_for(label, fn, world)
    for caller in _callers(cls, handler_name):
        state = state_for(
            cls, world["tokens"][caller], path=f"/referrals/{case.reference}",
            query={"draft": draft},
        )
        root = state
        while root.parent_state is not None:
            root = root.parent_state
        if hasattr(state, "_draft_id"):
            state._draft_id = draft  # as if the caller had forged a pointer to A's draft
        before = _table_counts(session)
        refusals = _refusals(session, label)

        returned = _call(fn, state, handler_name, args)

        session.expire_all()
        assert _table_counts(session) == before, f"{caller} wrote data via {handler_name}"
        # Updates that add no row: a visit's review, an alert's resolution, the case's safety.
        assert session.get(HomeVisit, world["visit_id"]).flag_reviewed_at is None
        assert session.get(LoneWorkingAlert, world["alert_id"]).resolved_at is None
        notice = session.get(LaNotification, world["la_notice_id"])
        assert (notice.reply_kind, notice.response_on, notice.acknowledged_on) == (
            None, None, None), f"{caller} answered another LA's notice via {handler_name}"
        unsafe = session.get(Case, case.id)
        assert (unsafe.warning_markers, unsafe.joint_visit_required) == (None, False)
        assert not unsafe.legal_hold, f"{caller} put a legal hold via {handler_name}"
        assert session.get(ChildMatch, world["match_id"]).status == "proposed", (
            f"{caller} answered a child match via {handler_name}")
        assert session.get(ChildMerge, world["merge_id"]).undone_at is None, (
            f"{caller} undid a merge via {handler_name}")
        assert session.get(Child, world["merged_child_id"]).merged_into_id == unsafe.child_id
        term = session.get(TermPeriod, world["term_id"])
        assert (term.name, term.starts_on) == ("Autumn 1", date(2026, 9, 1)), (
            f"{caller} changed a term via {handler_name}"
        )
        assert session.get(DeletionReturn, world["deletion_id"]).off_rolling_reviewed_at is None, (
            f"{caller} reviewed an off-rolling flag via {handler_name}")
        assert session.get(NewPupilReturn, world["proposal_id"]).proposal == "proposed", (
            f"{caller} answered a new-pupil match via {handler_name}")
        assert session.get(User, world["school_user_id"]).is_active, (
            f"{caller} disabled an account via {handler_name}"
        )
        for notification_id in world["notification_ids"]:
            assert session.get(Notification, notification_id).read_at is None, (
                f"{caller} marked a notification read via {handler_name}"
            )
        session.rollback()
        if (handler_name not in BUILT_IN and isinstance(caller, Role)
                and caller not in allowed_roles(fn)):
            assert _refusals(session, label) == refusals + 1, (
                f"{caller}'s refused call to {label} was not audited")
        seen = json.dumps(root.dict(), default=str) + repr(returned)
        for canary in CANARIES:
            assert canary not in seen, f"{caller} received {canary} via {handler_name}"
        assert "cmeSignIn" not in seen, f"{caller} was given a sign-in ticket via {handler_name}"


def _state_for(cls, token: str):
    return state_for(cls, token, path="/inbox")


@pytest.mark.parametrize("handler_name", ["mark_read", "open_item"])
def test_nobody_marks_another_persons_notification_read(world, session, handler_name):
    """The officer and the admin aim at the lead's item, school B at school A's: each stays
    unread in the database, and the caller gets a calm message and no way to the item."""
    from cme_app.pages.notify.inbox import NOT_FOUND, InboxState

    school_item, lead_item = world["notification_ids"]
    fn = InboxState.event_handlers[handler_name].fn
    for caller, target in (
        (Role.OFFICER, lead_item), (Role.ADMIN, lead_item), (Role.SCHOOL, school_item),
    ):
        state = _state_for(InboxState, world["tokens"][caller])
        returned = _run(fn(state, target))
        session.expire_all()
        assert session.get(Notification, target).read_at is None, f"{caller} read {target}"
        session.rollback()
        assert state.problem == NOT_FOUND
        assert "/cases/" not in repr(returned) and "/referrals/" not in repr(returned)

    # The owner's own call does mark it read, so the checks above can fail.
    state = _state_for(InboxState, world["tokens"][Role.LEAD])
    returned = _run(fn(state, lead_item))
    session.expire_all()
    assert session.get(Notification, lead_item).read_at is not None
    session.rollback()
    assert state.problem == ""
    if handler_name == "open_item":
        assert f"/cases/{world['case'].reference}" in repr(returned)
