"""Registering schools."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import School
from ...permissions import Actor, Capability, allows
from ..trust import audit

URN = re.compile(r"^\d{6,7}$")
LA_CODE = re.compile(r"^\d{3}$")


def add_school(
    session: Session, *, urn: str, name: str, la_code: str = "383", actor: Actor | None = None
) -> School:
    """Register a school. `actor` is None only for the command line."""
    if actor is not None and not allows(actor.role, Capability.SCHOOLS_MANAGE):
        raise NotAllowed("Only an administrator can register schools.")
    urn, name, la_code = (urn or "").strip(), (name or "").strip(), (la_code or "").strip()
    errors = []
    if not URN.match(urn):
        errors.append(FieldError("urn", "URN must be 6 or 7 digits, like 107999"))
    elif session.exec(select(School).where(School.urn == urn)).first():
        errors.append(FieldError("urn", f"A school with URN {urn} is already registered"))
    if not name or len(name) > 200:
        errors.append(FieldError("name", "Enter the school's name (200 characters or fewer)"))
    if not LA_CODE.match(la_code):
        errors.append(FieldError("la_code", "LA code must be 3 digits, like 383"))
    if errors:
        raise ValidationFailed(errors)
    school = School(urn=urn, name=name, la_code=la_code)
    session.add(school)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="school.added",
        entity_type="school",
        entity_id=school.id,
        detail={"urn": urn, "name": name},
    )
    return school
