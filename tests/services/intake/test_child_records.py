"""One record per child (issue 15): matching proposes, an officer confirms (merges) or rejects,
a lead undoes a merge; all audited; a school never learns of another school's child."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date

import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed, Refusal, ValidationFailed
from cme_app.models import (
    Address,
    AuditEvent,
    Case,
    CaseClosure,
    Child,
    ChildMatch,
    ChildMerge,
    CmeEpisode,
    HomeVisit,
    Person,
    Referral,
)
from cme_app.ops.demo import example_referral_form
from cme_app.pages.casework.case.state import CaseState
from cme_app.services.casework import board, case_file
from cme_app.services.intake import child_records, inbound, referral_view, referrals
from cme_app.services.trust import audit_log, sar
from tests.factories import (
    CANARY_UPN,
    audit_events,
    call_handler,
    fresh,
    session_token,
    state_for,
)

OTHER_UPN = "M80120000500A"  # a temporary UPN, valid
REASON = "Same child: school confirmed the UPN and the mother's name"


def submit(session, team, who: str = "school", **changes) -> Case:
    form = example_referral_form(**{k: v for k, v in changes.items() if k != "form"})
    form.update(changes.get("form", {}))
    case = referrals.submit(session, actor=team[who], form=form)
    session.commit()
    return case


def matches(session) -> list[ChildMatch]:
    session.expire_all()
    return list(session.exec(select(ChildMatch).order_by(ChildMatch.id)).all())


def episode(session, case: Case, *, start: date, end: date | None = None) -> CmeEpisode:
    row = CmeEpisode(child_id=case.child_id, case_id=case.id, start_date=start,
                     start_basis="deleted_from_roll", primary_reason="Unknown", end_date=end,
                     end_reason="on_roll" if end else None)
    session.add(row)
    session.commit()
    return row


def merged_pair(session, team):
    """School A's child, then school B's referral of the same child (same UPN), merged."""
    first = submit(session, team)
    second = submit(session, team, who="school_b")
    [match] = matches(session)
    merge = child_records.confirm_match(session, actor=team["officer"], match_id=match.id,
                                        reason=REASON)
    session.commit()
    return first, second, match, merge


# ----- proposing ------------------------------------------------------------------------------


def test_same_upn_is_proposed_newer_record_first_and_audited(session, team):
    first = submit(session, team)
    second = submit(session, team, first_name="Amyra")
    [match] = matches(session)
    assert (match.child_id, match.candidate_id) == (second.child_id, first.child_id)
    assert (match.basis, match.status) == ("upn", "proposed")
    proposed = audit_events(session, "child.match_proposed")
    assert {e.child_id for e in proposed} == {first.child_id, second.child_id}
    assert all(e.actor_id is None and e.entity_id == str(match.id) for e in proposed)


def test_same_name_and_date_of_birth_is_proposed_whatever_the_case(session, team):
    first = submit(session, team)
    second = submit(session, team, first_name="AMIRA", last_name="test", upn=CANARY_UPN,
                    form={"home_line1": "2 Other Road", "home_postcode": "LS6 1AA"})
    [match] = matches(session)
    assert (match.child_id, match.candidate_id, match.basis) == (
        second.child_id, first.child_id, "name_dob")


def test_same_address_and_surname_is_proposed_and_the_household_still_offered(session, team):
    first = submit(session, team)
    sibling = submit(session, team, first_name="Zara", upn=OTHER_UPN, date_of_birth="2016-01-05")
    [match] = matches(session)
    assert (match.child_id, match.candidate_id, match.basis) == (
        sibling.child_id, first.child_id, "address_surname")
    # The same-address household link still works as before.
    assert fresh(session, sibling).possible_matches == [first.reference]
    view = case_file.view_case(session, actor=team["officer"], reference=sibling.reference)
    assert [(m.reference, m.why) for m in view.possible_matches] == [
        (first.reference, "Same home address")]
    assert [m.why for m in view.child_matches] == ["Same home address and surname"]


def test_a_different_child_elsewhere_is_not_proposed(session, team):
    submit(session, team)
    submit(session, team, first_name="Zara", last_name="Other", upn=OTHER_UPN,
           form={"home_line1": "2 Other Road", "home_postcode": "LS6 1AA"})
    assert matches(session) == []


def test_a_pair_is_proposed_once_and_never_again_once_rejected(session, team):
    first = submit(session, team)
    second = submit(session, team)
    [match] = matches(session)
    for child_id in (first.child_id, second.child_id):  # again, from either side
        assert child_records.propose_matches(session, session.get(Child, child_id)) == []
    child_records.reject_match(session, actor=team["officer"], match_id=match.id,
                               reason="Twins: different children, same details")
    session.commit()
    for child_id in (first.child_id, second.child_id):
        assert child_records.propose_matches(session, session.get(Child, child_id)) == []
    assert [m.status for m in matches(session)] == ["rejected"]


# ----- confirming: the merge ------------------------------------------------------------------


def test_confirm_merges_the_newer_record_and_keeps_every_link(session, team):
    first = submit(session, team)
    second = submit(session, team, who="school_b")
    kept_id, gone_id = first.child_id, second.child_id
    # Records on the newer case, and a view filed under the newer child's id.
    session.add(HomeVisit(client_uuid="7c1e6a6e-0d59-4b4f-9d4e-1f1a3c2b0001", case_id=second.id,
                          visited_on=date(2026, 11, 20), address="14 Example Street",
                          outcome="no_reply"))
    session.commit()
    episode(session, second, start=date(2026, 11, 2))
    case_file.view_case(session, actor=team["officer"], reference=second.reference)
    session.commit()
    viewed = audit_events(session, "case.viewed")[-1]
    assert viewed.child_id == gone_id
    moved = {
        "case": [second.id],
        "referral": [second.referral_id],
        "address": sorted(session.exec(select(Address.id).where(Address.child_id == gone_id))),
        "person": sorted(session.exec(select(Person.id).where(Person.child_id == gone_id))),
        "cmeepisode": sorted(session.exec(select(CmeEpisode.id)
                                          .where(CmeEpisode.child_id == gone_id))),
    }
    [match] = matches(session)

    merge = child_records.confirm_match(session, actor=team["officer"], match_id=match.id,
                                        reason=REASON)
    session.commit()

    session.expire_all()
    assert (merge.from_child_id, merge.into_child_id, merge.moved) == (gone_id, kept_id, moved)
    assert session.get(Child, gone_id).merged_into_id == kept_id
    assert session.get(ChildMatch, match.id).status == "confirmed"
    for model in (Case, Referral, Address, Person, CmeEpisode):
        assert session.exec(select(model).where(model.child_id == gone_id)).all() == []
    assert {c.reference for c in session.exec(select(Case).where(Case.child_id == kept_id))} == {
        first.reference, second.reference}
    # The visit is on its case, which moved; the audit event stays filed where it was written,
    # and the child's trail follows the merge.
    assert session.get(HomeVisit, 1).case_id == second.id
    assert session.get(AuditEvent, viewed.id).child_id == gone_id
    trail = audit_log.accesses_to_child(session, actor=team["lead"], child_id=kept_id)
    assert viewed.id in {row.id for row in trail}
    assert viewed.id in {e["id"] for e in sar.export_child(session, child_id=kept_id)
                         ["audit_trail"]}
    assert {e.child_id for e in audit_events(session, "child.merged")} == {gone_id, kept_id}
    [confirmed] = audit_events(session, "child.match_confirmed")
    assert (confirmed.child_id, confirmed.actor_id) == (kept_id, team["officer"].user_id)


def test_merging_makes_previous_cme_episode_a_fact(session, team):
    first = submit(session, team)
    episode(session, first, start=date(2025, 1, 6), end=date(2025, 3, 3))
    second = submit(session, team, who="school_b", first_name="Amyra")
    assert "previous_cme" not in fresh(session, second).risk_factors  # no guess from the UPN
    [match] = matches(session)
    child_records.confirm_match(session, actor=team["officer"], match_id=match.id, reason=REASON)
    session.commit()
    case = fresh(session, second)
    assert "previous_cme" in case.risk_factors and case.proposed_risk == "amber"
    view = case_file.view_case(session, actor=team["officer"], reference=second.reference)
    assert [r.reference for r in view.history_cases] == [second.reference, first.reference]
    assert [r.this_case for r in view.history_cases] == [True, False]
    assert [(e.start, e.end) for e in view.history_episodes] == [("6 Jan 2025", "3 Mar 2025")]


def test_an_earlier_closed_case_of_the_record_is_a_previous_episode(session, team):
    first = submit(session, team)
    session.add(CaseClosure(case_id=first.id, episode=1, outcome="onroll_leeds", status="closed",
                            evidence={}))
    session.commit()
    second = submit(session, team)
    [match] = matches(session)
    child_records.confirm_match(session, actor=team["lead"], match_id=match.id, reason=REASON)
    session.commit()
    assert "previous_cme" in fresh(session, second).risk_factors
    assert "previous_cme" not in fresh(session, first).risk_factors


def test_both_records_with_an_open_episode_are_refused(session, team):
    first = submit(session, team)
    second = submit(session, team)
    episode(session, first, start=date(2026, 10, 1))
    episode(session, second, start=date(2026, 11, 2))
    [match] = matches(session)
    with pytest.raises(Refusal, match="Both records have an open CME episode"):
        child_records.confirm_match(session, actor=team["officer"], match_id=match.id,
                                    reason=REASON)
    session.rollback()
    assert matches(session)[0].status == "proposed"
    assert session.exec(select(ChildMerge)).all() == []
    assert fresh(session, second).child_id == second.child_id


def test_confirm_and_reject_need_a_reason_and_a_match(session, team):
    submit(session, team)
    submit(session, team)
    [match] = matches(session)
    for answer in (child_records.confirm_match, child_records.reject_match):
        with pytest.raises(ValidationFailed) as err:
            answer(session, actor=team["officer"], match_id=match.id, reason="  short  ")
        assert {e.field for e in err.value.errors} == {"reason"}
        with pytest.raises(ValidationFailed) as err:
            answer(session, actor=team["officer"], match_id="1; drop", reason=None)
        assert {e.field for e in err.value.errors} == {"match_id", "reason"}
    child_records.reject_match(session, actor=team["officer"], match_id=match.id,
                               reason="Different children: checked with the school")
    session.commit()
    [rejected] = matches(session)
    assert (rejected.status, rejected.decided_by_id) == ("rejected", team["officer"].user_id)
    events = audit_events(session, "child.match_rejected")
    assert {e.child_id for e in events} == {rejected.child_id, rejected.candidate_id}
    with pytest.raises(Refusal, match="already been answered"):
        child_records.confirm_match(session, actor=team["officer"], match_id=match.id,
                                    reason=REASON)


# ----- undoing a merge ------------------------------------------------------------------------


def test_undo_puts_back_exactly_the_rows_the_merge_moved(session, team):
    _first, _second, match, merge = merged_pair(session, team)
    kept, gone = match.candidate_id, match.child_id
    # Something recorded on the kept record after the merge stays with it.
    later = Address(child_id=kept, kind="current", line1="9 New Road", postcode="LS9 9ZZ",
                    source="officer")
    session.add(later)
    session.commit()

    child_records.undo_merge(session, actor=team["lead"], merge_id=merge.id,
                             reason="Cousins with the same name: not the same child")
    session.commit()

    session.expire_all()
    for name, ids in merge.moved.items():
        model = child_records.MOVABLE[name]
        assert {r.child_id for r in session.exec(select(model).where(model.id.in_(ids)))} <= {gone}
    assert session.get(Address, later.id).child_id == kept
    assert session.get(Child, gone).merged_into_id is None
    undone = session.get(ChildMerge, merge.id)
    assert undone.undone_at is not None and undone.undone_by_id == team["lead"].user_id
    assert session.get(ChildMatch, match.id).status == "undone"
    assert {e.child_id for e in audit_events(session, "child.merge_undone")} == {gone, kept}
    # Not proposed again, and not undone twice.
    assert child_records.propose_matches(session, session.get(Child, gone)) == []
    with pytest.raises(Refusal, match="already been undone"):
        child_records.undo_merge(session, actor=team["lead"], merge_id=merge.id,
                                 reason="Trying the same undo twice over")


def test_only_a_lead_undoes_a_merge_and_a_school_never_matches(session, team):
    _first, _second, match, merge = merged_pair(session, team)
    for who in ("officer", "admin", "school"):
        with pytest.raises(NotAllowed):
            child_records.undo_merge(session, actor=team[who], merge_id=merge.id,
                                     reason="Not my place to undo this merge")
        session.commit()  # a refusal keeps its audit event
    refused = [e for e in audit_events(session, "child.merge_undone") if e.outcome == "refused"]
    assert [e.actor_id for e in refused] == [team[w].user_id for w in ("officer", "admin",
                                                                       "school")]
    for who in ("school", "admin", "auditor"):
        with pytest.raises(NotAllowed):
            child_records.reject_match(session, actor=team[who], match_id=match.id,
                                       reason="Not my place to answer this")
    with pytest.raises(NotAllowed):
        child_records.confirm_match(session, actor=None, match_id=match.id, reason=REASON)
    session.rollback()
    assert session.get(ChildMerge, merge.id).undone_at is None


def test_the_adapter_refuses_an_officers_undo_and_audits_it(session, team):
    _first, second, _match, merge = merged_pair(session, team)
    reference = second.reference
    token = session_token(session, "officer@example.org")
    session.commit()
    state = state_for(CaseState, token, path=f"/cases/{reference}")
    call_handler(state, "undo_child_merge",
                 {"merge_id": str(merge.id), f"undo-{merge.id}-reason": "An officer tries it"})
    session.expire_all()
    assert session.get(ChildMerge, merge.id).undone_at is None
    refused = audit_events(session, "permission.refused")
    assert refused[-1].entity_id == "CaseState.undo_child_merge"
    assert refused[-1].actor_id == team["officer"].user_id
    assert state.problem


def test_the_lead_merges_and_undoes_through_the_case_page(session, team):
    first = submit(session, team).reference
    second = submit(session, team).reference
    [match] = matches(session)
    token = session_token(session, "lead@example.org")
    session.commit()  # the handler's unit of work must not wait for this session
    state = state_for(CaseState, token, path=f"/cases/{second}")
    call_handler(state, "confirm_child_match", {"match_id": str(match.id),
                                                f"merge-{match.id}-reason": "short"})
    assert state.errors == {f"merge-{match.id}-reason":
                            "Give the reason, in at least 10 characters"}
    call_handler(state, "confirm_child_match", {"match_id": str(match.id),
                                                f"merge-{match.id}-reason": REASON})
    assert state.message.startswith("Records merged")
    assert [r.reference for r in state.case.history_cases] == [second, first]
    [merge_row] = state.case.child_merges
    assert state.case.can.undo_merge and state.case.child_matches == []
    call_handler(state, "undo_child_merge", {"merge_id": str(merge_row.id),
                                             f"undo-{merge_row.id}-reason": REASON})
    assert state.message.startswith("Merge undone")
    assert [r.reference for r in state.case.history_cases] == [second]


# ----- schools ---------------------------------------------------------------------------------


def test_a_school_never_sees_another_schools_child_through_matching(session, team):
    """School A refers a child with a UPN and a home address; school B refers the same child
    (same name and date of birth) with another (temporary) UPN and another address. Before
    and after the LA merges the records, school B's pages show only what school B wrote."""
    first = submit(session, team, upn=CANARY_UPN,
                   form={"home_line1": "1 Canary Lane", "home_postcode": "LS1 1CA"})
    second = submit(session, team, who="school_b", upn=OTHER_UPN,
                    form={"home_line1": "2 Other Road", "home_postcode": "LS6 1AA"})
    [match] = matches(session)
    school_b = team["school_b"]

    def what_school_b_sees() -> str:
        rows = referral_view.list_for_school(session, actor=school_b)
        view = referral_view.view_referral(session, actor=school_b, reference=second.reference)
        session.commit()
        return json.dumps([asdict(r) for r in rows] + [asdict(view)], default=str)

    before = what_school_b_sees()
    child_records.confirm_match(session, actor=team["officer"], match_id=match.id,
                                reason=REASON)
    session.commit()
    after = what_school_b_sees()
    for seen in (before, after):
        for secret in (CANARY_UPN, "Canary Lane", "LS1 1CA", first.reference, "Aire Valley"):
            assert secret not in seen
        assert second.reference in seen and "2 Other Road" in seen
    assert json.loads(after)[-1]["upn"] == OTHER_UPN
    # School A's own view is unchanged by the merge, and B's referral is not A's to see.
    view_a = referral_view.view_referral(session, actor=team["school"], reference=first.reference)
    assert view_a.upn == CANARY_UPN and "Other Road" not in json.dumps(asdict(view_a))
    with pytest.raises(Exception, match="not found"):
        referral_view.view_referral(session, actor=team["school"], reference=second.reference)


def test_the_board_flags_a_proposed_match_until_it_is_answered(session, team):
    first = submit(session, team)
    second = submit(session, team, who="school_b",
                    form={"home_line1": "2 Other Road", "home_postcode": "LS6 1AA"})

    def flagged() -> dict[str, bool]:
        columns = board.load_board(session, actor=team["lead"])
        session.commit()
        return {card.reference: card.possible_match
                for column in columns.values() for card in column.cards}

    assert flagged() == {first.reference: True, second.reference: True}
    [match] = matches(session)
    child_records.reject_match(session, actor=team["officer"], match_id=match.id,
                               reason="Different children: checked with both schools")
    session.commit()
    assert flagged() == {first.reference: False, second.reference: False}


def test_an_inbound_notice_for_a_known_child_is_proposed_as_the_same_child(session, team):
    """Another LA's notice names a child a school already referred: the officer is offered the
    known record, not left with two children."""
    known = submit(session, team)
    child = session.get(Child, known.child_id)
    notice = inbound.log_inbound(session, actor=team["officer"], form={
        "source_type": "other_la", "la_name": "Wakefield", "la_code": "384",
        "received_on": date.today().isoformat(), "first_name": child.first_name,
        "last_name": child.last_name, "date_of_birth": child.date_of_birth.isoformat(),
        "sex": child.sex, "line1": "3 New Road", "town": "Leeds", "postcode": "LS6 1AA",
        "parent_name": "Mo Example", "summary": "Family moved to Leeds.",
    })
    session.commit()
    [match] = matches(session)
    assert (match.child_id, match.candidate_id) == (notice.child_id, known.child_id)
    assert match.basis == "name_dob" and match.status == "proposed"
