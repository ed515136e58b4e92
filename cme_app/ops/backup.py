"""Encrypted backups and the restore drill (docs/deploy.md).

A backup is one file encrypted with GnuPG (symmetric AES-256, Debian's `gnupg`): the SQLite
online backup of the database file, or `pg_dump -Fc` of the PostgreSQL database. Beside it,
`<backup>.manifest.json` (no personal data) records what the source held in the same snapshot
as the dump: the row count of every table, the schema revision, the audit chain's head and the
enabled triggers, plus the backup file's SHA-256.

The drill decrypts a backup into a fresh database (a new SQLite file, or a new PostgreSQL
database `cme_restore_<random>` dropped afterwards) and checks it against the manifest:
integrity and foreign keys, schema revision and drift, row counts, the audit chain, triggers.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from ..settings import PROJECT_ROOT, get_settings

LOCAL_KEY_FILE = PROJECT_ROOT / ".cme_backup_key"
MANIFEST_SUFFIX = ".manifest.json"
GPG_MAGIC = (b"\x8c", b"\xc3")  # OpenPGP symmetric-key session key packet (old, new format)


class BackupError(Exception):
    """A backup or restore step failed; the message says which and why (no personal data)."""


@dataclass
class Manifest:
    dialect: str
    revision: str | None
    row_counts: dict[str, int]
    audit_count: int
    audit_head_hash: str | None
    triggers: list[str]
    created_at: str = ""
    sha256: str = ""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise BackupError(f"the manifest {path} is missing; it is written beside every "
                              "backup and the drill needs it") from None


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


# ------------------------------------------------------------------------------ the key


def key_file(explicit: str | None = None) -> Path:
    """The file holding the backup passphrase: --key-file, else CME_BACKUP_KEY_FILE, else (not
    in production) a per-checkout key made once in `.cme_backup_key`, like `.cme_secret`."""
    settings = get_settings()
    chosen = explicit or settings.backup_key_file
    if chosen:
        path = Path(chosen)
        if not path.is_file() or not path.read_text().strip():
            raise BackupError(f"the backup key file {path} is missing or empty")
        return path
    if settings.production:
        raise BackupError("set CME_BACKUP_KEY_FILE (a file holding the backup passphrase) "
                          "when CME_ENV=production")
    try:
        fd = os.open(LOCAL_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return LOCAL_KEY_FILE
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48) + "\n")
    return LOCAL_KEY_FILE


# ------------------------------------------------------------------------------ gpg


_PACKAGES = {"gpg": "gnupg", "gpgconf": "gnupg", "pg_dump": "postgresql-client",
             "pg_restore": "postgresql-client"}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install {_PACKAGES[name]})")
    return found


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    # Argument lists from our own code and the operator's settings; never a shell.
    return subprocess.run(args, capture_output=True, check=False, **kwargs)  # noqa: S603


def _popen(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                            **kwargs)


@contextmanager
def _gpg_home() -> Iterator[str]:
    """A throwaway GnuPG home, so the operator's keyring is never touched; the agent gpg
    starts for it is stopped afterwards."""
    home = tempfile.mkdtemp(prefix="cme-gpg-")
    try:
        yield home
    finally:
        _run([_tool("gpgconf"), "--homedir", home, "--kill", "gpg-agent"])
        shutil.rmtree(home, ignore_errors=True)


def _gpg_args(home: str, key: Path) -> list[str]:
    return [_tool("gpg"), "--homedir", home, "--batch", "--yes", "--quiet", "--no-symkey-cache",
            "--pinentry-mode", "loopback", "--passphrase-file", str(key)]


def _encrypt_args(home: str, key: Path, out: Path) -> list[str]:
    return [*_gpg_args(home, key), "--symmetric", "--cipher-algo", "AES256",
            "--s2k-digest-algo", "SHA512", "--output", str(out)]


def _decrypt_failed(stderr: bytes) -> BackupError:
    why = stderr.decode(errors="replace").strip().splitlines()
    return BackupError("could not decrypt the backup: wrong key, or the file is damaged "
                       f"({why[-1] if why else 'gpg failed'})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------ snapshot facts


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _facts(conn, dialect: str) -> Manifest:
    """Row counts, revision, chain head and triggers, read in the caller's snapshot.
    `conn` is a DB-API connection (SQLite) or a SQLAlchemy Connection (PostgreSQL)."""

    def rows(sql: str) -> list[tuple]:
        if isinstance(conn, Connection):
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
        return conn.execute(sql).fetchall()

    if dialect == "sqlite":
        tables = [r[0] for r in rows("SELECT name FROM sqlite_master WHERE type = 'table' "
                                     "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        triggers = [r[0] for r in rows("SELECT name FROM sqlite_master "
                                       "WHERE type = 'trigger' ORDER BY name")]
    else:
        tables = [r[0] for r in rows("SELECT tablename FROM pg_tables "
                                     "WHERE schemaname = current_schema() ORDER BY tablename")]
        # Disabled triggers ('D') would no longer keep the audit trail append-only.
        triggers = [r[0] for r in rows("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                                       "AND tgenabled <> 'D' ORDER BY tgname")]
    # Table names from the catalog, quoted.
    counts = {t: int(rows(f"SELECT count(*) FROM {_quote(t)}")[0][0])  # noqa: S608 # nosec B608
              for t in tables}
    revision = None
    if "alembic_version" in counts:
        found = rows("SELECT version_num FROM alembic_version")
        revision = found[0][0] if found else None
    audit_count, head_hash = 0, None
    if "auditchainhead" in counts:
        head = rows('SELECT "count", last_hash FROM auditchainhead WHERE id = 1')
        if head:
            audit_count, head_hash = int(head[0][0]), head[0][1]
    return Manifest(dialect=dialect, revision=revision, row_counts=counts,
                    audit_count=audit_count, audit_head_hash=head_hash, triggers=triggers)


def _sqlite_file(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database must be a file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore; the password goes in the environment, not argv."""
    parsed = sa.engine.make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    dsn = parsed.set(drivername="postgresql", password=None)
    return dsn.render_as_string(hide_password=False), env


# ------------------------------------------------------------------------------ backup


def _backup_sqlite(url: str, key: Path, out: Path, home: str) -> Manifest:
    source = _sqlite_file(url)
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}: run `cme-app migrate` first")
    with tempfile.TemporaryDirectory(prefix="cme-backup-") as tmp:
        plain = Path(tmp) / "backup.db"  # the directory is 0700
        src = sqlite3.connect(source, isolation_level=None, timeout=30)
        try:
            # One read transaction: the counts and the copy see the same snapshot (WAL).
            src.execute("BEGIN")
            facts = _facts(src, "sqlite")
            dst = sqlite3.connect(plain)
            try:
                src.backup(dst)  # all pages in one step, inside that read transaction
            finally:
                dst.close()
            src.execute("COMMIT")
        finally:
            src.close()
        done = _run([*_encrypt_args(home, key, out), str(plain)])
        if done.returncode:
            raise BackupError("gpg could not encrypt the backup: "
                              + done.stderr.decode(errors="replace").strip())
    return facts


def _backup_postgres(url: str, key: Path, out: Path, home: str) -> Manifest:
    dsn, env = _libpq(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                              isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            # pg_dump joins this transaction's snapshot, so the counts match the dump exactly.
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            facts = _facts(conn, "postgresql")
            dump = _popen([_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}",
                           "--dbname", dsn], env=env)
            enc = _run(_encrypt_args(home, key, out), stdin=dump.stdout)
            dump.stdout.close()
            dump_err = dump.stderr.read()
            dump.wait()
            conn.rollback()
    finally:
        engine.dispose()
    if dump.returncode:
        raise BackupError("pg_dump failed: " + dump_err.decode(errors="replace").strip())
    if enc.returncode:
        raise BackupError("gpg could not encrypt the backup: "
                          + enc.stderr.decode(errors="replace").strip())
    return facts


def backup(url: str, out: Path, key: Path) -> Manifest:
    """Write the encrypted backup of the database at `url` to `out` (mode 0600) and its
    manifest beside it. Returns the manifest."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name")
    # Owner-only from the start; gpg writes into the file we made.
    os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with _gpg_home() as home:
            if sa.engine.make_url(url).get_backend_name() == "sqlite":
                facts = _backup_sqlite(url, key, out, home)
            else:
                facts = _backup_postgres(url, key, out, home)
        os.chmod(out, 0o600)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    facts.created_at = datetime.now(UTC).isoformat(timespec="seconds")
    facts.sha256 = _sha256(out)
    facts.write(manifest_path(out))
    return facts


# ------------------------------------------------------------------------------ restore


def _restore_sqlite(backup_file: Path, key: Path, workdir: Path, home: str) -> str:
    target = workdir / f"cme_restore_{secrets.token_hex(6)}.db"
    done = _run([*_gpg_args(home, key), "--output", str(target), "--decrypt", str(backup_file)])
    if done.returncode:
        target.unlink(missing_ok=True)
        raise _decrypt_failed(done.stderr)
    return f"sqlite:///{target}"


def _restore_postgres(backup_file: Path, key: Path, server_url: str, home: str) -> str:
    name = f"cme_restore_{secrets.token_hex(6)}"
    admin = sa.create_engine(server_url, poolclass=sa.pool.NullPool,
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        admin.dispose()
    target = sa.engine.make_url(server_url).set(database=name)
    target_url = target.render_as_string(hide_password=False)
    dsn, env = _libpq(target_url)
    # Decrypted straight into pg_restore: the plain dump never touches the disk.
    dec = _popen([*_gpg_args(home, key), "--decrypt", str(backup_file)])
    restore = _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                    "--single-transaction", "--dbname", dsn], stdin=dec.stdout, env=env)
    dec.stdout.close()
    dec_err = dec.stderr.read()
    dec.wait()
    if dec.returncode:
        drop_database(target_url, server_url)
        raise _decrypt_failed(dec_err)
    if restore.returncode:
        drop_database(target_url, server_url)
        raise BackupError("pg_restore failed: " + restore.stderr.decode(errors="replace")
                          .strip())
    return target_url


def drop_database(url: str, admin_url: str | None = None) -> None:
    """Remove a restored database (PostgreSQL; dropped from a connection to `admin_url`, by
    default the server's `postgres` database) or file (SQLite)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        return
    admin = sa.create_engine(admin_url or parsed.set(database="postgres"),
                             poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        admin.dispose()


# ------------------------------------------------------------------------------ checks


@dataclass
class DrillReport:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    restored_url: str | None = None  # kept only with keep=True

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))

    def describe(self) -> str:
        lines = [f"{'ok  ' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in self.checks]
        failed = [name for name, ok, _ in self.checks if not ok]
        lines.append("Restore drill passed." if self.ok else
                     "Restore drill FAILED: " + ", ".join(failed) + ".")
        return "\n".join(lines)


def _orphans(conn: Connection) -> list[str]:
    """Rows whose foreign key points at no row, for every foreign key (PostgreSQL)."""
    found = []
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            cols, ref_cols = fk["constrained_columns"], fk["referred_columns"]
            not_null = " AND ".join(f"c.{_quote(c)} IS NOT NULL" for c in cols)
            match = " AND ".join(f"p.{_quote(r)} = c.{_quote(c)}"
                                 for c, r in zip(cols, ref_cols, strict=True))
            # Names from the catalog, quoted.
            sql = (f"SELECT count(*) FROM {_quote(table)} c WHERE {not_null} "  # noqa: S608 # nosec B608
                   f"AND NOT EXISTS (SELECT 1 FROM {_quote(fk['referred_table'])} p "
                   f"WHERE {match})")
            n = conn.exec_driver_sql(sql).scalar_one()
            if n:
                found.append(f"{n} rows of {table} point at missing {fk['referred_table']}")
    return found


def _check_integrity(conn: Connection, report: DrillReport) -> None:
    if conn.dialect.name == "sqlite":
        result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
        report.add("integrity", result == ["ok"], "; ".join(result[:5]))
        bad = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        report.add("foreign keys", not bad,
                   f"{len(bad)} rows point at missing rows" if bad
                   else "no row points at a missing row")
        return
    invalid = [r[0] for r in conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE NOT convalidated").all()]
    report.add("integrity", not invalid,
               "constraints not valid: " + ", ".join(invalid) if invalid
               else "every constraint is valid")
    orphans = _orphans(conn)
    report.add("foreign keys", not orphans,
               "; ".join(orphans) or "no row points at a missing row")


def _check_schema(url: str, actual: Manifest, expected: Manifest, report: DrillReport) -> None:
    from alembic.script import ScriptDirectory

    from ..migrations import alembic_config, check_drift

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    report.add("schema revision", actual.revision == expected.revision == head,
               f"restored {actual.revision}, source {expected.revision}, code head {head}")
    drift = check_drift(url) if actual.revision == head else []
    report.add("schema matches models", not drift,
               f"{len(drift)} differences" if drift else "no differences")


def _check_row_counts(actual: Manifest, expected: Manifest, report: DrillReport) -> None:
    differ = []
    for table in sorted(set(expected.row_counts) | set(actual.row_counts)):
        want, got = expected.row_counts.get(table), actual.row_counts.get(table)
        if want != got:
            differ.append(f"{table} has {'no table' if got is None else got} rows, "
                          f"the source had {'no table' if want is None else want}")
    total = sum(expected.row_counts.values())
    report.add("row counts", not differ, "; ".join(differ) or
               f"{len(expected.row_counts)} tables, {total} rows, as in the source")


def _check_audit_chain(engine: Engine, expected: Manifest, report: DrillReport) -> None:
    from ..services.trust import audit

    with Session(engine) as session:
        chain = audit.verify_chain(session)
    same_head = (chain.count, chain.head_hash) == (expected.audit_count,
                                                   expected.audit_head_hash)
    detail = chain.describe()
    if chain.ok and not same_head:
        detail += (f" The source's chain had {expected.audit_count} events, "
                   f"head hash {expected.audit_head_hash or '-'}.")
    report.add("audit chain", chain.ok and same_head, detail)


def check_restored(url: str, expected: Manifest, report: DrillReport) -> None:
    """Run every check on the restored database at `url` against the source's manifest."""
    from ..db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _check_integrity(conn, report)
            actual = _facts(conn, conn.dialect.name)
            conn.rollback()
        _check_schema(url, actual, expected, report)
        _check_row_counts(actual, expected, report)
        _check_audit_chain(engine, expected, report)
        missing = sorted(set(expected.triggers) - set(actual.triggers))
        report.add("append-only triggers", not missing,
                   "missing or disabled: " + ", ".join(missing) if missing
                   else f"{len(expected.triggers)} triggers present")
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ the drill


def _backup_to_drill(source_url: str, key: Path, backup_file: Path | None, workdir: Path,
                     report: DrillReport) -> tuple[Path, Manifest] | None:
    """A new backup, or the given one and its manifest; None if the file no longer matches
    the manifest written beside it."""
    if backup_file is None:
        backup_file = workdir / "drill-backup.gpg"
        manifest = backup(source_url, backup_file, key)
        report.add("backup", True, f"encrypted backup taken ({backup_file.stat().st_size} "
                   "bytes)")
        return backup_file, manifest
    backup_file = Path(backup_file)
    manifest = Manifest.read(manifest_path(backup_file))
    if _sha256(backup_file) != manifest.sha256:
        report.add("backup file", False, "its SHA-256 does not match the manifest: "
                   "the file was changed or swapped")
        return None
    report.add("backup file", True, f"matches its manifest ({manifest.created_at})")
    return backup_file, manifest


def _is_encrypted(backup_file: Path) -> bool:
    with open(backup_file, "rb") as f:
        return f.read(1) in GPG_MAGIC


def _restore(backup_file: Path, key: Path, manifest: Manifest, workdir: Path,
             server: str | None) -> str:
    """Decrypt the backup into a fresh database; its URL."""
    with _gpg_home() as home:
        if manifest.dialect == "sqlite":
            return _restore_sqlite(backup_file, key, workdir, home)
        if sa.engine.make_url(server).get_backend_name() == "sqlite":
            raise BackupError("a PostgreSQL backup needs a PostgreSQL server to "
                              "restore into (--restore-server)")
        return _restore_postgres(backup_file, key, server, home)


def _run_on(url: str, step: Callable[[Engine], None]) -> None:
    from ..db import make_engine

    engine = make_engine(url)
    try:
        step(engine)
    finally:
        engine.dispose()


def _database_failure(exc: sa.exc.SQLAlchemyError) -> str:
    # E.g. a table the checks read is missing from the copy. The driver's first line
    # names the problem; the statement and its parameters are left out.
    why = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
    return f"could not run on the restored database: {why}"


def run_drill(
    source_url: str,
    key: Path,
    *,
    backup_file: Path | None = None,
    restore_server_url: str | None = None,
    keep: bool = False,
    after_restore: Callable[[Engine], None] | None = None,
) -> DrillReport:
    """Take an encrypted backup of `source_url` (or use `backup_file` and its manifest),
    restore it into a fresh database, check it, and remove it unless `keep`.

    `after_restore` runs on the restored database before the checks (the tests use it to
    tamper with the copy, as a damaged backup or an intruder would)."""
    report = DrillReport()
    workdir = Path(tempfile.mkdtemp(prefix="cme-drill-"))  # 0700
    restored: str | None = None
    server: str | None = None
    step = "backup"  # names the step that failed in the report
    try:
        found = _backup_to_drill(source_url, key, backup_file, workdir, report)
        if found is None:
            return report
        backup_file, manifest = found
        step = "restore"
        if not _is_encrypted(backup_file):
            report.add("encrypted", False, "the backup is not a GnuPG symmetric file")
            return report
        if manifest.dialect != "sqlite":
            server = restore_server_url or source_url
        restored = _restore(backup_file, key, manifest, workdir, server)
        name = sa.engine.make_url(restored).database
        report.add("restore", True, f"restored into a fresh database {Path(name).name}")
        if after_restore is not None:
            _run_on(restored, after_restore)
        step = "checks"
        check_restored(restored, manifest, report)
        if keep:
            report.restored_url = restored
        return report
    except BackupError as exc:
        report.add(step, False, str(exc))
        return report
    except sa.exc.SQLAlchemyError as exc:
        report.add(step, False, _database_failure(exc))
        return report
    finally:
        if restored and not keep:
            drop_database(restored, server)
        # With keep, a restored SQLite file stays in workdir for the operator.
        if not (keep and restored and restored.startswith("sqlite")):
            shutil.rmtree(workdir, ignore_errors=True)
