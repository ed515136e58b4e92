"""Securing education once a child is found in the area (stage "Located – securing education").

Finding a child is half the duty; the other half is a school place. Each step is recorded,
dated and audited, with the day it is due by from the response targets (settings): the School
Attendance Service keyworker (due as soon as the case enters Located: every CME child living in
Leeds gets one), the in-year admission application and its outcome, the offer and the agreed
start date, a Fair Access referral, an EHCP naming a school, and, where parents do not secure
education, the s.437(1) notice and then the School Attendance Order.

The child's CME episode's DfE primary reason follows these facts (returns/episodes.follow_steps)
unless an officer chose it by hand. The case closes as on roll at a Leeds school only once the
agreed start date has come (closure._started_school reads `agreed_start`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ...dates import long_date, uk_today
from ...domain import Stage
from ...errors import FieldError, Refusal, ValidationFailed
from ...models import Case, SecuringStep, User, utcnow
from ...permissions import Actor, Capability, allows
from ...settings import get_settings
from ..forms import YES_NO, Form
from ..returns import episodes
from ..school_calendar.school_days import load_calendar
from ..trust import audit
from . import targets
from .case_file_types import Row, SecuringPanel, StepRow
from .lifecycle import StaleCase, load_case

KINDS = {
    "keyworker": "School Attendance Service keyworker",
    "application": "In-year admission application",
    "offer": "Offer of a school place",
    "fair_access": "Fair Access referral",
    "ehcp": "EHCP naming a school",
    "s437_notice": "Notice under section 437(1)",
    "sao": "School Attendance Order",
}
APPLICATION_OUTCOMES = {"awaiting": "Awaiting outcome", "offered": "Offered",
                        "refused": "Refused"}
OFFER_ANSWERS = {"awaiting": "Not answered yet", "yes": "Accepted", "no": "Declined"}

# The DfE primary reasons the steps give (domain.DFE_REASONS' words).
AWAITING_OUTCOME = "School application awaiting outcome"
OFFERED_NOT_ACCEPTED = "Offered school place but not yet accepted"
WAITING_START = "Waiting school start"
CHALLENGING_SAO = "Challenging school attendance order"


class NotLocated(Refusal):
    """Steps are recorded only while the case is in Located."""


# ---------------------------------------------------------------------------------------------
# Reading


def case_steps(session: Session, case: Case) -> list[SecuringStep]:
    """This episode of the case's steps, oldest first."""
    return list(session.exec(
        select(SecuringStep)
        .where(SecuringStep.case_id == case.id, SecuringStep.case_episode == case.episode)
        .order_by(col(SecuringStep.recorded_at), col(SecuringStep.id))
    ).all())


def _latest(steps: list[SecuringStep], kind: str) -> SecuringStep | None:
    found = [s for s in steps if s.kind == kind]
    return found[-1] if found else None


def agreed_start(session: Session, case: Case) -> date | None:
    """The start date agreed on the latest accepted offer, if any."""
    offers = [s for s in case_steps(session, case) if s.kind == "offer" and s.outcome == "yes"]
    return offers[-1].start_on if offers else None


def not_started_yet(session: Session, case: Case, today: date) -> str | None:
    """Why the case can't close as on roll at a Leeds school yet (the closure's blocker):
    the agreed start date has not come, so the child is still CME, waiting school start."""
    start = agreed_start(session, case)
    if start is None or start <= today:
        return None
    return (f"The child is due to start school on {long_date(start)}. Until then they are "
            f"still missing education (waiting school start), so the case can be closed as "
            f"on roll at a Leeds school on or after {long_date(start)}.")


def reason_from_steps(steps: list[SecuringStep], today: date) -> tuple[str, date] | None:
    """The DfE primary reason the steps give today, and the day it applies from (None: they
    give none). A challenged order comes first; then the latest offer; then the latest
    application."""
    sao = _latest(steps, "sao")
    if sao is not None and sao.challenged:
        return CHALLENGING_SAO, sao.outcome_on or sao.done_on or today
    offer = _latest(steps, "offer")
    if offer is not None and offer.outcome == "yes" and offer.start_on and offer.start_on > today:
        return WAITING_START, offer.outcome_on or offer.done_on or today
    if offer is not None and offer.outcome == "awaiting":
        return OFFERED_NOT_ACCEPTED, offer.done_on or today
    application = _latest(steps, "application")
    if application is not None and offer is None:
        if application.outcome == "awaiting":
            return AWAITING_OUTCOME, application.done_on or today
        if application.outcome == "offered":
            return OFFERED_NOT_ACCEPTED, application.outcome_on or today
    return None


# ---------------------------------------------------------------------------------------------
# Entering Located: the keyworker is due


def keyworker_due(session: Session, *, case: Case, actor: Actor, today: date) -> SecuringStep:
    """The case has entered Located: a keyworker step, due within the target, unless this
    episode already has one (a case moved back to Enquiries and found again keeps it)."""
    found = _latest(case_steps(session, case), "keyworker")
    if found is not None:
        return found
    due = targets.school_days_due(today, get_settings().keyworker_school_days,
                                  load_calendar(session))
    step = SecuringStep(case_id=case.id, case_episode=case.episode, kind="keyworker",
                        due_on=due, recorded_by_id=actor.user_id, updated_by_id=actor.user_id)
    session.add(step)
    session.flush()
    audit.case_event(session, actor=actor, case=case, action="securing.keyworker_due",
                     detail={"id": step.id, "due_on": due.isoformat()})
    return step


# ---------------------------------------------------------------------------------------------
# Recording a step


def _school(f: Form, message: str) -> str:
    return f.text("school", message, limit=500)


def _keyworker(f: Form, case_steps_: list[SecuringStep]) -> dict[str, Any]:
    who = f.text("who", "Enter the keyworker's name and team")
    done_on = f.day("done_on", "date the keyworker was allocated")
    return {"who": who, "done_on": done_on}


def _application(f: Form, steps: list[SecuringStep]) -> dict[str, Any]:
    school = _school(f, "Enter the school or schools applied for (names or URNs)")
    applied = f.day("done_on", "date of the application")
    outcome = f.choice("outcome", APPLICATION_OUTCOMES, "Choose the outcome of the application")
    decided = f.day("outcome_on", "date of the decision", required=outcome in ("offered",
                                                                             "refused"))
    if decided and applied and decided < applied:
        f.error("outcome_on", "The decision can't be before the application")
    if outcome == "awaiting":
        decided = None
    return {"school": school, "done_on": applied, "outcome": outcome, "outcome_on": decided}


def _offer(f: Form, steps: list[SecuringStep]) -> dict[str, Any]:
    school = _school(f, "Enter the school offered")
    offered = f.day("done_on", "date of the offer")
    answer = f.choice("outcome", OFFER_ANSWERS, "Say whether the parent accepted the offer")
    start = f.day("start_on", "agreed start date", required=answer == "yes", future=True)
    if start and offered and start < offered:
        f.error("start_on", "The start date can't be before the offer")
    answered = f.day("outcome_on", "date the parent answered", required=False)
    return {"school": school, "done_on": offered, "outcome": answer,
            "start_on": start if answer == "yes" else None,
            "outcome_on": answered if answer != "awaiting" else None}


def _fair_access(f: Form, steps: list[SecuringStep]) -> dict[str, Any]:
    referred = f.day("done_on", "date of the referral")
    panel = f.day("panel_on", "panel date", required=False, future=True)
    if panel and referred and panel < referred:
        f.error("panel_on", "The panel can't meet before the referral")
    outcome = f.text("outcome", "", required=False)
    return {"done_on": referred, "panel_on": panel, "outcome": outcome or None}


def _ehcp(f: Form, steps: list[SecuringStep]) -> dict[str, Any]:
    la = f.text("who", "Enter the local authority that maintains the plan", limit=120)
    school = _school(f, "Enter the school named in the plan")
    named = f.day("done_on", "date the school was named")
    return {"who": la, "school": school, "done_on": named}


def _s437_notice(f: Form, steps: list[SecuringStep]) -> dict[str, Any]:
    served = f.day("done_on", "date the notice was served")
    due = f.day("due_on", "date the response is due", required=False, future=True)
    days = get_settings().s437_response_days
    if served and due is None:
        due = served + timedelta(days=days)
    elif served and due and due < served + timedelta(days=15):
        f.error("due_on", f"The parent must have at least 15 days to respond: the response "
                f"can't be due before {long_date(served + timedelta(days=15))}")
    answered = f.day("outcome_on", "date the parent responded", required=False)
    if answered and served and answered < served:
        f.error("outcome_on", "The response can't be before the notice was served")
    return {"done_on": served, "due_on": due, "outcome_on": answered}


def _sao(f: Form, steps: list[SecuringStep]) -> dict[str, Any]:
    school = _school(f, "Enter the school named in the order")
    made = f.day("done_on", "date of the order")
    challenged = f.choice("challenged", YES_NO, "Say whether the parent is challenging the order")
    notice = _latest(steps, "s437_notice")
    if notice is None:
        f.error("done_on", "Record the s.437(1) notice first: an order follows a notice the "
                "parent did not satisfy")
    elif made and notice.due_on and made <= notice.due_on:
        f.error("done_on", f"The order can only be made after the parent's time to respond "
                f"to the notice ended on {long_date(notice.due_on)}")
    return {"school": school, "done_on": made, "challenged": challenged == "yes"}


_CHECKS = {"keyworker": _keyworker, "application": _application, "offer": _offer,
           "fair_access": _fair_access, "ehcp": _ehcp, "s437_notice": _s437_notice,
           "sao": _sao}


def _due_on(session: Session, kind: str, fields: dict[str, Any], was: SecuringStep | None
            ) -> date | None:
    """The day the step is due by (BR-L3-style targets from settings)."""
    s, cal = get_settings(), load_calendar(session)
    done_on = fields.get("done_on")
    if kind == "keyworker":
        return was.due_on if was is not None else None
    if kind == "s437_notice":
        return fields.get("due_on")
    if done_on is None:
        return None
    days = {"application": s.admission_decision_school_days,
            "offer": s.school_start_school_days,
            "ehcp": s.school_start_school_days,
            "fair_access": s.fair_access_school_days}.get(kind)
    return targets.school_days_due(done_on, days, cal) if days else None


def _state(step: SecuringStep) -> dict[str, Any]:
    def text(v):
        return v.isoformat() if isinstance(v, date) else v
    return {k: text(getattr(step, k)) for k in (
        "who", "school", "done_on", "outcome", "outcome_on", "start_on", "panel_on",
        "challenged", "due_on")}


def _load(session: Session, actor: Actor | None, reference: str, action: str
          ) -> tuple[Actor, Case]:
    actor = audit.require_on_case(session, actor, Capability.CASE_RECORD, action=action,
                                  reference=reference)
    case = load_case(session, actor=actor, reference=reference, action=action)
    if case.stage != Stage.LOCATED:
        raise NotLocated("Securing education is recorded while the case is in Located – "
                         "securing education.")
    # Another officer's case: `load_case` asked for the purpose (as every write does).
    return actor, case


def _step_of(steps: list[SecuringStep], step_id: Any, version: Any) -> SecuringStep:
    step = next((s for s in steps if isinstance(step_id, int) and s.id == step_id), None)
    if step is None:
        raise ValidationFailed([FieldError("step", "That step is not one of this case's")])
    if not isinstance(version, int) or isinstance(version, bool) or version != step.version:
        raise StaleCase("This step was changed by someone else. You are now seeing the latest.")
    return step


def record_step(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    kind: str,
    form: dict,
    step_id: int = 0,
    version: int = 0,
    today: date | None = None,
) -> SecuringStep:
    """Record a new step of `kind`, or (step_id) update one this case has, at the version the
    caller saw. The episode's reason then follows the steps."""
    today = today or uk_today()
    action = "securing.recorded" if not step_id else "securing.updated"
    actor, case = _load(session, actor, reference, action)
    kind = str(kind or "")
    if kind not in KINDS:
        raise ValidationFailed([FieldError("kind", "Choose which step to record")])
    steps = case_steps(session, case)
    was = _step_of(steps, step_id, version) if step_id else None
    if was is not None and was.kind != kind:
        raise ValidationFailed([FieldError("step", "That step is not one of this kind")])
    f = Form(form, today)
    fields = _CHECKS[kind](f, [s for s in steps if s is not was])
    notes = f.text("notes", "", required=False, limit=2000)
    f.check()
    fields["due_on"] = _due_on(session, kind, fields, was)
    before = _state(was) if was is not None else {}
    step = was or SecuringStep(case_id=case.id, case_episode=case.episode, kind=kind,
                               recorded_by_id=actor.user_id)
    for name, value in fields.items():
        setattr(step, name, value)
    step.notes = notes or None
    step.updated_by_id, step.updated_at = actor.user_id, utcnow()
    if was is not None:
        step.version += 1
    session.add(step)
    session.flush()
    audit.case_event(session, actor=actor, case=case, action=action, detail={
        "id": step.id, "kind": kind, **audit.changes(before, _state(step))})
    _follow(session, case, actor, today)
    session.flush()
    return step


def follow_again(session: Session, *, actor: Actor | None, reference: str,
                 today: date | None = None):
    """An officer hands the episode's reason back to the steps after choosing it by hand."""
    today = today or uk_today()
    actor, case = _load(session, actor, reference, "episode.reason_followed")
    said = reason_from_steps(case_steps(session, case), today)
    episode = episodes.open_episode(session, case.child_id)
    if episode is None or said is None:
        raise Refusal("The steps recorded so far give no DfE reason, so the reason chosen by "
                      "hand stays. Change it in the CME episode section if it is wrong.")
    row = episodes.follow_steps(session, case=case, actor=actor, reason=said[0], on=today,
                                again=True)
    session.flush()
    return row


def _follow(session: Session, case: Case, actor: Actor, today: date) -> None:
    said = reason_from_steps(case_steps(session, case), today)
    if said is not None:
        episodes.follow_steps(session, case=case, actor=actor, reason=said[0], on=said[1])


# ---------------------------------------------------------------------------------------------
# The case page's section


def _done(step: SecuringStep, today: date, steps: list[SecuringStep]) -> bool:
    if step.kind == "keyworker":
        return step.done_on is not None
    if step.kind == "application":  # decided, or answered by an offer recorded after it
        return step.outcome in ("offered", "refused") or any(
            s.kind == "offer" and (s.id or 0) > (step.id or 0) for s in steps)
    if step.kind == "offer":
        return step.outcome == "no" or bool(step.start_on and step.start_on <= today)
    if step.kind == "fair_access":
        return bool(step.outcome)
    if step.kind == "s437_notice":
        return step.outcome_on is not None or any(s.kind == "sao" for s in steps)
    return True


def _due(step: SecuringStep, today: date, steps: list[SecuringStep]) -> tuple[str, str]:
    if _done(step, today, steps):
        awaiting = step.kind == "application" and step.outcome == "awaiting"
        return ("Offer recorded" if awaiting else "Done"), "done"
    if step.due_on is None:
        return "", ""
    if step.kind == "offer" and step.start_on and today <= step.due_on:
        return f"Starts on {long_date(step.start_on)}", "due"
    what = {"keyworker": "Keyworker", "application": "Decision", "offer": "Start",
            "fair_access": "School place", "s437_notice": "Response"}.get(step.kind, "Step")
    if today > step.due_on:
        return f"{what} overdue (due {long_date(step.due_on)})", "overdue"
    if today == step.due_on:
        return f"{what} due today", "today"
    return f"{what} due by {long_date(step.due_on)}", "due"


def _application_outcome(step: SecuringStep, answered: bool) -> str | None:
    if answered and step.outcome == "awaiting":  # an offer recorded after it is its answer
        return "Offered (see the offer recorded below)"
    return APPLICATION_OUTCOMES.get(step.outcome or "", step.outcome)


def _facts(step: SecuringStep, names: dict[int, str], *, answered: bool = False) -> list[Row]:
    rows: list[Row] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, ""):
            rows.append(Row(label, long_date(value) if isinstance(value, date) else str(value)))

    k = step.kind
    if k == "keyworker":
        add("Keyworker", step.who or "Not allocated yet")
        add("Allocated on", step.done_on)
    elif k == "application":
        add("Schools applied for", step.school)
        add("Applied on", step.done_on)
        add("Outcome", _application_outcome(step, answered))
        add("Decided on", step.outcome_on)
    elif k == "offer":
        add("School", step.school)
        add("Offered on", step.done_on)
        add("Accepted", OFFER_ANSWERS.get(step.outcome or "", step.outcome))
        add("Agreed start date", step.start_on)
    elif k == "fair_access":
        add("Referred on", step.done_on)
        add("Panel date", step.panel_on)
        add("Outcome", step.outcome or "Not known yet")
    elif k == "ehcp":
        add("Local authority maintaining the plan", step.who)
        add("School named", step.school)
        add("Named on", step.done_on)
    elif k == "s437_notice":
        add("Served on", step.done_on)
        add("Response due by", step.due_on)
        add("Parent responded on", step.outcome_on)
    elif k == "sao":
        add("School named", step.school)
        add("Made on", step.done_on)
        add("Challenged by the parent", "Yes" if step.challenged else "No")
    add("Notes", step.notes)
    add("Recorded by", names.get(step.updated_by_id or 0, ""))
    return rows


def _values(step: SecuringStep) -> dict[str, str]:
    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        return v.isoformat() if isinstance(v, date) else str(v or "")
    fields = ("who", "school", "done_on", "outcome", "outcome_on", "start_on", "panel_on",
              "challenged", "notes")
    values = {f"upd-{step.id}-{name}": text(getattr(step, name)) for name in fields}
    if step.kind == "s437_notice":
        values[f"upd-{step.id}-due_on"] = text(step.due_on)
    return values


def panel(session: Session, *, actor: Actor, case: Case, today: date) -> SecuringPanel:
    """The case page's "Securing education" section (part of the audited case-file view)."""
    entered = case.stage == Stage.LOCATED
    steps = case_steps(session, case)
    if not entered and not steps:
        return SecuringPanel()
    ids = {s.updated_by_id for s in steps if s.updated_by_id}
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all()
                 ) if ids else {}
    note, by_hand = _reason_note(session, case, steps, today)
    rows = []
    for s in steps:
        label, state = _due(s, today, steps)
        rows.append(StepRow(id=s.id or 0, version=s.version, kind=s.kind, title=KINDS[s.kind],
                            rows=_facts(s, names, answered=state == "done"),
                            due_label=label, due_state=state,
                            form_values=_values(s)))
    return SecuringPanel(
        shown=True, editable=entered and allows(actor.role, Capability.CASE_RECORD),
        steps=rows, reason_note=note, reason_by_hand=by_hand,
        kinds=[[k, v] for k, v in KINDS.items()],
        has_keyworker=any(s.kind == "keyworker" for s in steps),
    )


def _reason_note(session: Session, case: Case, steps: list[SecuringStep], today: date
                 ) -> tuple[str, bool]:
    """Why the episode's reason does not follow the steps, if it doesn't; and whether that
    is because an officer chose it by hand while the steps give one (it can be handed back)."""
    episode = episodes.open_episode(session, case.child_id)
    said = reason_from_steps(steps, today)
    if episode is None:
        return ("The child has no open CME episode, so these steps set no DfE reason. Start "
                "one in the CME episode section if the child is missing education."), False
    by_hand = episodes.reason_set_by_hand(session, episode)
    if by_hand is not None and said is not None:
        return (f"The primary reason \"{episode.primary_reason}\" was chosen by hand on "
                f"{long_date(by_hand.from_date)}, so these steps do not change it (they "
                f"give \"{said[0]}\")."), True
    return "", False
