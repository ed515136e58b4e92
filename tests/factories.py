"""Small builders for service tests."""

from __future__ import annotations

from sqlmodel import Session

from cme_app.models import Role, User
from cme_app.services import auth, schools
from cme_app.services.permissions import Actor

PASSWORD = "correct horse battery staple"


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id, role=Role(user.role), name=user.name, email=user.email,
        school_id=user.school_id,
    )


def make_school(session: Session, urn: str = "107999", name: str = "Aire Valley Primary"):
    return schools.add_school(session, urn=urn, name=name)


def make_user(
    session: Session, role: str, *, email: str | None = None, school_urn: str | None = None
) -> Actor:
    user = auth.create_user(
        session,
        email=email or f"{role}.{school_urn or 'la'}@example.org",
        role=role,
        password=PASSWORD,
        school_urn=school_urn,
    )
    return actor_for(user)


def two_schools(session: Session) -> tuple[Actor, Actor]:
    """A school user at school A and one at school B."""
    make_school(session, "107999", "Aire Valley Primary")
    make_school(session, "108111", "Kirkstall Hill Academy")
    return (
        make_user(session, "school", school_urn="107999"),
        make_user(session, "school", school_urn="108111"),
    )
