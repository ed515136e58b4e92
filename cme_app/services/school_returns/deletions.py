"""Receiving a school's deletion return: who the child is, what the routing table says to do,
and doing it (docs/glossary.md, "Deletion return"; routing.py holds the rules)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from ...dates import uk_today
from ...domain import (
    AddressKind,
    EpisodeStartBasis,
    Outcome,
    PersonKind,
    ReferralStatus,
    Risk,
    SourceType,
    Stage,
    ground_words,
)
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    DeletionReturn,
    EheRecord,
    NewPupilReturn,
    Person,
    Referral,
    School,
    utcnow,
)
from ...permissions import Actor, Capability, require_school_user
from ..intake.child_records import propose_matches
from ..intake.opening import open_case
from ..notify import notifications
from ..returns import episodes
from ..trust import audit
from .checks import Deletion, Pupil, check_deletion
from .routing import Route, reason_for, rule_for

SOURCE_TAG = "deletion_return"  # where the child's address and parents came from


def own_school(session: Session, actor: Actor | None) -> tuple[Actor, School]:
    actor = require_school_user(actor, Capability.SCHOOL_RETURNS)
    school = session.get(School, actor.school_id)
    if school is None:
        raise NotAllowed("Your account is not linked to a school.")
    return actor, school


def submit_deletion(session: Session, *, actor: Actor | None, form: object,
                    today: date | None = None) -> DeletionReturn:
    """A school's deletion return from the page: its own school only."""
    actor, school = own_school(session, actor)
    today = today or uk_today()
    deletion = check_deletion(form, school=school, today=today)
    refuse_repeat(session, deletion)
    return receive(session, deletion, by=actor, via="form", today=today)


def refuse_repeat(session: Session, deletion: Deletion) -> None:
    """The same deletion sent twice (a re-uploaded file, a second click) is refused."""
    if already_received(session, deletion) is not None:
        raise ValidationFailed([FieldError(
            "deletion_date", "Your school already sent a deletion return for this pupil "
            "with this deletion date")])


def already_received(session: Session, deletion: Deletion) -> int | None:
    p = deletion.pupil
    same_pupil = (DeletionReturn.upn == p.upn) if p.upn else (
        (func.lower(DeletionReturn.first_name) == p.first_name.lower())
        & (func.lower(DeletionReturn.last_name) == p.last_name.lower())
        & (DeletionReturn.date_of_birth == p.date_of_birth))
    return session.exec(select(DeletionReturn.id).where(
        DeletionReturn.school_id == deletion.school.id,
        DeletionReturn.deletion_date == deletion.deletion_date, same_pupil)).first()


# ---------------------------------------------------------------------------------------------
# Receiving


def receive(session: Session, deletion: Deletion, *, by: Actor | None, via: str,
            today: date) -> DeletionReturn:
    """Store the return and route it (the caller checked it and who sent it)."""
    rule = rule_for(deletion.ground, names_school=bool(deletion.destination_school_urn))
    d, p = deletion, deletion.pupil
    ret = DeletionReturn(
        school_id=d.school.id, upn=p.upn, first_name=p.first_name, last_name=p.last_name,
        date_of_birth=p.date_of_birth, sex=d.sex, address_line1=d.address_line1,
        town=d.town or None, postcode=d.postcode or None,
        parents=[{"name": x.name, "address": x.address, "phone": x.phone} for x in d.parents],
        deletion_date=d.deletion_date, ground=d.ground,
        absence_codes_confirmed=d.absence_codes_confirmed, new_address=d.new_address or None,
        moved_abroad=d.moved_abroad, new_parent_name=d.new_parent_name or None,
        new_parent_from=d.new_parent_from, destination_school_urn=d.destination_school_urn or None,
        destination_school_start=d.destination_school_start,
        destination_la_code=d.destination_la_code or None, notes=d.notes or None,
        route=rule.route, received_via=via, submitted_by_id=by.user_id if by else None,
    )
    known = known_child(session, p)
    if rule.route == Route.MATCH_ROLL:
        ret.child_id = known.id if known else None
        ret.new_pupil_return_id = _confirming_new_pupil(session, d)
    elif rule.route == Route.EHE_LIST:
        child = known or _new_child(session, d)
        ret.child_id = child.id
    elif rule.route == Route.CME:
        child = known or _new_child(session, d)
        ret.child_id = child.id
        _open_enquiry(session, ret, d, child, by, today,
                      reason=reason_for(rule, moved_abroad=d.moved_abroad))
        ret.possible_off_rolling = (rule.joint_enquiries
                                    and not la_confirmed_exhausted(session, child.id, d.school.id))
    session.add(ret)
    session.flush()
    if rule.route == Route.EHE_LIST:
        session.add(EheRecord(child_id=ret.child_id, start_date=d.deletion_date,
                              deletion_return_id=ret.id))
    audit.record(session, actor=by, actor_role=None if by else "system",
                 action="deletion_return.received", entity_type="deletion_return",
                 entity_id=ret.id, child_id=ret.child_id,
                 detail={"school": d.school.urn, "ground": d.ground, "route": str(rule.route),
                         "via": via, "case_id": ret.case_id,
                         "possible_off_rolling": ret.possible_off_rolling})
    if ret.possible_off_rolling and ret.case_id:
        case = session.get(Case, ret.case_id)
        notifications.possible_off_rolling(session, case=case, school_name=d.school.name,
                                           ground=d.ground)
    session.flush()
    return ret


def known_child(session: Session, pupil: Pupil) -> Child | None:
    """The live record with this UPN: a UPN is the pupil's own, so it is the same child. A
    name and date of birth alone is only proposed as a match for an officer to confirm."""
    if not pupil.upn:
        return None
    return session.exec(select(Child).where(
        Child.upn == pupil.upn, col(Child.merged_into_id).is_(None)
    ).order_by(col(Child.id))).first()


def _new_child(session: Session, d: Deletion) -> Child:
    p = d.pupil
    child = Child(first_name=p.first_name, last_name=p.last_name, date_of_birth=p.date_of_birth,
                  sex=d.sex, upn=p.upn)
    session.add(child)
    session.flush()
    session.add(Address(child_id=child.id, kind=AddressKind.LAST_KNOWN, line1=d.address_line1,
                        town=d.town or None, postcode=d.postcode or None, source=SOURCE_TAG))
    for parent in d.parents:
        session.add(Person(child_id=child.id, kind=PersonKind.PARENT_CARER,
                           full_name=parent.name, relationship_to_child="Parent or carer",
                           lives_with_child=True, is_emergency_contact=True, phone=parent.phone,
                           address_text=parent.address or None, source=SOURCE_TAG))
    if d.new_address:
        session.add(Address(child_id=child.id, kind=(AddressKind.ABROAD if d.moved_abroad
                                                     else AddressKind.BELIEVED_NEW),
                            line1=d.new_address[:200], source=SOURCE_TAG))
    session.flush()
    propose_matches(session, child)
    return child


def _open_case_of(session: Session, child_id: int) -> Case | None:
    return session.exec(select(Case).where(
        Case.child_id == child_id, col(Case.stage).in_([s.value for s in Stage
                                                        if s != Stage.CLOSED])
    ).order_by(col(Case.id).desc())).first()


def _open_enquiry(session: Session, ret: DeletionReturn, d: Deletion, child: Child,
                  by: Actor | None, today: date, *, reason: str) -> None:
    """A CME episode from the deletion date and a case in New referral, unless the child
    already has them (a school's earlier referral, say): then the return joins that case."""
    case = _open_case_of(session, child.id)
    if case is None:
        referral = Referral(
            status=ReferralStatus.SUBMITTED, source_type=SourceType.DELETION_RETURN,
            created_by_id=by.user_id if by else None, child_id=child.id,
            source_name=d.school.name[:120], proposed_deletion_ground=d.ground,
            believed_destination=d.new_address or None,
            concerns_narrative=_summary(d), date_school_aware=d.deletion_date,
            submitted_at=utcnow(), received_via=SOURCE_TAG, form_data={},
        )
        session.add(referral)
        session.flush()
        case = open_case(session, actor=by, referral=referral, child=child, today=today)
        notifications.referral_arrived(session, case=case, red=case.proposed_risk == Risk.RED)
    ret.case_id = case.id
    episode = episodes.open_episode(session, child.id)
    if episode is None:
        episode = episodes.begin(
            session, child_id=child.id, case_id=case.id, start_date=d.deletion_date,
            basis=EpisodeStartBasis.DELETED_FROM_ROLL, reason=reason,
            # "Believed to have moved" is a DfE reason the LA counts until it is confirmed.
            lives_in_la=True, by_id=by.user_id if by else None)
        audit.case_event(session, actor=by, case=case, action="episode.started",
                         detail={"episode_id": episode.id, "from": "deletion_return"})
    ret.episode_id = episode.id


def _summary(d: Deletion) -> str:
    lines = [f"{d.school.name} deleted this pupil from its admission register on "
             f"{d.deletion_date.isoformat()}: {ground_words(d.ground)}."]
    if d.new_address:
        lines.append(f"New address given: {d.new_address}.")
    if d.destination_la_code:
        lines.append(f"Believed to have moved to LA {d.destination_la_code}.")
    if d.notes:
        lines.append(f"School's notes: {d.notes}")
    return "\n".join(lines)[:4000]


def la_confirmed_exhausted(session: Session, child_id: int, school_id: int) -> bool:
    """Did the LA confirm to this school that joint reasonable enquiries about this child were
    exhausted (an approved 'untraceable' closure of a case the school referred)?"""
    return session.exec(
        select(CaseClosure.id).join(Case, Case.id == CaseClosure.case_id)
        .join(Referral, Referral.id == Case.referral_id)
        .where(Case.child_id == child_id, Referral.school_id == school_id,
               CaseClosure.outcome == Outcome.UNTRACEABLE, CaseClosure.status == "closed")
    ).first() is not None


def _confirming_new_pupil(session: Session, d: Deletion) -> int | None:
    """The destination school's new-pupil return for this pupil, if it has sent one."""
    school_id = session.exec(select(School.id).where(
        School.urn == d.destination_school_urn)).first()
    if school_id is None:
        return None
    p = d.pupil
    same = (NewPupilReturn.upn == p.upn) if p.upn else (
        (func.lower(NewPupilReturn.first_name) == p.first_name.lower())
        & (func.lower(NewPupilReturn.last_name) == p.last_name.lower())
        & (NewPupilReturn.date_of_birth == p.date_of_birth))
    return session.exec(select(NewPupilReturn.id).where(
        NewPupilReturn.school_id == school_id, same)).first()
