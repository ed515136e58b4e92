"""Demo schools, users and cases for a local trial. Never run against live data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select
from stdnum.gb import upn

from ..domain import Role
from ..models import (
    Case,
    CensusDate,
    Child,
    CmeEpisode,
    DeletionReturn,
    EpisodeReason,
    School,
    User,
)
from ..permissions import Actor
from ..services.casework import closure, lifecycle, records, triage
from ..services.intake import inbound, referrals, schools
from ..services.notify import notifications, preferences
from ..services.school_returns import deletions, new_pupils
from ..services.trust import auth
from ..services.visits import safety

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (published demo login)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    school_urn: str | None
    name: str
    # Fixed so the README can say how to get a code (`cme-app demo-code`). Demo only.
    totp_secret: str | None = None


SCHOOLS = (("107999", "Aire Valley Primary School"), ("108111", "Kirkstall Hill Academy"))
LOGINS = (
    DemoLogin("school.a@example.org", "school", "107999", "Sam Patel (Aire Valley Primary)"),
    DemoLogin("school.b@example.org", "school", "108111", "Jo Evans (Kirkstall Hill Academy)"),
    DemoLogin("officer@example.org", "officer", None, "Olu Officer",
              "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"),
    # A second officer, so a visit has a buddy and a joint visit a second officer.
    DemoLogin("officer2@example.org", "officer", None, "Priya Patel",
              "DEMOOFFICERTWOAAAAAAAAAAAAAAAAAA"),
    DemoLogin("lead@example.org", "lead", None, "Lee Lead",
              "DEMOLEADAAAAAAAAAAAAAAAAAAAAAAAA"),
    DemoLogin("admin@example.org", "admin", None, "Ada Admin",
              "DEMOADMINAAAAAAAAAAAAAAAAAAAAAAA"),
    DemoLogin("auditor@example.org", "auditor", None, "Aud Auditor",
              "DEMOAUDITORAAAAAAAAAAAAAAAAAAAAA"),
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


def example_deletion_form(
    *,
    first_name: str = "Kai",
    last_name: str = "Return",
    upn: str = "",
    date_of_birth: str = "2013-05-04",
    ground: str = "I",
    deletion_date: str | None = None,
    today: date | None = None,
) -> dict[str, str]:
    """A complete deletion return as the page's form sends it (ground I confirmed)."""
    today = today or date.today()
    return {
        "upn": upn, "first_name": first_name, "last_name": last_name,
        "date_of_birth": date_of_birth, "sex": "male", "address_line1": "3 Example Row",
        "town": "Leeds", "postcode": "LS6 2AB", "parent_1_name": "Ria Return",
        "parent_1_phone": "07700 900456", "deletion_date":
            deletion_date or (today - timedelta(days=2)).isoformat(),
        "ground": ground, "absence_codes_confirmed": "yes" if ground == "I" else "",
        "moved_to": "unknown", "notes": "",
    }


def load_demo(session: Session) -> dict[str, int]:
    """Idempotent: adds only what is missing."""
    from ..services.school_calendar.default_terms import seed_term_dates

    added = {"schools": 0, "users": 0, "cases": 0, "term_rows": seed_term_dates(session)}
    for urn, name in SCHOOLS:
        if not session.exec(select(School).where(School.urn == urn)).first():
            schools.add_school(session, urn=urn, name=name)
            added["schools"] += 1
    for login in LOGINS:
        existing = session.exec(select(User).where(User.email == login.email)).first()
        if existing is not None and login.totp_secret and not existing.totp_secret:
            # A demo database from before MFA: give its staff their published demo secrets.
            existing.totp_secret = login.totp_secret
            session.add(existing)
        if existing is None:
            auth.create_user(
                session,
                email=login.email,
                role=login.role,
                password=DEMO_PASSWORD,
                name=login.name,
                school_urn=login.school_urn,
                totp_secret=login.totp_secret,
            )
            added["users"] += 1
    # Before the cases: their referrals, allocations, return and closure then reach the duty
    # officer's, the leads' and the schools' inboxes through the services that notify.
    added["duty_officer"] = _duty_officer(session)
    if session.exec(select(Case.id).limit(1)).first() is None:
        added["cases"] = _demo_cases(session)
    added["visit_safety_notes"] = _visit_safety(session)
    added["census_days"] = _census_days(session)
    added["episodes"] = _demo_episodes(session, date.today())
    added["school_returns"] = _demo_returns(session, date.today())
    return added


def _school_actor(session: Session, email: str) -> Actor:
    return _actor(session.exec(select(User).where(User.email == email)).one())


def _demo_returns(session: Session, today: date) -> int:
    """A few schools' returns, once: a ground I deletion (a CME enquiry, flagged as possible
    off-rolling), a move to the other demo school that its new-pupil return then matches,
    and a family that chose home education (the EHE list)."""
    if session.exec(select(DeletionReturn.id).limit(1)).first() is not None:
        return 0
    a = _school_actor(session, "school.a@example.org")
    b = _school_actor(session, "school.b@example.org")
    week_ago = (today - timedelta(days=7)).isoformat()
    deletions.submit_deletion(session, actor=a, today=today, form=example_deletion_form(
        first_name="Kai", last_name="Return", today=today))
    moving = example_deletion_form(first_name="Maya", last_name="Mover", ground="A",
                                   date_of_birth="2015-01-09", deletion_date=week_ago)
    deletions.submit_deletion(session, actor=a, today=today,
                              form=moving | {"destination_school_urn": SCHOOLS[1][0]})
    new_pupils.record_new_pupil(session, actor=b, today=today, form={
        "first_name": "Maya", "last_name": "Mover", "date_of_birth": "2015-01-09",
        "start_date": week_ago, "postcode": "LS5 3AA"})
    deletions.submit_deletion(session, actor=b, today=today, form=example_deletion_form(
        first_name="Ellis", last_name="Home", ground="F", date_of_birth="2012-11-20",
        today=today))
    session.commit()
    return 4


# DfE's census days for 2026/27 (each a Thursday; a lead sets next year's on /reports/dfe-return).
CENSUS_DAYS = (
    (date(2026, 10, 1), "Autumn 2026"),
    (date(2027, 1, 21), "Spring 2027"),
    (date(2027, 5, 20), "Summer 2027"),
)


def _census_days(session: Session) -> int:
    have = set(session.exec(select(CensusDate.census_date)).all())
    missing = [(day, term) for day, term in CENSUS_DAYS if day not in have]
    for day, term in missing:
        session.add(CensusDate(census_date=day, term=term))
    session.flush()
    return len(missing)


@dataclass(frozen=True)
class DemoEpisode:
    """A demo child's CME episode, in days before the demo is loaded."""

    child: tuple[str, str]
    started: int  # days ago
    basis: str
    reasons: tuple[tuple[str, int], ...]  # (reason, from days ago), oldest first
    ended: tuple[int, str] | None = None  # (days ago, end reason): the first day not CME
    whereabouts_unknown: bool = False
    to_confirm: bool = False
    earlier: bool = False  # from before the current case (no case of its own in the app)


# Across DfE's reasons and lengths, so the DfE return and the dashboard have figures to show.
_DEMO_EPISODES = (
    # Counted from the old case list by the 0010 migration: the start is still to confirm.
    DemoEpisode(("Jayden", "Example"), 400, "migrated", (("Not recorded", 400),),
                to_confirm=True),
    DemoEpisode(("Priya", "Sample"), 20, "arrived_in_la",
                (("Moved in from another country", 20),)),
    # CME last year until a school place started; missing education again since.
    DemoEpisode(("Tom", "Demo"), 390, "deleted_from_roll",
                (("Did not get school preference", 390),), ended=(270, "on_roll"),
                earlier=True),
    DemoEpisode(("Tom", "Demo"), 100, "deleted_from_roll",
                (("Unknown", 100), ("Believed to have moved to another local authority", 40))),
    # Her earlier case closed untraceable: still counted, whereabouts unknown, under review.
    DemoEpisode(("Lena", "Placeholder"), 150, "deleted_from_roll",
                (("Believed to have moved to another local authority", 150),),
                whereabouts_unknown=True),
    DemoEpisode(("Noah", "Specimen"), 200, "deleted_from_roll",
                (("Difficulty accessing suitable school place", 200),
                 ("School application awaiting outcome", 60),
                 ("Offered school place but not yet accepted", 25))),
    # Her case closed today, on roll at a Leeds school.
    DemoEpisode(("Ella", "Fictional"), 70, "ehe_unsuitable",
                (("Unsuitable elective home education", 70),), ended=(0, "on_roll")),
    DemoEpisode(("Jonah", "Inbound"), 10, "arrived_in_la",
                (("Moved in from another local authority", 10),)),
)


def _demo_episodes(session: Session, today: date) -> int:
    """The demo children's CME episodes, with their reason history, once."""
    if session.exec(select(CmeEpisode.id).limit(1)).first() is not None:
        return 0
    added = 0
    for demo in _DEMO_EPISODES:
        case = session.exec(
            select(Case).join(Child, Child.id == Case.child_id)
            .where(Child.first_name == demo.child[0], Child.last_name == demo.child[1])
        ).first()
        if case is None:
            continue
        session.add(_episode(session, case, demo, today))
        added += 1
    session.flush()
    return added


def _episode(session: Session, case: Case, demo: DemoEpisode, today: date) -> CmeEpisode:
    def ago(days: int) -> date:
        return today - timedelta(days=days)

    episode = CmeEpisode(
        child_id=case.child_id, case_id=None if demo.earlier else case.id,
        start_date=ago(demo.started),
        start_basis=demo.basis, end_date=ago(demo.ended[0]) if demo.ended else None,
        end_reason=demo.ended[1] if demo.ended else None, primary_reason=demo.reasons[-1][0],
        whereabouts_unknown=demo.whereabouts_unknown, to_confirm=demo.to_confirm,
        review_on=ago(-20) if demo.whereabouts_unknown else None,
    )
    session.add(episode)
    session.flush()
    for reason, days in demo.reasons:
        session.add(EpisodeReason(episode_id=episode.id, reason=reason, from_date=ago(days)))
    return episode


def _duty_officer(session: Session) -> int:
    """Olu Officer is the demo team's duty officer, unless someone has been chosen already."""
    if notifications.duty_officer_id(session) is not None:
        return 0
    lead = session.exec(select(User).where(User.email == "lead@example.org")).one()
    officer = session.exec(select(User).where(User.email == "officer@example.org")).one()
    preferences.set_duty_officer(session, actor=_actor(lead), officer_id=officer.id)
    return 1


def _upn(serial: int) -> str:
    body = f"383200{serial:06d}"
    return upn.calc_check_digit(body) + body


# (first name, last name, school index, where the case should end up, risk factors)
_DEMO_CASES = (
    ("Amira", "Test", 0, "new_referral", []),
    ("Jayden", "Example", 0, "triage", ["cp_plan", "fgm"]),
    ("Priya", "Sample", 1, "enquiries", ["sen"]),
    ("Tom", "Demo", 0, "home_visit", []),
    ("Lena", "Placeholder", 1, "awaiting_verification", ["previous_cme"]),
    ("Noah", "Specimen", 0, "located", []),
    ("Ella", "Fictional", 1, "closed", []),
    ("Rory", "Instance", 0, "returned", []),
)


# What officers read before visiting: (child, warning markers, joint visit required).
_DEMO_SAFETY = (
    (
        ("Jayden", "Example"),
        "Police marker (2025): father hostile to officials. Large dog at the property.",
        True,
    ),
    (
        ("Tom", "Demo"),
        "Dog kept in the back garden: knock at the front door. Mother works nights, so visit "
        "after 11am.",
        False,
    ),
)


def _visit_safety(session: Session) -> int:
    """Warning markers on two demo cases (one Red, needing a joint visit), where a demo case
    has none yet."""
    lead = session.exec(select(User).where(User.email == "lead@example.org")).one()
    added = 0
    for (first, last), markers, joint in _DEMO_SAFETY:
        case = session.exec(
            select(Case)
            .join(Child, Child.id == Case.child_id)
            .where(Child.first_name == first, Child.last_name == last)
        ).first()
        if case is None or case.warning_markers or case.joint_visit_required:
            continue
        safety.set_visit_safety(
            session,
            actor=_actor(lead),
            reference=case.reference,
            warning_markers=markers,
            joint_visit_required=joint,
            version=case.version,
        )
        added += 1
    return added


def _demo_cases(session: Session) -> int:
    """A board with a case in every column, built through the same services staff use."""
    users = {u.email: u for u in session.exec(select(User)).all()}
    school_users = [_actor(users[LOGINS[0].email]), _actor(users[LOGINS[1].email])]
    lead, officer = _actor(users["lead@example.org"]), _actor(users["officer@example.org"])
    today = date.today()
    for serial, (first, last, school, goal, factors) in enumerate(_DEMO_CASES, start=1):
        form = example_referral_form(first_name=first, last_name=last, upn=_upn(serial))
        form["home_line1"] = f"{serial * 7} Harehills Lane"
        if "cp_plan" in factors:
            form |= {
                "cp_plan": "yes",
                "concern-none_known": "",
                "concern-fgm": "on",
                "mash_referred_on": today.isoformat(),
                "mash_reference": "MASH-DEMO-1",
                "social_worker_told": "yes",
                "social_worker_told_on": today.isoformat(),
                "concerns_narrative": "An older sister was taken abroad last summer.",
            }
        ref = referrals.submit(session, actor=school_users[school], form=form).reference
        _walk(session, ref, goal, factors, lead, officer, today)
    form = {
        "source_type": "other_la",
        "la_name": "Wakefield",
        "la_code": "384",
        "received_on": today.isoformat(),
        "first_name": "Jonah",
        "last_name": "Inbound",
        "date_of_birth": "2015-06-01",
        "sex": "male",
        "line1": "3 New Road",
        "town": "Leeds",
        "postcode": "LS6 1AA",
        "parent_name": "Mo Inbound",
        "summary": "Family believed to have moved from Wakefield to Leeds in October.",
    }
    inbound.log_inbound(session, actor=_actor(users["admin@example.org"]), form=form)
    return len(_DEMO_CASES) + 1


def _walk(session: Session, ref: str, goal: str, factors: list[str], lead, officer, today):
    def version() -> int:
        session.flush()
        return session.exec(select(Case.version).where(Case.reference == ref)).one()

    def move(to: str) -> None:
        lifecycle.move_case(session, actor=lead, reference=ref, to_stage=to, version=version())

    if goal == "new_referral":
        return
    if goal == "returned":
        lifecycle.return_to_referrer(
            session,
            actor=officer,
            reference=ref,
            version=version(),
            note="Please add the home visit and the sibling-school checks, then resubmit.",
        )
        return
    move("triage")
    triage.record_triage(
        session, actor=officer, reference=ref, factors=factors, version=version()
    )
    triage.allocate(
        session, actor=lead, reference=ref, officer_id=officer.user_id, version=version()
    )
    if goal == "triage":
        return
    move("enquiries")
    records.log_enquiry(
        session,
        actor=officer,
        reference=ref,
        form={
            "kind": "education_db",
            "done_on": today.isoformat(),
            "method": "system",
            "contacted": "Admissions database",
            "result": "no_trace",
            "summary": "No application to any Leeds school.",
        },
    )
    if goal == "home_visit":
        move("home_visit")
    elif goal == "awaiting_verification":
        records.send_la_notification(
            session,
            actor=officer,
            reference=ref,
            form={
                "la_name": "Bradford",
                "la_code": "380",
                "contact": "cme@bradford.example.org",
                "question": "Is the child known to you, on roll, or has a place been applied for?",
            },
        )
    elif goal in ("located", "closed"):
        move("located")
        if goal == "closed":
            closure.close_case(
                session,
                actor=lead,
                reference=ref,
                outcome="onroll_leeds",
                version=version(),
                evidence={
                    "school_urn": "108111",
                    "start_date": today.isoformat(),
                    "confirmed_by": "Admissions team",
                    "sas_keyworker": "Pat Keyworker",
                },
            )


def _actor(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        name=user.name,
        email=user.email,
        school_id=user.school_id,
    )
