"""`cme-app backup` and `cme-app restore-drill` (docs/deploy.md) on the test database: SQLite,
or PostgreSQL when CME_TEST_DB_URL says so. The drill restores into a fresh database and must
fail, loudly, on a tampered copy, a changed backup file or the wrong key."""

from __future__ import annotations

import functools
import os
import secrets
import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from cme_app import cli
from cme_app.ops import backup, demo
from tests.conftest import TEST_DB_URL, _wipe
from tests.factories import CANARIES, CANARY_FIRST, CANARY_LAST, audit_guard_off, make_case

ON_PG = TEST_DB_URL.startswith("postgresql")


def cme_app(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REFLEX_DB_URL": TEST_DB_URL}
    return subprocess.run(
        [sys.executable, "-m", "cme_app.cli", *args],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )


def _key(tmp_path, name: str = "backup.key") -> str:
    path = tmp_path / name
    path.write_text(secrets.token_urlsafe(48) + "\n")
    path.chmod(0o600)
    return str(path)


@pytest.fixture(scope="module")
def seeded(engine):
    """The demo data plus a child carrying the canary names, seeded once: no test here changes
    the source database (tampering happens on the restored copy)."""
    _wipe(engine)
    with Session(engine, expire_on_commit=False) as session:
        demo.load_demo(session)
        make_case(session, first_name=CANARY_FIRST, last_name=CANARY_LAST)
        session.commit()
    yield engine
    _wipe(engine)


def _restore_databases() -> set[str]:
    if not ON_PG:
        return set()
    engine = sa.create_engine(TEST_DB_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                             {"p": "cme_restore_%"}).scalars().all()
    engine.dispose()
    return set(names)


def test_drill_passes_on_a_seeded_database_and_leaves_no_restored_copy(seeded, tmp_path):
    before = _restore_databases()
    done = cme_app("restore-drill", "--key-file", _key(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for check in ("integrity", "foreign keys", "schema revision", "row counts", "audit chain",
                  "append-only triggers"):
        assert f"ok   {check}:" in out
    assert "FAIL" not in out and out.rstrip().endswith("Restore drill passed.")
    # The counts are the source's: the demo's audit events are all there.
    with seeded.connect() as conn:
        events = conn.exec_driver_sql("SELECT count(*) FROM auditevent").scalar_one()
    assert events > 0 and f"Audit chain intact: {events} events" in out
    assert _restore_databases() == before  # the fresh database was dropped again
    assert not any(c in out + done.stderr for c in CANARIES)


def test_backup_file_is_encrypted_owner_only_and_drillable(seeded, tmp_path):
    key = _key(tmp_path)
    out = tmp_path / "cme.backup.gpg"
    made = cme_app("backup", "--out", str(out), "--key-file", key)
    assert made.returncode == 0, made.stdout + made.stderr
    data = out.read_bytes()
    assert data[:1] in backup.GPG_MAGIC
    assert not any(c.encode() in data for c in CANARIES)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    manifest = backup.Manifest.read(backup.manifest_path(out))
    assert manifest.row_counts["child"] >= 1 and manifest.audit_count > 0
    assert not any(c in backup.manifest_path(out).read_text() for c in CANARIES)
    if not ON_PG:
        # The plain SQLite copy does hold the canary, so the check above can fail.
        plain = tmp_path / "plain.db"
        with backup._gpg_home() as home:
            subprocess.run([*backup._gpg_args(home, tmp_path / "backup.key"), "--output",
                            str(plain), "--decrypt", str(out)], check=True)
        assert CANARY_LAST.encode() in plain.read_bytes()

    drilled = cme_app("restore-drill", "--backup", str(out), "--key-file", key)
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert "ok   backup file: matches its manifest" in drilled.stdout
    assert "as in the source" in drilled.stdout

    again = cme_app("backup", "--out", str(out), "--key-file", key)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_drill_fails_with_the_wrong_key(seeded, tmp_path):
    out = tmp_path / "cme.backup.gpg"
    assert cme_app("backup", "--out", str(out), "--key-file", _key(tmp_path)).returncode == 0
    before = _restore_databases()
    wrong = cme_app("restore-drill", "--backup", str(out), "--key-file",
                    _key(tmp_path, "other.key"))
    assert wrong.returncode == 1
    assert "FAIL restore: could not decrypt the backup: wrong key" in wrong.stdout
    assert "Restore drill FAILED" in wrong.stdout and "Traceback" not in wrong.stderr
    assert _restore_databases() == before


def test_drill_fails_when_the_backup_file_was_changed(seeded, tmp_path):
    key = _key(tmp_path)
    out = tmp_path / "cme.backup.gpg"
    assert cme_app("backup", "--out", str(out), "--key-file", key).returncode == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    changed = cme_app("restore-drill", "--backup", str(out), "--key-file", key)
    assert changed.returncode == 1
    assert "FAIL backup file: its SHA-256 does not match the manifest" in changed.stdout


def test_drill_fails_when_the_encrypted_data_was_changed_and_the_manifest_too(
    seeded, tmp_path
):
    """Even with the manifest's SHA-256 forged, gpg's integrity check refuses the file."""
    key = _key(tmp_path)
    out = tmp_path / "cme.backup.gpg"
    assert cme_app("backup", "--out", str(out), "--key-file", key).returncode == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    manifest = backup.Manifest.read(backup.manifest_path(out))
    manifest.sha256 = backup._sha256(out)
    manifest.write(backup.manifest_path(out))
    before = _restore_databases()
    changed = cme_app("restore-drill", "--backup", str(out), "--key-file", key)
    assert changed.returncode == 1
    assert "ok   backup file" in changed.stdout
    assert "FAIL restore: could not decrypt the backup" in changed.stdout
    assert _restore_databases() == before


def _drill_with(monkeypatch, capsys, tmp_path, tamper) -> tuple[int, str]:
    """The real CLI in-process, with `tamper` run on the restored copy before the checks."""
    monkeypatch.setattr(backup, "run_drill",
                        functools.partial(backup.run_drill, after_restore=tamper))
    code = cli.main(["restore-drill", "--key-file", _key(tmp_path)])
    return code, capsys.readouterr().out


def test_drill_fails_when_an_audit_event_was_edited_in_the_restored_copy(
    seeded, tmp_path, monkeypatch, capsys
):
    edited = {}

    def edit_event(engine):
        with engine.begin() as conn, audit_guard_off(conn):
            edited["id"] = conn.exec_driver_sql(
                "SELECT id FROM auditevent ORDER BY id LIMIT 1 OFFSET 3").scalar_one()
            conn.execute(sa.text("UPDATE auditevent SET outcome = 'refused' WHERE id = :id"),
                         {"id": edited["id"]})

    code, out = _drill_with(monkeypatch, capsys, tmp_path, edit_event)
    assert code == 1
    assert f"FAIL audit chain: Audit chain broken at event {edited['id']}: edited" in out
    assert "ok   row counts" in out  # only the chain notices an edit
    assert out.rstrip().endswith("Restore drill FAILED: audit chain.")


def test_drill_fails_when_a_row_is_missing_from_the_restored_copy(
    seeded, tmp_path, monkeypatch, capsys
):
    with seeded.connect() as conn:
        source = conn.exec_driver_sql('SELECT count(*) FROM "notification"').scalar_one()
    assert source > 0

    def delete_row(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql(
                'DELETE FROM "notification" WHERE id = (SELECT max(id) FROM "notification")')

    code, out = _drill_with(monkeypatch, capsys, tmp_path, delete_row)
    assert code == 1
    assert (f"FAIL row counts: notification has {source - 1} rows, the source had {source}"
            in out)


def test_drill_fails_when_the_newest_audit_events_were_cut_from_the_restored_copy(
    seeded, tmp_path, monkeypatch, capsys
):
    def cut_tail(engine):
        with engine.begin() as conn, audit_guard_off(conn):
            conn.exec_driver_sql(
                "DELETE FROM auditevent WHERE id = (SELECT max(id) FROM auditevent)")

    code, out = _drill_with(monkeypatch, capsys, tmp_path, cut_tail)
    assert code == 1
    assert "FAIL audit chain: Audit chain broken at event" in out and "deleted after" in out
    assert "FAIL row counts: auditevent has" in out


def test_drill_fails_when_the_append_only_triggers_are_gone(
    seeded, tmp_path, monkeypatch, capsys
):
    def drop_triggers(engine):
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE auditevent DISABLE TRIGGER USER")
            else:
                conn.exec_driver_sql("DROP TRIGGER auditevent_no_update")

    code, out = _drill_with(monkeypatch, capsys, tmp_path, drop_triggers)
    assert code == 1
    assert "FAIL append-only triggers: missing or disabled: auditevent_no_" in out


def test_drill_fails_on_a_row_pointing_at_a_missing_row(seeded, tmp_path, monkeypatch, capsys):
    orphan_sql = 'UPDATE "case" SET child_id = 999999 WHERE id = (SELECT min(id) FROM "case")'

    def orphan(engine):
        if engine.dialect.name == "postgresql":
            # Foreign-key triggers off: what a restore without its constraints would leave.
            with engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                conn.exec_driver_sql(orphan_sql)
            return
        # A plain connection has foreign keys off, as a damaged or hand-edited file would.
        raw = sqlite3.connect(engine.url.database, isolation_level=None)
        try:
            raw.execute(orphan_sql)
        finally:
            raw.close()

    code, out = _drill_with(monkeypatch, capsys, tmp_path, orphan)
    assert code == 1
    assert "FAIL foreign keys:" in out
    if ON_PG:
        assert "1 rows of case point at missing child" in out


def test_drill_fails_clearly_when_a_table_is_missing_from_the_restored_copy(
    seeded, tmp_path, monkeypatch, capsys
):
    def drop_audit(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE auditevent")

    code, out = _drill_with(monkeypatch, capsys, tmp_path, drop_audit)
    assert code == 1
    assert "FAIL checks: could not run on the restored database:" in out
