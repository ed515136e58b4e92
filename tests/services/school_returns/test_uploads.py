"""CSV uploads of deletion and new-pupil returns: each row on its own, the file refused whole
only when it can't be read safely."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import Case, DeletionReturn, NewPupilReturn
from cme_app.services.returns import census
from cme_app.services.school_returns import uploads
from tests.factories import audit_events

from .conftest import TODAY, csv_row


def csv_text(rows, columns=uploads.DELETION_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def upload(session, team, text, who="school", confirmed=False):
    data = text.encode("utf-8") if isinstance(text, str) else text
    results = uploads.import_deletions(session, actor=team[who], data=data,
                                       ground_i_confirmed=confirmed, today=TODAY)
    session.commit()
    return results


def stored(session) -> list[DeletionReturn]:
    return session.exec(select(DeletionReturn)).all()


def test_three_good_rows_and_two_bad_commit_the_three_and_name_the_two(session, team):
    rows = [
        csv_row(first_name="Ann"),
        csv_row(first_name="", ground="Z"),  # line 3: two reasons
        csv_row(first_name="Bea", ground="K"),
        csv_row(first_name="Cal", deletion_date="2027-01-05"),  # line 5: in the future
        csv_row(first_name="Dee", ground="F"),
    ]
    results = upload(session, team, csv_text(rows))
    assert [(r.row, r.accepted) for r in results] == [
        (2, True), (3, False), (4, True), (5, False), (6, True)]
    assert results[1].message == ("first_name: Enter the pupil's first name; "
                                  "ground: Select why the pupil was deleted")
    assert results[3].message == ("deletion_date: The date the pupil was deleted from the "
                                  "register must be today or in the past")
    assert sorted(r.first_name for r in stored(session)) == ["Ann", "Bea", "Dee"]
    assert {r.public_id for r in stored(session)} == {r.return_id for r in results if r.accepted}
    [event] = audit_events(session, "deletion_return.imported")
    assert {k: event.detail[k] for k in ("rows", "accepted", "refused_rows")} == {
        "rows": 5, "accepted": 3, "refused_rows": [3, 5]}


def test_a_school_cannot_send_rows_for_another_schools_urn(session, team):
    results = upload(session, team, csv_text([csv_row(school_urn="108111"), csv_row()]))
    assert [r.accepted for r in results] == [False, True]
    assert results[0].message == ("school_urn: this row is for school '108111'; you can only "
                                  "send returns for your own school (URN 107999)")
    assert [r.school_id for r in stored(session)] == [team["school"].school_id]


def test_only_school_users_upload(session, team):
    for who in ("officer", "lead", "admin", "auditor"):
        with pytest.raises(NotAllowed):
            upload(session, team, csv_text([csv_row()]), who=who)


def test_ground_i_rows_need_the_uploaders_confirmation(session, team):
    text = csv_text([csv_row(ground="I")])
    [refused] = upload(session, team, text)
    assert not refused.accepted and "G, N or O" in refused.message
    [accepted] = upload(session, team, text, confirmed=True)
    assert accepted.accepted


def test_a_repeated_row_is_refused_even_within_one_file(session, team):
    results = upload(session, team, csv_text([csv_row(), csv_row(first_name="tamsin")]))
    assert [r.accepted for r in results] == [True, False]
    assert "already sent" in results[1].message


@pytest.mark.parametrize(("data", "says"), [
    ("name,ground\nAnn,G\n", "The first row must be the headings school_urn,upn,"),
    ("", "The file is empty"),
    ("school_urn,upn".encode("utf-16"), "The file is not UTF-8 text"),
    ("Ann R\xf6e,G\n".encode("latin-1"), "The file is not UTF-8 text"),
    (b"x" * 10_000_000, "The file is too big"),
])
def test_an_unreadable_file_is_refused_whole_and_writes_nothing(session, team, data, says):
    with pytest.raises(ValidationFailed) as exc:
        upload(session, team, data)
    [error] = exc.value.errors
    assert error.field == "returns_file" and error.message.startswith(says)
    assert stored(session) == [] and audit_events(session, "deletion_return.imported") == []


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1+cmd|' /C calc'!A0",
                                  "-2+3"])
def test_a_formula_cell_refuses_the_file(session, team, cell):
    text = csv_text([csv_row(), csv_row(first_name="Bob", notes=cell)])
    with pytest.raises(ValidationFailed) as exc:
        upload(session, team, text)
    assert exc.value.errors[0].message.startswith("Row 3, column notes starts with")
    assert stored(session) == []


def test_an_international_phone_number_is_not_a_formula(session, team):
    [result] = upload(session, team, csv_text([csv_row(parent_phone="+44 7700 900982")]))
    assert result.accepted, result.message


def test_a_row_with_the_wrong_number_of_columns_is_refused_alone(session, team):
    text = csv_text([csv_row()]) + "107999,,Short,Row\n"
    results = upload(session, team, text)
    assert [(r.accepted, r.message) for r in results] == [
        (True, "accepted"), (False, "the row must have 16 columns")]


def test_the_census_count_rises_by_exactly_the_episodes_the_imported_deletions_opened(
        session, team):
    census_day = date(2026, 12, 3)
    before = len(census.build(session, census_day).on_census_day)
    rows = [csv_row(first_name=f"Pupil{n}", ground=ground)
            for n, ground in enumerate("GHIAKFLG")]
    rows[3]["destination_school_urn"] = "108111"
    results = upload(session, team, csv_text(rows), confirmed=True)
    assert all(r.accepted for r in results), [r.message for r in results if not r.accepted]
    opened = [r for r in stored(session) if r.episode_id]
    assert len(opened) == 4 and len(session.exec(select(Case)).all()) == 4
    assert len(census.build(session, census_day).on_census_day) == before + len(opened)


def test_new_pupils_upload_checks_each_row(session, team):
    text = csv_text([
        {"school_urn": "107999", "upn": "", "first_name": "Ann", "last_name": "Lee",
         "date_of_birth": "2015-01-02", "start_date": "2026-12-02", "postcode": ""},
        {"school_urn": "107999", "upn": "", "first_name": "Bo", "last_name": "Lee",
         "date_of_birth": "2015-01-02", "start_date": "not a date", "postcode": ""},
    ], uploads.NEW_PUPIL_COLUMNS)
    results = uploads.import_new_pupils(session, actor=team["school"], data=text.encode(),
                                        today=TODAY)
    assert [(r.accepted, r.message) for r in results] == [
        (True, "accepted"),
        (False, "start_date: The date the pupil joined the register must be a real date")]
    assert [n.first_name for n in session.exec(select(NewPupilReturn)).all()] == ["Ann"]
    with pytest.raises(NotAllowed):
        uploads.import_new_pupils(session, actor=team["officer"], data=text.encode())


def test_the_command_line_sends_for_any_registered_school(session, team):
    text = csv_text([csv_row(), csv_row(school_urn="108111", first_name="B"),
                     csv_row(school_urn="999999", first_name="C")])
    results = uploads.import_deletions(session, actor=None, data=text, ground_i_confirmed=False,
                                       today=TODAY, via="cli")
    assert [r.accepted for r in results] == [True, True, False]
    assert results[2].message == "school_urn: no school with URN '999999' is registered"
    [event] = audit_events(session, "deletion_return.imported")
    assert event.actor_role == "system" and event.detail["via"] == "cli"
