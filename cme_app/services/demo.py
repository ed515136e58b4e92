"""Demo schools, users and cases for a local trial. Never run against live data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from ..models import Role, School, User
from . import auth, referrals, schools
from .permissions import Actor

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (published demo login)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    school_urn: str | None
    name: str


SCHOOLS = (("107999", "Aire Valley Primary School"), ("108111", "Kirkstall Hill Academy"))
LOGINS = (
    DemoLogin("school.a@example.org", "school", "107999", "Sam Patel (Aire Valley Primary)"),
    DemoLogin("school.b@example.org", "school", "108111", "Jo Evans (Kirkstall Hill Academy)"),
    DemoLogin("officer@example.org", "officer", None, "Olu Officer"),
    DemoLogin("lead@example.org", "lead", None, "Lee Lead"),
    DemoLogin("admin@example.org", "admin", None, "Ada Admin"),
    DemoLogin("auditor@example.org", "auditor", None, "Aud Auditor"),
)


def example_referral_form(
    *,
    first_name: str = "Amira",
    last_name: str = "Test",
    upn: str = "A383200012401",
    date_of_birth: str = "2014-03-02",
    today: date | None = None,
    aware_days_ago: int = 14,
) -> dict[str, str]:
    """A complete referral (SC-01) that passes every rule."""
    today = today or date.today()
    last = (today - timedelta(days=aware_days_ago + 3)).isoformat()
    aware = (today - timedelta(days=aware_days_ago)).isoformat()
    form = {
        "referrer_name": "Sam Patel",
        "referrer_job_title": "Attendance officer",
        "referrer_phone": "0113 496 0000",
        "referrer_email": "attendance@aire-valley.example.org",
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": date_of_birth,
        "sex": "female",
        "upn": upn,
        "sen_status": "none",
        "home_line1": "14 Example Street",
        "home_town": "Leeds",
        "home_postcode": "LS2 8BU",
        "person-p1-kind": "parent_carer",
        "person-p1-full_name": "Layla Test",
        "person-p1-relationship": "Mother",
        "person-p1-phone": "07700 900123",
        "person-p1-lives_with_child": "on",
        "person-p1-parental_responsibility": "on",
        "on_roll_status": "on_roll",
        "category": "whereabouts_unknown",
        "date_last_attended": last,
        "date_school_aware": aware,
        "concern-none_known": "on",
        "dsl_name": "Dee Safeguarding",
        "known_to_csc": "no",
        "cp_plan": "no",
        "child_in_need": "no",
        "looked_after": "no",
        "significant_harm": "no",
        "dsl_appraisal": "Not known to CSC. No concerns raised before the absence.",
    }
    enquiries = [
        ("first_day_call", "Mother and father", "phone", "No answer"),
        ("emergency_contacts", "Both emergency contacts", "phone", "No answer, voicemail left"),
        ("letter", "Last known address", "letter", "No reply"),
        ("siblings_friends", "Friends in Year 6", "in_person", "Not seen since half-term"),
        ("home_visit", "14 Example Street (AM)", "visit", "No reply"),
        ("social_media", "Mother's public profiles", "social_media", "No recent activity"),
    ]
    for i, (kind, who, method, result) in enumerate(enquiries):
        form |= {
            f"enquiry-e{i}-kind": kind,
            f"enquiry-e{i}-made_on": aware,
            f"enquiry-e{i}-contacted": who,
            f"enquiry-e{i}-method": method,
            f"enquiry-e{i}-result": result,
        }
    form["reason-sibling_schools"] = "No siblings at other schools"
    form["reason-agencies"] = "No agencies known to be involved"
    return form


def load_demo(session: Session) -> dict[str, int]:
    """Idempotent: adds only what is missing."""
    from .term_dates import seed_term_dates

    added = {"schools": 0, "users": 0, "cases": 0, "term_rows": seed_term_dates(session)}
    for urn, name in SCHOOLS:
        if not session.exec(select(School).where(School.urn == urn)).first():
            schools.add_school(session, urn=urn, name=name)
            added["schools"] += 1
    for login in LOGINS:
        if not session.exec(select(User).where(User.email == login.email)).first():
            auth.create_user(
                session,
                email=login.email,
                role=login.role,
                password=DEMO_PASSWORD,
                name=login.name,
                school_urn=login.school_urn,
            )
            added["users"] += 1
    school_user = session.exec(select(User).where(User.email == LOGINS[0].email)).one()
    if not referrals.list_for_school(session, actor=_actor(school_user)):
        for first, last, upn in (
            ("Amira", "Test", "A383200012401"),
            ("Jayden", "Example", "N380123456789"),
        ):
            form = example_referral_form(first_name=first, last_name=last, upn=upn)
            referrals.submit(session, actor=_actor(school_user), form=form)
            added["cases"] += 1
    return added


def _actor(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        name=user.name,
        email=user.email,
        school_id=user.school_id,
    )
