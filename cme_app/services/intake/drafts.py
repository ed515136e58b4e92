"""The referral form's draft kept while the school types, and kept when a session ends.

The form sends each field as it changes (`autosave`): one small event each, so no single event
carries the whole form, and the draft on the server holds everything typed so far. A referral
too long to send in one event is then submitted from that draft (`referrals.submit` with the
draft's id). If the session timed out meanwhile, what the form still sent is kept in the same
draft (`keep_after_timeout`), for its school only, and the school finds it after signing in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from ...domain import ReferralStatus, Role
from ...errors import NotFound
from ...models import Case, Referral, utcnow
from ...permissions import Actor, Capability, require_school_user
from ..trust import audit, auth
from . import referral_form as rf
from . import referrals
from .referrals import EDITABLE, Receipt, _editable_referral
from .visibility import visible_to

# How long after a session timed out what its form sends is still kept as its draft.
KEEP_AFTER_TIMEOUT = timedelta(hours=12)


def autosave(
    session: Session, *, actor: Actor | None, fields: dict, public_id: str | None = None
) -> Referral:
    """Merge the changed `fields` into the school's draft (a new draft if `public_id` is
    empty). Only known field names are kept; nothing is validated. Another school's draft, or
    a referral no longer editable, is not found."""
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    changes = rf.clean_form_data(fields)
    # Clean the whole again: a draft keeps at most MAX_ROWS rows of each group.
    return referrals.keep_draft(
        session, actor=actor, public_id=public_id, action="referral.draft_autosaved",
        new_data=lambda old: rf.clean_form_data({**old, **changes}), skip_unchanged=True)


def autosave_quietly(
    session: Session, *, actor: Actor | None, fields: dict, public_id: str | None = None
) -> Referral | None:
    """`autosave` for the form's own background saves: a draft that is gone (submitted in
    another tab) or not this school's answers None (audited), and the form stays as typed."""
    try:
        return autosave(session, actor=actor, fields=fields, public_id=public_id)
    except NotFound:
        return None


def drop_row(
    session: Session, *, actor: Actor | None, public_id: str, group: str, row_id: str
) -> Referral:
    """A row removed from the form leaves the draft too."""
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    referral = _editable_referral(session, actor, public_id, "referral.draft_saved")
    prefix = f"{group}-{row_id}-"
    old = dict(referral.form_data or {})
    kept = {k: v for k, v in old.items() if not k.startswith(prefix)}
    if kept != old:
        referral.form_data = kept
        referral.updated_at = utcnow()
        session.add(referral)
        audit.record(
            session, actor=actor, action="referral.draft_autosaved", entity_type="referral",
            entity_id=referral.public_id, detail={"fields_changed": sorted(old.keys() - kept)},
        )
    return referral


def keep_after_timeout(
    session: Session, *, token: str | None, fields: dict, public_id: str | None = None,
    ip: str | None = None,
) -> str | None:
    """The form spoke after its session timed out: keep what it sent in its school's draft,
    as the person whose session it was. Returns the draft's public id, or None when the
    session was signed out or revoked, ended too long ago, or was not a school user's (then
    nothing is written). Never reads anything back: the draft opens only after signing in."""
    actor = auth.actor_of_timed_out_session(session, token, ip, within=KEEP_AFTER_TIMEOUT)
    if actor is None or actor.role != Role.SCHOOL or actor.school_id is None:
        return None
    if public_id and not _editable(session, actor, public_id):
        public_id = None  # not theirs, or sent meanwhile: keep what came in a new draft
    referral = autosave(session, actor=actor, fields=fields, public_id=public_id or None)
    audit.record(
        session,
        actor=actor,
        action="referral.draft_kept_after_timeout",
        entity_type="referral",
        entity_id=referral.public_id,
    )
    return referral.public_id


def _editable(session: Session, actor: Actor, public_id: str) -> bool:
    return session.exec(
        select(Referral.id).where(
            Referral.public_id == public_id[:32], visible_to(actor),
            Referral.status.in_(EDITABLE),
        )
    ).first() is not None


def submit_draft(
    session: Session, *, actor: Actor | None, public_id: str, submission_id: str | None = None
) -> Receipt:
    """Submit the school's draft as the server holds it: for a referral too long to send in
    one event, whose fields the form has sent one by one. The same rules as any submit."""
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    referral = session.exec(
        select(Referral).where(
            Referral.public_id == (public_id or "")[:32], visible_to(actor),
            Referral.status.in_(EDITABLE),
        )
    ).first()
    form = dict(referral.form_data or {}) if referral is not None else {}
    # Not editable (or not theirs): `submit` answers a repeat from its submission id, and
    # otherwise not found (audited).
    return referrals.submit_with_receipt(session, actor=actor, form=form, public_id=public_id,
                                         submission_id=submission_id)


def sent_receipt(session: Session, *, actor: Actor | None, public_id: str) -> Receipt | None:
    """The confirmation of the school's own referral that this draft has become: its page
    loaded again after the submit (a reload, or a reconnect whose load came after the submit it
    had queued). None when the draft is still editable, or not this school's."""
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    row = session.exec(
        select(Referral.public_id, Referral.late, Case.reference)
        .join(Case, Case.referral_id == Referral.id)
        .where(Referral.public_id == (public_id or "")[:32], visible_to(actor),
               Referral.status.not_in(EDITABLE))
    ).first()
    if row is None:
        return None
    audit.record(session, actor=actor, action="referral.receipt_shown", entity_type="referral",
                 entity_id=row[0])
    return Receipt(reference=row[2], late=bool(row[1]))


@dataclass(frozen=True)
class OpenedDraft:
    """A draft as the form opens it; for a referral the CME team sent back, its reference
    and what the team asked for."""

    form: dict[str, str]
    reference: str = ""
    request: str = ""


def open_with_request(session: Session, *, actor: Actor | None, public_id: str) -> OpenedDraft:
    """The school's draft (audited by `referrals.open_draft`), and the team's request if the
    referral was sent back for more information."""
    form = referrals.open_draft(session, actor=actor, public_id=public_id)
    row = session.exec(
        select(Referral.status, Referral.return_note, Case.reference)
        .join(Case, Case.referral_id == Referral.id, isouter=True)
        .where(Referral.public_id == public_id[:32])
    ).first()
    if row is None or row[0] != ReferralStatus.RETURNED:
        return OpenedDraft(form)
    return OpenedDraft(form, reference=row[2] or "", request=row[1] or "")
