"""Keeping term dates and non-teaching days (/admin/calendar): the rules, who may, the audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import AuditEvent
from cme_app.models.calendar import NonTeachingDay, TermPeriod
from cme_app.services.school_calendar import terms as term_admin
from cme_app.services.school_calendar.school_days import CalendarNotSeeded, load_calendar
from tests.factories import audit_events, call_handler

D = date
TODAY = D(2026, 11, 28)  # in 2026-27


def _add(session, admin, **kw):
    fields = {"school_year": "2028-29", "name": "Autumn 1", "starts_on": "2028-09-04",
              "ends_on": "2028-10-20"} | kw
    return term_admin.add_term(session, actor=admin, **fields)


def _errors(excinfo) -> dict[str, str]:
    return {e.field: e.message for e in excinfo.value.errors}


def test_adding_2028_29_makes_its_school_days_countable(session, team):
    admin = team["admin"]
    before = load_calendar(session)
    with pytest.raises(CalendarNotSeeded, match="2028-09-01"):
        before.school_days_between(D(2028, 8, 31), D(2028, 10, 20))
    assert term_admin.overview(session, actor=admin, today=D(2027, 10, 1)).missing == ["2028-29"]

    term = _add(session, admin)
    session.commit()
    cal = load_calendar(session)
    # Mon 4 Sep to Fri 20 Oct 2028: 7 weeks, no bank holiday.
    assert cal.school_days_between(D(2028, 8, 31), D(2028, 10, 20)) == 35
    assert term.school_year == "2028-29"
    seen = term_admin.overview(session, actor=admin, today=D(2027, 10, 1))
    assert seen.missing == [] and seen.years == ["2026-27", "2027-28", "2028-29"]

    day = term_admin.add_non_teaching_day(session, actor=admin, on="2028-09-04",
                                          reason="INSET day")
    session.commit()
    assert load_calendar(session).school_days_between(D(2028, 8, 31), D(2028, 10, 20)) == 34
    view = term_admin.school_year(session, actor=admin, label="2028-29")
    assert [(t.name, t.first_day, t.last_day, t.school_days) for t in view.terms] == [
        ("Autumn 1", "Mon 4 Sep 2028", "Fri 20 Oct 2028", 34)]
    assert [(d.id, d.label, d.reason) for d in view.non_teaching_days] == [
        (day.id, "Mon 4 Sep 2028", "INSET day")]
    assert view.first_day == "1 September 2028" and view.last_day == "31 August 2029"
    names = [(h.label, h.in_term) for h in view.bank_holidays]
    assert ("Mon 25 Dec 2028", False) in names and ("Mon 7 May 2029", False) in names
    assert all(h.label.endswith(("2028", "2029")) for h in view.bank_holidays)


def test_seeded_year_view_counts_190_teaching_days(session, team):
    view = term_admin.school_year(session, actor=team["admin"], label="2026-27")
    assert len(view.terms) == 6 and view.school_days == 190
    assert view.terms[0].first_day == "Tue 1 Sep 2026"
    assert len(view.non_teaching_days) == 5
    may_day = next(h for h in view.bank_holidays if h.name == "May Day")
    assert (may_day.label, may_day.in_term) == ("Mon 3 May 2027", True)


def test_current_and_next_year_reported_missing(session):
    from tests.factories import make_user

    admin = make_user(session, "admin", email="admin@example.org")
    seen = term_admin.overview(session, actor=admin, today=TODAY)
    assert seen.missing == ["2026-27", "2027-28"] and seen.years == ["2026-27", "2027-28"]
    view = term_admin.school_year(session, actor=admin, label="2027-28")
    assert view.terms == [] and view.school_days == 0


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"school_year": ""}, "school_year", "Enter the school year"),
    ({"school_year": "2028/29"}, "school_year", "like 2028-29"),
    ({"school_year": "2028-30"}, "school_year", "like 2028-29"),
    ({"name": "  "}, "name", "Enter the term name"),
    ({"name": "x" * 61}, "name", "60 characters or fewer"),
    ({"starts_on": ""}, "starts_on", "Enter the first day of the term"),
    ({"starts_on": "2028-02-30"}, "starts_on", "First day must be a real date"),
    ({"starts_on": "2028-09-02"}, "starts_on", "weekday"),  # a Saturday
    ({"ends_on": "2028-10-22"}, "ends_on", "weekday"),  # a Sunday
    ({"starts_on": "2028-08-31"}, "starts_on",
     "in the 2028-29 school year (1 September 2028 to 31 August 2029)"),
    ({"ends_on": "2029-09-03"}, "ends_on", "in the 2028-29 school year"),
    ({"starts_on": "2028-10-23", "ends_on": "2028-10-20"}, "ends_on",
     "Last day must be the same as or after the first day"),
    # Overlaps the seeded Summer 2 2027-28 (5 Jun to 20 Jul 2028).
    ({"school_year": "2027-28", "name": "Extra", "starts_on": "2028-07-17",
      "ends_on": "2028-07-28"}, "starts_on", "These dates overlap Summer 2 2027-28"),
    ({"school_year": "2026-27", "name": "autumn 1", "starts_on": "2027-07-26",
      "ends_on": "2027-07-30"}, "name", "There is already a term called autumn 1 in 2026-27"),
])
def test_each_term_rule(session, team, fields, field, message):
    with pytest.raises(ValidationFailed) as excinfo:
        _add(session, team["admin"], **fields)
    errors = _errors(excinfo)
    assert message in errors[field], errors
    session.rollback()
    assert session.exec(select(TermPeriod).where(TermPeriod.school_year == "2028-29")).all() == []


def test_all_term_errors_at_once(session, team):
    with pytest.raises(ValidationFailed) as excinfo:
        _add(session, team["admin"], school_year="", name="", starts_on="", ends_on="nope")
    assert [e.field for e in excinfo.value.errors] == ["school_year", "name", "starts_on",
                                                        "ends_on"]


def test_change_term_audits_before_and_after(session, team):
    admin = team["admin"]
    term = _add(session, admin)
    session.commit()
    # Keeping its own name and dates is not a clash with itself.
    term_admin.change_term(session, actor=admin, term_id=term.id, school_year="2028-29",
                           name="Autumn 1", starts_on="2028-09-05", ends_on="2028-10-20")
    session.commit()
    assert session.get(TermPeriod, term.id).starts_on == D(2028, 9, 5)
    event = audit_events(session, "calendar.term_changed")[-1]
    assert event.actor_id == admin.user_id and event.entity_id == str(term.id)
    assert event.detail["before"]["starts_on"] == "2028-09-04"
    assert event.detail["after"]["starts_on"] == "2028-09-05"
    added = audit_events(session, "calendar.term_added")[-1]
    assert added.detail == {"before": None, "after": {
        "school_year": "2028-29", "name": "Autumn 1", "starts_on": "2028-09-04",
        "ends_on": "2028-10-20"}}


def test_change_refused_when_it_would_drop_a_non_teaching_day(session, team):
    admin = team["admin"]
    autumn1 = session.exec(select(TermPeriod).where(TermPeriod.school_year == "2026-27",
                                                    TermPeriod.name == "Autumn 1")).one()
    with pytest.raises(ValidationFailed) as excinfo:  # the INSET day Tue 1 Sep 2026
        term_admin.change_term(session, actor=admin, term_id=autumn1.id, school_year="2026-27",
                               name="Autumn 1", starts_on="2026-09-02", ends_on="2026-10-23")
    assert "Tue 1 Sep 2026 is a non-teaching day (INSET day)" in _errors(excinfo)["starts_on"]
    session.rollback()
    assert session.get(TermPeriod, autumn1.id).starts_on == D(2026, 9, 1)


def test_remove_term_takes_its_non_teaching_days_and_audits(session, team):
    admin = team["admin"]
    autumn1 = session.exec(select(TermPeriod).where(TermPeriod.school_year == "2026-27",
                                                    TermPeriod.name == "Autumn 1")).one()
    removed = term_admin.remove_term(session, actor=admin, term_id=autumn1.id)
    session.commit()
    assert removed == [D(2026, 9, 1)]
    assert session.get(TermPeriod, autumn1.id) is None
    assert session.exec(select(NonTeachingDay).where(NonTeachingDay.on == D(2026, 9, 1))
                        ).first() is None
    event = audit_events(session, "calendar.term_removed")[-1]
    assert event.detail["after"] is None
    assert event.detail["before"]["name"] == "Autumn 1"
    assert event.detail["before"]["non_teaching_days"] == [{"on": "2026-09-01",
                                                            "reason": "INSET day"}]
    with pytest.raises(NotFound):
        term_admin.remove_term(session, actor=admin, term_id=autumn1.id)


@pytest.mark.parametrize(("on", "reason", "field", "message"), [
    ("", "INSET day", "on", "Enter the date"),
    ("2026-13-01", "INSET day", "on", "Date must be a real date"),
    ("2026-11-28", "INSET day", "on", "weekday"),  # a Saturday
    ("2027-05-03", "INSET day", "on", "Mon 3 May 2027 is a bank holiday (May Day)"),
    ("2026-10-28", "INSET day", "on", "Wed 28 Oct 2026 is not in a term"),  # half-term
    ("2026-09-01", "INSET day", "on", "Tue 1 Sep 2026 is already a non-teaching day"),
    ("2026-11-30", "", "reason", "Enter the reason"),
    ("2026-11-30", "x" * 101, "reason", "100 characters or fewer"),
])
def test_each_non_teaching_day_rule(session, team, on, reason, field, message):
    with pytest.raises(ValidationFailed) as excinfo:
        term_admin.add_non_teaching_day(session, actor=team["admin"], on=on, reason=reason)
    assert message in _errors(excinfo)[field]
    session.rollback()
    assert len(session.exec(select(NonTeachingDay)).all()) == 10


def test_non_teaching_day_added_and_removed_with_audit(session, team):
    admin = team["admin"]
    day = term_admin.add_non_teaching_day(session, actor=admin, on="2026-11-30",
                                          reason="  Extra   closure ")
    session.commit()
    assert day.reason == "Extra closure"
    assert audit_events(session, "calendar.non_teaching_day_added")[-1].detail == {
        "before": None, "after": {"on": "2026-11-30", "reason": "Extra closure"}}
    assert load_calendar(session).is_school_day(D(2026, 11, 30)) is False
    term_admin.remove_non_teaching_day(session, actor=admin, day_id=day.id)
    session.commit()
    assert load_calendar(session).is_school_day(D(2026, 11, 30)) is True
    assert audit_events(session, "calendar.non_teaching_day_removed")[-1].detail == {
        "before": {"on": "2026-11-30", "reason": "Extra closure"}, "after": None}
    with pytest.raises(NotFound):
        term_admin.remove_non_teaching_day(session, actor=admin, day_id=day.id)


@pytest.mark.parametrize("role", ["school", "officer", "lead", "auditor"])
def test_only_admins_change_or_read_the_calendar(session, team, role):
    actor = team[role]
    autumn1 = session.exec(select(TermPeriod).where(TermPeriod.name == "Autumn 1")).first()
    inset = session.exec(select(NonTeachingDay)).first()
    attempts = [
        lambda: _add(session, actor),
        lambda: term_admin.change_term(session, actor=actor, term_id=autumn1.id,
                                       school_year="2026-27", name="Hacked",
                                       starts_on="2026-09-01", ends_on="2026-10-23"),
        lambda: term_admin.remove_term(session, actor=actor, term_id=autumn1.id),
        lambda: term_admin.add_non_teaching_day(session, actor=actor, on="2026-11-30",
                                                reason="INSET day"),
        lambda: term_admin.remove_non_teaching_day(session, actor=actor, day_id=inset.id),
        lambda: term_admin.overview(session, actor=actor, today=TODAY),
        lambda: term_admin.school_year(session, actor=actor, label="2026-27"),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
    session.commit()
    assert session.get(TermPeriod, autumn1.id).name == "Autumn 1"
    assert len(session.exec(select(TermPeriod)).all()) == 12
    assert len(session.exec(select(NonTeachingDay)).all()) == 10
    refused = session.exec(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert {e.action for e in refused} == {
        "calendar.term_added", "calendar.term_changed", "calendar.term_removed",
        "calendar.non_teaching_day_added", "calendar.non_teaching_day_removed"}
    assert {e.actor_id for e in refused} == {actor.user_id}
    with pytest.raises(NotAllowed):
        _add(session, None)


def test_bad_ids_are_not_found(session, team):
    for bad in (True, "1", None, 10**9):
        with pytest.raises(NotFound):
            term_admin.remove_term(session, actor=team["admin"], term_id=bad)
        with pytest.raises(NotFound):
            term_admin.remove_non_teaching_day(session, actor=team["admin"], day_id=bad)


def test_page_changes_and_removes_only_what_the_admin_confirmed(session, team):
    """The page's handlers as the admin's tab calls them: Change fills the form from the row,
    Remove asks first and then removes exactly the row it asked about."""
    from cme_app.pages.school_calendar.terms import AdminCalendarState as S
    from tests.factories import session_token, state_for

    token = session_token(session, "admin@example.org")
    session.commit()
    state = state_for(S, token, path="/admin/calendar")

    def call(name, *args):
        return call_handler(state, name, *args)

    call("load")
    call("show_year", "2026-27")
    assert state.selected == "2026-27" and len(state.terms) == 6
    autumn2 = next(t for t in state.terms if t.name == "Autumn 2")
    call("start_change", autumn2.id)
    assert state.editing_name == "Autumn 2"
    assert state.term_values["term-starts_on"] == "2026-11-02"
    call("change_term", {"term-school_year": "2026-27", "term-name": "Autumn 2",
                         "term-starts_on": "2026-11-03", "term-ends_on": "2026-10-30"})
    assert state.errors == {"term-ends_on": "Last day must be the same as or after the first day"}
    call("change_term", {"term-school_year": "2026-27", "term-name": "Autumn 2",
                         "term-starts_on": "2026-11-03", "term-ends_on": "2026-12-18"})
    assert state.errors == {} and state.message == "Autumn 2 2026-27 saved."
    assert state.editing_name == ""
    session.expire_all()
    assert session.get(TermPeriod, autumn2.id).starts_on == D(2026, 11, 3)
    session.rollback()  # end the read: the handlers' writes take the lock on SQLite

    inset = state.days[0]
    call("ask_remove_day", inset.id)
    assert state.confirm_kind == "day" and inset.label in state.confirm_text
    call("cancel")
    call("confirm_remove")  # nothing is waiting for confirmation any more
    session.expire_all()
    assert session.get(NonTeachingDay, inset.id) is not None
    session.rollback()
    call("ask_remove_day", inset.id)
    call("confirm_remove")
    assert state.message == "Non-teaching day removed."
    session.expire_all()
    assert session.get(NonTeachingDay, inset.id) is None
    assert inset.id not in [d.id for d in state.days]
    session.rollback()
