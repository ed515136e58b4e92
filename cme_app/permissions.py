"""Who is acting, and the role checks every service call starts with."""

from __future__ import annotations

from dataclasses import dataclass

from .domain import Role
from .errors import NotAllowed


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    name: str
    email: str
    school_id: int | None = None
    ip: str | None = None

    @property
    def is_school(self) -> bool:
        return self.role == Role.SCHOOL


# The auditor (DPO) is read-only on /audit and sees no case files (design.md §2).
CASE_VIEWERS = frozenset({Role.OFFICER, Role.LEAD, Role.ADMIN})


def require_role(actor: Actor | None, *roles: Role) -> Actor:
    if actor is None or actor.role not in roles:
        raise NotAllowed("You do not have permission to do that.")
    return actor


def require_school_user(actor: Actor | None) -> Actor:
    actor = require_role(actor, Role.SCHOOL)
    if actor.school_id is None:
        raise NotAllowed("Your account is not linked to a school.")
    return actor
