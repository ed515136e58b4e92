"""CME episodes: when a child was missing education, on what basis, and why (statutory-returns
§1, "Who counts as CME"). A case can exist before an episode: a pupil still on a roll who is
missing is a case, not yet CME. Officers start, change and end a child's episode from the case;
closing the case ends it (or, for an untraceable child, keeps it open for review).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ...dates import long_date, uk_today
from ...domain import (
    EPISODE_END_LABELS,
    EPISODE_START_LABELS,
    EpisodeEndReason,
    EpisodeStartBasis,
)
from ...errors import FieldError, ValidationFailed
from ...models import Case, Child, CmeEpisode, EpisodeReason, User, utcnow
from ...permissions import Actor, Capability
from ...settings import get_settings
from ..casework.case_file_types import EpisodePanel, Row
from ..casework.lifecycle import StaleCase, load_case
from ..trust import audit
from .reasons import reason_labels

# How a reason was set (EpisodeReason.source): a reason chosen by hand stays until an officer
# changes it; the securing-education steps replace any other.
REASON_AT_START, REASON_BY_HAND, REASON_FROM_STEPS = "start", "officer", "steps"

# The bases an officer may choose (migrated is the migration's own).
START_CHOICES = {k: v for k, v in EPISODE_START_LABELS.items() if k != EpisodeStartBasis.MIGRATED}
END_CHOICES = dict(EPISODE_END_LABELS)
YES_NO = {"yes": "Yes", "no": "No"}


def open_episode(session: Session, child_id: int) -> CmeEpisode | None:
    return session.exec(
        select(CmeEpisode).where(
            CmeEpisode.child_id == child_id, col(CmeEpisode.end_date).is_(None)
        )
    ).first()


def child_episodes(session: Session, child_id: int) -> list[CmeEpisode]:
    """Every episode of the child, newest first."""
    return list(
        session.exec(
            select(CmeEpisode)
            .where(CmeEpisode.child_id == child_id)
            .order_by(col(CmeEpisode.start_date).desc(), col(CmeEpisode.id).desc())
        ).all()
    )


def reason_history(session: Session, episode_id: int) -> list[EpisodeReason]:
    return list(
        session.exec(
            select(EpisodeReason)
            .where(EpisodeReason.episode_id == episode_id)
            .order_by(col(EpisodeReason.from_date), col(EpisodeReason.id))
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# The officer's forms


@dataclass(frozen=True)
class _Checked:
    start_date: date | None
    start_basis: str
    lives_in_la: bool
    reason: str
    reason_from: date | None


def _date(
    form: dict[str, Any],
    name: str,
    errors: list[FieldError],
    label: str,
    today: date,
    *,
    required: bool = True,
) -> date | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        if required:
            errors.append(FieldError(name, f"Enter the {label}"))
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(name, f"The {label} must be a real date, like 2026-11-05"))
        return None
    if value > today:
        errors.append(FieldError(name, f"The {label} must be today or in the past"))
        return None
    return value


def _check(
    session: Session,
    form: dict[str, Any],
    child: Child,
    today: date,
    *,
    reason_from_required: bool = False,
) -> _Checked:
    errors: list[FieldError] = []
    start = _date(form, "start_date", errors, "date the episode started", today)
    if start is not None and start < child.date_of_birth + timedelta(days=365 * 4):
        errors.append(
            FieldError(
                "start_date", "The start date is before the child was of school age: check the date"
            )
        )
    basis = str(form.get("start_basis") or "")
    if basis not in START_CHOICES:  # "migrated" too: saving the form confirms the start
        errors.append(FieldError("start_basis", "Choose what the start date is the date of"))
    lives = str(form.get("lives_in_la") or "")
    if lives not in YES_NO:
        errors.append(FieldError("lives_in_la", "Say whether the child lives in the LA"))
    reason = str(form.get("primary_reason") or "")
    if reason not in reason_labels(session):
        errors.append(FieldError("primary_reason", "Choose the primary reason from DfE's list"))
    reason_from = _date(
        form,
        "reason_from",
        errors,
        "date the reason applies from",
        today,
        required=reason_from_required,
    )
    if reason_from and start and reason_from < start:
        errors.append(
            FieldError("reason_from", "The reason can't apply before the episode started")
        )
    if errors:
        raise ValidationFailed(errors)
    return _Checked(start, basis, lives == "yes", reason, reason_from)


def _load(session: Session, actor: Actor | None, reference: str, action: str) -> tuple[Case, Child]:
    actor = audit.require_on_case(
        session, actor, Capability.EPISODE_RECORD, action=action, reference=reference
    )
    case = load_case(session, actor=actor, reference=reference, action=action)
    child = session.get(Child, case.child_id)
    assert child is not None
    return case, child


def _check_version(episode: CmeEpisode, version: Any) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version != episode.version:
        raise StaleCase(
            "This CME episode was changed by someone else. You are now seeing the latest."
        )


def _state(e: CmeEpisode) -> dict[str, Any]:
    return {
        "start_date": e.start_date.isoformat() if e.start_date else None,
        "start_basis": e.start_basis,
        "end_date": e.end_date.isoformat() if e.end_date else None,
        "end_reason": e.end_reason,
        "lives_in_la": e.lives_in_la,
        "primary_reason": e.primary_reason,
        "whereabouts_unknown": e.whereabouts_unknown,
    }


def start_episode(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    form: dict[str, Any],
    today: date | None = None,
) -> CmeEpisode:
    """The child became CME: on no roll and not otherwise educated, from a dated fact."""
    today = today or uk_today()
    case, child = _load(session, actor, reference, "episode.started")
    if open_episode(session, child.id) is not None:
        raise ValidationFailed(
            [
                FieldError(
                    "start_date",
                    "This child already has an open CME episode: change or end that one",
                )
            ]
        )
    checked = _check(session, form, child, today)
    assert checked.start_date is not None
    episode = begin(session, child_id=child.id, case_id=case.id, start_date=checked.start_date,
                    basis=checked.start_basis, reason=checked.reason,
                    lives_in_la=checked.lives_in_la, by_id=actor.user_id if actor else None)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="episode.started",
        detail={"episode_id": episode.id, **_state(episode)},
    )
    session.flush()
    return episode


def begin(session: Session, *, child_id: int, case_id: int | None, start_date: date, basis: str,
          reason: str, lives_in_la: bool, by_id: int | None) -> CmeEpisode:
    """A new open episode and its first reason (the caller checked there was none open)."""
    episode = CmeEpisode(child_id=child_id, case_id=case_id, start_date=start_date,
                         start_basis=basis, lives_in_la=lives_in_la, primary_reason=reason,
                         created_by_id=by_id)
    session.add(episode)
    session.flush()
    session.add(EpisodeReason(episode_id=episode.id, reason=reason, from_date=start_date,
                              changed_by_id=by_id, source=REASON_AT_START))
    return episode


def _episode_of(session: Session, child: Child, episode_id: Any) -> CmeEpisode:
    episode = session.get(CmeEpisode, episode_id) if isinstance(episode_id, int) else None
    if episode is None or episode.child_id != child.id:
        raise ValidationFailed([FieldError("episode_id", "That CME episode is not this child's")])
    return episode


def change_episode(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    episode_id: int,
    form: dict[str, Any],
    version: int,
    today: date | None = None,
) -> CmeEpisode:
    """Correct the start, the basis or residence; a new primary reason applies from a date
    (its history is kept, so past census days keep the reason they had)."""
    today = today or uk_today()
    case, child = _load(session, actor, reference, "episode.changed")
    episode = _episode_of(session, child, episode_id)
    _check_version(episode, version)
    checked = _check(session, form, child, today)
    if episode.end_date and checked.start_date and checked.start_date >= episode.end_date:
        raise ValidationFailed(
            [FieldError("start_date", "The start must be before the episode ended")]
        )
    if checked.reason != episode.primary_reason:
        _check_reason_from(session, episode, checked.reason_from or today)
    before = _state(episode)
    episode.start_date, episode.start_basis = checked.start_date, checked.start_basis
    episode.lives_in_la = checked.lives_in_la
    if checked.reason != episode.primary_reason:
        session.add(
            EpisodeReason(
                episode_id=episode.id,
                reason=checked.reason,
                from_date=checked.reason_from or today,
                changed_by_id=actor.user_id if actor else None,
                source=REASON_BY_HAND,
            )
        )
        episode.primary_reason = checked.reason
    episode.to_confirm = False  # an officer has now looked at it
    _saved(session, episode)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="episode.changed",
        detail={"episode_id": episode.id, **audit.changes(before, _state(episode))},
    )
    return episode


def _check_reason_from(session: Session, episode: CmeEpisode, reason_from: date) -> None:
    """A new reason applies after the last change: history stays in date order, so the reason
    in force on any day is the stored one from that day on (census.py reads it so)."""
    history = reason_history(session, episode.id)
    last = history[-1].from_date if history else None
    if last is not None and reason_from < last:
        raise ValidationFailed([FieldError(
            "reason_from", f"The new reason can't apply from before the last change, on "
            f"{long_date(last)}")])


def end_episode(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    episode_id: int,
    form: dict[str, Any],
    version: int,
    today: date | None = None,
) -> CmeEpisode:
    today = today or uk_today()
    case, child = _load(session, actor, reference, "episode.ended")
    episode = _episode_of(session, child, episode_id)
    _check_version(episode, version)
    if episode.end_date is not None:
        raise ValidationFailed([FieldError("end_date", "This episode has already ended")])
    errors: list[FieldError] = []
    end = _date(form, "end_date", errors, "date the episode ended", today)
    if end and episode.start_date and end <= episode.start_date:
        errors.append(FieldError("end_date", "The end must be after the episode started"))
    reason = str(form.get("end_reason") or "")
    if reason not in END_CHOICES:
        errors.append(FieldError("end_reason", "Choose why the episode ended"))
    if errors:
        raise ValidationFailed(errors)
    before = _state(episode)
    episode.end_date, episode.end_reason = end, reason
    episode.whereabouts_unknown, episode.review_on = False, None
    _saved(session, episode)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="episode.ended",
        detail={"episode_id": episode.id, **audit.changes(before, _state(episode))},
    )
    return episode


def _saved(session: Session, episode: CmeEpisode) -> None:
    episode.version += 1
    episode.updated_at = utcnow()
    session.add(episode)
    session.flush()


# ---------------------------------------------------------------------------------------------
# The securing-education steps (services/casework/securing.py) set the reason


def reason_set_by_hand(session: Session, episode: CmeEpisode) -> EpisodeReason | None:
    """The reason in force, if an officer chose it by hand (the steps then leave it)."""
    history = reason_history(session, episode.id)
    last = history[-1] if history else None
    return last if last is not None and last.source == REASON_BY_HAND else None


def follow_steps(session: Session, *, case: Case, actor: Actor, reason: str,
                 on: date, again: bool = False) -> EpisodeReason | None:
    """Set the child's open episode's primary reason to what the steps say, from `on` (kept
    after the last change, so the history stays in date order), unless an officer chose the
    reason by hand (`again`: an officer hands it back to the steps). The new history row, or
    None when nothing changed."""
    episode = open_episode(session, case.child_id)
    if episode is None:
        return None
    by_hand = reason_set_by_hand(session, episode) is not None
    if (by_hand and not again) or (episode.primary_reason == reason and not by_hand):
        return None
    history = reason_history(session, episode.id)
    floor = [d for d in (history[-1].from_date if history else None, episode.start_date) if d]
    from_date = max([on, *floor])
    before = _state(episode)
    row = EpisodeReason(episode_id=episode.id, reason=reason, from_date=from_date,
                        changed_by_id=actor.user_id, source=REASON_FROM_STEPS)
    session.add(row)
    episode.primary_reason = reason
    _saved(session, episode)
    audit.case_event(session, actor=actor, case=case, action="episode.reason_followed",
                     detail={"episode_id": episode.id, "from_date": from_date.isoformat(),
                             **audit.changes(before, _state(episode))})
    return row


# ---------------------------------------------------------------------------------------------
# Closing a case (closure.ClosureOutcome.episode_end says what each outcome does)

WHEREABOUTS_UNKNOWN = "whereabouts_unknown"  # the untraceable outcome: stays CME, reviewed


def _untraceable_episode(session: Session, case: Case, actor: Actor, basis: str,
                         start_on: date) -> CmeEpisode:
    """An untraceable child with no open episode (the school's roll had them until now)
    becomes CME from the off-roll date, or from the closure."""
    episode = begin(session, child_id=case.child_id, case_id=case.id, start_date=start_on,
                    basis=basis, reason="Unknown", lives_in_la=True, by_id=actor.user_id)
    audit.case_event(session, actor=actor, case=case, action="episode.started",
                     detail={"episode_id": episode.id, "from": "untraceable closure",
                             **_state(episode)})
    return episode


def after_closure(
    session: Session, *, case: Case, actor: Actor, episode_end: str | None, end_on: date,
    start_basis: str = EpisodeStartBasis.IDENTIFIED_NO_ROLL,
) -> CmeEpisode | None:
    """End the child's open episode as the closure says; an untraceable child stays counted
    as CME with whereabouts unknown and a review date, as DfE counts them."""
    episode = open_episode(session, case.child_id)
    if episode is None and episode_end == WHEREABOUTS_UNKNOWN:
        episode = _untraceable_episode(session, case, actor, start_basis, end_on)
    if episode is None or episode_end is None:
        return episode
    before = _state(episode)
    if episode_end == WHEREABOUTS_UNKNOWN:
        episode.whereabouts_unknown = True
        episode.review_on = end_on + timedelta(days=get_settings().untraceable_review_days)
    else:
        start = episode.start_date
        episode.end_date = end_on if start is None or end_on > start else start + timedelta(1)
        episode.end_reason = EpisodeEndReason(episode_end)
    _saved(session, episode)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="episode.closed_with_case",
        detail={"episode_id": episode.id, **audit.changes(before, _state(episode))},
    )
    return episode


# ---------------------------------------------------------------------------------------------
# The case page's panel


_HOW = {REASON_BY_HAND: ", chosen by hand", REASON_FROM_STEPS: ", following the "
        "securing-education steps"}


def _choices(labels: dict[str, str]) -> list[list[str]]:
    return [[value, text] for value, text in labels.items()]


def _started(e: CmeEpisode) -> str:
    basis = EPISODE_START_LABELS.get(e.start_basis, e.start_basis)
    return f"{long_date(e.start_date)} ({basis.lower()})" if e.start_date else "Not known"


def episode_panel(session: Session, child_id: int) -> EpisodePanel:
    """The child's open episode (if any) and its reason history. The case file's view is the
    audited read; this only adds to it."""
    choices = {
        "reason_choices": [[r, r] for r in reason_labels(session)],
        "basis_choices": _choices(START_CHOICES),
        "end_choices": _choices(END_CHOICES),
    }
    e = open_episode(session, child_id)
    if e is None:
        return EpisodePanel(**choices)
    history = reason_history(session, e.id)
    names = dict(
        session.exec(
            select(User.id, User.name).where(col(User.id).in_({h.changed_by_id for h in history}))
        ).all()
    )
    rows = [
        Row("Started", _started(e)),
        Row("Primary reason", e.primary_reason),
        Row("Lives in the local authority", "Yes" if e.lives_in_la else "No"),
    ]
    if e.whereabouts_unknown:
        rows.append(Row("Whereabouts", f"Unknown – review by {long_date(e.review_on)}"))
    return EpisodePanel(
        id=e.id or 0,
        version=e.version,
        rows=rows,
        to_confirm=e.to_confirm,
        whereabouts_unknown=e.whereabouts_unknown,
        review_on=long_date(e.review_on),
        start_date=e.start_date.isoformat() if e.start_date else "",
        start_basis="" if e.start_basis == EpisodeStartBasis.MIGRATED else e.start_basis,
        lives_in_la="yes" if e.lives_in_la else "no",
        primary_reason=e.primary_reason,
        reason_history=[
            Row(
                f"From {long_date(h.from_date)}",
                f"{h.reason} (recorded by {names.get(h.changed_by_id, 'the system')}"
                f"{_HOW.get(h.source or '', '')})",
            )
            for h in history
        ],
        **choices,
    )
