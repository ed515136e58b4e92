"""How people are told: a person's own choice (email at once or the daily digest) for each
event they receive, and for team leads the team's switches, email defaults and duty officer.

Who receives each event is data in notifications.EVENTS; who may change these settings is
the permissions table (NOTIFICATION_PREFERENCES, TEAM_NOTIFICATION_RULES).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from ...domain import Delivery, NotifyEvent
from ...errors import FieldError, ValidationFailed
from ...models import NotificationPreference, NotificationRule, TeamSettings, User, utcnow
from ...permissions import Actor, Capability, require, roles_with
from ..trust import audit
from .notifications import EVENTS, delivery_for, rule

DELIVERIES = (Delivery.IMMEDIATE, Delivery.DIGEST)


# ---------------------------------------------------------------------------------------------
# A person's own choices


@dataclass(frozen=True)
class PreferenceRow:
    event: str
    label: str
    who: str
    delivery: str
    locked: bool  # urgent: always immediate
    enabled: bool  # the team has it switched on


def preferences(session: Session, *, actor: Actor | None) -> list[PreferenceRow]:
    """The events the actor receives, and how they are told of each."""
    if actor is None:
        return []
    return [
        PreferenceRow(
            event=str(event),
            label=info.label,
            who=info.who,
            delivery=str(delivery_for(session, actor.user_id, event)),
            locked=info.urgent,
            enabled=info.urgent or rule(session, event).enabled,
        )
        for event, info in EVENTS.items()
        if actor.role in info.roles
    ]


def _event(value: object) -> NotifyEvent | None:
    try:
        return NotifyEvent(str(value))
    except ValueError:
        return None


def _choice_error(actor: Actor, raw_event: object, raw_delivery: object) -> FieldError | None:
    """What is wrong with one {event: delivery} choice, if anything."""
    event = _event(raw_event)
    if event is None or actor.role not in EVENTS[event].roles:
        return FieldError("delivery", "Choose how you want to be emailed")
    if EVENTS[event].urgent:
        return FieldError(f"delivery-{event}", f"{EVENTS[event].label} is always emailed")
    if not isinstance(raw_delivery, str) or raw_delivery not in DELIVERIES:
        return FieldError(f"delivery-{event}", f"Choose how to be told: {EVENTS[event].label}")
    return None


def _checked_choices(actor: Actor, choices: object) -> dict[NotifyEvent, Delivery]:
    """Urgent events and events the actor's role never receives are refused."""
    if not isinstance(choices, dict) or len(choices) > len(EVENTS):
        raise ValidationFailed([FieldError("delivery", "Choose how you want to be emailed")])
    errors = [e for e in (_choice_error(actor, k, v) for k, v in choices.items()) if e]
    if errors:
        raise ValidationFailed(errors)
    return {NotifyEvent(str(k)): Delivery(v) for k, v in choices.items()}


def set_preferences(session: Session, *, actor: Actor | None, choices: dict) -> int:
    """Save the actor's digest/immediate choices ({event: delivery}); how many were saved."""
    actor = require(actor, Capability.NOTIFICATION_PREFERENCES)
    changes = _checked_choices(actor, choices)
    before, after = {}, {}
    for event, delivery in changes.items():
        old = delivery_for(session, actor.user_id, event)
        if old != delivery:
            before[str(event)], after[str(event)] = str(old), str(delivery)
        # Kept even when it equals the team default: it is the person's own choice.
        row = session.get(NotificationPreference, (actor.user_id, str(event)))
        if row is None:
            row = NotificationPreference(user_id=actor.user_id, event=str(event), delivery="")
        row.delivery = str(delivery)
        row.updated_at = utcnow()
        session.add(row)
    if after:
        audit.record(
            session,
            actor=actor,
            action="notification.preferences_changed",
            entity_type="user",
            entity_id=actor.user_id,
            detail={"before": before, "after": after},
        )
    session.flush()
    return len(changes)


def save_changed_choices(session: Session, *, actor: Actor | None, choices: dict) -> int:
    """The settings form sends every choice; only those the person changed are saved, so an
    untouched event keeps following the team's default if a lead changes it later. Returns
    how many changed."""
    actor = require(actor, Capability.NOTIFICATION_PREFERENCES)
    if not choices:
        raise ValidationFailed([FieldError("delivery", "Choose how you want to be told")])
    now = {p.event: p.delivery for p in preferences(session, actor=actor)}
    changed = {e: d for e, d in choices.items() if now.get(e) != d}
    if changed:
        set_preferences(session, actor=actor, choices=changed)
    return len(changed)


# ---------------------------------------------------------------------------------------------
# The team's rules and the duty officer


@dataclass(frozen=True)
class TeamRuleRow:
    event: str
    label: str
    who: str
    enabled: bool
    default_delivery: str
    locked: bool


def team_rules(session: Session, *, actor: Actor | None) -> list[TeamRuleRow]:
    require(actor, Capability.TEAM_NOTIFICATION_RULES)
    rows = []
    for event, info in EVENTS.items():
        r = rule(session, event)
        rows.append(
            TeamRuleRow(
                event=str(event),
                label=info.label,
                who=info.who,
                enabled=info.urgent or r.enabled,
                default_delivery=str(Delivery.IMMEDIATE if info.urgent else r.default_delivery),
                locked=info.urgent,
            )
        )
    return rows


def _checked_rules(form: object) -> dict[NotifyEvent, tuple[bool, str]]:
    """{event: (switched on, default delivery)} for every event that can be switched off."""
    data = form if isinstance(form, dict) else {}
    errors, rules = [], {}
    for event, info in EVENTS.items():
        if info.urgent:
            continue
        default = data.get(f"default-{event}")
        if not isinstance(default, str) or default not in DELIVERIES:
            errors.append(FieldError(f"default-{event}", f"Choose the default: {info.label}"))
            continue
        ticked = data.get(f"enabled-{event}")
        rules[event] = (ticked is True or ticked in ("on", "true"), str(default))
    if errors:
        raise ValidationFailed(errors)
    return rules


def set_team_rules(session: Session, *, actor: Actor | None, form: dict) -> None:
    """Leads switch events on or off and choose the email default for the team.

    `form` holds `enabled-<event>` ("on" when ticked) and `default-<event>` for every
    non-urgent event; a missing tick means off, as an HTML form sends it.
    """
    actor = require(actor, Capability.TEAM_NOTIFICATION_RULES)
    before, after = {}, {}
    for event, (enabled, default) in _checked_rules(form).items():
        row = session.get(NotificationRule, str(event))
        old = rule(session, event)
        if (old.enabled, old.default_delivery) == (enabled, default):
            continue
        before[str(event)] = [old.enabled, old.default_delivery]
        after[str(event)] = [enabled, default]
        row = row or NotificationRule(event=str(event), default_delivery=default)
        row.enabled, row.default_delivery = enabled, default
        row.updated_by_id, row.updated_at = actor.user_id, utcnow()
        session.add(row)
    if after:
        audit.record(
            session,
            actor=actor,
            action="notification.team_rules_changed",
            entity_type="team",
            entity_id=1,
            detail={"before": before, "after": after},
        )
    session.flush()


def duty_choices(session: Session) -> list[tuple[int, str]]:
    """Officers and leads who can be the duty officer."""
    return [
        (u.id, u.name or u.email)
        for u in session.exec(
            select(User)
            .where(col(User.role).in_(roles_with(Capability.CASELOAD)),
                   col(User.is_active).is_(True))
            .order_by(User.name)
        ).all()
    ]


def set_duty_officer(session: Session, *, actor: Actor | None, officer_id: object) -> None:
    actor = require(actor, Capability.TEAM_NOTIFICATION_RULES)
    allowed = {uid for uid, _ in duty_choices(session)}
    chosen = officer_id if isinstance(officer_id, int) and not isinstance(officer_id, bool) else 0
    if chosen not in allowed:
        raise ValidationFailed([FieldError("duty_officer", "Choose the duty officer")])
    row = session.get(TeamSettings, 1) or TeamSettings(id=1)
    before = row.duty_officer_id
    row.duty_officer_id, row.updated_by_id, row.updated_at = chosen, actor.user_id, utcnow()
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="notification.duty_officer_changed",
        entity_type="team",
        entity_id=1,
        detail={"before": before, "after": chosen},
    )
    session.flush()


def set_team_settings(
    session: Session, *, actor: Actor | None, rules: dict, officer_id: object
) -> None:
    """The team's settings form: the duty officer and the rules, saved together or not at
    all. Every error of both is reported at once (the caller's unit of work undoes both)."""
    require(actor, Capability.TEAM_NOTIFICATION_RULES)
    problems: list[FieldError] = []
    for save in (
        lambda: set_duty_officer(session, actor=actor, officer_id=officer_id),
        lambda: set_team_rules(session, actor=actor, form=rules),
    ):
        try:
            save()
        except ValidationFailed as exc:
            problems += exc.errors
    if problems:
        raise ValidationFailed(problems)
