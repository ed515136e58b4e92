"""New-pupil returns (reg 13(1)): a school added a pupil to its register. Most CME episodes
end this way in practice, so each return is matched against open cases and, on a match,
proposes closing the case as on roll at a Leeds school to its officer, who confirms it (the
lead then approves, as for any closure)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from ...dates import uk_today
from ...domain import Outcome, Stage
from ...errors import FieldError, NotAllowed, NotFound, ValidationFailed
from ...models import Case, Child, CmeEpisode, DeletionReturn, NewPupilReturn, School, utcnow
from ...permissions import Actor, Capability, allows, require
from ..casework import closure
from ..notify import notifications
from ..trust import audit
from .checks import NewPupil, Pupil, check_new_pupil, same_pupil

PROPOSED, CONFIRMED, DISMISSED = "proposed", "confirmed", "dismissed"


def school_for(session: Session, actor: Actor, school_urn: object) -> School:
    """The school the pupil joined: a school user's own; LA staff name it by URN."""
    if actor.is_school:
        school = session.get(School, actor.school_id)
        if school is None:
            raise NotAllowed("Your account is not linked to a school.")
        return school
    urn = str(school_urn or "").strip()
    school = session.exec(select(School).where(School.urn == urn)).first() if urn else None
    if school is None:
        raise ValidationFailed([FieldError("school_urn", "Choose the school the pupil joined")])
    return school


def school_choices(session: Session, *, actor: Actor | None) -> list[list[str]]:
    """The registered schools LA staff choose from when recording a new pupil: [URN, name]."""
    actor = require(actor, Capability.NEW_PUPIL_RECORD)
    if actor.is_school:
        return []
    return [[urn, f"{name} (URN {urn})"] for urn, name in session.exec(
        select(School.urn, School.name).order_by(School.name)).all()]


def record_new_pupil(session: Session, *, actor: Actor | None, form: object,
                     today: date | None = None) -> NewPupilReturn:
    actor = require(actor, Capability.NEW_PUPIL_RECORD)
    data = form if isinstance(form, dict) else {}
    school = school_for(session, actor, data.get("school_urn"))
    pupil = check_new_pupil(data, school=school, today=today or uk_today())
    refuse_repeat(session, pupil)
    return receive(session, pupil, by=actor, via="form")


REPEAT = "This school already recorded this pupil joining on this date"


def refuse_repeat(session: Session, pupil: NewPupil) -> None:
    if already_received(session, pupil) is not None:
        raise ValidationFailed([FieldError("start_date", REPEAT)])


def already_received(session: Session, pupil: NewPupil) -> int | None:
    return session.exec(select(NewPupilReturn.id).where(
        NewPupilReturn.school_id == pupil.school.id,
        NewPupilReturn.start_date == pupil.start_date,
        same_pupil(NewPupilReturn, pupil.pupil))).first()


def receive(session: Session, pupil: NewPupil, *, by: Actor | None, via: str) -> NewPupilReturn:
    p = pupil.pupil
    ret = NewPupilReturn(
        school_id=pupil.school.id, upn=p.upn, first_name=p.first_name, last_name=p.last_name,
        date_of_birth=p.date_of_birth, start_date=pupil.start_date,
        postcode=pupil.postcode or None, received_via=via,
        recorded_by_id=by.user_id if by else None)
    match = matching_case(session, p)
    if match is not None:
        case, ret.matched_on = match
        ret.case_id, ret.child_id, ret.proposal = case.id, case.child_id, PROPOSED
    session.add(ret)
    session.flush()
    _confirm_deletions_into(session, ret)
    audit.record(session, actor=by, actor_role=None if by else "system",
                 action="new_pupil_return.received", entity_type="new_pupil_return",
                 entity_id=ret.id, child_id=ret.child_id,
                 detail={"school": pupil.school.urn, "via": via, "case_id": ret.case_id,
                         "matched_on": ret.matched_on})
    if ret.case_id is not None:
        notifications.new_pupil_match(session, case=session.get(Case, ret.case_id),
                                      school_name=pupil.school.name, return_id=ret.id)
    return ret


def matching_case(session: Session, p: Pupil) -> tuple[Case, str] | None:
    """The open case (or the case of an open CME episode) of a live child with this UPN, or
    failing that with this name and date of birth; and what matched."""
    tests = ([("upn", Child.upn == p.upn)] if p.upn else []) + [(
        "name_dob", (func.lower(Child.first_name) == p.first_name.lower())
        & (func.lower(Child.last_name) == p.last_name.lower())
        & (Child.date_of_birth == p.date_of_birth))]
    open_stages = [s.value for s in Stage if s not in (Stage.CLOSED, Stage.RETURNED)]
    for basis, same_child in tests:
        case = session.exec(
            select(Case).join(Child, Child.id == Case.child_id)
            .outerjoin(CmeEpisode, (CmeEpisode.case_id == Case.id)
                       & col(CmeEpisode.end_date).is_(None))
            .where(same_child, col(Child.merged_into_id).is_(None),
                   col(Case.stage).in_(open_stages) | col(CmeEpisode.id).is_not(None))
            .order_by(col(Case.id).desc())
        ).first()
        if case is not None:
            return case, basis
    return None


def _confirm_deletions_into(session: Session, ret: NewPupilReturn) -> None:
    """A deletion return naming this school as the destination is now matched."""
    school = session.get(School, ret.school_id)
    waiting = session.exec(select(DeletionReturn).where(
        DeletionReturn.destination_school_urn == school.urn,
        col(DeletionReturn.new_pupil_return_id).is_(None),
        same_pupil(DeletionReturn, Pupil(ret.upn, ret.first_name, ret.last_name,
                                          ret.date_of_birth)))).all()
    for deletion in waiting:
        deletion.new_pupil_return_id = ret.id
        session.add(deletion)


# ---------------------------------------------------------------------------------------------
# The officer's answer


def _proposal(session: Session, actor: Actor, return_id: object,
              reference: str | None) -> tuple[NewPupilReturn, Case]:
    """The proposal, if it is waiting and (when the caller names one) about that case: the
    version the caller holds is that case's, so an answer can't land on another case."""
    ret = session.get(NewPupilReturn, return_id) if type(return_id) is int else None
    if ret is None or ret.proposal != PROPOSED or ret.case_id is None:
        raise NotFound("That new-pupil match is not waiting for an answer.")
    case = session.get(Case, ret.case_id)
    if reference is not None and case.reference != reference:
        raise NotFound("That new-pupil match is not waiting for an answer.")
    if (not allows(actor.role, Capability.WHOLE_CASELOAD)
            and case.allocated_officer_id not in (None, actor.user_id)):
        raise NotAllowed("Only the case's officer or a lead can answer this.")
    return ret, case


def confirm(session: Session, *, actor: Actor | None, return_id: object, version: int,
            reference: str | None = None, today: date | None = None):
    """The officer agrees it is the same child: propose closing the case as on roll at the
    school from its start date (the closure's own rules apply; the lead approves). The case
    page names its case (`reference`), whose `version` it holds."""
    actor = require(actor, Capability.CLOSURE_PROPOSE)
    ret, case = _proposal(session, actor, return_id, reference)
    school = session.get(School, ret.school_id)
    proposed = closure.propose_closure(
        session, actor=actor, reference=case.reference, outcome=Outcome.ONROLL_LEEDS,
        evidence={"school_urn": school.urn, "start_date": ret.start_date.isoformat(),
                  "confirmed_by": f"New-pupil return from {school.name}"[:200]},
        version=version, today=today)
    _decide(session, actor, ret, case, CONFIRMED, "")
    return proposed


def dismiss(session: Session, *, actor: Actor | None, return_id: object, reason: object,
            reference: str | None = None) -> None:
    """Not the same child: say why (it stays on the record)."""
    actor = require(actor, Capability.CLOSURE_PROPOSE)
    ret, case = _proposal(session, actor, return_id, reference)
    why = str(reason or "").strip()
    if not why or len(why) > 1000:
        raise ValidationFailed([FieldError(
            "dismiss_reason", "Say why this new pupil is not the case's child (up to 1000 "
            "characters)")])
    _decide(session, actor, ret, case, DISMISSED, why)


def _decide(session: Session, actor: Actor, ret: NewPupilReturn, case: Case, answer: str,
            reason: str) -> None:
    ret.proposal, ret.decided_by_id, ret.decided_at = answer, actor.user_id, utcnow()
    ret.dismiss_reason = reason or None
    session.add(ret)
    audit.case_event(session, actor=actor, case=case, action=f"new_pupil_match.{answer}",
                     detail={"new_pupil_return_id": ret.id})
    session.flush()
