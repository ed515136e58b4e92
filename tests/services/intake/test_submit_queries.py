"""How many SQL statements one referral submit costs (issue 19): fixed and small, and not
growing with the number of people told (each lead and the duty officer get an inbox item and
an audit event, written in batches)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa
from sqlmodel import select

from cme_app.models import AuditEvent, Notification, TeamSettings
from cme_app.ops.demo import _upn, example_referral_form
from cme_app.services.intake import referrals
from cme_app.services.trust import audit
from tests.factories import make_team, make_user

TODAY = date(2026, 11, 27)
# What one submit needs, whoever is told (counted on SQLite; the commit itself is not a cursor
# statement): BEGIN IMMEDIATE 1; the child, the referral and the form's rows, one INSERT per
# table plus one id read 7; the case reference (one upsert) 1; possible duplicate records: five
# reads, the proposal (id read, insert) and its audit events (head read, id read, insert, head
# update) 11; the triage facts 7; the case and its first stage (id reads, inserts, reload) 5;
# the submit's audit event (insert, head update) 2; who to tell and how 6; the items (id read,
# savepoint, one insert, the search index its flush brings along: 5, release) 9; their audit
# events 3. Total 52. It was 74 with two people told and 90 with six.
MAX_STATEMENTS = 52


@contextmanager
def counted(engine):
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _submit(session, actor, n: int) -> list[str]:
    form = example_referral_form(first_name=f"Count{n}", last_name="Child", upn=_upn(n),
                                 today=TODAY)
    with counted(session.get_bind()) as seen:
        case = referrals.submit(session, actor=actor, form=form, today=TODAY)
        session.commit()
    return case, seen


def _told(session, case) -> int:
    return len(session.exec(select(Notification).where(
        Notification.reference == case.reference)).all())


def test_one_submit_costs_a_fixed_small_number_of_statements(session):
    team = make_team(session)  # one lead
    duty = make_user(session, "officer", email="duty@example.org")
    session.add(TeamSettings(id=1, duty_officer_id=duty.user_id))
    session.commit()
    _submit(session, team["school"], 1)  # first-use work (the year's counter row) out of the way

    case, two = _submit(session, team["school"], 2)
    assert _told(session, case) == 2  # the lead and the duty officer

    for i in range(4):
        make_user(session, "lead", email=f"lead{i}@example.org")
    session.commit()
    case, six = _submit(session, team["school"], 3)
    assert _told(session, case) == 6

    # Telling six people costs what telling two does: the items, the emails and their audit
    # events are written in batches.
    assert len(six) == len(two), "\n".join(six)
    assert len(six) <= MAX_STATEMENTS, "\n".join(six)
    notified = [s for s in six if s.startswith("INSERT INTO notification")]
    assert len(notified) == 1
    assert len([e for e in session.exec(select(AuditEvent).where(
        AuditEvent.action == "notification.created")).all()]) == 2 + 2 + 6
    assert audit.verify_chain(session).ok
