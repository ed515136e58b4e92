"""Benchmark data: a migrated database at the design load (perf-security.md (d)).

Defaults: 10,000 referrals (each with its child, address, parent and case), 2,500 of the cases
open and spread over the six open columns with a realistic mix of risks, the other 7,500 closed
with an outcome; 300 schools, each with one school user; 10 officers, 2 leads, an admin and an
auditor; 20 home visits per case (200,000 rows). `--visits 2000000` sets the total number of
visit rows instead (ten years' worth; PostgreSQL loads them with COPY).

Rows go in with core `insert()` executemany (COPY for visits on PostgreSQL), after the real
Alembic migrations, so the schema, indexes and triggers are the app's own. Every account's
password is PASSWORD, hashed once. No audit events are written: the hash chain starts empty
and stays verifiable.

    python -m bench.seed --db-url sqlite:////tmp/cme-bench.db [--visits 2000000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from cme_app.db import make_engine
from cme_app.migrations import upgrade_to_head
from cme_app.models import (
    Address,
    Case,
    CaseClosure,
    Child,
    HomeVisit,
    Person,
    ReferenceCounter,
    Referral,
    School,
    StageChange,
    User,
)
from cme_app.services.casework.pathway import VISIT_OUTCOMES
from cme_app.services.school_calendar.default_terms import seed_term_dates
from cme_app.services.trust import auth

PASSWORD = "bench password 2026"  # noqa: S105 (throwaway benchmark databases only)
OPEN_STAGES = ("new_referral", "triage", "enquiries", "home_visit", "awaiting_verification",
               "located")
# Where 2,500 open cases sit: most wait in enquiries / home visit, few are brand new.
STAGE_WEIGHTS = (8, 10, 30, 25, 12, 15)
RISK_WEIGHTS = {"red": 10, "amber": 35, "green": 55}
CLOSE_OUTCOMES = ("onroll_leeds", "onroll_other_la", "transferred_other_la", "left_uk_verified",
                  "ehe", "not_cme_attendance", "untraceable")
FACTORS = ("cp_plan", "domestic_abuse", "child_in_need", "csc_past", "looked_after")
N_OFFICERS = 10
BATCH = 5_000


@dataclass
class Counts:
    referrals: int = 10_000
    open_cases: int = 2_500
    schools: int = 300
    visits: int | None = None  # None: 20 per case
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


def lead_email(i: int = 1) -> str:
    return f"lead{i}@example.org"


def officer_email(i: int = 1) -> str:
    return f"officer{i}@example.org"


def school_email(i: int = 1) -> str:
    return f"school{i}@example.org"


def _chunks(rows: list[dict], size: int = BATCH):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _insert(session: Session, model, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        session.exec(insert(model), params=chunk)


def seed(url: str, counts: Counts | None = None, *, seed_value: int = 6) -> Counts:
    """Migrate the (empty) database at `url` and fill it. Returns the counts written."""
    counts = counts or Counts()
    started = time.perf_counter()
    rnd = random.Random(seed_value)
    upgrade_to_head(url)
    engine = make_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    pw_hash = auth.hash_password(PASSWORD)
    n_ref, n_open = counts.referrals, min(counts.open_cases, counts.referrals)
    n_visits = counts.visits if counts.visits is not None else 20 * n_ref
    try:
        with Session(engine) as session:
            seed_term_dates(session)
            schools = [{"id": i, "urn": f"{100000 + i}", "name": f"Bench School {i}",
                        "la_code": "383", "phase": "primary" if i % 3 else "secondary",
                        "created_at": now} for i in range(1, counts.schools + 1)]
            _insert(session, School, schools)
            users = []
            uid = 0

            def user(email: str, role: str, name: str, school_id: int | None = None) -> int:
                nonlocal uid
                uid += 1
                users.append({"id": uid, "email": email, "name": name, "role": role,
                              "school_id": school_id, "password_hash": pw_hash,
                              "is_active": True, "created_at": now,
                              "password_changed_at": now})
                return uid

            leads = [user(lead_email(i), "lead", f"Lead {i}") for i in (1, 2)]
            officers = [user(officer_email(i), "officer", f"Officer {i}")
                        for i in range(1, N_OFFICERS + 1)]
            user("admin@example.org", "admin", "Admin")
            user("auditor@example.org", "auditor", "Auditor")
            for s in schools:
                user(school_email(s["id"]), "school", f"DSL {s['id']}", s["id"])
            _insert(session, User, users)

            # Cases: the newest n_open are open, older ones closed (as in real life).
            children, referrals, cases, addresses, people, changes, closures = ([] for _ in
                                                                                 range(7))
            per_year: dict[int, int] = {}
            open_from = n_ref - n_open
            stages = rnd.choices(OPEN_STAGES, STAGE_WEIGHTS, k=n_open)
            for i in range(1, n_ref + 1):
                # Ten years of referrals, the open ones in the last ~6 months.
                if i > open_from:
                    opened = now - timedelta(days=rnd.uniform(0, 180))
                else:
                    opened = now - timedelta(days=180 + (open_from - i) * 3400 / max(open_from, 1))
                opened = opened.replace(microsecond=0)
                year = opened.year
                per_year[year] = per_year.get(year, 0) + 1
                school_id = rnd.randint(1, counts.schools)
                children.append({
                    "id": i, "first_name": f"Child{i}", "last_name": f"Bench{i % 997}",
                    "date_of_birth": date(2010 + i % 10, 1 + i % 12, 1 + i % 28),
                    "dob_estimated": False, "sex": ("female", "male")[i % 2],
                    "upn": f"B{383000000000 + i}", "interpreter_needed": i % 9 == 0,
                    "sen_status": "unknown", "looked_after": "no", "cp_plan": "no",
                    "child_in_need": "no", "traveller_family": i % 31 == 0, "created_at": opened,
                })
                addresses.append({
                    "id": i, "child_id": i, "referral_id": i, "kind": "last_known",
                    "line1": f"{i % 200 + 1} Bench Street", "town": "Leeds",
                    "postcode": f"LS{i % 28 + 1} {i % 9}AB", "country": "United Kingdom",
                    "source": "school", "verified": False, "created_at": opened,
                })
                people.append({
                    "id": i, "child_id": i, "referral_id": i, "kind": "parent_carer",
                    "full_name": f"Parent Bench{i}", "relationship_to_child": "Mother",
                    "parental_responsibility": True, "lives_with_child": True,
                    "is_emergency_contact": False, "source": "school", "created_at": opened,
                })
                referrals.append({
                    "id": i, "public_id": uuid.UUID(int=i).hex, "status": "submitted",
                    "source_type": "school", "school_id": school_id,
                    "created_by_id": 2 + N_OFFICERS + 2 + school_id, "child_id": i,
                    "form_data": {}, "referrer_name": f"DSL {school_id}",
                    "on_roll_status": "on_roll", "category": "whereabouts_unknown",
                    "history_of_non_attendance": False, "concerns_none_known": True,
                    "late": False, "outside_csa": False, "created_at": opened,
                    "updated_at": opened, "submitted_at": opened, "version": 1,
                })
                is_open = i > open_from
                stage = stages[i - open_from - 1] if is_open else "closed"
                risk = (None if stage == "new_referral"
                        else rnd.choices(list(RISK_WEIGHTS), list(RISK_WEIGHTS.values()))[0])
                entered = opened + (now - opened) * rnd.uniform(0.2, 0.9) if is_open else (
                    opened + timedelta(days=rnd.uniform(5, 120)))
                entered = entered.replace(microsecond=0)
                allocated = (None if stage == "new_referral" and rnd.random() < 0.7
                             else officers[i % N_OFFICERS])
                cases.append({
                    "id": i, "reference": f"CME-{year}-{per_year[year]:05d}", "child_id": i,
                    "referral_id": i, "stage": stage, "stage_entered_at": entered,
                    "risk": risk, "risk_factors": rnd.sample(FACTORS, k=i % 3),
                    "allocated_officer_id": allocated, "opened_at": opened,
                    "triage_due_on": (opened + timedelta(days=3)).date(),
                    "closed_at": None if is_open else entered,
                    "outcome": None if is_open else CLOSE_OUTCOMES[i % len(CLOSE_OUTCOMES)],
                    "possible_matches": [], "joint_visit_required": i % 17 == 0,
                    "legal_hold": False, "episode": 1, "version": 1,
                    "updated_at": entered, "updated_by_id": leads[0],
                })
                changes.append({"case_id": i, "from_stage": None, "to_stage": "new_referral",
                                "at": opened, "by_id": None})
                if stage != "new_referral":
                    changes.append({"case_id": i, "from_stage": "new_referral",
                                    "to_stage": stage, "at": entered, "by_id": leads[0]})
                if not is_open:
                    closures.append({"case_id": i, "episode": 1, "outcome": cases[-1]["outcome"],
                                     "evidence": {}, "status": "closed",
                                     "proposed_by_id": allocated, "proposed_at": entered,
                                     "approved_by_id": leads[0], "closed_at": entered})
            for model, rows in ((Child, children), (Referral, referrals), (Address, addresses),
                                (Person, people), (Case, cases), (StageChange, changes),
                                (CaseClosure, closures)):
                _insert(session, model, rows)
            session.exec(insert(ReferenceCounter),
                         params=[{"year": y, "last_value": n} for y, n in per_year.items()])
            session.commit()
            _insert_visits(session, rnd, cases, addresses, n_visits, now)
            session.commit()
            if engine.dialect.name == "postgresql":
                _reset_sequences(session)
                session.commit()
            counts.rows = _count(session)
    finally:
        engine.dispose()
    counts.seconds = time.perf_counter() - started
    return counts


VISIT_COLUMNS = ("id", "client_uuid", "case_id", "visited_on", "address", "outcome",
                 "child_seen", "seen_alone", "notes", "officer_id", "recorded_at",
                 "risk_check_done", "accompanied", "checked_in_at", "expected_minutes",
                 "checked_out_at", "people_spoken_to", "neighbours_spoken", "calling_card_left",
                 "safeguarding_raised", "record_saved_at", "created_offline", "synced_at")
OUTCOME_KEYS = tuple(VISIT_OUTCOMES)


def _visit_rows(rnd: random.Random, cases: list[dict], addresses: list[dict], n: int,
                now: datetime):
    for v in range(1, n + 1):
        case = cases[(v - 1) % len(cases)]
        when = case["opened_at"] + timedelta(days=(v // len(cases)) * 3 + rnd.random())
        when = min(when, now).replace(microsecond=0)
        outcome = OUTCOME_KEYS[v % len(OUTCOME_KEYS)]
        yield {
            "id": v, "client_uuid": str(uuid.UUID(int=v)), "case_id": case["id"],
            "visited_on": when.date(), "address": addresses[case["id"] - 1]["line1"] + ", Leeds",
            "outcome": outcome, "child_seen": outcome == "child_seen_safe",
            "seen_alone": outcome == "child_seen_safe" and v % 2 == 0,
            "notes": "Knocked twice, curtains drawn, post piled behind the door.",
            "officer_id": case["allocated_officer_id"] or 3, "recorded_at": when,
            "risk_check_done": True, "accompanied": v % 5 == 0, "checked_in_at": when,
            "expected_minutes": 45, "checked_out_at": when + timedelta(minutes=40),
            "people_spoken_to": [], "neighbours_spoken": v % 3 == 0,
            "calling_card_left": v % 2 == 1, "safeguarding_raised": False,
            "record_saved_at": when + timedelta(minutes=41), "created_offline": v % 4 == 0,
            "synced_at": when + timedelta(minutes=50),
        }


def _insert_visits(session: Session, rnd, cases, addresses, n: int, now: datetime) -> None:
    rows = _visit_rows(rnd, cases, addresses, n, now)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # psycopg 3: COPY is ~10x executemany
        cols = ", ".join(VISIT_COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY homevisit ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_pg(row[c]) for c in VISIT_COLUMNS])
        return
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            session.exec(insert(HomeVisit), params=batch)
            batch = []
    if batch:
        session.exec(insert(HomeVisit), params=batch)


def _pg(value):
    if isinstance(value, list):
        return "[]"
    return value


def _reset_sequences(session: Session) -> None:
    """Explicit ids leave PostgreSQL's sequences at 1: move them past the rows."""
    for table in ("school", "user", "child", "referral", "address", "person", "case",
                  "stagechange", "caseclosure", "homevisit"):
        sql = ("SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), "
               "(SELECT COALESCE(MAX(id), 1) FROM \"{t}\"))")
        session.exec(text(sql.format(t=table)))


def _count(session: Session) -> dict[str, int]:
    out = {}
    for name, model in (("schools", School), ("users", User), ("referrals", Referral),
                        ("cases", Case), ("visits", HomeVisit)):
        out[name] = session.exec(select(func.count()).select_from(model)).one()[0]
    out["open_cases"] = session.exec(
        select(func.count()).select_from(Case).where(Case.stage != "closed")
    ).one()[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", required=True, help="an empty database (it is migrated)")
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--open-cases", type=int, default=2_500)
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--visits", type=int, default=None,
                        help="total visit rows (default 20 per case)")
    args = parser.parse_args(argv)
    counts = seed(args.db_url, Counts(args.referrals, args.open_cases, args.schools, args.visits))
    print(f"seeded in {counts.seconds:.1f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.rows.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
