"""Sending the email queue (ops/mail.py, over ops/smtp.py) to a real SMTP server
(aiosmtpd) on 127.0.0.1.

Time is moved by passing `now=`; the SMTP timeout is one second, so the failure paths are quick.
Every test reads the database through fresh sessions: the services commit in their own.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from cme_app.dates import LONDON
from cme_app.domain import NotifyEvent
from cme_app.models import AuditEvent, Case, EmailMessage, Notification, User, utcnow
from cme_app.ops import mail
from cme_app.ops import smtp as transport
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from cme_app.services.notify import notifications, reminders
from cme_app.settings import get_settings
from tests.factories import at_once, make_case, make_school, make_user

BASE = "https://cme.example.gov.uk"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # a Saturday; GMT, so London = UTC

# A child nobody else is called, living nowhere else: none of this may reach an email.
CANARY = {
    "first_name": "Zebedee",
    "last_name": "Quillfeather",
    "upn": "A383200012401",
    "home_line1": "17 Canarybird Row",
    "person-p1-full_name": "Persephone Oddington",
    "concerns_narrative": "Seen with an uncle called Xerxes near the canal",
}


# ---- an SMTP server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collect:
    """Accepts everything and keeps each message as received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK: queued"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(e.original_content, policy=email.policy.default)
            for e in self.envelopes
        ]


class Refuse(Collect):
    """Answers `reply` at one stage (RCPT or DATA), counting how often it was asked."""

    def __init__(self, stage: str, reply: str):
        super().__init__()
        self.stage, self.reply, self.asked = stage, reply, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stage == "RCPT":
            self.asked += 1
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stage == "DATA":
            self.asked += 1
            return self.reply
        return await super().handle_DATA(server, session, envelope)


class HangUpAfterData(Collect):
    """Receives the whole message, then drops the connection instead of replying."""

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        server.transport.abort()
        return "250 OK"


@contextmanager
def smtp_server(handler, port: int | None = None):
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


# ---- settings and data ------------------------------------------------------------------------


@pytest.fixture
def configure(monkeypatch):
    """Set CME_* variables for this test; settings are read afresh."""
    transport._said_once.clear()
    mail._last_scan.clear()

    def apply(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    apply(CME_BASE_URL=BASE, CME_MAIL_FROM="CME team <cme@leeds.example.gov.uk>")
    monkeypatch.delenv("CME_SMTP_URL", raising=False)
    get_settings.cache_clear()
    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    transport._said_once.clear()
    mail._last_scan.clear()


def smtp_url(port: int) -> str:
    return f"smtp://127.0.0.1:{port}?timeout=1"


@pytest.fixture
def smtp(configure):
    """A server that accepts everything, configured as CME_SMTP_URL."""
    handler = Collect()
    with smtp_server(handler) as port:
        configure(CME_SMTP_URL=smtp_url(port))
        yield handler


def staff(session, role: str, name: str) -> User:
    user = User(
        email=f"{name.split()[0].lower()}@leeds.example.gov.uk",
        name=name,
        role=role,
        password_hash="not-used",
    )
    session.add(user)
    session.flush()
    return user


def emails(db) -> list[EmailMessage]:
    with Session(db, expire_on_commit=False) as s:
        return list(s.exec(select(EmailMessage).order_by(EmailMessage.id)).all())


def audited(db, action: str) -> list[AuditEvent]:
    with Session(db, expire_on_commit=False) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def red_referral(session, school, **changes) -> str:
    """A Red referral (FGM concern) submitted by a school through the real service."""
    today = utcnow().astimezone(LONDON).date()
    form = example_referral_form(today=today)
    form.update({"concern-none_known": None, "concern-fgm": "on"})
    form.update({"concerns_narrative": "Travel abroad was mentioned.", **changes})
    form = {k: v for k, v in form.items() if v is not None}
    case = referrals.submit(session, actor=school, form=form, today=today)
    assert case.proposed_risk == "red"
    reference = case.reference
    session.commit()
    return reference


def queue(session, recipients: list[User], *, key="k1", event=NotifyEvent.REFERRAL_RED, now=T0):
    """Notifications through the real `notify`, committed."""
    made = notifications.notify(
        session,
        event=event,
        recipients=[u.id for u in recipients],
        key=key,
        reference="CME-2026-00042",
        subject="Red referral CME-2026-00042: triage it today",
        body="A Red-risk new referral has arrived (CME-2026-00042).",
        link="/cases/CME-2026-00042",
        now=now,
    )
    session.commit()
    return made


# ---- URLs -----------------------------------------------------------------------------------


def test_smtp_urls_are_parsed():
    plain = transport.parse_smtp_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.username) == (
        "mail.example.org",
        25,
        False,
        False,
        "",
    )
    auth = transport.parse_smtp_url("smtp://cme%40leeds:p%2Fss@relay:587?starttls=1&timeout=5")
    assert (auth.host, auth.port, auth.starttls, auth.username, auth.password, auth.timeout) == (
        "relay",
        587,
        True,
        "cme@leeds",
        "p/ss",
        5.0,
    )
    tls = transport.parse_smtp_url("smtps://relay")
    assert (tls.port, tls.tls, tls.starttls) == (465, True, False)
    assert "p/ss" not in repr(auth)  # the password never reaches a log line
    for bad in ("http://relay", "smtp://", "smtp://relay:notaport", "smtp://relay?timeout=x"):
        with pytest.raises(ValueError) as refused:
            transport.parse_smtp_url(bad)
        assert bad not in str(refused.value)


def test_backoff_doubles_from_thirty_seconds_to_an_hour():
    assert [mail.backoff(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]


# ---- an immediate email ----------------------------------------------------------------------


def test_a_red_referral_emails_the_lead_with_no_personal_data(session, smtp):
    make_school(session)
    school = make_user(session, "school", school_urn="107999")
    lead = staff(session, "lead", "Lee Lead")
    lead_id, lead_address = lead.id, lead.email
    session.commit()
    reference = red_referral(session, school, **CANARY)

    done = mail.deliver_due(now=utcnow() + timedelta(seconds=1))

    assert (done.sent, done.retrying, done.failed) == (1, 0, 0)
    assert len(smtp.envelopes) == 1
    envelope = smtp.envelopes[0]
    assert envelope.rcpt_tos == [lead_address]
    assert envelope.mail_from == "cme@leeds.example.gov.uk"
    msg = smtp.messages()[0]
    assert reference in msg["Subject"]
    assert msg["To"] == lead_address
    assert msg["From"] == "CME team <cme@leeds.example.gov.uk>"
    body = msg.get_content()
    assert f"{BASE}/cases/{reference}" in body
    raw = envelope.original_content.decode("utf-8", "replace")
    for value in [*CANARY.values(), "Canarybird", "Xerxes", "LS2 8BU", "fgm", "FGM"]:
        assert value not in raw and value not in body, value

    [row] = emails(session.get_bind())
    assert msg["Message-ID"] == row.message_id
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.recipient_id == lead_id and row.last_error is None
    [event] = audited(session.get_bind(), "notification.email_sent")
    assert event.entity_type == "email" and event.entity_id == str(row.id)
    assert event.actor_id is None and event.actor_role == "system"
    assert event.detail["recipient"] == lead_id and event.detail["attempt"] == 1
    assert "@" not in json.dumps(event.detail) and reference not in json.dumps(event.detail)

    # Sent is sent: later rounds send nothing more.
    assert mail.deliver_due(now=utcnow() + timedelta(days=1)).sent == 0
    assert len(smtp.envelopes) == 1


def test_with_no_smtp_url_email_waits_and_that_is_said_once(session, configure, caplog):
    lead = staff(session, "lead", "Lee Lead")
    queue(session, [lead])
    with caplog.at_level(logging.INFO, logger="cme_app.ops.smtp"):
        assert mail.deliver_due(now=T0 + timedelta(hours=1)) == mail.Delivered()
        assert mail.deliver_due(now=T0 + timedelta(hours=2)) == mail.Delivered()
    [row] = emails(session.get_bind())
    assert (row.status, row.attempts) == ("pending", 0)
    assert caplog.text.count("Email is not configured") == 1
    assert "@" not in caplog.text


# ---- the retry path ---------------------------------------------------------------------------


def test_smtp_down_then_up_sends_exactly_one_email_each(session, configure):
    port = free_port()  # nothing listens here yet
    configure(CME_SMTP_URL=smtp_url(port))
    leads = [staff(session, "lead", f"{n} Lead") for n in ("Ann", "Bob", "Cat")]
    addresses = {u.email for u in leads}
    queue(session, leads, now=T0)
    db = session.get_bind()

    down = mail.deliver_due(now=T0)

    assert (down.sent, down.retrying, down.failed) == (0, 3, 0)
    for row in emails(db):
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at == T0 + timedelta(seconds=30)
        assert row.last_error == "could not connect (ConnectionRefusedError)"
    failures = audited(db, "notification.email_failed")
    assert len(failures) == 3
    assert all(e.detail["will_retry"] is True and e.detail["attempt"] == 1 for e in failures)
    assert all("@" not in json.dumps(e.detail) for e in failures)

    handler = Collect()
    with smtp_server(handler, port=port):
        assert mail.deliver_due(now=T0 + timedelta(seconds=20)).sent == 0  # not due yet
        assert handler.envelopes == []
        up = mail.deliver_due(now=T0 + timedelta(seconds=31))
        assert (up.sent, up.retrying, up.failed) == (3, 0, 0)
        for later in (1, 60, 3600 * 24):
            assert mail.deliver_due(now=T0 + timedelta(seconds=31 + later)).sent == 0

    received = [tuple(e.rcpt_tos) for e in handler.envelopes]
    assert sorted(received) == sorted((a,) for a in addresses)
    ids = Counter(m["Message-ID"] for m in handler.messages())
    assert len(ids) == 3 and set(ids.values()) == {1}
    assert {(r.status, r.attempts) for r in emails(db)} == {("sent", 2)}
    assert len(audited(db, "notification.email_sent")) == 3


@pytest.mark.parametrize(
    ("stage", "reply", "status"),
    [
        ("RCPT", "451 4.3.0 try later", "pending"),
        ("DATA", "451 4.3.0 try later", "pending"),
        ("RCPT", "550 5.1.1 no such user", "failed"),
        ("DATA", "554 5.7.1 rejected", "failed"),
    ],
)
def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_final(
    session, configure, stage, reply, status
):
    lead = staff(session, "lead", "Lee Lead")
    queue(session, [lead])
    handler = Refuse(stage, reply)
    code = reply.split()[0]
    with smtp_server(handler) as port:
        configure(CME_SMTP_URL=smtp_url(port))
        mail.deliver_due(now=T0)
        [row] = emails(session.get_bind())
        assert (row.status, row.attempts, handler.asked) == (status, 1, 1)
        assert code in row.last_error and stage in row.last_error
        [failed] = audited(session.get_bind(), "notification.email_failed")
        assert failed.detail["will_retry"] is (status == "pending")
        # A day later: a temporary refusal is asked again, a permanent one never.
        mail.deliver_due(now=T0 + timedelta(days=1))
    assert handler.asked == (2 if status == "pending" else 1)
    assert handler.envelopes == []
    assert "no such user" not in (emails(session.get_bind())[0].last_error or "")


def test_after_eight_temporary_refusals_the_email_fails(session, configure):
    lead = staff(session, "lead", "Lee Lead")
    queue(session, [lead])
    db = session.get_bind()
    handler = Refuse("RCPT", "451 try later")
    now, waits = T0, []
    with smtp_server(handler) as port:
        configure(CME_SMTP_URL=smtp_url(port))
        for _ in range(mail.MAX_ATTEMPTS):
            mail.deliver_due(now=now)
            [row] = emails(db)
            if row.status == "pending":
                waits.append((row.next_attempt_at - now).total_seconds())
                now = row.next_attempt_at
        mail.deliver_due(now=now + timedelta(days=2))
    [row] = emails(db)
    assert (row.status, row.attempts, handler.asked) == ("failed", 8, 8)
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert row.last_error.startswith("gave up after 8 attempts")
    failures = audited(db, "notification.email_failed")
    assert [e.detail["will_retry"] for e in failures] == [True] * 7 + [False]


def test_a_slow_round_stops_and_leaves_the_rest_due(session, smtp, monkeypatch):
    queue(session, [staff(session, "lead", f"{n} Lead") for n in ("Ann", "Bob", "Cat")])
    monkeypatch.setattr(mail, "ROUND_SECONDS", 0.0)  # every send "took too long"
    assert [mail.deliver_due(now=T0).sent for _ in range(4)] == [1, 1, 1, 0]
    assert len(smtp.envelopes) == 3
    assert {(r.status, r.attempts) for r in emails(session.get_bind())} == {("sent", 1)}


# ---- unknown outcomes are never sent again ---------------------------------------------------


def test_a_connection_lost_after_the_message_is_never_resent(session, configure):
    lead = staff(session, "lead", "Lee Lead")
    queue(session, [lead])
    db = session.get_bind()
    handler = HangUpAfterData()
    with smtp_server(handler) as port:
        configure(CME_SMTP_URL=smtp_url(port))
        done = mail.deliver_due(now=T0)
        assert (done.sent, done.retrying, done.failed) == (0, 0, 1)
        mail.deliver_due(now=T0 + timedelta(days=3))
    assert len(handler.envelopes) == 1  # it got there once, and only once
    [row] = emails(db)
    assert row.status == "failed" and row.last_error.startswith("outcome unknown")
    [failed] = audited(db, "notification.email_failed")
    assert failed.detail["will_retry"] is False
    # The inbox item is kept.
    with Session(db) as s:
        assert s.exec(select(Notification)).one().email_id == row.id


def test_an_unexpected_error_mid_conversation_counts_as_unknown(session, smtp, monkeypatch):
    queue(session, [staff(session, "lead", "Lee Lead")])

    def surprise(self, *args, **kwargs):
        raise KeyError("lee@leeds.example.gov.uk")

    monkeypatch.setattr(transport.smtplib.SMTP, "rcpt", surprise)
    assert mail.deliver_due(now=T0).failed == 1
    monkeypatch.undo()
    [row] = emails(session.get_bind())
    assert row.status == "failed" and row.last_error == "outcome unknown: unexpected KeyError"
    assert mail.deliver_due(now=T0 + timedelta(days=1)).sent == 0


def test_a_worker_that_died_mid_send_is_reaped_and_not_resent(session, smtp):
    lead = staff(session, "lead", "Lee Lead")
    queue(session, [lead])
    db = session.get_bind()
    [row] = emails(db)
    claim = mail._claim(row.id, T0)  # a worker takes it, then its process dies
    assert claim is not None and mail._claim(row.id, T0) is None  # nobody else can

    assert mail.reap_stuck(now=T0 + timedelta(minutes=5)) == 0  # it may still be sending
    assert mail.deliver_due(now=T0 + timedelta(minutes=5)).sent == 0
    assert mail.reap_stuck(now=T0 + mail.LEASE + timedelta(seconds=1)) == 1
    assert mail.reap_stuck(now=T0 + timedelta(days=1)) == 0

    [row] = emails(db)
    assert row.status == "failed" and row.last_error == mail.REAPED
    [failed] = audited(db, "notification.email_failed")
    assert failed.entity_id == str(row.id) and failed.detail["will_retry"] is False
    # A stale "try again" from the dead worker cannot bring it back, and nothing is sent.
    stale = mail._record(claim, transport.Result(transport.Outcome.RETRY, "x"), T0)
    assert stale == transport.Outcome.UNKNOWN and emails(db)[0].status == "failed"
    assert mail.deliver_due(now=T0 + timedelta(days=2)).sent == 0
    assert smtp.envelopes == []


# ---- at most once under concurrency ------------------------------------------------------------


def test_workers_racing_on_the_queue_send_each_message_once(session, smtp):
    people = [staff(session, "lead", f"Lead{n:02d} Person") for n in range(20)]
    queue(session, people)
    db = session.get_bind()
    results, errors = at_once(lambda: mail.deliver_due(now=T0), times=4, timeout=120)
    assert errors == []
    assert sum(r.sent for r in results) == 20
    assert sum(r.retrying + r.failed for r in results) == 0
    received = Counter(m["Message-ID"] for m in smtp.messages())
    assert len(received) == 20 and set(received.values()) == {1}
    assert Counter(tuple(e.rcpt_tos) for e in smtp.envelopes) == Counter((u.email,) for u in people)
    assert {(r.status, r.attempts) for r in emails(db)} == {("sent", 1)}
    assert len(audited(db, "notification.email_sent")) == 20


# ---- the digest -------------------------------------------------------------------------------


def digest_item(session, user: User, reference: str, at: datetime) -> None:
    notifications.notify(
        session,
        event=NotifyEvent.REFERRAL_NEW,
        recipients=[user.id],
        key=f"referral:{reference}:1:1",
        reference=reference,
        subject=f"New referral {reference} to triage",
        body=f"A new referral has arrived ({reference}). Triage it by its due date.",
        link=f"/cases/{reference}",
        now=at,
    )
    session.commit()


def test_the_daily_digest_goes_once_with_the_items_before_the_digest_hour(session, smtp):
    lead = staff(session, "lead", "Lee Lead")
    officer = staff(session, "officer", "Olu Officer")
    lead_address, officer_address = lead.email, officer.email
    db = session.get_bind()
    day_before = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    refs = ["CME-2026-00011", "CME-2026-00012", "CME-2026-00013"]
    for i, ref in enumerate(refs):
        digest_item(session, lead, ref, day_before + timedelta(hours=i))
    queue(session, [lead], now=day_before)  # a Red referral: at once, not in the digest
    queue(session, [officer], key="allocated", event=NotifyEvent.CASE_ALLOCATED, now=day_before)
    seven = datetime(2026, 11, 28, 7, 0, tzinfo=LONDON)

    assert mail.build_digests(now=seven - timedelta(minutes=1)) == 0  # not yet
    digest_item(session, lead, "CME-2026-00014", seven + timedelta(minutes=2))  # after 07:00
    assert mail.build_digests(now=seven + timedelta(minutes=5)) == 1
    assert mail.build_digests(now=seven + timedelta(minutes=6)) == 0  # a rerun: nothing
    # Stamped before 07:00 but committed after the digest went (a long transaction, another
    # process's clock): it waits for tomorrow rather than making a second digest today.
    digest_item(session, lead, "CME-2026-00015", seven - timedelta(minutes=1))
    assert mail.build_digests(now=seven + timedelta(hours=1)) == 0
    mail.deliver_due(now=seven + timedelta(hours=1))

    to_lead = [m for m in smtp.messages() if m["To"] == lead_address]
    to_officer = [m for m in smtp.messages() if m["To"] == officer_address]
    assert len(to_lead) == 2 and len(to_officer) == 1  # the officer has no digest items
    [digest] = [m for m in to_lead if "digest" in m["Subject"]]
    assert digest["Subject"] == "Your CME digest for 28 November 2026: 3 items"
    body = digest.get_content()
    for ref in refs:
        assert f"New referral {ref} to triage" in body and f"{BASE}/cases/{ref}" in body
    for waiting in ("CME-2026-00014", "CME-2026-00015", "CME-2026-00042"):
        assert waiting not in body
    with Session(db) as s:
        row = s.exec(select(EmailMessage).where(EmailMessage.kind == "digest")).one()
        assert row.dedupe_key == f"digest:{row.recipient_id}:2026-11-28"
        linked = s.exec(select(Notification).where(Notification.email_id == row.id)).all()
        assert sorted(n.reference for n in linked) == refs

    # The next morning, the waiting items have their own digest.
    tomorrow = seven + timedelta(days=1, minutes=1)
    assert mail.build_digests(now=tomorrow) == 1
    mail.deliver_due(now=tomorrow)
    [late] = [m for m in smtp.messages() if "29 November" in m["Subject"]]
    assert late["Subject"] == "Your CME digest for 29 November 2026: 2 items"
    assert "CME-2026-00014" in late.get_content() and "CME-2026-00015" in late.get_content()
    assert len(smtp.envelopes) == 4


def test_two_workers_building_the_same_digest_queue_one(session, configure):
    lead = staff(session, "lead", "Lee Lead")
    digest_item(session, lead, "CME-2026-00011", T0 - timedelta(days=1))
    built, errors = at_once(lambda: mail.build_digests(now=T0), times=3)
    assert errors == [] and sorted(built) == [0, 0, 1]
    assert [r.kind for r in emails(session.get_bind())] == ["digest"]


# ---- email never blocks an action ------------------------------------------------------------


def test_with_smtp_down_a_referral_is_still_submitted(session, configure):
    configure(CME_SMTP_URL=smtp_url(free_port()))
    make_school(session)
    school = make_user(session, "school", school_urn="107999")
    staff(session, "lead", "Lee Lead")
    session.commit()
    first = red_referral(session, school)
    assert mail.deliver_due(now=utcnow()).retrying == 1  # no exception
    second = red_referral(session, school)
    with Session(session.get_bind()) as s:
        assert {c.reference for c in s.exec(select(Case)).all()} == {first, second}
    assert [(r.status, r.attempts) for r in emails(session.get_bind())] == [
        ("pending", 1),
        ("pending", 0),
    ]


# ---- the worker --------------------------------------------------------------------------------


def test_a_round_scans_targets_and_sends_what_they_raise(session, smtp, monkeypatch):
    # The scan stamps its notifications with the real clock, so this round runs just after it.
    now = utcnow() + timedelta(minutes=1)
    today = now.astimezone(LONDON).date()
    officer = staff(session, "officer", "Olu Officer")
    lead = staff(session, "lead", "Lee Lead")
    make_case(
        session,
        stage="new_referral",
        risk="red",
        officer_id=officer.id,
        triage_due_on=today - timedelta(days=1),
    )
    session.commit()
    scans = []
    real_scan = reminders.scan_targets

    def counted(session, *, today):
        scans.append(today)
        return real_scan(session, today=today)

    monkeypatch.setattr(reminders, "scan_targets", counted)

    done = mail.run_once(now=now)

    assert scans == [today] and done.scanned == 2
    assert done.delivered.sent == 2
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == sorted([officer.email, lead.email])
    assert all("Triage target missed" in m["Subject"] for m in smtp.messages())
    mail.run_once(now=now + timedelta(seconds=60))  # within notify_scan_seconds: no scan
    assert len(scans) == 1
    mail.run_once(now=now + timedelta(seconds=301))  # the next scan tells nobody twice
    assert len(scans) == 2 and len(smtp.envelopes) == 2


def test_a_failing_step_does_not_stop_the_round(session, smtp, monkeypatch, caplog):
    lead = staff(session, "lead", "Lee Lead")
    queue(session, [lead])

    def broken(session, *, today):
        raise RuntimeError("Zebedee Quillfeather")  # must not be logged

    monkeypatch.setattr(reminders, "scan_targets", broken)
    with caplog.at_level(logging.INFO, logger="cme_app.ops.mail"):
        done = mail.run_once(now=T0)
    assert done.delivered.sent == 1 and len(smtp.envelopes) == 1
    assert "scan failed: RuntimeError" in caplog.text and "Zebedee" not in caplog.text


def run_worker() -> list[BaseException]:
    """The lifespan coroutine, in a thread of its own (earlier browser tests can leave an
    event loop on this one); returns what stopped it."""
    raised = []

    def run():
        try:
            asyncio.run(mail.worker())
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return raised


def test_the_worker_sends_the_queue_in_its_round(session, smtp, monkeypatch, caplog):
    lead = staff(session, "lead", "Lee Lead")
    address = lead.email
    queue(session, [lead], now=utcnow() - timedelta(seconds=1))
    pauses = []

    async def fake_sleep(seconds):
        pauses.append(seconds)
        raise asyncio.CancelledError  # one round is enough

    monkeypatch.setattr(mail.asyncio, "sleep", fake_sleep)
    with caplog.at_level(logging.INFO, logger="cme_app.ops.mail"):
        raised = run_worker()
    assert len(raised) == 1 and isinstance(raised[0], asyncio.CancelledError)
    assert pauses == [15]
    assert [e.rcpt_tos for e in smtp.envelopes] == [[address]]
    assert "1 sent" in caplog.text and "@" not in caplog.text


def test_the_worker_keeps_going_after_a_failed_round(monkeypatch, caplog):
    calls, pauses = [], []

    def flaky_run_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("lee@leeds.example.gov.uk")  # must not be logged
        return mail.Round(delivered=mail.Delivered(sent=2))

    async def fake_sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:
            raise asyncio.CancelledError

    monkeypatch.setattr(mail, "run_once", flaky_run_once)
    monkeypatch.setattr(mail.asyncio, "sleep", fake_sleep)
    with caplog.at_level(logging.INFO, logger="cme_app.ops.mail"):
        raised = run_worker()
    assert len(raised) == 1 and isinstance(raised[0], asyncio.CancelledError)
    assert len(calls) == 3 and pauses == [15, 15, 15]
    assert "Notifications worker failed: RuntimeError" in caplog.text
    assert "2 sent" in caplog.text and "lee@" not in caplog.text
