"""The search index: one search document per case, kept up to date from one place.

`case_search` holds, per case, one line of folded text (no accents, case-folded) with the
case reference, the child's names (first, middle, last, known as), UPN and former UPN, date of
birth as ISO and as dd/mm/yyyy, every postcode on the child's addresses without spaces, and
the referring school's name. The database searches it:

- SQLite: an FTS5 virtual table `case_search_fts` with the `trigram` tokenizer, an external
  content index over `case_search` kept in step by triggers (SQLite 3.40 has no
  `remove_diacritics` for trigram, so accents are folded here, in `fold`, both when indexing
  and when querying);
- PostgreSQL: a GIN index `gin_trgm_ops` on `case_search.body`, queried with ILIKE '%term%'.

Why a session listener, not calls in each service: a case's document depends on five tables
(case, child, referral, address, school) that a dozen services write (submission, the child
record, merges and their undo, returns, retention's anonymising...). One listener on every
ORM session sees them all, so a new service cannot forget the index. It notes the cases each
flush touched (ORM objects, and the Core `insert_rows` batches of `models.base`, which carry
their ids) and rebuilds their documents just before the commit, in one pass. A Core UPDATE or
DELETE on those tables is not seen: none is used on their searchable columns except
retention's address delete, which always changes the child in the same transaction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from .case import Case
from .child import Address, Child
from .referral import Referral
from .school import School

FTS_TABLE = "case_search_fts"
PG_INDEX = "ix_case_search_body_trgm"
_DIRTY = "cme_search_dirty"  # session.info key: the ids each tracked table saw this transaction


class CaseSearch(SQLModel, table=True):
    __tablename__ = "case_search"

    case_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("case.id", ondelete="CASCADE"),
                            primary_key=True, autoincrement=False))
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


# ----- folding --------------------------------------------------------------------------------

# Letters NFKD does not take apart: a search for "lodz" must find "Łódź".
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae",
                          "œ": "oe", "ı": "i", "ħ": "h"})
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower case, accents off, spaces collapsed: "  Zoë  ŁUKASZ" -> "zoe lukasz"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)
    return _SPACES.sub(" ", plain).strip()


def fold_postcode(text: str | None) -> str:
    return fold(text).replace(" ", "")


def document(*, reference: str, first: str, middle: str | None, last: str,
             known_as: str | None, upn: str | None, former_upn: str | None, dob,
             postcodes: Iterable[str | None], school: str | None) -> str:
    """One case's search document: every searchable field, folded, " | " between fields (so
    one word cannot run into the next field)."""
    parts = [reference, first, middle, last, known_as, upn, former_upn,
             dob.isoformat() if dob else None, f"{dob:%d/%m/%Y}" if dob else None]
    folded = [fold(p) for p in parts]
    folded += sorted({fold_postcode(p) for p in postcodes if p})
    folded.append(fold(school))
    return " | ".join(p for p in folded if p)


# ----- (re)building documents ----------------------------------------------------------------


def _facts(conn: sa.Connection, case_ids: list[int] | None):
    stmt = (
        sa.select(Case.id, Case.reference, Child.id, Child.first_name, Child.middle_names,
                  Child.last_name, Child.known_as, Child.upn, Child.former_upn,
                  Child.date_of_birth, School.name)
        .join(Child, Child.id == Case.child_id)
        .join(Referral, Referral.id == Case.referral_id)
        .join(School, School.id == Referral.school_id, isouter=True)
    )
    if case_ids is not None:
        stmt = stmt.where(Case.id.in_(case_ids))
    rows = conn.execute(stmt).all()
    child_ids = sorted({r[2] for r in rows})
    postcodes: dict[int, list[str]] = {}
    for start in range(0, len(child_ids), 500):
        chunk = child_ids[start:start + 500]
        for child_id, postcode in conn.execute(
                sa.select(Address.child_id, Address.postcode)
                .where(Address.child_id.in_(chunk), Address.postcode.is_not(None))):
            postcodes.setdefault(child_id, []).append(postcode)
    return rows, postcodes


def reindex(conn: sa.Connection, case_ids: Iterable[int] | None = None) -> int:
    """Rebuild the documents of `case_ids` (every case when None) with a few statements;
    returns how many were written. Works on a plain connection (the migration's backfill,
    `cme-app demo`) as well as inside a session's transaction."""
    ids = None if case_ids is None else sorted(set(case_ids))
    if ids == []:
        return 0
    table = CaseSearch.__table__
    written = 0
    chunks = [None] if ids is None else [ids[i:i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        rows, postcodes = _facts(conn, chunk)
        if chunk is None:
            conn.execute(table.delete())
        else:
            conn.execute(table.delete().where(table.c.case_id.in_(chunk)))
        docs = [{"case_id": r[0], "body": document(
            reference=r[1], first=r[3], middle=r[4], last=r[5], known_as=r[6], upn=r[7],
            former_upn=r[8], dob=r[9], postcodes=postcodes.get(r[2], ()), school=r[10])}
            for r in rows]
        if docs:
            conn.execute(table.insert(), docs)
        written += len(docs)
    return written


# ----- the one listener ---------------------------------------------------------------------

_TRACKED = {"case": Case, "child": Child, "referral": Referral, "address": Address,
            "school": School}


def _note(session: OrmSession, table: str, ids: Iterable[int | None]) -> None:
    found = {i for i in ids if i is not None}
    if found:
        session.info.setdefault(_DIRTY, {}).setdefault(table, set()).update(found)


# The columns a document is made of, per table: a change to any other column (a stage move,
# a risk rating) leaves the documents alone and costs the commit nothing.
_SEARCHED = {
    "case": ("reference", "child_id", "referral_id"),
    "child": ("first_name", "middle_names", "last_name", "known_as", "upn", "former_upn",
              "date_of_birth"),
    "referral": ("school_id", "child_id"),
    "address": ("postcode", "child_id"),
    "school": ("name",),
}


def _changed(obj, table: str) -> bool:
    attrs = sa.inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in _SEARCHED[table])


@event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, _context) -> None:
    """Note the rows whose searchable columns this flush wrote (history is still there)."""
    new_or_gone = {id(o) for o in (*session.new, *session.deleted)}
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table not in _TRACKED or (id(obj) not in new_or_gone and not _changed(obj, table)):
            continue
        if table == "address":  # the child it belongs to (and, if moved, the one it left)
            history = sa.inspect(obj).attrs.child_id.history
            _note(session, "child", [obj.child_id, *(history.deleted or ())])
        else:
            _note(session, table, [obj.id])


@event.listens_for(OrmSession, "do_orm_execute")
def _core_inserts(state) -> None:
    """`models.base.insert_rows` batches (Core INSERT with the ids given)."""
    stmt = state.statement
    if not state.is_insert or not isinstance(stmt, sa.Insert):
        return
    table = getattr(stmt.table, "name", None)
    if table not in _TRACKED:
        return
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if table == "address":
        _note(state.session, "child", [r.get("child_id") for r in rows])
    else:
        _note(state.session, table, [r.get("id") for r in rows])


def _affected_cases(conn: sa.Connection, dirty: dict[str, set[int]]) -> set[int]:
    ids = set(dirty.get("case", ()))
    clauses = []
    if dirty.get("child"):
        clauses.append(Case.child_id.in_(sorted(dirty["child"])))
    if dirty.get("referral"):
        clauses.append(Case.referral_id.in_(sorted(dirty["referral"])))
    if dirty.get("school"):
        clauses.append(Case.referral_id.in_(
            sa.select(Referral.id).where(Referral.school_id.in_(sorted(dirty["school"])))))
    if clauses:
        ids |= set(conn.execute(sa.select(Case.id).where(sa.or_(*clauses))).scalars())
    return ids


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    session.flush()  # what is still pending is noted by after_flush
    dirty = session.info.pop(_DIRTY, None)
    if dirty:
        conn = session.connection()
        reindex(conn, _affected_cases(conn, dirty))


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_DIRTY, None)
