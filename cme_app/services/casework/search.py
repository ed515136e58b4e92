"""Find any case, open or closed, from one box: by reference, name (partial, any case, any
accents), UPN, date of birth (03/04/2015, 3/4/2015, 2015-04-03), postcode (with or without its
space) or school.

The database does the searching (cme_app/models/search.py): SQLite's FTS5 trigram index, or
PostgreSQL's pg_trgm index under ILIKE. Each word of the query must appear in the case's
search document. A result shows no more than the board's card does (reference, name, age,
stage, risk, school, officer); opening a case goes through the case page, so a case outside the
officer's caseload still asks for a purpose first. Every search is audited with how many cases
it found and which, never with the words searched for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ...dates import age_on, uk_date, uk_now
from ...domain import RISK_LABELS, STAGE_LABELS, Stage
from ...errors import FieldError, ValidationFailed
from ...models import Case, Child, Referral, School, User
from ...models.search import FTS_TABLE, CaseSearch, fold, fold_postcode
from ...permissions import Actor, Capability, require
from ..trust import audit
from .board import closed_text, origin_label

__all__ = ["MAX_QUERY", "MAX_RESULTS", "MIN_QUERY", "SearchAnswer", "SearchResult",
           "parse_query", "search_cases"]

MIN_QUERY = 3
MAX_QUERY = 100
MAX_RESULTS = 50
FIELD = "q"

_UK_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_POSTCODE = re.compile(r"[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}")


@dataclass(frozen=True)
class SearchResult:
    reference: str
    child_name: str
    age: int
    stage: str  # the stage's label
    risk: str  # red | amber | green | "": the colour
    risk_label: str  # the word
    school: str  # the school, or the source of a non-school referral
    officer: str
    closed: str  # "Closed 3 Dec: Found a school place", or "" while open


@dataclass(frozen=True)
class SearchAnswer:
    results: tuple[SearchResult, ...] = ()
    more: bool = False  # more than MAX_RESULTS matched: only the first are shown
    open_reference: str = ""  # one case matched the reference or UPN exactly: open it


def _date_term(text: str) -> str | None:
    """A date of birth as a person types it, as the document's ISO form; None if not a date.
    Raises ValidationFailed for something shaped like a date that is not one (31/02/2015)."""
    found = _UK_DATE.fullmatch(text)
    parts = (found.group(3), found.group(2), found.group(1)) if found else None
    if parts is None and (found := _ISO_DATE.fullmatch(text)):
        parts = found.groups()
    if parts is None:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    except ValueError:
        raise ValidationFailed(
            [FieldError(FIELD, "Enter a real date of birth, like 3/4/2015")]) from None


def parse_query(text: object) -> list[str]:
    """The folded words every result must contain. A date becomes its ISO form and a
    postcode loses its space, as in the documents. Field errors for too short or too long."""
    raw = str(text or "") if isinstance(text, str | int) else ""
    words = fold(raw)
    if len(words) > MAX_QUERY:
        raise ValidationFailed([FieldError(FIELD, f"Enter {MAX_QUERY} characters or fewer")])
    if len(words.replace(" ", "")) < MIN_QUERY:
        raise ValidationFailed([FieldError(FIELD, f"Enter at least {MIN_QUERY} characters")])
    if (iso := _date_term(words)) is not None:
        return [iso]
    if _POSTCODE.fullmatch(words):
        return [fold_postcode(words)]
    terms = words.split(" ")
    if max(len(t) for t in terms) < MIN_QUERY:
        raise ValidationFailed([FieldError(
            FIELD, f"Enter at least {MIN_QUERY} characters in one word")])
    return terms


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(dialect: str, terms: list[str]):
    """A WHERE clause on CaseSearch: every term is in the body, found through the index."""
    clauses = []
    if dialect == "sqlite":
        long_terms = [t for t in terms if len(t) >= MIN_QUERY]
        # Each term a quoted FTS5 phrase: a trigram phrase matches anywhere in the body.
        expression = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
        # A constant table name; the words go in as a bound parameter.
        indexed = sa.text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts")  # noqa: S608
        clauses.append(col(CaseSearch.case_id).in_(
            indexed.bindparams(fts=expression).columns(rowid=sa.Integer)))
        clauses += [col(CaseSearch.body).like(_like(t), escape="\\")
                    for t in terms if len(t) < MIN_QUERY]
    else:
        clauses += [col(CaseSearch.body).ilike(_like(t), escape="\\") for t in terms]
    return sa.and_(*clauses)


def _exact(rows, terms: list[str]) -> str:
    """The one case whose reference or UPN is exactly what was typed, if just one is."""
    if len(terms) != 1:
        return ""
    hits = {r.reference for r in rows if terms[0] in (fold(r.reference), fold(r.upn or ""))}
    return hits.pop() if len(hits) == 1 else ""


def _result(row, today: date) -> SearchResult:
    (_id, reference, stage, risk, closed_at, outcome, first, last, dob, _upn, source_type,
     source_name, school, officer) = row
    risk = risk if risk in RISK_LABELS else ""
    return SearchResult(
        reference=reference,
        child_name=f"{first} {last}",
        age=age_on(dob, today),
        stage=STAGE_LABELS.get(stage, stage),
        risk=risk,
        risk_label=RISK_LABELS.get(risk, "Not rated"),
        school=origin_label(source_type, source_name, school),
        officer=officer or "Unallocated",
        closed=closed_text(SimpleNamespace(closed_at=closed_at, outcome=outcome))
        if stage == Stage.CLOSED else "",
    )


def statement(dialect: str, terms: list[str]):
    """The one query: matching cases with what a result shows, open first, capped."""
    return (
        select(Case.id, Case.reference, Case.stage, Case.risk, Case.closed_at, Case.outcome,
               Child.first_name, Child.last_name, Child.date_of_birth, Child.upn,
               Referral.source_type, Referral.source_name, School.name,
               sa.func.coalesce(sa.func.nullif(User.name, ""), User.email))
        .join(CaseSearch, CaseSearch.case_id == Case.id)
        .join(Child, Child.id == Case.child_id)
        .join(Referral, Referral.id == Case.referral_id)
        .join(School, School.id == Referral.school_id, isouter=True)
        .join(User, User.id == Case.allocated_officer_id, isouter=True)
        .where(_matching(dialect, terms))
        .order_by(sa.case((Case.stage == Stage.CLOSED, 1), else_=0),
                  col(Case.closed_at).desc(), Child.last_name, Child.first_name, Case.id)
        .limit(MAX_RESULTS + 1)
    )


def search_cases(session: Session, *, actor: Actor | None, query: object,
                 today: date | None = None) -> SearchAnswer:
    """The cases whose search document holds every word of `query`: open ones first (by
    last name), then closed ones (latest first). Audited as `case.search` with the number
    found and the case ids shown, not the words."""
    actor = require(actor, Capability.CASE_VIEW)
    terms = parse_query(query)
    today = today or uk_date(uk_now())
    stmt = statement(session.get_bind().dialect.name, terms)
    rows = list(session.exec(stmt).all())
    shown = rows[:MAX_RESULTS]
    audit.record(
        session, actor=actor, action="case.search", entity_type="search",
        detail={"count": len(shown), "more": len(rows) > MAX_RESULTS,
                "case_ids": [r.id for r in shown]},
    )
    return SearchAnswer(
        results=tuple(_result(r, today) for r in shown),
        more=len(rows) > MAX_RESULTS,
        open_reference=_exact(shown, terms),
    )
