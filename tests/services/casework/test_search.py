"""Finding any case from one box (issue 19): the search service on SQLite and PostgreSQL.

The index is written by the session listener in cme_app/models/search.py, so every case here
is made the ordinary way (ORM objects, or a referral submitted through the services) and
found by what the database's index holds, never by a loop in Python."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import Address, AuditEvent, Case, CaseSearch, Child
from cme_app.models.base import utcnow
from cme_app.models.search import fold, reindex
from cme_app.services.casework.search import MAX_RESULTS, parse_query, search_cases, statement
from tests.factories import make_case, referred_case

TODAY = date(2026, 12, 7)


def refs(session, actor, query) -> set[str]:
    answer = search_cases(session, actor=actor, query=query, today=TODAY)
    session.commit()
    return {r.reference for r in answer.results}


@pytest.fixture
def cases(session, team):
    """Zoë Kowalski (open, school A, postcode LS6 1AB, UPN), Zoe Smith (closed), Adam Brown."""
    zoe = make_case(session, first_name="Zoë", last_name="Kowalski",
                    date_of_birth=date(2015, 4, 3), stage="enquiries", risk="amber",
                    school_id=team["school"].school_id)
    child = session.get(Child, zoe.child_id)
    child.upn = "K383200012401"
    session.add(child)
    session.add(Address(child_id=child.id, kind="home", line1="1 Moor Road",
                        postcode="LS6 1AB", source="school"))
    closed = make_case(session, first_name="Zoe", last_name="Smith", stage="closed",
                       closed_at=utcnow() - timedelta(days=400), outcome="found_school_place",
                       date_of_birth=date(2013, 1, 9))
    other = make_case(session, first_name="Adam", last_name="Brown",
                      date_of_birth=date(2012, 5, 6))
    session.commit()
    return {"zoe": zoe.reference, "closed": closed.reference, "other": other.reference}


def test_fold_takes_accents_and_case_off():
    assert fold("  ZOË  Łukasz-Müller ") == "zoe lukasz-muller"


def test_accents_and_case_are_ignored_both_ways(session, team, cases):
    lead = team["lead"]
    assert refs(session, lead, "zoe") == {cases["zoe"], cases["closed"]}
    assert refs(session, lead, "ZOË") == {cases["zoe"], cases["closed"]}
    assert refs(session, lead, "Zoë Kowalski") == {cases["zoe"]}


def test_part_of_a_name_finds_it(session, team, cases):
    # (The brief's "owsk" is not in "Kowalski": a part is a run of letters the name holds.)
    assert refs(session, team["officer"], "walsk") == {cases["zoe"]}
    assert refs(session, team["officer"], "WALSKI") == {cases["zoe"]}
    assert refs(session, team["officer"], "kow zo") == {cases["zoe"]}  # a short word too
    assert refs(session, team["officer"], "nobody") == set()


def test_reference_upn_and_an_exact_match_opens_the_case(session, team, cases):
    lead = team["lead"]
    assert refs(session, lead, cases["other"].lower()) == {cases["other"]}
    answer = search_cases(session, actor=lead, query="k383200012401", today=TODAY)
    assert [r.reference for r in answer.results] == [cases["zoe"]]
    assert answer.open_reference == cases["zoe"]
    partial = search_cases(session, actor=lead, query="3832000124", today=TODAY)
    assert partial.open_reference == ""  # part of a UPN lists, it doesn't open


@pytest.mark.parametrize("typed", ["03/04/2015", "3/4/2015", "2015-04-03", "3.4.2015"])
def test_date_of_birth_as_a_person_types_it(session, team, cases, typed):
    assert refs(session, team["lead"], typed) == {cases["zoe"]}


def test_a_date_that_is_no_date_is_a_field_error(session, team, cases):
    with pytest.raises(ValidationFailed) as err:
        search_cases(session, actor=team["lead"], query="31/02/2015")
    assert err.value.errors[0].field == "q"


@pytest.mark.parametrize("typed", ["LS6 1AB", "ls61ab", "Ls6  1ab", "LS6"])
def test_postcode_with_or_without_its_space(session, team, cases, typed):
    assert refs(session, team["lead"], typed) == {cases["zoe"]}


def test_school_name_finds_its_cases(session, team, cases):
    # School A's name (tests/factories.two_schools); only Zoë's referral came from it.
    found = refs(session, team["lead"], "aire valley")
    assert cases["zoe"] in found and cases["other"] not in found


def test_closed_cases_are_found_and_say_so(session, team, cases):
    answer = search_cases(session, actor=team["lead"], query="smith", today=TODAY)
    (result,) = answer.results
    assert result.reference == cases["closed"]
    assert result.stage == "Closed" and result.closed.startswith("Closed")


def test_results_show_no_more_than_a_board_card(session, team, cases):
    answer = search_cases(session, actor=team["lead"], query="kowalski", today=TODAY)
    (result,) = answer.results
    assert set(vars(result)) == {"reference", "child_name", "age", "stage", "risk",
                                 "risk_label", "school", "officer", "closed"}
    assert (result.child_name, result.age, result.risk_label) == ("Zoë Kowalski", 11, "Amber")


@pytest.mark.parametrize("typed", ["", "zo", " a b ", "ab cd"])
def test_too_short_is_a_field_error(session, team, typed):
    with pytest.raises(ValidationFailed) as err:
        search_cases(session, actor=team["lead"], query=typed)
    assert err.value.errors[0].field == "q"
    assert "at least 3 characters" in err.value.errors[0].message


def test_every_staff_role_with_case_read_may_search_and_no_one_else(session, team, cases):
    for who in ("officer", "lead", "admin"):
        assert refs(session, team[who], "kowalski") == {cases["zoe"]}
    for who in ("school", "auditor"):
        with pytest.raises(NotAllowed):
            search_cases(session, actor=team[who], query="kowalski")
    with pytest.raises(NotAllowed):
        search_cases(session, actor=None, query="kowalski")


def test_each_search_is_audited_with_the_cases_found_but_not_the_words(session, team, cases):
    refs(session, team["officer"], "Kowalski")
    refs(session, team["officer"], "03/04/2015")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "case.search")
                          .order_by(AuditEvent.id)).all()
    zoe_id = session.exec(select(Case.id).where(Case.reference == cases["zoe"])).one()
    assert [(e.detail["count"], e.detail["case_ids"]) for e in events] == [
        (1, [zoe_id]), (1, [zoe_id])]
    every_row = json.dumps([e.model_dump(mode="json") for e in
                            session.exec(select(AuditEvent)).all()]).lower()
    for word in ("kowalski", "03/04/2015", "2015-04-03"):
        assert word not in every_row


def test_a_renamed_child_is_found_by_the_new_name_only(session, team, cases):
    case = session.exec(select(Case).where(Case.reference == cases["other"])).one()
    child = session.get(Child, case.child_id)
    child.last_name = "Okonkwo"
    session.add(child)
    session.commit()
    assert refs(session, team["lead"], "okonkwo") == {cases["other"]}
    assert refs(session, team["lead"], "brown") == set()


def test_a_moved_address_and_a_rolled_back_change_leave_the_index_right(session, team, cases):
    case = session.exec(select(Case).where(Case.reference == cases["zoe"])).one()
    address = session.exec(select(Address).where(Address.child_id == case.child_id)).one()
    address.postcode = "BD1 2CD"
    session.add(address)
    session.commit()
    assert refs(session, team["lead"], "bd1 2cd") == {cases["zoe"]}
    assert refs(session, team["lead"], "ls61ab") == set()
    child = session.get(Child, case.child_id)
    child.first_name = "Nadia"
    session.add(child)
    session.flush()
    session.rollback()
    assert refs(session, team["lead"], "nadia") == set()


def test_a_submitted_referral_is_searchable_at_once(session, team):
    """Referrals open cases with Core batch inserts (models.base.insert_rows): seen too."""
    reference = referred_case(session, team, {"first_name": "Éloïse", "last_name": "Dubois"})
    assert refs(session, team["lead"], "eloise dubois") == {reference}
    assert refs(session, team["lead"], "ls2 8bu") == {reference}  # the form's home postcode
    assert refs(session, team["lead"], "a383200012401") == {reference}  # the form's UPN


def test_reindex_rebuilds_every_document(session, team, cases):
    session.exec(CaseSearch.__table__.delete())
    session.commit()
    assert refs(session, team["lead"], "kowalski") == set()
    with session.get_bind().begin() as conn:
        assert reindex(conn) == 3
    assert refs(session, team["lead"], "kowalski") == {cases["zoe"]}


def test_many_matches_are_capped_and_say_so(session, team):
    for n in range(MAX_RESULTS + 2):
        make_case(session, first_name="Sam", last_name=f"Lee{n}",
                  entered_at=datetime(2026, 1, 1, tzinfo=utcnow().tzinfo))
    session.commit()
    answer = search_cases(session, actor=team["lead"], query="sam lee", today=TODAY)
    assert len(answer.results) == MAX_RESULTS and answer.more


def test_parse_query_normalises_what_was_typed():
    assert parse_query("  Zoë   KOWALSKI ") == ["zoe", "kowalski"]
    assert parse_query("LS6 1AB") == ["ls61ab"]
    assert parse_query("3/4/2015") == ["2015-04-03"]


def test_the_database_index_answers_not_a_scan(session, team, cases):
    """SQLite asks the FTS5 trigram table; PostgreSQL can use the GIN trigram index."""
    bind = session.get_bind()
    compiled = statement(bind.dialect.name, ["kowal", "zo"]).compile(
        bind, compile_kwargs={"literal_binds": True})
    with bind.connect() as conn:
        if bind.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}"))
            assert "case_search_fts VIRTUAL TABLE" in plan, plan
        else:
            # Scans off (on a few rows the planner rightly prefers one): what is left for
            # case_search is a bitmap scan of an index whose condition is the ILIKE.
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_indexscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "ix_case_search_body_trgm" in plan, plan


def test_a_change_no_document_shows_writes_no_document(session, team, cases):
    """A stage move or a risk rating leaves the index alone (no statements at commit)."""
    case = session.exec(select(Case).where(Case.reference == cases["zoe"])).one()
    statements = []
    bind = session.get_bind()

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(bind, "before_cursor_execute", count)
    try:
        case.risk, case.stage = "red", "home_visit"
        session.add(case)
        session.commit()
    finally:
        sa_event.remove(bind, "before_cursor_execute", count)
    assert not [s for s in statements if "case_search" in s], statements
    assert refs(session, team["lead"], "kowalski") == {cases["zoe"]}
