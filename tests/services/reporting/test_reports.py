"""The team lead's dashboard and the open-cases export, on a real database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.errors import NotAllowed
from cme_app.models import (
    AuditEvent,
    Case,
    CaseClosure,
    Child,
    CmeEpisode,
    HomeVisit,
    LaNotification,
    Referral,
    StageChange,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import closure as closing
from cme_app.services.casework import lifecycle
from cme_app.services.intake import referrals
from cme_app.services.reporting import reports
from cme_app.services.school_calendar.default_terms import seed_term_dates
from tests.factories import make_user, two_schools

TODAY = date(2027, 3, 10)  # a Wednesday in Spring 2 of the seeded 2026-27 year


def at(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def audit_count(session, action: str) -> int:
    return session.exec(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    ).one()


class World:
    """Cases in every shape the dashboard must count, built through the real submit path."""

    def __init__(self, session):
        self.session = session
        seed_term_dates(session)
        self.school, _ = two_schools(session)
        self.lead = make_user(session, "lead", email="lead@example.org")
        self.ben = make_user(session, "officer", email="ben@example.org", name="Ben Officer")
        self.priya = make_user(session, "officer", email="priya@example.org", name="Priya Officer")
        self.n = 0

    def case(
        self, *, stage: str, submitted: datetime, risk: str | None = None, officer=None,
        first: str | None = None, last: str = "Test", **fields,
    ) -> Case:
        self.n += 1
        case = referrals.submit(
            self.session, actor=self.school,
            form=example_referral_form(first_name=first or f"Child{self.n}", last_name=last),
        )
        referral = self.session.get(Referral, case.referral_id)
        referral.submitted_at = submitted
        case.stage, case.risk = stage, risk
        case.allocated_officer_id = officer.user_id if officer else None
        case.opened_at = case.stage_entered_at = submitted
        for name, value in fields.items():
            setattr(case, name, value)
        self.session.add_all([referral, case])
        self.session.flush()
        return case

    def located(self, case: Case, when: datetime) -> None:
        self.session.add(StageChange(case_id=case.id, from_stage="enquiries",
                                     to_stage="located", at=when))

    def cme(self, case: Case, start: date | None, end: date | None = None, *,
            reason: str = "Waiting school start", lives_in_la: bool = True) -> CmeEpisode:
        """The child's CME episode, from `start` (the first day not CME: `end`)."""
        episode = CmeEpisode(child_id=case.child_id, case_id=case.id, start_date=start,
                             start_basis="deleted_from_roll", end_date=end,
                             primary_reason=reason, lives_in_la=lives_in_la,
                             created_at=at(2026, 9, 1))
        self.session.add(episode)
        self.session.flush()
        return episode

    def closed(self, case: Case, outcome: str, when: datetime, *, episode: int = 1,
               on_case: bool = True) -> None:
        self.session.add(CaseClosure(case_id=case.id, episode=episode, outcome=outcome,
                                     status="closed", closed_at=when))
        if on_case:
            case.stage, case.outcome, case.closed_at = "closed", outcome, when
            self.session.add(case)


@pytest.fixture
def world(session):
    w = World(session)
    s = session
    # ---- located or closed: the median (from the CME episode's start) and outcomes ----
    a = w.case(stage="located", submitted=at(2026, 11, 2))
    w.cme(a, date(2026, 11, 4))  # became CME after the referral: 5, 6, 9 Nov
    w.located(a, at(2026, 11, 9))  # 3 school days
    for status in ("proposed", "withdrawn"):  # never approved: not closures
        s.add(CaseClosure(case_id=a.id, episode=1, outcome="ehe", status=status,
                          closed_at=at(2026, 11, 10)))
    b = w.case(stage="enquiries", submitted=at(2026, 11, 2), triage_due_on=date(2026, 11, 5))
    w.cme(b, date(2026, 11, 2), date(2026, 11, 16))
    w.closed(b, "onroll_leeds", at(2026, 11, 16))  # 10 school days
    # Deleted from roll on 1 October, referred on the 22nd (UK time), located 3 November:
    # counted from the deletion, 16 school days of Autumn 1 and 2 of Autumn 2.
    c = w.case(stage="located", submitted=at(2026, 10, 21, 23, 30))
    w.cme(c, date(2026, 10, 1))
    w.located(c, at(2026, 11, 3))  # 18 school days
    d = w.case(stage="enquiries", submitted=at(2026, 11, 2))
    w.cme(d, date(2026, 11, 2))
    w.closed(d, "untraceable", at(2026, 11, 20))  # not a locating outcome
    # Located, but never CME (no episode: a pupil on roll, missing): not in the median.
    e = w.case(stage="enquiries", submitted=at(2026, 11, 2))
    w.located(e, at(2026, 11, 6))
    w.located(e, at(2026, 11, 12))
    w.closed(e, "onroll_leeds", at(2026, 11, 20))
    # Closed as EHE at 00:30 UK time on 1 June (episode 1), then reopened; CME from before
    # the seeded term dates, so the median leaves it out.
    g = w.case(stage="enquiries", risk="green", officer=w.ben, submitted=at(2026, 5, 20),
               stage_entered_at=at(2026, 6, 10), episode=2)
    w.cme(g, date(2026, 5, 20), date(2026, 6, 1))
    w.closed(g, "ehe", at(2026, 5, 31, 23, 30), on_case=False)
    # Closed on the case only, with no CaseClosure row: still counted, once.
    h = w.case(stage="closed", submitted=at(2027, 2, 22), outcome="left_uk_verified",
               closed_at=at(2027, 3, 1))
    w.cme(h, date(2027, 2, 22), date(2027, 3, 1))  # 5 school days
    i = w.case(stage="enquiries", submitted=at(2026, 3, 1))
    w.closed(i, "duplicate", at(2026, 3, 15))  # before the 12-month window
    # ---- open cases with targets: overdue by officer ----
    w.j = w.case(stage="new_referral", submitted=at(2027, 3, 8), first="=cmd|' /C calc'!A0",
                 last="+Leeds", triage_due_on=TODAY - timedelta(days=1))
    w.case(stage="triage", risk="red", officer=w.ben, submitted=at(2027, 3, 8),
           triage_due_on=TODAY)  # due today: not overdue
    w.l = w.case(stage="enquiries", risk="amber", officer=w.ben, first="Lena", last="Lowe",
                 submitted=at(2027, 2, 25), stage_entered_at=at(2027, 3, 1),
                 first_visit_due_on=TODAY - timedelta(days=5))
    m = w.case(stage="home_visit", risk="amber", officer=w.priya, submitted=at(2027, 2, 25),
               first_visit_due_on=TODAY - timedelta(days=5))
    s.add(HomeVisit(client_uuid="visit-m", case_id=m.id, visited_on=TODAY - timedelta(days=2),
                    address="14 Example Street", outcome="no_answer"))
    overdue_reply = w.case(stage="awaiting_verification", risk="green", officer=w.priya,
                           submitted=at(2027, 2, 1))
    # Waiting only on a reply due later: an answered request and an inbound one don't count.
    w.waiting = w.case(stage="awaiting_verification", risk="green", officer=w.priya,
                       submitted=at(2027, 2, 1))
    for case, direction, due, answered in (
        (overdue_reply, "outbound", TODAY - timedelta(days=2), None),
        (w.waiting, "outbound", TODAY + timedelta(days=10), None),
        (w.waiting, "outbound", TODAY - timedelta(days=20), TODAY - timedelta(days=19)),
        (w.waiting, "inbound", TODAY - timedelta(days=30), None),
    ):
        s.add(LaNotification(case_id=case.id, direction=direction, la_name="Bradford",
                             contact="cme@bradford.example", question="Known to you?",
                             sent_on=TODAY - timedelta(days=30), response_due_on=due,
                             response_on=answered))
    w.case(stage="enquiries", risk="red", officer=w.priya, submitted=at(2027, 2, 1),
           first_visit_due_on=TODAY - timedelta(days=1))
    w.case(stage="returned", submitted=at(2027, 3, 1))  # back with the school: not open
    s.commit()
    return w


# ---- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "auditor", "school", None])
def test_only_leads_and_admins_see_reports(session, role):
    school, _ = two_schools(session)
    actor = {"officer": make_user(session, "officer"), "auditor": make_user(session, "auditor"),
             "school": school, None: None}[role]
    with pytest.raises(NotAllowed):
        reports.dashboard(session, actor=actor, today=TODAY)
    with pytest.raises(NotAllowed):
        reports.open_cases_csv(session, actor=actor, today=TODAY)
    assert audit_count(session, "dashboard.view") == 0
    assert audit_count(session, "case.export") == 0


@pytest.mark.parametrize("role", ["lead", "admin"])
def test_leads_and_admins_are_allowed(session, role):
    actor = make_user(session, role)
    assert reports.dashboard(session, actor=actor, today=TODAY).open_total == 0
    assert reports.open_cases_csv(session, actor=actor, today=TODAY).count("\n") == 1


# ---- the dashboard ------------------------------------------------------------------------


def test_empty_dashboard_lists_every_open_stage_and_rating_with_zero(session):
    lead = make_user(session, "lead")
    board = reports.dashboard(session, actor=lead, today=TODAY)
    assert [(b.key, b.label, b.count) for b in board.by_stage] == [
        ("new_referral", "New referral", 0),
        ("triage", "Triage", 0),
        ("enquiries", "Enquiries", 0),
        ("home_visit", "Home visit", 0),
        ("awaiting_verification", "Awaiting verification", 0),
        ("located", "Located – securing education", 0),
    ]
    assert [(b.label, b.count) for b in board.by_risk] == [
        ("Red", 0), ("Amber", 0), ("Green", 0), ("Not yet rated", 0),
    ]
    assert board.overdue_by_officer == [] and board.overdue_total == 0
    assert board.outcome_keys == [] and board.closed_total == 0
    assert [m.month for m in board.months] == [
        "Apr 2026", "May 2026", "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026",
        "Oct 2026", "Nov 2026", "Dec 2026", "Jan 2027", "Feb 2027", "Mar 2027",
    ]
    assert (board.median_days, board.median_basis, board.median_skipped) == (None, 0, 0)


def test_open_cases_by_stage_and_risk(world, session):
    board = reports.dashboard(session, actor=world.lead, today=TODAY)
    assert {b.key: b.count for b in board.by_stage} == {
        "new_referral": 1, "triage": 1, "enquiries": 3, "home_visit": 1,
        "awaiting_verification": 2, "located": 2,
    }
    assert board.open_total == 10
    assert [(b.label, b.count) for b in board.by_risk] == [
        ("Red", 2), ("Amber", 2), ("Green", 3), ("Not yet rated", 3),
    ]


def test_overdue_cases_by_officer(world, session):
    board = reports.dashboard(session, actor=world.lead, today=TODAY)
    assert [(b.label, b.count) for b in board.overdue_by_officer] == [
        ("Priya Officer", 2),  # LA reply overdue; first visit overdue
        ("Ben Officer", 1),  # first visit overdue (the triage due today is not)
        ("Unallocated", 1),  # triage overdue
    ]
    assert board.overdue_total == 4


def test_closed_outcomes_per_month_for_the_last_twelve_months(world, session):
    board = reports.dashboard(session, actor=world.lead, today=TODAY)
    assert board.outcome_keys == ["onroll_leeds", "left_uk_verified", "ehe", "untraceable"]
    assert board.outcome_labels == [
        "Located – on roll at a Leeds school", "Left the UK – verified",
        "Electively home educated", "Untraceable – enquiries exhausted",
    ]
    counts = {m.month: m.counts for m in board.months if m.total}
    assert counts == {
        "Jun 2026": [0, 0, 1, 0],  # 23:30 UTC on 31 May is June in the UK
        "Nov 2026": [2, 0, 0, 1],
        "Mar 2027": [0, 1, 0, 0],
    }
    assert board.closed_total == 5


def test_lifecycle_closures_count_once_per_episode(session):
    """Closed, reopened and closed again through the real state machine: two closures."""
    w = World(session)
    case = w.case(stage="enquiries", submitted=datetime.now(UTC) - timedelta(days=3))
    episode = w.cme(case, uk_today() - timedelta(days=3))
    closing.close_case(
        session, actor=w.lead, reference=case.reference, outcome="onroll_other_la",
        evidence={"la_name": "Bradford", "school_name": "Bradford Academy",
                  "confirmed_by": "Bradford CME team"},
        version=case.version,
    )
    lifecycle.reopen_case(session, actor=w.lead, reference=case.reference,
                          reason="Bradford says the child never started", version=case.version)
    closing.close_case(session, actor=w.lead, reference=case.reference, outcome="deceased",
                         evidence={"source": "Registrar, confirmed today"}, version=case.version)
    session.commit()
    board = reports.dashboard(session, actor=w.lead, today=uk_today())
    assert board.outcome_keys == ["onroll_other_la", "deceased"]
    assert board.months[-1].counts == [1, 1] and board.closed_total == 2
    assert board.open_total == 0
    # The first closure located the child, so the case counts towards the median (once).
    assert board.median_basis + board.median_skipped == 1
    # It ended the child's episode; the second found none open.
    session.refresh(episode)
    assert (episode.end_date, episode.end_reason) == (uk_today(), "on_roll_other_la")


def test_median_school_days_from_the_cme_episode_start_to_location(world, session):
    board = reports.dashboard(session, actor=world.lead, today=TODAY)
    # 3, 5, 10 and 18 school days. Left out: the reopened EHE case (no term dates for when
    # it began: skipped), the untraceable one (not located) and the one never CME (no
    # episode). From referral instead, the deleted-from-roll child's would be 3, not 18.
    assert board.median_days == 7.5
    assert (board.median_basis, board.median_skipped) == (4, 1)


def test_median_of_an_even_number_of_cases_is_the_mean_of_the_middle_two(session):
    w = World(session)
    for day, located in ((2, 9), (2, 6)):  # 5 and 4 school days
        case = w.case(stage="located", submitted=at(2026, 11, day))
        w.cme(case, date(2026, 11, day))
        w.located(case, at(2026, 11, located))
    session.commit()
    board = reports.dashboard(session, actor=w.lead, today=TODAY)
    assert (board.median_days, board.median_basis) == (4.5, 2)


def test_median_counts_school_days_in_uk_time(session):
    w = World(session)
    c = w.case(stage="located", submitted=at(2026, 10, 19))
    w.cme(c, date(2026, 10, 19))
    # Located 00:30 on Thursday 22 Oct in UK summer time (23:30 UTC on the 21st):
    # 20, 21 and 22 Oct, not two days to the 21st.
    w.located(c, at(2026, 10, 21, 23, 30))
    session.commit()
    assert reports.dashboard(session, actor=w.lead, today=TODAY).median_days == 3.0


def test_median_leaves_out_children_never_cme_and_episodes_begun_after_location(session):
    w = World(session)
    never = w.case(stage="located", submitted=at(2026, 11, 2))
    w.located(never, at(2026, 11, 9))  # no episode
    later = w.case(stage="located", submitted=at(2026, 11, 2))
    w.located(later, at(2026, 11, 9))
    w.cme(later, date(2026, 11, 10))  # still not in school once found: CME from then
    undated = w.case(stage="located", submitted=at(2026, 11, 2))
    w.located(undated, at(2026, 11, 9))
    w.cme(undated, None)
    counted = w.case(stage="located", submitted=at(2026, 11, 2))
    w.located(counted, at(2026, 11, 9))
    w.cme(counted, date(2026, 11, 2))  # 5 school days
    session.commit()
    board = reports.dashboard(session, actor=w.lead, today=TODAY)
    assert (board.median_days, board.median_basis, board.median_skipped) == (5.0, 1, 0)


# ---- children missing education ---------------------------------------------------------------


def test_cme_now_counts_children_with_an_episode_open_today_living_in_the_la(session):
    w = World(session)

    def child(start, end=None, **kw):
        case = w.case(stage="enquiries", submitted=at(2026, 9, 1))
        w.cme(case, start, end, **kw)
        return case

    child(date(2027, 1, 5))  # open
    child(TODAY)  # starts today
    child(date(2026, 9, 1), TODAY + timedelta(days=1))  # ends tomorrow
    twice = child(date(2026, 10, 1))
    w.cme(twice, date(2027, 2, 1))  # two open episodes: one child
    child(None)  # no start date, recorded in September
    child(date(2026, 9, 1), TODAY)  # ended today: on roll today
    child(TODAY + timedelta(days=1))  # starts tomorrow
    child(date(2027, 1, 5), lives_in_la=False)  # counted by the LA they live in
    session.commit()
    board = reports.dashboard(session, actor=w.lead, today=TODAY)
    assert board.cme_now == 5


def test_cme_this_academic_year_counts_each_child_once(session):
    w = World(session)

    def child(start, end=None, **kw):
        case = w.case(stage="enquiries", submitted=at(2026, 9, 1))
        w.cme(case, start, end, **kw)
        return case

    child(date(2025, 5, 1), date(2026, 9, 1))  # on roll from 1 September: not this year
    child(date(2025, 5, 1), date(2026, 9, 2))  # CME on 1 September
    twice = child(date(2026, 10, 1), date(2026, 11, 1))
    w.cme(twice, date(2027, 1, 4))
    child(date(2027, 3, 1))  # open now
    child(TODAY + timedelta(days=1))  # not yet
    child(date(2026, 10, 1), lives_in_la=False)
    session.commit()
    board = reports.dashboard(session, actor=w.lead, today=TODAY)
    assert (board.cme_year, board.cme_year_label) == (3, "2026/27")
    assert board.cme_now == 2


def test_cme_now_by_primary_reason_most_first(session):
    w = World(session)
    for reason, n in (("Mental health", 1), ("Waiting school start", 3), ("Other", 1),
                      ("Moved in from another country", 2)):
        for _ in range(n):
            w.cme(w.case(stage="enquiries", submitted=at(2026, 9, 1)), date(2027, 1, 5),
                  reason=reason)
    ended = w.case(stage="enquiries", submitted=at(2026, 9, 1))
    w.cme(ended, date(2027, 1, 5), date(2027, 2, 1), reason="Physical health")
    session.commit()
    board = reports.dashboard(session, actor=w.lead, today=TODAY)
    # Ties in DfE's order: Mental health before Other.
    assert [(b.label, b.count) for b in board.cme_by_reason] == [
        ("Waiting school start", 3), ("Moved in from another country", 2),
        ("Mental health", 1), ("Other", 1),
    ]
    assert board.cme_now == 7


def test_no_episodes_no_cme_figures(session):
    lead = make_user(session, "lead")
    board = reports.dashboard(session, actor=lead, today=TODAY)
    assert (board.cme_now, board.cme_year, board.cme_by_reason) == (0, 0, [])


def test_dashboard_view_is_audited(world, session):
    before = audit_count(session, "dashboard.view")
    reports.dashboard(session, actor=world.lead, today=TODAY)
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "dashboard.view")
    ).one()
    assert audit_count(session, "dashboard.view") == before + 1
    assert event.actor_id == world.lead.user_id and event.detail == {"open": 10, "overdue": 4}


# ---- the export ---------------------------------------------------------------------------


def test_csv_has_one_row_per_open_case(world, session):
    text = reports.open_cases_csv(session, actor=world.lead, today=TODAY)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == reports.CSV_HEADER
    open_refs = session.exec(
        select(Case.reference)
        .where(Case.stage.in_(["new_referral", "triage", "enquiries", "home_visit",
                               "awaiting_verification", "located"]))
        .order_by(Case.reference)
    ).all()
    assert [r[0] for r in rows[1:]] == list(open_refs) and len(open_refs) == 10

    lena = next(r for r in rows if r[0] == world.l.reference)
    child = session.get(Child, world.l.child_id)
    assert lena == [
        world.l.reference, "Enquiries", "Amber", "Lena", "Lowe",
        child.date_of_birth.isoformat(), "Aire Valley Primary", "Ben Officer", "2027-02-25",
        "7",  # school days 2-5 and 8-10 March
        "First visit overdue",
    ]


def test_csv_cells_cannot_run_as_formulas(world, session):
    text = reports.open_cases_csv(session, actor=world.lead, today=TODAY)
    row = next(r for r in csv.reader(io.StringIO(text)) if r[0] == world.j.reference)
    assert row[3:5] == ["'=cmd|' /C calc'!A0", "'+Leeds"]
    waiting = next(r for r in csv.reader(io.StringIO(text)) if r[0] == world.waiting.reference)
    assert waiting[10] == "LA response due 20 Mar"
    assert (row[2], row[7], row[10]) == ("Not yet rated", "Unallocated", "Triage overdue")
    for value in ("-1", "@SUM(A1)", "\tx", "\rx"):
        assert reports.safe_cell(value) == "'" + value
    assert reports.safe_cell("Amira") == "Amira" and reports.safe_cell(None) == ""


def test_csv_leaves_days_in_stage_blank_without_term_dates(world, session):
    text = reports.open_cases_csv(session, actor=world.lead, today=TODAY)
    # The reopened case entered its stage in June 2026, before the seeded school years.
    blank = [r for r in csv.reader(io.StringIO(text)) if r[9] == ""]
    assert len(blank) == 1 and blank[0][1] == "Enquiries" and blank[0][2] == "Green"


def test_export_is_audited_with_the_row_count(world, session):
    reports.open_cases_csv(session, actor=world.lead, today=TODAY)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "case.export")).one()
    assert event.actor_id == world.lead.user_id
    assert event.detail == {"rows": 10}
