"""The phone's visit log (services/visits/phone_log.py): validation, phases, idempotent
replay, who may log a visit, the conflict flag, concurrent first sends and the phone's case list."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import AuditEvent, Case, HomeVisit, LoneWorkingAlert, User
from cme_app.services.casework import board, records, triage
from cme_app.services.casework.case_file import view_case
from cme_app.services.trust.purpose import PurposeRequired
from cme_app.services.visits import phone_list, safety
from cme_app.services.visits import phone_log as visits
from tests.factories import add_last_known_address, at_once, checked_in_visit, make_case

NOW = datetime(2026, 11, 28, 10, 31, tzinfo=UTC)
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
# The officer's buddy, a second officer for joint visits, and an officer who is neither.
pytestmark = pytest.mark.team(without=("officer2",), extra=("buddy", "second", "other"))


def _case(session, team, *, stage="enquiries", risk="red", officer="officer", **extra) -> Case:
    case = make_case(
        session, stage=stage, risk=risk, officer_id=team[officer].user_id if officer else None,
        **extra,
    )
    add_last_known_address(session, case)
    session.commit()
    return case


@pytest.fixture
def case(session, team) -> Case:
    """Here a Red case with the child's last known address (tests/conftest.py's is Amber)."""
    return _case(session, team)


def document(
    case: Case, team, *, phases=("check_in", "record", "check_out"), start=START, **over
) -> dict:
    """A whole visit document as the phone sends it, with the phases asked for: checked in
    at `start` for 30 minutes, saved 25 minutes in and ended 3 minutes later."""
    doc = checked_in_visit(
        case.reference, officer_id=case.allocated_officer_id, buddy_id=team["buddy"].user_id,
        at=start, stage=case.stage, address="12 Harehills Lane, Leeds LS8 5AA",
        risk_check_notes="Read the markers; dog kept in the back room", accompanied=True,
        second_officer_id=team["second"].user_id,
    ) | {
        "created_offline": True,
        "record": {
            "saved_at": (start + timedelta(minutes=25)).isoformat(),
            "outcome": "no_reply_vacant",
            "child_seen": "no",
            "seen_alone": "",
            "people_spoken_to": [
                {"name": "", "relationship": "Neighbour", "description": "Woman at No. 14"}
            ],
            "neighbours_spoken": "yes",
            "neighbours_said": "Family left about 3 weeks ago for Bradford",
            "calling_card_left": "yes",
            "notes": "Post piled up behind the door. Curtains closed. No car.",
            "opinion": "Looks as if the family has moved out.",
            "safeguarding_raised": "no",
            "mash_reference": "",
            "next_action": "Notify Bradford CME team",
            "next_action_due": (start.date() + timedelta(days=3)).isoformat(),
        },
        "check_out": {"at": (start + timedelta(minutes=28)).isoformat()},
    }
    for phase in ("check_in", "record", "check_out"):
        if phase not in phases:
            doc.pop(phase)
    doc.update(over)
    return doc


def sync(session, actor, doc, now=NOW) -> dict:
    result = visits.sync_visit(session, actor=actor, payload=copy.deepcopy(doc), now=now)
    session.commit()
    return result


def visit_rows(session) -> list[HomeVisit]:
    return session.exec(select(HomeVisit)).all()


def actions(session, prefix="visit.") -> list[str]:
    return [
        a for a in session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        if a.startswith(prefix)
    ]


# ---------------------------------------------------------------------------------------------
# Phases and idempotency


def test_a_whole_visit_in_one_send_is_stored_with_every_field(session, team, case):
    doc = document(case, team)
    answer = sync(session, team["officer"], doc)
    assert answer == {
        "client_uuid": doc["client_uuid"], "reference": case.reference, "checked_in": True,
        "recorded": True, "checked_out": True, "flagged": False, "flag_reason": None,
        "synced_at": NOW.isoformat(),
    }
    [v] = visit_rows(session)
    assert (v.case_id, v.officer_id, v.visited_on) == (case.id, team["officer"].user_id,
                                                       date(2026, 11, 28))
    assert v.checked_in_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert v.expected_end_at == datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    assert v.checked_out_at == datetime(2026, 11, 28, 10, 28, tzinfo=UTC)
    assert v.record_saved_at == datetime(2026, 11, 28, 10, 25, tzinfo=UTC)
    assert (v.buddy_id, v.second_officer_id, v.accompanied, v.risk_check_done) == (
        team["buddy"].user_id, team["second"].user_id, True, True)
    assert v.outcome == "no_reply_vacant" and not v.child_seen and not v.seen_alone
    assert v.people_spoken_to == [
        {"name": "", "relationship": "Neighbour", "description": "Woman at No. 14"}
    ]
    assert (v.neighbours_spoken, v.calling_card_left, v.safeguarding_raised) == (
        True, True, False)
    assert v.neighbours_said.startswith("Family left")
    assert v.opinion == "Looks as if the family has moved out."
    assert (v.next_action, v.next_action_due) == ("Notify Bradford CME team", date(2026, 12, 1))
    assert v.created_offline and v.synced_at == NOW and v.flag_reason is None
    assert actions(session) == ["visit.checked_in", "visit.recorded", "visit.checked_out"]
    # Audit details name the case and the uuid, never the free text.
    details = session.exec(
        select(AuditEvent.detail).where(AuditEvent.action.like("visit.%"))
    ).all()
    assert all(d["uuid"] == doc["client_uuid"] for d in details)
    assert "Bradford" not in str(details) and "Post piled" not in str(details)


def test_the_visit_is_stored_in_three_phases(session, team, case):
    doc = document(case, team, phases=("check_in",))
    first = sync(session, team["officer"], doc)
    assert (first["checked_in"], first["recorded"], first["checked_out"]) == (True, False, False)
    [v] = visit_rows(session)
    assert v.outcome is None and v.checked_out_at is None

    doc["record"] = document(case, team)["record"]
    second = sync(session, team["officer"], doc)
    assert (second["recorded"], second["checked_out"]) == (True, False)

    doc["check_out"] = {"at": "2026-11-28T10:28:00+00:00"}
    third = sync(session, team["officer"], doc)
    assert (third["checked_in"], third["recorded"], third["checked_out"]) == (True, True, True)
    assert len(visit_rows(session)) == 1
    assert actions(session) == ["visit.checked_in", "visit.recorded", "visit.checked_out"]


def test_the_same_uuid_twice_gives_one_row_and_the_same_answer(session, team, case):
    doc = document(case, team)
    first = sync(session, team["officer"], doc)
    events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    again = sync(session, team["officer"], doc, now=NOW + timedelta(minutes=5))
    assert again == first
    assert len(visit_rows(session)) == 1
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == events


def test_a_replay_of_an_older_document_after_check_out_changes_nothing(session, team, case):
    doc = document(case, team)
    sync(session, team["officer"], doc)
    case_before = session.get(Case, case.id)
    updated_at = case_before.updated_at
    older = document(case, team, phases=("check_in",), client_uuid=doc["client_uuid"])
    older["check_in"]["address"] = "A different address"
    older["check_in"]["expected_minutes"] = 90
    answer = sync(session, team["officer"], older)
    assert (answer["checked_in"], answer["recorded"], answer["checked_out"]) == (True,) * 3
    [v] = visit_rows(session)
    assert v.address == "12 Harehills Lane, Leeds LS8 5AA" and v.expected_minutes == 30
    session.refresh(case_before)
    assert case_before.updated_at == updated_at


def test_a_stored_record_is_never_overwritten(session, team, case):
    doc = document(case, team, phases=("check_in", "record"))
    sync(session, team["officer"], doc)
    doc["record"]["outcome"] = "child_seen_safe"
    doc["record"]["child_seen"] = "yes"
    doc["record"]["seen_alone"] = "yes"
    doc["record"]["notes"] = "Rewritten later"
    sync(session, team["officer"], doc)
    [v] = visit_rows(session)
    assert v.outcome == "no_reply_vacant" and v.notes.startswith("Post piled")
    assert actions(session).count("visit.recorded") == 1


def test_a_stored_phase_is_not_checked_again_on_replay(session, team, case):
    """Fifteen days later the outbox replays the whole document: the check-in is too old to be
    accepted as new, but it is stored already, so only the new check-out is looked at."""
    doc = document(case, team, phases=("check_in", "record"))
    sync(session, team["officer"], doc)
    doc["check_out"] = {"at": "2026-11-28T10:40:00+00:00"}
    answer = sync(session, team["officer"], doc, now=NOW + timedelta(days=15))
    assert answer["checked_out"] is True


def test_checking_out_without_a_record_is_refused(session, team, case):
    doc = document(case, team, phases=("check_in", "check_out"))
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    assert [(e.field, e.message) for e in failed.value.errors] == [
        ("check_out.at", "Save the visit before you end it")
    ]
    session.rollback()
    assert visit_rows(session) == []


def test_the_first_send_must_carry_the_check_in(session, team, case):
    doc = document(case, team, phases=("record",))
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    assert [e.field for e in failed.value.errors] == ["check_in.at"]


@pytest.mark.parametrize("bad", ["", "not-a-uuid", None, 42])
def test_a_visit_needs_a_valid_uuid(session, team, case, bad):
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], document(case, team, client_uuid=bad))
    assert [e.field for e in failed.value.errors] == ["client_uuid"]


def test_an_unknown_case_is_not_found_and_audited(session, team, case):
    with pytest.raises(NotFound):
        sync(session, team["officer"], document(case, team, case_reference="CME-2026-99999"))
    session.commit()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.synced")).one()
    assert (event.outcome, event.entity_id) == ("not_found", "CME-2026-99999")


# ---------------------------------------------------------------------------------------------
# Validation: one rule per row. Each breaks one rule of a valid document and expects an error
# on exactly that field, with nothing stored.


def _set(path: str, value):
    def change(doc, team):
        *parents, last = path.split(".")
        target = doc
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value(team) if callable(value) else value
    return change


def _people(n):
    return [{"name": f"Person {i}", "relationship": "Other", "description": ""} for i in range(n)]


RULES = [
    ("check_in.at missing", _set("check_in.at", ""), "check_in.at"),
    ("check_in.at not a time", _set("check_in.at", "yesterday"), "check_in.at"),
    ("check_in.at without offset", _set("check_in.at", "2026-11-28T10:00:00"), "check_in.at"),
    ("check_in.at ahead", lambda d, t: (d.pop("check_out"), d["check_in"].update(
        at="2026-11-28T10:42:00+00:00")), "check_in.at"),
    ("check_in.at too old", _set("check_in.at", "2026-11-14T10:00:00+00:00"), "check_in.at"),
    ("address missing", _set("check_in.address", "  "), "check_in.address"),
    ("address too long", _set("check_in.address", "x" * 401), "check_in.address"),
    ("risk check not done", _set("check_in.risk_check_done", False), "check_in.risk_check_done"),
    ("risk check as text", _set("check_in.risk_check_done", "yes"), "check_in.risk_check_done"),
    ("no buddy", _set("check_in.buddy_id", None), "check_in.buddy_id"),
    ("buddy is the caller", _set("check_in.buddy_id", lambda t: t["officer"].user_id),
     "check_in.buddy_id"),
    ("buddy unknown", _set("check_in.buddy_id", 99999), "check_in.buddy_id"),
    ("buddy on the visit", _set("check_in.buddy_id", lambda t: t["second"].user_id),
     "check_in.buddy_id"),
    ("second officer is the caller",
     _set("check_in.second_officer_id", lambda t: t["officer"].user_id),
     "check_in.second_officer_id"),
    ("minutes too few", _set("check_in.expected_minutes", 4), "check_in.expected_minutes"),
    ("minutes too many", _set("check_in.expected_minutes", 241), "check_in.expected_minutes"),
    ("minutes under the shortest offered", _set("check_in.expected_minutes", 14),
     "check_in.expected_minutes"),
    ("minutes over the longest offered", _set("check_in.expected_minutes", 121),
     "check_in.expected_minutes"),
    ("minutes as text", _set("check_in.expected_minutes", "30"), "check_in.expected_minutes"),
    ("minutes fraction", _set("check_in.expected_minutes", 30.5), "check_in.expected_minutes"),
    ("outcome missing", _set("record.outcome", ""), "record.outcome"),
    ("outcome unknown", _set("record.outcome", "had_tea"), "record.outcome"),
    ("child seen missing", _set("record.child_seen", ""), "record.child_seen"),
    ("seen alone missing", lambda d, t: d["record"].update(
        outcome="child_seen_safe", child_seen="yes", seen_alone=""), "record.seen_alone"),
    ("seen and safe but not seen", _set("record.outcome", "child_seen_safe"), "record.child_seen"),
    ("seen but an outcome without the child", lambda d, t: d["record"].update(
        child_seen="yes", seen_alone="no"), "record.outcome"),
    ("too many people", _set("record.people_spoken_to", _people(21)),
     "record.people_spoken_to"),
    ("people not a list", _set("record.people_spoken_to", "Mum"), "record.people_spoken_to"),
    ("name without relationship", _set("record.people_spoken_to.0",
     {"name": "Ann Khan", "relationship": "", "description": ""}),
     "record.people_spoken_to.0.relationship"),
    ("relationship unknown", _set("record.people_spoken_to.0.relationship", "Milkman"),
     "record.people_spoken_to.0.relationship"),
    ("neither name nor description", _set("record.people_spoken_to.0",
     {"name": "", "relationship": "Neighbour", "description": ""}),
     "record.people_spoken_to.0.name"),
    ("neighbours said but not spoken to", _set("record.neighbours_spoken", "no"),
     "record.neighbours_said"),
    ("neighbours spoken not yes/no", _set("record.neighbours_spoken", "maybe"),
     "record.neighbours_spoken"),
    ("calling card missing", _set("record.calling_card_left", ""), "record.calling_card_left"),
    ("notes too long", _set("record.notes", "x" * 4001), "record.notes"),
    ("opinion too long", _set("record.opinion", "x" * 4001), "record.opinion"),
    ("safeguarding missing", _set("record.safeguarding_raised", ""),
     "record.safeguarding_raised"),
    ("safeguarding without MASH reference", _set("record.safeguarding_raised", "yes"),
     "record.mash_reference"),
    ("MASH reference too long", lambda d, t: d["record"].update(
        safeguarding_raised="yes", mash_reference="M" * 61), "record.mash_reference"),
    ("next action missing", _set("record.next_action", ""), "record.next_action"),
    ("next action too long", _set("record.next_action", "x" * 401), "record.next_action"),
    ("next action due missing", _set("record.next_action_due", ""), "record.next_action_due"),
    ("next action due not a date", _set("record.next_action_due", "2026-02-30"),
     "record.next_action_due"),
    ("next action due before the visit", _set("record.next_action_due", "2026-11-27"),
     "record.next_action_due"),
    ("next action due over a year on", _set("record.next_action_due", "2027-11-29"),
     "record.next_action_due"),
    ("check-out before check-in", _set("check_out.at", "2026-11-28T09:59:00+00:00"),
     "check_out.at"),
    ("check-out ahead", _set("check_out.at", "2026-11-28T10:42:00+00:00"), "check_out.at"),
    ("check-out missing time", _set("check_out.at", None), "check_out.at"),
]


def test_the_length_message_is_the_one_the_phone_shows(session, team, case):
    doc = document(case, team, phases=("check_in",))
    doc["check_in"]["expected_minutes"] = 240
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    [error] = failed.value.errors
    assert error.message == phone_list.phone_list(
        session, actor=team["officer"])["options"]["expected_minutes_error"]


def test_child_seen_yes_gives_the_outcome_without_asking_for_it(session, team, case):
    doc = document(case, team)
    doc["record"].update(outcome="", child_seen="yes", seen_alone="yes")
    sync(session, team["officer"], doc)
    [v] = visit_rows(session)
    assert (v.outcome, v.child_seen, v.seen_alone) == ("child_seen_safe", True, True)


def test_child_not_seen_needs_an_outcome_without_the_child(session, team, case):
    doc = document(case, team)
    doc["record"].update(outcome="", child_seen="", seen_alone="")
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    # Nothing answered: only "Child seen" is asked (the outcome follows from it).
    assert [e.field for e in failed.value.errors] == ["record.child_seen"]
    session.rollback()
    doc["record"].update(child_seen="no")
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    assert [(e.field, e.message) for e in failed.value.errors] == [
        ("record.outcome", "Choose the outcome of the visit")]


@pytest.mark.parametrize(("change", "field"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_each_rule_is_checked_and_nothing_is_stored(session, team, case, change, field):
    doc = document(case, team)
    change(doc, team)
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    assert [e.field for e in failed.value.errors] == [field]
    assert all(e.message for e in failed.value.errors)
    session.rollback()
    assert visit_rows(session) == []
    assert actions(session) == []


def test_an_inactive_buddy_is_refused(session, team, case):
    buddy = session.get(User, team["buddy"].user_id)
    buddy.is_active = False
    session.add(buddy)
    session.commit()
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], document(case, team))
    assert [e.field for e in failed.value.errors] == ["check_in.buddy_id"]


def test_a_joint_visit_needs_a_second_officer(session, team):
    case = _case(session, team)
    case.joint_visit_required = True
    session.add(case)
    session.commit()
    alone = document(case, team)
    alone["check_in"].update(accompanied=False, second_officer_id=None)
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], alone)
    assert [e.field for e in failed.value.errors] == [
        "check_in.accompanied", "check_in.second_officer_id"
    ]
    nobody = document(case, team)
    nobody["check_in"]["second_officer_id"] = None
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], nobody)
    assert [e.field for e in failed.value.errors] == ["check_in.second_officer_id"]
    assert sync(session, team["officer"], document(case, team))["checked_in"] is True


def test_the_limits_themselves_are_allowed(session, team, case):
    """The edges of each rule are inside it: 15 and 120 minutes (the ends of the list offered),
    a clock 10 minutes ahead, a next action due on the day of the visit, people with a name or
    only a description."""
    for minutes in (15, 120):
        doc = document(case, team)
        doc["check_in"]["expected_minutes"] = minutes
        doc["check_in"]["at"] = "2026-11-28T10:41:00+00:00"
        doc["check_in"]["accompanied"] = False
        doc["record"]["next_action_due"] = "2026-11-28"
        doc["record"]["people_spoken_to"] = [
            {"name": "Ann Khan", "relationship": "Mother", "description": ""},
            {"name": "", "relationship": "", "description": "Man in a red coat"},
        ]
        doc["record"].update(neighbours_spoken="", neighbours_said="")
        doc["check_out"]["at"] = "2026-11-28T10:41:00+00:00"
        assert sync(session, team["officer"], doc)["checked_out"] is True
    assert [v.second_officer_id for v in visit_rows(session)] == [None, None]


def test_all_errors_come_back_at_once(session, team, case):
    doc = document(case, team)
    doc["check_in"]["risk_check_done"] = False
    doc["record"]["outcome"] = ""
    doc["record"]["next_action"] = ""
    with pytest.raises(ValidationFailed) as failed:
        sync(session, team["officer"], doc)
    assert [e.field for e in failed.value.errors] == [
        "check_in.risk_check_done", "record.outcome", "record.next_action"
    ]


# ---------------------------------------------------------------------------------------------
# Who may log a visit


def test_a_uuid_belongs_to_its_officer(session, team, case):
    doc = document(case, team)
    sync(session, team["officer"], doc)
    for intruder in (team["lead"], team["other"]):
        with pytest.raises(NotAllowed):
            sync(session, intruder, doc)
    session.commit()
    refused = session.exec(
        select(AuditEvent).where(AuditEvent.action == "visit.synced")
    ).all()
    assert [(e.outcome, e.detail["reason"]) for e in refused] == [
        ("refused", "not_your_visit"), ("refused", "not_your_visit")
    ]
    [v] = visit_rows(session)
    assert v.officer_id == team["officer"].user_id


def test_a_uuid_belongs_to_its_case(session, team, case):
    other_case = _case(session, team)
    doc = document(case, team)
    sync(session, team["officer"], doc)
    with pytest.raises(NotAllowed):
        sync(session, team["officer"], {**doc, "case_reference": other_case.reference})


def test_an_officer_not_allocated_is_refused_without_a_purpose(session, team, case):
    """Covering a colleague's case: the phone is told to give the purpose on the case page; its
    outbox keeps the visit (a 403 with this message, tests/app)."""
    with pytest.raises(PurposeRequired, match=f"{case.reference} is allocated to another"):
        sync(session, team["other"], document(case, team))
    session.commit()
    assert visit_rows(session) == []
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.synced")).one()
    assert (event.outcome, event.detail["reason"]) == ("refused", "purpose_required")


def test_an_officer_covering_with_a_purpose_logs_the_visit_and_its_audit_says_why(
    session, team, case
):
    view_case(session, actor=team["other"], reference=case.reference,
              purpose_form={"purpose": "other", "purpose_other": "Asked to visit by lead"})
    session.commit()
    doc = document(case, team)
    answer = sync(session, team["other"], doc)
    assert answer["checked_out"] is True and answer["flagged"] is False
    events = session.exec(select(AuditEvent).where(
        AuditEvent.action.in_(["visit.checked_in", "visit.recorded", "visit.checked_out"]))
    ).all()
    assert len(events) == 3
    assert all(e.detail["purpose"] == "other"
               and e.detail["purpose_other"] == "Asked to visit by lead" for e in events)


def test_a_visit_on_a_case_allocated_to_nobody_is_refused_as_before(session, team):
    case = _case(session, team, officer=None)
    with pytest.raises(NotAllowed):
        sync(session, team["other"], document(case, team))
    session.commit()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.synced")).one()
    assert (event.outcome, event.detail["reason"]) == ("refused", "not_allocated")


@pytest.mark.parametrize("role", ["school", "admin", "auditor"])
def test_other_roles_may_not_log_visits(session, team, case, role):
    actor = team[role]
    with pytest.raises(NotAllowed):
        visits.sync_visit(session, actor=actor, payload=document(case, team), now=NOW)
    with pytest.raises(NotAllowed):
        phone_list.phone_list(session, actor=actor)


def test_a_lead_may_log_a_visit_on_any_case(session, team, case):
    answer = sync(session, team["lead"], document(case, team))
    assert answer["checked_out"] is True and answer["flagged"] is False


def test_a_reassigned_officer_visit_is_stored_and_flagged(session, team, case):
    triage.allocate(session, actor=team["lead"], reference=case.reference,
                      officer_id=team["other"].user_id, version=case.version)
    session.commit()
    case = session.get(Case, case.id)
    version, updated_by = case.version, case.updated_by_id
    doc = document(case, team, seen_case={"stage": "enquiries",
                                           "officer_id": team["officer"].user_id})
    answer = sync(session, team["officer"], doc)
    assert answer["flagged"] is True
    assert answer["flag_reason"] == "The case is now allocated to Oona Other."
    [v] = visit_rows(session)
    assert v.flag_reason == answer["flag_reason"] and v.outcome == "no_reply_vacant"
    session.refresh(case)
    assert (case.version, case.updated_by_id) == (version, updated_by)
    flagged = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.flagged")).one()
    assert flagged.detail == {"uuid": doc["client_uuid"], "reasons": ["reassigned"]}


def test_a_visit_to_a_closed_case_is_stored_flagged_and_changes_nothing(session, team):
    case = _case(session, team, stage="closed", outcome="onroll_leeds",
                 closed_at=NOW - timedelta(hours=1))
    before = (case.stage, case.outcome, case.version, case.updated_at, case.updated_by_id)
    doc = document(case, team, seen_case={"stage": "enquiries",
                                          "officer_id": team["officer"].user_id})
    answer = sync(session, team["officer"], doc)
    assert answer["flagged"] is True
    assert answer["flag_reason"] == "The case was closed before this visit reached the server."
    assert len(visit_rows(session)) == 1
    session.refresh(case)
    assert (case.stage, case.outcome, case.version, case.updated_at, case.updated_by_id) == before


def test_a_visit_to_a_case_that_moved_on_is_flagged(session, team, case):
    updated_at = case.updated_at
    doc = document(case, team, seen_case={"stage": "triage",
                                          "officer_id": team["officer"].user_id})
    answer = sync(session, team["officer"], doc)
    assert answer["flag_reason"] == (
        "The case moved from Triage to Enquiries while the visit was being logged."
    )
    session.refresh(case)
    assert case.updated_at == updated_at


def test_a_later_phase_is_flagged_if_the_case_changed_after_check_in(session, team, case):
    doc = document(case, team, phases=("check_in",))
    assert sync(session, team["officer"], doc)["flagged"] is False
    case.stage = "closed"
    session.add(case)
    session.commit()
    doc["record"] = document(case, team)["record"]
    answer = sync(session, team["officer"], doc)
    assert answer["flagged"] is True and answer["recorded"] is True
    assert actions(session)[-1] == "visit.flagged"


def test_a_new_flag_after_a_review_needs_a_new_review(session, team, case):
    doc = document(case, team, phases=("check_in",))
    case.stage = "awaiting_verification"
    session.add(case)
    session.commit()
    assert sync(session, team["officer"], doc)["flagged"] is True
    safety.review_visit_flag(
        session, actor=team["lead"], reference=case.reference,
        visit_id=session.exec(select(HomeVisit)).one().id,
    )
    session.commit()
    case.stage = "closed"
    session.add(case)
    session.commit()
    doc["record"] = document(case, team)["record"]
    sync(session, team["officer"], doc)
    session.commit()
    visit = session.exec(select(HomeVisit)).one()
    session.refresh(visit)
    assert "closed" in visit.flag_reason and visit.flag_reviewed_at is None


def test_an_unflagged_visit_marks_the_case_updated_without_a_new_version(session, team, case):
    version = case.version
    sync(session, team["officer"], document(case, team))
    session.refresh(case)
    assert case.version == version
    assert case.updated_by_id == team["officer"].user_id


def test_a_recorded_visit_meets_the_first_visit_clock(session, team, case):
    today = date.today()
    case.first_visit_due_on = today + timedelta(days=3)
    session.add(case)
    session.commit()

    def due_label():
        return board.load_board(session, actor=team["lead"], today=today)["enquiries"] \
            .cards[0].due_label

    assert due_label().startswith("First visit due")
    doc = document(case, team, phases=("check_in",))
    sync(session, team["officer"], doc)
    assert due_label().startswith("First visit due")  # checked in is not yet visited
    doc["record"] = document(case, team)["record"]
    sync(session, team["officer"], doc)
    assert due_label() == ""


# ---------------------------------------------------------------------------------------------
# Two first sends of one uuid at once


def send_twice_at_once(db, actor, doc) -> list[dict]:
    """Two requests with the same document, from two threads with a session each."""

    def send() -> dict:
        with Session(db, expire_on_commit=False) as s:
            answer = visits.sync_visit(s, actor=actor, payload=copy.deepcopy(doc), now=NOW)
            s.commit()
        return answer

    answers, failures = at_once(send)
    assert failures == []
    assert len(answers) == 2
    return answers


def test_two_first_sends_at_once_give_one_row(db, session, team, case):
    first, second = send_twice_at_once(db, team["officer"], document(case, team))
    assert first == second
    assert len(visit_rows(session)) == 1
    assert actions(session) == ["visit.checked_in", "visit.recorded", "visit.checked_out"]


def test_two_sends_of_the_next_phase_at_once_store_it_once(db, session, team, case):
    doc = document(case, team, phases=("check_in",))
    sync(session, team["officer"], doc)
    doc["record"] = document(case, team)["record"]
    first, second = send_twice_at_once(db, team["officer"], doc)
    assert first == second and first["recorded"] is True
    assert actions(session) == ["visit.checked_in", "visit.recorded"]


def test_losing_the_race_is_treated_as_a_replay(db, session, team, case, monkeypatch):
    """The other request's row lands between our look-up and our insert: the unique key
    refuses ours, the savepoint undoes only the insert, and we go on from its row."""
    doc = document(case, team)
    first = document(case, team, phases=("check_in",), client_uuid=doc["client_uuid"])
    with Session(db, expire_on_commit=False) as other:
        visits.sync_visit(other, actor=team["officer"], payload=first, now=NOW)
        other.commit()
    real_find, calls = visits._find, []

    def stale_find(s, client_uuid):
        calls.append(client_uuid)
        return None if len(calls) == 1 else real_find(s, client_uuid)

    monkeypatch.setattr(visits, "_find", stale_find)
    answer = sync(session, team["officer"], doc)
    assert len(calls) == 2
    assert (answer["checked_in"], answer["recorded"], answer["checked_out"]) == (True,) * 3
    assert len(visit_rows(session)) == 1
    assert actions(session) == ["visit.checked_in", "visit.recorded", "visit.checked_out"]


def test_checking_out_resolves_the_visits_alerts(session, team, case):
    doc = document(case, team, phases=("check_in", "record"))
    sync(session, team["officer"], doc)
    [v] = visit_rows(session)
    session.add(LoneWorkingAlert(visit_id=v.id, level="buddy", recipient_id=team["buddy"].user_id))
    session.commit()
    doc["check_out"] = {"at": "2026-11-28T10:50:00+00:00"}
    sync(session, team["officer"], doc, now=NOW + timedelta(minutes=30))
    [alert] = session.exec(select(LoneWorkingAlert)).all()
    assert alert.resolved_at is not None and alert.resolved_by_id == team["officer"].user_id


# ---------------------------------------------------------------------------------------------
# The phone's case list


def test_phone_list_has_the_callers_open_cases_in_visit_order(session, team):
    today = date.today()
    later_red = _case(session, team, risk="red", first_name="Later", last_name="Red")
    soon_green = _case(session, team, risk="green", first_name="Soon", last_name="Green")
    soon_amber = _case(session, team, risk="amber", first_name="Soon", last_name="Amber")
    undated = _case(session, team, risk="red", first_name="No", last_name="Date")
    later_red.first_visit_due_on = today + timedelta(days=5)
    soon_green.first_visit_due_on = soon_amber.first_visit_due_on = today + timedelta(days=1)
    joint = _case(session, team, risk="green", first_name="Joint", last_name="Visit")
    joint.first_visit_due_on = today + timedelta(days=9)
    joint.joint_visit_required = True
    joint.warning_markers = "Dog at the property."
    session.add_all([later_red, soon_green, soon_amber, joint])
    theirs = _case(session, team, officer="other", first_name="Not", last_name="Mine")
    closed = _case(session, team, stage="closed", first_name="All", last_name="Done")
    returned = _case(session, team, stage="returned", first_name="Sent", last_name="Back")
    session.commit()

    mine = phone_list.phone_list(session, actor=team["officer"])
    refs = [c["reference"] for c in mine["cases"]]
    assert refs == [soon_amber.reference, soon_green.reference, later_red.reference,
                    joint.reference, undated.reference]
    for absent in (theirs, closed, returned):
        assert absent.reference not in refs
    first = mine["cases"][2]
    assert first == {
        "reference": later_red.reference, "child_name": "Later Red",
        "date_of_birth": "2014-03-02", "address": "12 Harehills Lane, Leeds",
        "postcode": "LS8 5AA", "risk": "red", "risk_label": "Red", "stage": "enquiries",
        "stage_label": "Enquiries", "officer_id": team["officer"].user_id,
        "warning_markers": "", "joint_visit_required": False,
        "accompanied_by_default": True,  # Red with no visit yet
        "visits_recorded": 0, "last_visit_on": None,
        "next_visit_due": (today + timedelta(days=5)).isoformat(),
        "next_visit_reason": "First visit due",
    }
    joint_card = mine["cases"][3]
    assert joint_card["accompanied_by_default"] is True
    assert joint_card["warning_markers"] == "Dog at the property."
    assert mine["cases"][0]["accompanied_by_default"] is False  # Amber, no joint visit
    assert mine["user"] == {"id": team["officer"].user_id, "name": "Olu Officer",
                            "role": "officer"}
    assert [c["name"] for c in mine["options"]["colleagues"]] == [
        "Bea Buddy", "Lee Lead", "Oona Other", "Sam Second"
    ]
    assert mine["options"]["outcomes"][0] == {"value": "child_seen_safe",
                                              "label": "Child seen and safe"}
    assert mine["options"]["expected_minutes"] == [15, 30, 45, 60, 90, 120]
    # One source: the message names the shortest and the longest length the list offers.
    assert mine["options"]["expected_minutes_error"] == (
        "Choose how long the visit will take, from 15 minutes to 2 hours")
    assert mine["options"]["child_seen_outcome"] == "child_seen_safe"
    assert "Neighbour" in mine["options"]["relationships"]
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "visits.list_viewed")
    ).one()
    assert event.detail == {"references": refs}


def test_phone_list_after_a_visit_shows_the_next_action_and_open_visits(session, team, case):
    # phone_list reads the real clock, so these visits are set against it.
    real_now = datetime.now(UTC).replace(microsecond=0)
    done = document(case, team, start=real_now - timedelta(minutes=60))
    sync(session, team["officer"], done, now=real_now)
    overdue = document(case, team, phases=("check_in",), start=real_now - timedelta(minutes=50))
    sync(session, team["officer"], overdue, now=real_now)
    running = document(case, team, phases=("check_in",), start=real_now - timedelta(minutes=5))
    sync(session, team["officer"], running, now=real_now)
    mine = phone_list.phone_list(session, actor=team["officer"])
    [card] = mine["cases"]
    [visited] = [v for v in visit_rows(session) if v.client_uuid == done["client_uuid"]]
    assert (card["visits_recorded"], card["last_visit_on"]) == (1, visited.visited_on.isoformat())
    assert (card["next_visit_due"], card["next_visit_reason"]) == (
        done["record"]["next_action_due"], "Notify Bradford CME team")
    assert card["accompanied_by_default"] is False  # Red, but visited now
    assert mine["open_visits"] == [
        {
            "client_uuid": overdue["client_uuid"], "reference": case.reference,
            "checked_in_at": (real_now - timedelta(minutes=50)).isoformat(),
            "expected_end_at": (real_now - timedelta(minutes=20)).isoformat(),
            "overdue": True,
        },
        {
            "client_uuid": running["client_uuid"], "reference": case.reference,
            "checked_in_at": (real_now - timedelta(minutes=5)).isoformat(),
            "expected_end_at": (real_now + timedelta(minutes=25)).isoformat(),
            "overdue": False,
        },
    ]
    # The officer's own overdue visit is an alert to them ("self").
    assert [(a["level"], a["client_uuid"]) for a in mine["alerts"]] == [
        ("self", overdue["client_uuid"])
    ]
    assert phone_list.phone_list(session, actor=team["other"])["open_visits"] == []


def test_desk_logged_visits_still_work(session, team, case):
    records.record_visit(
        session, actor=team["officer"], reference=case.reference,
        form={"visited_on": date.today().isoformat(), "address": "12 Harehills Lane",
              "outcome": "child_seen_safe", "child_seen": "yes", "seen_alone": "yes"},
    )
    session.commit()
    [v] = visit_rows(session)
    assert v.outcome == "child_seen_safe" and v.checked_in_at is None
    assert phone_list.phone_list(session, actor=team["officer"])["cases"][0]["visits_recorded"] == 1
