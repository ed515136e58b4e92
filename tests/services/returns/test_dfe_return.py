"""The termly DfE return: census days, the figures and the lists behind them, the EHE import,
the CSV and XLSX exports and the command line, on a real database."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import select

from cme_app import cli
from cme_app.domain import DFE_REASONS, YEAR_GROUPS
from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import AuditEvent, CensusDate, CmeEpisode, EheCount, EpisodeReason
from cme_app.services.returns import dfe_export, dfe_return, ehe, reasons
from tests.factories import audit_events, make_case

CENSUS = date(2026, 10, 1)  # a Thursday: DfE's pattern for autumn 2026
FORMULA_NAME = "=HYPERLINK(\"http://x\",\"y\")"
FORMULA_REASON = "@SUM(1+1) reason"
LENGTH_KEYS = ["less than 2 weeks", "2 to 4 weeks", "4 to 8 weeks", "8 to 12 weeks",
               "12 to 26 weeks", "26 to 52 weeks", "more than 52 weeks", "Unknown"]
EHE_CSV = (
    "measure,category,count\n"
    "on_census_day,,5\n"
    "by_sex,Female,3\nby_sex,Male,2\n"
    "by_year_group,Year 7,4\nby_year_group,Year 10,1\n"
    "by_reason,Philosophical or preference,5\n"
    "any_time_previous_year,,12\n"
)


def episode(session, case, *, start: date | None, reason: str = "Other") -> CmeEpisode:
    # An episode with no start date counts from the day it was recorded: before census day.
    row = CmeEpisode(child_id=case.child_id, case_id=case.id, start_date=start,
                     start_basis="deleted_from_roll", primary_reason=reason,
                     created_at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
    session.add(row)
    session.flush()
    session.add(EpisodeReason(episode_id=row.id, reason=reason, from_date=start or CENSUS))
    session.flush()
    return row


@pytest.fixture
def world(session, team):
    """A census day, and two children counted on it (one named like a formula)."""
    session.add(CensusDate(census_date=CENSUS, term="Autumn 2026"))
    reasons.add_reason(session, actor=team["lead"], label=FORMULA_REASON)
    amira = make_case(session, stage="enquiries", first_name="Amira", last_name="Test")
    odd = make_case(session, stage="enquiries", first_name=FORMULA_NAME, last_name="Zed",
                    date_of_birth=date(2019, 1, 10))
    episode(session, amira, start=date(2026, 9, 10), reason="Mental health")
    episode(session, odd, start=None, reason=FORMULA_REASON)
    session.commit()
    return {"amira": amira, "odd": odd, **team}


def count(session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == action)).one()


# ---- census days ----------------------------------------------------------------------------


def test_a_census_day_must_be_a_thursday_with_a_term_and_set_once(session, team):
    lead = team["lead"]
    with pytest.raises(ValidationFailed) as wrong:
        dfe_return.add_census_day(session, actor=lead, on="2026-10-02", term="Autumn 2026")
    assert wrong.value.errors[0].field == "on"
    assert "must be a Thursday: 2 October 2026 is a Friday" in wrong.value.errors[0].message
    with pytest.raises(ValidationFailed) as no_term:
        dfe_return.add_census_day(session, actor=lead, on="2026-10-01", term="autumn")
    assert [e.field for e in no_term.value.errors] == ["term"]
    with pytest.raises(ValidationFailed):
        dfe_return.add_census_day(session, actor=lead, on="not a date", term="Autumn 2026")

    dfe_return.add_census_day(session, actor=lead, on="2026-10-01", term=" Autumn   2026 ")
    with pytest.raises(ValidationFailed) as twice:
        dfe_return.add_census_day(session, actor=lead, on="2026-10-01", term="Autumn 2026")
    assert "already a census day" in twice.value.errors[0].message
    days = dfe_return.census_days(session, actor=team["auditor"])
    assert [(d.on, d.label, d.term) for d in days] == [
        ("2026-10-01", "Thursday 1 October 2026", "Autumn 2026")]
    assert [e.entity_id for e in audit_events(session, "census_day.added")] == ["2026-10-01"]


def test_only_a_lead_sets_or_removes_census_days(session, team):
    for who in ("admin", "auditor", "officer", "school"):
        with pytest.raises(NotAllowed):
            dfe_return.add_census_day(session, actor=team[who], on="2026-10-01",
                                      term="Autumn 2026")
    row = dfe_return.add_census_day(session, actor=team["lead"], on="2026-10-01",
                                    term="Autumn 2026")
    with pytest.raises(NotAllowed):
        dfe_return.remove_census_day(session, actor=team["admin"], census_id=row.id)
    dfe_return.remove_census_day(session, actor=team["lead"], census_id=row.id)
    assert session.exec(select(CensusDate)).all() == []
    assert [e.entity_id for e in audit_events(session, "census_day.removed")] == ["2026-10-01"]
    with pytest.raises(NotFound):
        dfe_return.remove_census_day(session, actor=team["lead"], census_id=row.id)


def test_suggestions_follow_dfes_pattern_for_the_current_academic_year():
    # DfE's own 2022/23 days: 6 October, 19 January, 18 May.
    assert [(s.on, s.term) for s in dfe_return.suggested_census_days(date(2023, 2, 1))] == [
        ("2022-10-06", "Autumn 2022"), ("2023-01-19", "Spring 2023"),
        ("2023-05-18", "Summer 2023")]
    assert [s.on for s in dfe_return.suggested_census_days(date(2026, 9, 1))] == [
        "2026-10-01", "2027-01-21", "2027-05-20"]


def test_the_default_census_day_is_the_latest_past_one_else_the_next():
    days = [date(2026, 10, 1), date(2027, 1, 21), date(2027, 5, 20)]
    assert dfe_return.default_census_day(days, date(2027, 3, 1)) == date(2027, 1, 21)
    assert dfe_return.default_census_day(days, date(2027, 1, 21)) == date(2027, 1, 21)
    assert dfe_return.default_census_day(days, date(2026, 9, 1)) == date(2026, 10, 1)
    assert dfe_return.default_census_day([], date(2026, 9, 1)) is None


# ---- the figures and the lists --------------------------------------------------------------


def test_the_return_is_shown_only_for_a_set_census_day(session, world):
    view = dfe_return.view_return(session, actor=world["auditor"], census="2026-10-01")
    assert view.cme["on_census_day"] == 2 and view.term == "Autumn 2026"
    assert view.cme["by_length"]["2 to 4 weeks"] == 1 and view.cme["by_length"]["Unknown"] == 1
    assert view.ehe["imported"] is False
    assert "no_start_date" in [w.code for w in view.warnings]
    with pytest.raises(NotFound):
        dfe_return.view_return(session, actor=world["lead"], census="2026-10-08")
    with pytest.raises(NotAllowed):
        dfe_return.view_return(session, actor=world["officer"], census="2026-10-01")


def test_each_list_of_children_is_audited_once_with_its_census_day_and_measure(session, world):
    listed = dfe_return.children(session, actor=world["lead"], census="2026-10-01",
                                 measure="by_reason", category="Mental health")
    assert [r.name for r in listed.rows] == ["Amira Test"]
    amira = listed.rows[0]
    assert (amira.start, amira.reason, amira.missing_for) == ("10 September 2026", "Mental health",
                                                         "2 to 4 weeks")
    assert amira.case_reference == world["amira"].reference and listed.case_links
    events = audit_events(session, "dfe_return.children_viewed")
    assert len(events) == 1
    assert events[0].detail == {"census_date": "2026-10-01", "measure": "by_reason",
                                "category": "Mental health", "children": 1}

    # The auditor (DPO) sees who is counted, not the way into the cases.
    seen = dfe_return.children(session, actor=world["auditor"], census="2026-10-01",
                               measure="on_census_day")
    assert len(seen.rows) == 2 and not seen.case_links
    assert {r.case_reference for r in seen.rows} == {""}
    assert len(audit_events(session, "dfe_return.children_viewed")) == 2

    with pytest.raises(ValidationFailed):
        dfe_return.children(session, actor=world["lead"], census="2026-10-01",
                            measure="by_shoe_size", category="9")
    with pytest.raises(ValidationFailed):
        dfe_return.children(session, actor=world["lead"], census="2026-10-01",
                            measure="by_sex", category="Other")


def test_a_warning_lists_its_children(session, world):
    listed = dfe_return.warning_children(session, actor=world["lead"], census="2026-10-01",
                                         code="no_start_date")
    assert [r.name for r in listed.rows] == [f"{FORMULA_NAME} Zed"]
    assert audit_events(session, "dfe_return.children_viewed")[-1].detail["measure"] == (
        "warning:no_start_date")
    with pytest.raises(NotFound):
        dfe_return.warning_children(session, actor=world["lead"], census="2026-10-01",
                                    code="no_such_warning")


# ---- the EHE import -------------------------------------------------------------------------


def test_a_valid_ehe_file_replaces_the_census_days_counts(session, world):
    lead = world["lead"]
    assert dfe_return.import_ehe(session, actor=lead, census="2026-10-01",
                                 text="\ufeff" + EHE_CSV) == 7
    figures = ehe.figures(session, CENSUS)
    assert figures["imported"] is True and figures["on_census_day"] == 5
    assert figures["by_sex"] == {"Female": 3, "Male": 2, "Unknown": 0}
    assert figures["by_year_group"]["Year 7"] == 4 and figures["by_year_group"]["Unknown"] == 0
    assert figures["by_reason"] == {"Philosophical or preference": 5}
    assert figures["any_time_previous_year"] == 12
    # Importing again replaces, never adds.
    dfe_return.import_ehe(session, actor=lead, census="2026-10-01",
                          text="measure,category,count\non_census_day,,0\n"
                               "any_time_previous_year,,1\n")
    assert ehe.figures(session, CENSUS)["by_sex"] == {"Female": 0, "Male": 0, "Unknown": 0}
    assert [e.detail for e in audit_events(session, "ehe.imported")] == [
        {"figures": 7}, {"figures": 2}]
    with pytest.raises(NotAllowed):
        dfe_return.import_ehe(session, actor=world["admin"], census="2026-10-01", text=EHE_CSV)


@pytest.mark.parametrize(("text", "says"), [
    ("", "Choose a CSV file"),
    ("name,count\nx,1\n", "The first row must be the headings measure,category,count"),
    (EHE_CSV.replace("by_sex,Female,3", "by_gender,Female,3"),
     "Row 3: 'by_gender' is not a measure"),
    (EHE_CSV.replace("by_sex,Male,2", "by_sex,Boy,2"), "Row 4: 'Boy' is not a category of by_sex"),
    (EHE_CSV.replace("on_census_day,,5", "on_census_day,,five"),
     "Row 2: the count must be a whole number"),
    (EHE_CSV.replace("on_census_day,,5", "on_census_day,,-1"),
     "Row 2: the count must be a whole number"),
    (EHE_CSV + "by_sex,Female,1\n", "Row 9 repeats by_sex Female"),
    (EHE_CSV.replace("by_sex,Male,2", "by_sex,Male,9"),
     "The by_sex counts add up to 12, but on_census_day is 5"),
    (EHE_CSV.replace("any_time_previous_year,,12\n", ""),
     "The file needs a row for any_time_previous_year"),
    ("measure,category,count\non_census_day,,1,extra\n", "Row 2 must have 3 columns"),
    ("x" * (ehe.MAX_CHARS + 1), "The file is too big"),
])
def test_a_bad_ehe_file_is_refused_with_a_specific_error_and_changes_nothing(
        session, world, text, says):
    dfe_return.import_ehe(session, actor=world["lead"], census="2026-10-01", text=EHE_CSV)
    session.commit()
    with pytest.raises(ValidationFailed) as refused:
        dfe_return.import_ehe(session, actor=world["lead"], census="2026-10-01", text=text)
    session.rollback()
    assert refused.value.errors[0].field == "ehe_file"
    assert refused.value.errors[0].message.startswith(says), refused.value.errors[0].message
    assert ehe.figures(session, CENSUS)["on_census_day"] == 5
    assert len(session.exec(select(EheCount)).all()) == 7


def test_the_ehe_template_is_a_valid_file():
    assert ehe.template().startswith("measure,category,count\non_census_day,,0\n")
    assert len(ehe.parse(ehe.template())) == 1 + 3 + 13 + 1 + 1


# ---- the exports ----------------------------------------------------------------------------


def test_the_csv_holds_every_count_for_cme_and_ehe_with_formulas_neutralised(session, world):
    day, text = dfe_export.counts_csv(session, actor=world["lead"], census="2026-10-01")
    assert day == CENSUS
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Section", "Category", "Count"]
    got = {(s, c): n for s, c, n in rows[1:]}
    assert got[("CME on census day", "Total")] == "2"
    assert got[("CME by sex", "Female")] == "2" and got[("CME by sex", "Unknown")] == "0"
    for group in YEAR_GROUPS:
        assert ("CME by year group", group) in got
    for band in LENGTH_KEYS:
        assert ("CME by length of time missing education", band) in got
    for reason in DFE_REASONS:
        assert ("CME by primary reason", reason) in got
    # A reason label a lead typed like a formula is text in the spreadsheet.
    assert got[("CME by primary reason", "'" + FORMULA_REASON)] == "1"
    assert got[("CME at any time in the previous academic year", "Total")] == "0"
    assert got[("EHE on census day", "Total")] == "0"
    assert ("EHE by sex", "Unknown") in got
    assert audit_events(session, "dfe_return.export")[-1].detail == {
        "census_date": "2026-10-01", "format": "csv", "children": 0, "via": "page"}


def test_the_workbook_has_four_sheets_and_no_cell_is_a_formula(session, world):
    dfe_return.import_ehe(session, actor=world["lead"], census="2026-10-01", text=EHE_CSV)
    _day, data = dfe_export.return_xlsx(session, actor=world["lead"], census="2026-10-01")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["CME counts", "EHE counts", "Children on census day", "Warnings"]
    cme = {(r[0], r[1]): r[2] for r in book["CME counts"].iter_rows(min_row=2, values_only=True)}
    assert cme[("CME on census day", "Total")] == 2
    assert cme[("CME by primary reason", FORMULA_REASON)] == 1
    ehe_rows = {(r[0], r[1]): r[2]
                for r in book["EHE counts"].iter_rows(min_row=2, values_only=True)}
    assert ehe_rows[("EHE by sex", "Female")] == 3
    assert ehe_rows[("EHE by primary reason", "Philosophical or preference")] == 5
    children = list(book["Children on census day"].iter_rows(values_only=True))
    assert children[0][0] == "Name" and len(children) == 3
    odd = next(r for r in book["Children on census day"].iter_rows(min_row=2)
               if str(r[0].value).startswith("="))
    assert odd[0].value == f"{FORMULA_NAME} Zed"
    assert odd[0].data_type == "s" and odd[0].quotePrefix
    assert odd[4].value == "Not known"
    reason_cell = next(r[1] for r in book["CME counts"].iter_rows(min_row=2)
                       if r[1].value == FORMULA_REASON)
    assert reason_cell.data_type == "s"
    warnings = list(book["Warnings"].iter_rows(min_row=2, values_only=True))
    assert any(FORMULA_NAME in (names or "") for _message, names in warnings)
    # Nothing in the file is stored as a formula.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
    event = audit_events(session, "dfe_return.export")[-1]
    assert event.detail["format"] == "xlsx" and event.detail["children"] == 2


def test_exports_need_the_view_capability_and_a_set_census_day(session, world):
    for who in ("officer", "school"):
        with pytest.raises(NotAllowed):
            dfe_export.return_xlsx(session, actor=world[who], census="2026-10-01")
        with pytest.raises(NotAllowed):
            dfe_export.counts_csv(session, actor=world[who], census="2026-10-01")
    with pytest.raises(NotFound):
        dfe_export.counts_csv(session, actor=world["lead"], census="2026-10-02")
    assert count(session, "dfe_return.export") == 0


# ---- the command line -----------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["dfe-return", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_lines_json_has_every_key_at_zero_on_an_empty_database(session, capsys):
    code, out, _err = run_cli(capsys, "--census-date", "2027-01-21")
    assert code == 0
    shape = json.loads(out)
    assert list(shape) == ["census_date", "cme", "ehe"]
    assert shape["census_date"] == "2027-01-21"
    cme = shape["cme"]
    assert list(cme) == ["on_census_day", "by_sex", "by_year_group", "by_length", "by_reason",
                         "any_time_previous_year"]
    assert cme["on_census_day"] == 0 and cme["any_time_previous_year"] == 0
    assert cme["by_sex"] == {"Female": 0, "Male": 0, "Unknown": 0}
    assert cme["by_year_group"] == dict.fromkeys([*YEAR_GROUPS, "Unknown"], 0)
    assert list(cme["by_year_group"])[:2] == ["Reception", "Year 1"]
    assert cme["by_length"] == dict.fromkeys(LENGTH_KEYS, 0)
    assert cme["by_reason"] == dict.fromkeys(DFE_REASONS, 0)
    assert shape["ehe"] == {
        "on_census_day": 0, "by_sex": {"Female": 0, "Male": 0, "Unknown": 0},
        "by_year_group": dict.fromkeys([*YEAR_GROUPS, "Unknown"], 0), "by_reason": {},
        "any_time_previous_year": 0, "imported": False,
    }
    event = audit_events(session, "dfe_return.export")[-1]
    assert event.actor_role == "system" and event.actor_id is None
    assert event.detail == {"census_date": "2027-01-21", "format": "json", "children": 0,
                            "via": "command line"}


def test_the_command_line_gives_the_counts_as_csv_and_refuses_a_bad_date(session, world, capsys):
    code, out, _err = run_cli(capsys, "--census-date", "2026-10-01", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["Section", "Category", "Count"]
    assert ["CME on census day", "Total", "2"] in rows
    assert ["CME by primary reason", "'" + FORMULA_REASON, "1"] in rows
    assert audit_events(session, "dfe_return.export")[-1].detail["format"] == "csv"

    code, _out, err = run_cli(capsys, "--census-date", "1 October")
    assert code == 2 and "census-date" in err and "Traceback" not in err
