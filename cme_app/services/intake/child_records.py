"""One record per child (issue 15): matching proposes, an officer confirms or rejects, a lead
can undo a merge.

When a case opens, `propose_matches` looks for other live (not merged) records of the same
child: the same UPN, the same first and last name and date of birth, or the same last known
address and surname. Each pair is proposed once (a `ChildMatch`), never again once an officer
has answered it. Confirming merges the newer record into the one already known: its cases,
referrals, addresses, people and CME episodes move, the rows moved are kept on a `ChildMerge`,
and the merged record stays (empty, `merged_into_id` set) so the undo and the audit trail still
work. Audit events are append-only and are never rewritten: the views of a child's whole trail
follow `merged_into_id` instead (child_ids.py).

Matching is for the LA only: the case page shows it, a school's pages never do (a school's
referral shows the child as its own form described them, referral_view.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlmodel import Session, SQLModel, col, or_, select

from ...dates import short_date, uk_today
from ...domain import (
    EPISODE_END_LABELS,
    EPISODE_START_LABELS,
    STAGE_LABELS,
    AddressKind,
    Stage,
)
from ...errors import FieldError, NotFound, Refusal, ValidationFailed
from ...models import (
    Address,
    Case,
    Child,
    ChildFacts,
    ChildMatch,
    ChildMerge,
    CmeEpisode,
    Person,
    Referral,
    User,
    insert_rows,
    utcnow,
)
from ...permissions import Actor, Capability, allows, require
from ..casework import risk, targets
from ..casework.case_file_types import (
    CaseHistoryRow,
    ChildMatchRow,
    ChildMergeRow,
    EpisodeHistoryRow,
)
from ..casework.closure import outcome_label
from ..casework.lifecycle import touch
from ..returns import episodes
from ..school_calendar.school_days import load_calendar
from ..trust import audit
from .child_ids import live_record

BASIS_LABELS = {
    "upn": "Same UPN",
    "name_dob": "Same name and date of birth",
    "address_surname": "Same home address and surname",
}
# The rows that belong to a child record and move with a merge, by table name (the names the
# 0010 migration's merges recorded too). Audit events never move; ChildMatch rows are about
# the records themselves.
MOVABLE: dict[str, type[SQLModel]] = {
    "case": Case,
    "referral": Referral,
    "address": Address,
    "person": Person,
    "cmeepisode": CmeEpisode,
}
REASON_MIN, REASON_MAX = 10, 1000
PROPOSED, CONFIRMED, REJECTED, UNDONE = "proposed", "confirmed", "rejected", "undone"
BEFORE_TRIAGE = (Stage.NEW_REFERRAL, Stage.TRIAGE)


# ---------------------------------------------------------------------------------------------
# Proposing


def propose_matches(session: Session, child: Child) -> list[ChildMatch]:
    """Propose every other live record that looks like this child (a system step of opening a
    case, so no actor). Each pair once, newer record first; never a pair already answered."""
    return propose_matches_many(session, [child])


def propose_matches_many(session: Session, children: list[Child] | list[ChildFacts], *,
                         load: bool = True) -> list[ChildMatch]:
    """`propose_matches` for many new records at once (a bulk import), in a few queries.
    load=False: propose only, and return nothing (opening a case needs no rows back)."""
    live = [c for c in children
            if c is not None and c.id is not None and c.merged_into_id is None]
    if not live:
        return []
    paired = _pairs_with(session, {c.id for c in live})
    candidates = _candidates_many(session, live)
    rows, events = [], []
    for child in live:
        for other_id, basis in candidates[child.id].items():
            pair = (max(child.id, other_id), min(child.id, other_id))
            if pair in paired:
                continue
            paired.add(pair)
            rows.append({"child_id": pair[0], "candidate_id": pair[1], "basis": basis})
    if not rows:
        return []
    ids = insert_rows(session, ChildMatch, rows)
    for match_id, row in zip(ids, rows, strict=True):
        events += [{"actor_role": "system", "action": "child.match_proposed",
                    "entity_type": "child_match", "entity_id": match_id, "child_id": about,
                    "detail": {"basis": row["basis"], "child_id": row["child_id"],
                               "candidate_id": row["candidate_id"]}}
                   for about in (row["child_id"], row["candidate_id"])]
    audit.record_many(session, events)
    if not load:
        return []
    return list(session.exec(select(ChildMatch).where(col(ChildMatch.id).in_(ids))
                             .order_by(col(ChildMatch.id))).all())


def _pairs_with(session: Session, child_ids: set[int]) -> set[tuple[int, int]]:
    """Pairs (newer, older) already proposed with any of these records, whatever the answer."""
    rows = session.exec(select(ChildMatch.child_id, ChildMatch.candidate_id).where(
        or_(col(ChildMatch.child_id).in_(child_ids),
            col(ChildMatch.candidate_id).in_(child_ids)))).all()
    return {(max(a, b), min(a, b)) for a, b in rows}


def _candidates_many(session: Session,
                     children: list[Child | ChildFacts]) -> dict[int, dict[int, str]]:
    """For each record, the other live records and the strongest basis each matches on (UPN,
    then name and date of birth, then last known address and surname), by id."""
    found: dict[int, dict[int, str]] = {c.id: {} for c in children}
    live = col(Child.merged_into_id).is_(None)
    upns = {c.upn for c in children if c.upn}
    by_upn: dict[str, list[int]] = {}
    for other, upn in session.exec(select(Child.id, Child.upn).where(
            live, col(Child.upn).in_(upns))).all() if upns else ():
        by_upn.setdefault(upn, []).append(other)
    by_name: dict[tuple[str, str, date], list[int]] = {}
    wanted = {_name_key(c.first_name, c.last_name, c.date_of_birth) for c in children}
    for other, first, last, dob in session.exec(select(
            Child.id, Child.first_name, Child.last_name, Child.date_of_birth).where(
            live, col(Child.date_of_birth).in_({c.date_of_birth for c in children}))).all():
        key = (first.strip().lower(), last.strip().lower(), dob)  # _name_key, inline: hot
        if key in wanted:
            by_name.setdefault(key, []).append(other)
    by_home = _same_home_and_surname_many(session, children)
    for c in children:
        found[c.id].update((o, "upn") for o in by_upn.get(c.upn or "", ()))
        for other in by_name.get(_name_key(c.first_name, c.last_name, c.date_of_birth), ()):
            found[c.id].setdefault(other, "name_dob")
        for other in by_home.get(c.id, ()):
            found[c.id].setdefault(other, "address_surname")
        found[c.id].pop(c.id, None)
        found[c.id] = dict(sorted(found[c.id].items()))
    return found


def _name_key(first: str, last: str, dob: date) -> tuple[str, str, date]:
    return first.strip().lower(), last.strip().lower(), dob


def _same_home_and_surname_many(session: Session,
                                children: list[Child | ChildFacts]) -> dict[int, set[int]]:
    homes = session.exec(select(Address.child_id, Address.line1, Address.postcode).where(
        col(Address.child_id).in_([c.id for c in children]),
        Address.kind == AddressKind.LAST_KNOWN, col(Address.postcode).is_not(None))).all()
    if not homes:
        return {}
    surname = {c.id: c.last_name.strip().lower() for c in children}
    at: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for other, last, line1, postcode in session.exec(
            select(Child.id, Child.last_name, Address.line1, Address.postcode)
            .join(Address, Address.child_id == Child.id)
            .where(col(Child.merged_into_id).is_(None), Address.kind == AddressKind.LAST_KNOWN,
                   col(Address.postcode).in_({p for _c, _l, p in homes}))).all():
        at.setdefault((postcode, line1.strip().lower()), []).append((other, last.strip().lower()))
    found: dict[int, set[int]] = {}
    for child_id, line1, postcode in homes:
        for other, last in at.get((postcode, line1.strip().lower()), ()):
            if other != child_id and last == surname[child_id]:
                found.setdefault(child_id, set()).add(other)
    return found


# ---------------------------------------------------------------------------------------------
# Answering a proposal


def _require(session: Session, actor: Actor | None, capability: Capability, *, action: str,
             entity_type: str, entity_id: Any) -> Actor:
    """`require`, with a signed-in user's refused attempt kept in the trail."""
    if actor is not None and not allows(actor.role, capability):
        audit.record(session, actor=actor, action=action, outcome="refused",
                     entity_type=entity_type, entity_id=str(entity_id)[:64])
    return require(actor, capability)


def _checked(record_id: Any, id_field: str, reason: Any, what: str) -> tuple[int, str]:
    errors = []
    ok_id = isinstance(record_id, int) and not isinstance(record_id, bool) and record_id > 0
    if not ok_id:
        errors.append(FieldError(id_field, f"Choose the {what}"))
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) < REASON_MIN:
        errors.append(FieldError("reason", f"Give the reason, in at least {REASON_MIN} characters"))
    elif len(text) > REASON_MAX:
        errors.append(FieldError("reason", f"The reason must be {REASON_MAX} characters or fewer"))
    if errors:
        raise ValidationFailed(errors)
    return record_id, text


def _proposed(session: Session, match_id: int) -> ChildMatch:
    match = session.exec(
        select(ChildMatch).where(ChildMatch.id == match_id).with_for_update()).first()
    if match is None:
        raise NotFound("That possible match was not found.")
    if match.status != PROPOSED:
        raise Refusal(f"That possible match has already been answered ({match.status}).")
    return match


def _decide(match: ChildMatch, actor: Actor, status: str, reason: str) -> None:
    match.status, match.reason = status, reason
    match.decided_by_id, match.decided_at = actor.user_id, utcnow()


def reject_match(session: Session, *, actor: Actor | None, match_id: Any,
                 reason: Any) -> ChildMatch:
    """Not the same child: the pair is never proposed again."""
    actor = _require(session, actor, Capability.CHILD_MATCH, action="child.match_rejected",
                     entity_type="child_match", entity_id=match_id)
    match_id, reason = _checked(match_id, "match_id", reason, "possible match")
    match = _proposed(session, match_id)
    _decide(match, actor, REJECTED, reason)
    session.add(match)
    session.flush()
    for about in (match.child_id, match.candidate_id):
        audit.record(session, actor=actor, action="child.match_rejected",
                     entity_type="child_match", entity_id=match.id, child_id=about,
                     detail={"child_id": match.child_id, "candidate_id": match.candidate_id,
                             "reason": reason[:200]})
    return match


def confirm_match(session: Session, *, actor: Actor | None, match_id: Any, reason: Any,
                  today: date | None = None) -> ChildMerge:
    """The same child: merge the newer record into the one already known."""
    actor = _require(session, actor, Capability.CHILD_MATCH, action="child.match_confirmed",
                     entity_type="child_match", entity_id=match_id)
    match_id, reason = _checked(match_id, "match_id", reason, "possible match")
    match = _proposed(session, match_id)
    newer, known = session.get(Child, match.child_id), session.get(Child, match.candidate_id)
    assert newer is not None and known is not None
    if newer.merged_into_id is not None or known.merged_into_id is not None:
        raise Refusal("One of these records has already been merged into another. Reload the "
                      "page to see the child's record as it is now.")
    if episodes.open_episode(session, newer.id) and episodes.open_episode(session, known.id):
        raise Refusal("Both records have an open CME episode. End the one recorded in error "
                      "(why it ended: recorded in error, duplicate) before merging.")
    _decide(match, actor, CONFIRMED, reason)
    session.add(match)
    merge = _merge(session, actor, newer, known, reason)
    refreshed = _refresh_previous_episode(session, actor, known.id, today or uk_today())
    audit.record(session, actor=actor, action="child.match_confirmed", entity_type="child_match",
                 entity_id=match.id, child_id=known.id,
                 detail={"child_id": newer.id, "candidate_id": known.id, "merge_id": merge.id,
                         "reason": reason[:200]})
    _audit_merge(session, actor, "child.merged", merge,
                 {"moved": merge.moved, "reason": reason[:200], "refreshed": refreshed})
    return merge


def _merge(session: Session, actor: Actor, newer: Child, known: Child, reason: str) -> ChildMerge:
    moved: dict[str, list[int]] = {}
    for name, model in MOVABLE.items():
        rows = session.exec(select(model).where(model.child_id == newer.id)
                            .order_by(model.id)).all()
        for row in rows:
            row.child_id = known.id
            if isinstance(row, Case):
                touch(row, actor)  # the case's child changed: a page showing it is stale
            session.add(row)
        moved[name] = [row.id for row in rows]
    newer.merged_into_id = known.id
    session.add(newer)
    merge = ChildMerge(from_child_id=newer.id, into_child_id=known.id, moved=moved,
                       reason=reason, merged_by_id=actor.user_id)
    session.add(merge)
    session.flush()
    return merge


def _audit_merge(session: Session, actor: Actor, action: str, merge: ChildMerge,
                 detail: dict[str, Any]) -> None:
    """A merge or its undo, filed under both records so each child's trail shows it."""
    for about in (merge.from_child_id, merge.into_child_id):
        audit.record(session, actor=actor, action=action, entity_type="child_merge",
                     entity_id=merge.id, child_id=about,
                     detail={"from_child_id": merge.from_child_id,
                             "into_child_id": merge.into_child_id, **detail})


def _refresh_previous_episode(session: Session, actor: Actor, child_id: int,
                              today: date) -> list[str]:
    """Triage starts from facts: for the child's cases not yet past Triage, "Previous CME
    episode" is now ticked exactly when the record shows one. The officer's other factors stay;
    an untriaged case's proposed risk and triage date follow (the date never gets later)."""
    child = session.get(Child, child_id)
    cases = session.exec(select(Case).where(
        Case.child_id == child_id, col(Case.stage).in_(BEFORE_TRIAGE))).all()
    changed = []
    for case in cases:
        referral = session.get(Referral, case.referral_id)
        fact = risk.has_previous_episode(session, child, referral)
        factors = [f for f in case.risk_factors or [] if f != "previous_cme"]
        factors = risk.clean_factors(factors + (["previous_cme"] if fact else []))
        if factors == list(case.risk_factors or []):
            continue
        case.risk_factors = factors
        case.proposed_risk = risk.propose(factors)
        if case.risk is None:
            due = targets.triage_due(case.proposed_risk, today, load_calendar(session))
            case.triage_due_on = min(d for d in (case.triage_due_on, due) if d)
        touch(case, actor)
        session.add(case)
        changed.append(case.reference)
    session.flush()
    return changed


# ---------------------------------------------------------------------------------------------
# Undoing a merge


def undo_merge(session: Session, *, actor: Actor | None, merge_id: Any, reason: Any,
               today: date | None = None) -> ChildMerge:
    """A lead puts back exactly the rows the merge moved, and the record stands alone again."""
    actor = _require(session, actor, Capability.CHILD_MERGE_UNDO, action="child.merge_undone",
                     entity_type="child_merge", entity_id=merge_id)
    merge_id, reason = _checked(merge_id, "merge_id", reason, "merge to undo")
    merge = session.exec(
        select(ChildMerge).where(ChildMerge.id == merge_id).with_for_update()).first()
    if merge is None:
        raise NotFound("That merge was not found.")
    if merge.undone_at is not None:
        raise Refusal("That merge has already been undone.")
    merged = session.get(Child, merge.from_child_id)
    kept = session.get(Child, merge.into_child_id)
    assert merged is not None and kept is not None
    if kept.merged_into_id is not None:
        raise Refusal("The record this one was merged into has since been merged itself. "
                      "Undo that later merge first.")
    back = _move_back(session, merge)
    merged.merged_into_id = None
    merge.undone_at, merge.undone_by_id, merge.undo_reason = utcnow(), actor.user_id, reason
    session.add_all([merged, merge])
    _unconfirm(session, merge)
    session.flush()
    day = today or uk_today()
    refreshed = [*_refresh_previous_episode(session, actor, kept.id, day),
                 *_refresh_previous_episode(session, actor, merged.id, day)]
    _audit_merge(session, actor, "child.merge_undone", merge,
                 {"moved_back": back, "reason": reason[:200], "refreshed": refreshed})
    return merge


def _move_back(session: Session, merge: ChildMerge) -> dict[str, list[int]]:
    """The recorded rows still with the kept record go back (a row destroyed since stays gone)."""
    back: dict[str, list[int]] = {}
    for name, ids in (merge.moved or {}).items():
        model = MOVABLE.get(name)
        if model is None or not ids:
            continue
        rows = session.exec(select(model).where(
            col(model.id).in_(ids), model.child_id == merge.into_child_id)).all()
        for row in rows:
            row.child_id = merge.from_child_id
            session.add(row)
        back[name] = sorted(row.id for row in rows)
    return back


def _unconfirm(session: Session, merge: ChildMerge) -> None:
    """The match that made the merge is marked undone, so it is not proposed again."""
    match = session.exec(select(ChildMatch).where(
        ChildMatch.child_id == merge.from_child_id,
        ChildMatch.candidate_id == merge.into_child_id, ChildMatch.status == CONFIRMED)).first()
    if match is not None:
        match.status = UNDONE
        session.add(match)


# ---------------------------------------------------------------------------------------------
# What the case page shows


def child_history(session: Session, *, actor: Actor | None,
                  child_id: Any) -> tuple[list[EpisodeHistoryRow], list[CaseHistoryRow]]:
    """Every CME episode and every case of the child's record, newest first."""
    require(actor, Capability.CASE_VIEW)
    child = session.get(Child, child_id) if isinstance(child_id, int) else None
    if child is None or isinstance(child_id, bool):
        raise NotFound("That child was not found.")
    child_id = live_record(session, child.id)
    references = dict(session.exec(
        select(Case.id, Case.reference).where(Case.child_id == child_id)).all())
    rows = [
        EpisodeHistoryRow(
            start=short_date(e.start_date) or "Not known",
            basis=EPISODE_START_LABELS.get(e.start_basis, e.start_basis),
            reason=e.primary_reason,
            end=short_date(e.end_date),
            end_reason=EPISODE_END_LABELS.get(e.end_reason or "", e.end_reason or ""),
            case_reference=references.get(e.case_id, "") if e.case_id else "",
        )
        for e in episodes.child_episodes(session, child_id)
    ]
    cases = session.exec(select(Case).where(Case.child_id == child_id)
                         .order_by(col(Case.opened_at).desc(), col(Case.id).desc())).all()
    return rows, [
        CaseHistoryRow(c.reference, STAGE_LABELS.get(c.stage, c.stage), short_date(c.opened_at),
                       outcome_label(c.outcome) if c.stage == Stage.CLOSED else "", False)
        for c in cases
    ]


def case_file_part(session: Session, *, actor: Actor, case: Case) -> dict[str, Any]:
    """The case file's child-record fields: history, open proposals and merges."""
    history_episodes, history_cases = child_history(session, actor=actor, child_id=case.child_id)
    return dict(
        history_episodes=history_episodes,
        history_cases=[replace(r, this_case=r.reference == case.reference)
                       for r in history_cases],
        child_matches=_match_rows(session, case.child_id),
        child_merges=_merge_rows(session, case.child_id),
    )


def _match_rows(session: Session, child_id: int) -> list[ChildMatchRow]:
    matches = session.exec(select(ChildMatch).where(
        ChildMatch.status == PROPOSED,
        or_(ChildMatch.child_id == child_id, ChildMatch.candidate_id == child_id),
    ).order_by(ChildMatch.id)).all()
    rows = []
    for m in matches:
        other = session.get(Child, m.candidate_id if m.child_id == child_id else m.child_id)
        if other is None or other.merged_into_id is not None:
            continue
        cases = session.exec(select(Case.reference).where(Case.child_id == other.id)
                             .order_by(Case.reference)).all()
        rows.append(ChildMatchRow(
            id=m.id, name=f"{other.first_name} {other.last_name}",
            born=short_date(other.date_of_birth), upn=other.upn or "Not given",
            why=BASIS_LABELS.get(m.basis, m.basis), cases=list(cases),
        ))
    return rows


def _merge_rows(session: Session, child_id: int) -> list[ChildMergeRow]:
    found = session.exec(
        select(ChildMerge, Child, User.name)
        .join(Child, Child.id == ChildMerge.from_child_id)
        .join(User, User.id == ChildMerge.merged_by_id, isouter=True)
        .where(ChildMerge.into_child_id == child_id, col(ChildMerge.undone_at).is_(None))
        .order_by(col(ChildMerge.id).desc()).limit(10)
    ).all()
    return [
        ChildMergeRow(id=m.id, merged_on=short_date(m.merged_at), by=by or "Data migration",
                      name=f"{merged.first_name} {merged.last_name}", moved=_moved_text(m.moved),
                      reason=m.reason)
        for m, merged, by in found
    ]


_MOVED_WORDS = {"case": ("case", "cases"), "referral": ("referral", "referrals"),
                "address": ("address", "addresses"), "person": ("person", "people"),
                "cmeepisode": ("CME episode", "CME episodes")}


def _moved_text(moved: dict[str, list[int]] | None) -> str:
    parts = []
    for name, (one, many) in _MOVED_WORDS.items():
        count = len((moved or {}).get(name) or [])
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts) or "Nothing"
