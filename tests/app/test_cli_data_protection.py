"""`cme-app sar export` and `cme-app retention destroy --approved`, as real subprocesses."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime

from sqlmodel import select

from cme_app.models import AuditEvent, Child, Tombstone
from cme_app.services.trust import retention
from tests.app.test_cli import cme_app
from tests.factories import make_case, make_user


def test_sar_export_writes_the_child_and_audit_trail_to_stdout(session):
    case = make_case(session, stage="enquiries", first_name="Canary")
    session.commit()
    result = cme_app("sar", "export", "--child", str(case.child_id))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["child"]["first_name"] == "Canary"
    assert doc["cases"][0]["reference"] == case.reference
    session.expire_all()
    exported = session.exec(select(AuditEvent).where(AuditEvent.action == "sar.exported")).one()
    assert exported.child_id == case.child_id


def test_sar_export_to_a_file_is_owner_only(session, tmp_path):
    case = make_case(session, stage="enquiries")
    session.commit()
    out = tmp_path / "sar.json"
    result = cme_app("sar", "export", "--child", str(case.child_id), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["child"]["id"] == case.child_id


def test_sar_export_refuses_an_unknown_child_plainly(session):
    result = cme_app("sar", "export", "--child", "987654")
    assert result.returncode == 1
    assert "No child with id 987654" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_retention_destroy_destroys_only_what_a_lead_approved(session):
    lead = make_user(session, "lead")
    closed = datetime(2018, 1, 5, 12, tzinfo=UTC)
    approved = make_case(session, stage="closed", closed_at=closed, outcome="ehe")
    kept = make_case(session, stage="closed", closed_at=closed, outcome="ehe")
    retention.approve(session, actor=lead, items=[["closed_case", approved.id]],
                      today=date.today())
    session.commit()
    result = cme_app("retention", "destroy", "--approved")
    assert result.returncode == 0, result.stderr
    assert f"Destroyed {approved.reference}." in result.stdout
    assert "1 destroyed, 0 kept." in result.stdout
    session.expire_all()
    assert session.get(Child, approved.child_id).first_name == "Destroyed"
    assert session.get(Child, kept.child_id).first_name == "Amira"
    assert [t.record_id for t in session.exec(select(Tombstone)).all()] == [approved.id]


def test_retention_destroy_needs_the_approved_flag(session):
    result = cme_app("retention", "destroy")
    assert result.returncode == 2 and "--approved" in result.stderr
