"""Reminders the notifications worker scans for: response targets due today or missed
(BR-L3), other LAs that have not replied by their due date (SC-11), and untraceable children
whose re-check is due. Each is told once per
state: the key holds what changed.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists
from sqlmodel import Session, col, select

from ... import routes
from ...dates import long_date
from ...domain import OPEN_STAGES, LaDirection, NotifyEvent, Stage
from ...models import Case, CmeEpisode, HomeVisit, LaNotification
from ..casework.targets import current_due
from .notifications import active_leads, active_of, notify

TARGET_STAGES = (Stage.NEW_REFERRAL, Stage.TRIAGE, Stage.ENQUIRIES, Stage.HOME_VISIT)


def _target_notice(session: Session, case: Case, due, leads: list[int]):
    """(event, recipients, subject, body) for a target due today or missed."""
    what = due.what.lower()
    if due.overdue:
        return (
            NotifyEvent.TARGET_MISSED,
            [case.allocated_officer_id, *leads],
            f"{due.what} target missed on {case.reference}",
            f"The {what} target for case {case.reference} was {long_date(due.on)} and has been "
            "missed. Act on the case today and record what was done.",
        )
    # An officer who has left is as good as nobody allocated: the leads must know.
    return (
        NotifyEvent.TARGET_DUE,
        active_of(session, [case.allocated_officer_id]) or leads,
        f"{due.what} due today on {case.reference}",
        f"The {what} target for case {case.reference} is today, {long_date(due.on)}. "
        "Act on it before the end of the day.",
    )


def scan_targets(session: Session, *, today: date) -> int:
    """Tell people about triage and first-visit targets due today or missed. The key holds
    the target's date and state, so each stage of each target is told once."""
    visited = exists().where(HomeVisit.case_id == Case.id, col(HomeVisit.outcome).is_not(None))
    rows = session.exec(
        select(Case, visited.label("visited")).where(col(Case.stage).in_(TARGET_STAGES))
    ).all()
    leads = active_leads(session)
    made = 0
    for case, was_visited in rows:
        due = current_due(case, today=today, visited=bool(was_visited))
        if due is None or not (due.today or due.overdue):
            continue
        event, recipients, subject, body = _target_notice(session, case, due, leads)
        key = f"target:{case.reference}:{case.episode}:{due.what.lower()}:{due.on}:{due.state}"
        made += len(notify(
            session, event=event, recipients=recipients, key=key, reference=case.reference,
            subject=subject, body=body, link=routes.case_url(case.reference),
        ))
    return made


def scan_la_chases(session: Session, *, today: date) -> int:
    """An outbound LA notification with no reply by its due date: a chase for the officer
    who sent it and the officer the case is allocated to."""
    rows = session.exec(
        select(LaNotification, Case)
        .join(Case, Case.id == LaNotification.case_id)
        .where(
            LaNotification.direction == LaDirection.OUTBOUND,
            col(LaNotification.response_on).is_(None),
            col(LaNotification.response_due_on) < today,
            col(Case.stage).in_(list(OPEN_STAGES)),
        )
    ).all()
    made = 0
    for notice, case in rows:
        # If both have left, someone must still chase: every lead.
        recipients = active_of(session, [notice.by_id, case.allocated_officer_id])
        made += len(
            notify(
                session,
                event=NotifyEvent.LA_CHASE,
                recipients=recipients or active_leads(session),
                key=f"la_chase:{notice.id}:{notice.response_due_on}",
                reference=case.reference,
                subject=f"Chase {notice.la_name}: no reply on {case.reference}",
                body=(
                    f"{notice.la_name} was asked about case {case.reference} on "
                    f"{long_date(notice.sent_on)} and has not replied. The reply was due "
                    f"{long_date(notice.response_due_on)}. Chase them and record the answer."
                ),
                link=routes.case_url(case.reference),
            )
        )
    return made


def scan_untraceable_rechecks(session: Session, *, today: date) -> int:
    """An untraceable child stays counted as CME with whereabouts unknown; on the episode's
    review date the allocated officer re-checks the Lost Pupils Database and social care.
    Told once per review date."""
    rows = session.exec(
        select(CmeEpisode, Case)
        .join(Case, Case.id == CmeEpisode.case_id)
        .where(
            CmeEpisode.whereabouts_unknown == True,  # noqa: E712
            col(CmeEpisode.end_date).is_(None),
            col(CmeEpisode.review_on) <= today,
        )
    ).all()
    made = 0
    for episode, case in rows:
        recipients = active_of(session, [case.allocated_officer_id]) or active_leads(session)
        made += len(notify(
            session, event=NotifyEvent.UNTRACEABLE_RECHECK, recipients=recipients,
            key=f"recheck:{case.reference}:{episode.id}:{episode.review_on}",
            reference=case.reference,
            subject=f"Re-check due on {case.reference}: whereabouts unknown",
            body=(f"The child on case {case.reference} is still counted as missing education "
                  f"with whereabouts unknown. The re-check was due {long_date(episode.review_on)}"
                  ": search the S2S Lost Pupils Database, check with children's social care, "
                  "and reopen the case if either finds the child."),
            link=routes.case_url(case.reference),
        ))
    return made
