"""Accounts as the administrator sees them at /admin/users: one page of the list at a time,
and the registered schools a school account can be linked to.

Creating, disabling, enabling and resetting accounts are in services/trust/auth.py and mfa.py (the
command line uses them too); every one of them checks the caller may manage accounts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from ...domain import ROLE_LABELS, STAFF_ROLES, Role
from ...errors import FieldError, ValidationFailed
from ...models import School, User
from ...numbers import digits
from ...permissions import Actor, Capability, require
from . import audit

PAGE_SIZE = 25  # a page the administrator can take in at once, on a phone too
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 100
# The Status filter: whether the account can sign in.
STATUS_CHOICES = {"active": "Active", "disabled": "Disabled"}
# The list's order: the LA's own people first, the many school accounts last.
ROLE_ORDER = list(ROLE_LABELS)


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    role: str
    role_label: str
    school: str  # "Aire Valley Primary (URN 107999)" for school accounts, else ""
    active: bool
    status: str  # Active | Disabled
    is_staff: bool
    mfa_set_up: bool
    mfa: str  # staff: "Set up" | "Not set up yet"; schools: "Not used"
    is_you: bool


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    page: int
    pages: int
    total: int


def _page_number(page: Any) -> int:
    if isinstance(page, str) and digits(page.strip()) and len(page.strip()) <= 6:
        page = int(page.strip())
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= MAX_PAGE:
        raise ValidationFailed([FieldError("page", "Page must be a whole number from 1")])
    return page


def _filters(query: Any, role: Any) -> tuple[str, Role | None]:
    errors = []
    query = query.strip() if isinstance(query, str) else None
    if query is None or len(query) > MAX_QUERY_LENGTH:
        errors.append(FieldError(
            "search", f"Search must be {MAX_QUERY_LENGTH} characters or fewer"
        ))
    wanted = None
    if not isinstance(role, str):
        errors.append(FieldError("filter_role", "Choose a role from the list"))
    elif role:
        try:
            wanted = Role(role)
        except ValueError:
            errors.append(FieldError("filter_role", "Choose a role from the list"))
    if errors:
        raise ValidationFailed(errors)
    return query, wanted


def _school_label(school: School | None) -> str:
    return f"{school.name} (URN {school.urn})" if school else ""


def _row(user: User, school: School | None, actor: Actor) -> UserRow:
    role = Role(user.role)
    staff = role in STAFF_ROLES
    set_up = bool(user.totp_secret)
    return UserRow(
        id=user.id,
        name=user.name,
        email=user.email,
        role=str(role),
        role_label=ROLE_LABELS[role],
        school=_school_label(school),
        active=user.is_active,
        status="Active" if user.is_active else "Disabled",
        is_staff=staff,
        mfa_set_up=staff and set_up,
        mfa=("Set up" if set_up else "Not set up yet") if staff else "Not used",
        is_you=user.id == actor.user_id,
    )


def _status(status: Any) -> bool | None:
    """The Status filter: True (active), False (disabled) or None (either)."""
    if status == "" or status is None:
        return None
    if not isinstance(status, str) or status not in STATUS_CHOICES:
        raise ValidationFailed([FieldError("filter_status", "Choose a status from the list")])
    return status == "active"


def list_users(
    session: Session, *, actor: Actor | None, query: Any = "", role: Any = "", page: Any = 1,
    status: Any = "",
) -> UserPage:
    """One page of accounts, by role then name. `query` matches part of a name or email
    (ignoring case); `status` is active, disabled or "" for both. A page past the end shows
    the last page. Administrators only."""
    actor = require(actor, Capability.ACCOUNTS_MANAGE)
    number = _page_number(page)
    text, wanted = _filters(query, role)
    active = _status(status)
    where = []
    if active is not None:
        where.append(col(User.is_active).is_(active))
    if text:
        needle = text.lower()
        where.append(or_(
            func.lower(col(User.name)).contains(needle, autoescape=True),
            col(User.email).contains(needle, autoescape=True),  # stored lower-cased
        ))
    if wanted is not None:
        where.append(col(User.role) == str(wanted))
    total = session.exec(select(func.count()).select_from(User).where(*where)).one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = min(number, pages)
    order = case({str(r): i for i, r in enumerate(ROLE_ORDER)}, value=col(User.role), else_=99)
    found = session.exec(
        select(User, School)
        .join(School, col(School.id) == col(User.school_id), isouter=True)
        .where(*where)
        .order_by(order, func.lower(col(User.name)), col(User.email))
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    # Whether a search was made, never what: the words may be a person's name.
    audit.record(
        session, actor=actor, action="user.list", entity_type="user",
        detail={"searched": bool(text), "role": str(wanted or ""), "page": number,
                "status": "" if active is None else ("active" if active else "disabled"),
                "results": total},
    )
    return UserPage(rows=[_row(u, s, actor) for u, s in found], page=number, pages=pages,
                    total=total)


def school_choices(session: Session, *, actor: Actor | None) -> list[tuple[str, str]]:
    """(URN, "Name (URN 107999)") for every registered school, by name: a school account is
    linked to one of these."""
    require(actor, Capability.ACCOUNTS_MANAGE)
    schools = session.exec(select(School).order_by(col(School.name), col(School.urn))).all()
    return [(s.urn, _school_label(s)) for s in schools]
