"""The `cme-app` command: migrate, demo data, schools and users, the audit trail check,
subject access exports, retention, backups, the restore drill and the DfE return."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from .db import session_scope
from .errors import NotFound, ValidationFailed


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\n")


def _migrate(_args) -> int:
    from .migrations import upgrade_to_head
    from .settings import get_settings

    upgrade_to_head(get_settings().db_url)
    print("Database is up to date.")
    return 0


def _search_reindex(_args) -> int:
    from .db import get_engine
    from .models.search import reindex

    with get_engine().begin() as conn:
        written = reindex(conn)
    print(f"Search index rebuilt: {written} cases.")
    return 0


def _demo(args) -> int:
    from .ops import demo

    if not args.print_logins:
        with session_scope() as session:
            added = demo.load_demo(session)
        print("Demo data loaded: " + ", ".join(f"{v} {k}" for k, v in added.items()) + " added.")
    print(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD}):")
    for login in demo.LOGINS:
        where = f" at school URN {login.school_urn}" if login.school_urn else ""
        print(f"  {login.role:<8} {login.email}{where}")
    print("\nStaff logins then ask for an authentication code: run "
          "`cme-app demo-code --email EMAIL`, or add the secret shown in README.md to an "
          "authenticator app.")
    return 0


def _users_create(args) -> int:
    from .services.trust import auth

    password = _read_password()
    with session_scope() as session:
        user = auth.create_user(
            session,
            email=args.email,
            role=args.role,
            password=password,
            name=args.name or "",
            school_urn=args.school_urn,
            totp_secret=args.totp_secret,
        )
        print(f"Created {user.role} user {user.email}.")
    return 0


def _users_reset_password(args) -> int:
    from .services.trust import auth

    password = _read_password()
    with session_scope() as session:
        user = auth.reset_password(session, email=args.email, password=password)
        print(f"Password reset for {user.email}; their sessions have ended. "
              "Their authentication app is unchanged.")
    return 0


def _users_disable(args) -> int:
    from .services.trust import auth

    with session_scope() as session:
        user = auth.disable_user(session, email=args.email)
        print(f"Disabled {user.email}; their sessions have ended.")
    return 0


def _users_enable(args) -> int:
    from .services.trust import auth

    with session_scope() as session:
        user = auth.enable_user(session, email=args.email)
        print(f"Enabled {user.email}; they can sign in again with their current password.")
    return 0


def _users_reset_mfa(args) -> int:
    from .services.trust import mfa

    with session_scope() as session:
        user = mfa.reset_mfa(session, email=args.email)
        print(f"Authentication app reset for {user.email}: they set one up again at their next "
              "sign-in. Their sessions have ended.")
    return 0


def _demo_code(args) -> int:
    """Demo logins only: their secrets are published in the README, real users' never print."""
    from sqlmodel import select

    from .models import User
    from .ops import demo
    from .services.trust import auth, mfa

    secrets_by_email = {login.email: login.totp_secret for login in demo.LOGINS}
    email = auth.normalise_email(args.email)
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).first()
    secret = secrets_by_email.get(email)
    if user is None or not secret or user.totp_secret != secret:
        print("error: email: codes are shown only for the demo staff logins", file=sys.stderr)
        return 2
    print(mfa.current_code(secret))
    return 0


def _schools_add(args) -> int:
    from .services.intake import schools

    with session_scope() as session:
        school = schools.add_school(session, urn=args.urn, name=args.name, la_code=args.la_code)
        print(f"Registered school {school.urn} {school.name}.")
    return 0


def _sar_export(args) -> int:
    from .services.trust import sar

    try:
        with session_scope() as session:
            document = sar.export_child(session, child_id=args.child)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if not args.out:
        sys.stdout.write(text)
        return 0
    # Owner-only from the moment it exists: it holds everything about a child.
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"Wrote the subject access export for child {args.child} to {args.out}.",
          file=sys.stderr)
    return 0


def _retention_destroy(args) -> int:
    from .dates import uk_today
    from .services.trust import retention

    if not args.approved:
        print("error: say --approved: only items a lead approved are destroyed.",
              file=sys.stderr)
        return 2
    with session_scope() as session:
        result = retention.destroy_approved(session, today=uk_today())
    for reference in result.destroyed:
        print(f"Destroyed {reference}.")
    for reference, why in result.skipped:
        print(f"Kept {reference}: {why}.")
    print(f"{len(result.destroyed)} destroyed, {len(result.skipped)} kept.")
    return 0


def _audit_verify(_args) -> int:
    from .services.trust import audit

    with session_scope() as session:
        report = audit.verify_chain(session)
    print(report.describe())
    return 0 if report.ok else 1


def _backup(args) -> int:
    from pathlib import Path

    from .ops import backup
    from .settings import get_settings

    try:
        key = backup.key_file(args.key_file)
        manifest = backup.backup(get_settings().db_url, Path(args.out), key)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote the encrypted backup {args.out} ({len(manifest.row_counts)} tables, "
          f"{sum(manifest.row_counts.values())} rows, {manifest.audit_count} audit events) "
          f"and {backup.manifest_path(Path(args.out))}.")
    return 0


def _restore_drill(args) -> int:
    from pathlib import Path

    from .ops import backup
    from .settings import get_settings

    try:
        key = backup.key_file(args.key_file)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = backup.run_drill(
        get_settings().db_url, key,
        backup_file=Path(args.backup) if args.backup else None,
        restore_server_url=args.restore_server, keep=args.keep,
    )
    print(report.describe())
    if report.restored_url:
        from sqlalchemy.engine import make_url

        print("Kept the restored database (remove it when done): "
              + make_url(report.restored_url).render_as_string())
    return 0 if report.ok else 1


def _dfe_return(args) -> int:
    from datetime import date

    from .services.returns import dfe_export

    try:
        census = date.fromisoformat(args.census_date)
    except ValueError:
        print("error: census-date: enter the date as YYYY-MM-DD, for example 2026-10-01",
              file=sys.stderr)
        return 2
    with session_scope() as session:
        result = dfe_export.command_line_export(session, census=census, fmt=args.format)
    if isinstance(result, dict):
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(result)
    return 0


def _school_returns_import(args) -> int:
    """One line per row (accepted, or why not); exit 1 if any row was refused."""
    from .services.school_returns import uploads

    try:
        with open(args.file, "rb") as f:
            data = f.read(uploads.MAX_BYTES + 1)
    except OSError as exc:
        print(f"error: {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    with session_scope() as session:
        if args.kind == "deletions":
            results = uploads.import_deletions(session, actor=None, data=data, via="cli",
                                               ground_i_confirmed=args.confirm_ground_i)
        else:
            results = uploads.import_new_pupils(session, actor=None, data=data, via="cli")
    for r in results:
        outcome = f"accepted {r.return_id}" if r.accepted else f"refused: {r.message}"
        print(f"row {r.row}: {outcome}")
    refused = sum(not r.accepted for r in results)
    print(f"{len(results) - refused} accepted, {refused} refused", file=sys.stderr)
    return 1 if refused else 0


def _add_returns_commands(sub) -> None:
    returns = sub.add_parser("returns", help="schools' deletion and new-pupil returns")
    verbs = returns.add_subparsers(dest="returns_command", required=True)
    deleted = verbs.add_parser(
        "import", help="import a CSV of deletion returns (any registered school's rows)")
    deleted.add_argument("file", help="UTF-8 CSV with the headings school_urn,upn,...,notes")
    deleted.add_argument(
        "--confirm-ground-i", action="store_true",
        help="the schools confirmed every ground I row's absence was all coded G, N or O with "
             "no reason to believe sickness (without it, ground I rows are refused)")
    deleted.set_defaults(func=_school_returns_import, kind="deletions")
    joined = verbs.add_parser("import-new-pupils", help="import a CSV of new-pupil returns")
    joined.add_argument("file", help="UTF-8 CSV: school_urn,upn,first_name,last_name,"
                        "date_of_birth,start_date,postcode")
    joined.set_defaults(func=_school_returns_import, kind="new_pupils")

    dfe = sub.add_parser("dfe-return", help="the termly DfE CME/EHE return's counts for a "
                         "census day (audited)")
    dfe.add_argument("--census-date", required=True, help="the census day, YYYY-MM-DD")
    dfe.add_argument("--format", choices=["json", "csv"], default="json")
    dfe.set_defaults(func=_dfe_return)


def _add_setup_commands(sub) -> None:
    sub.add_parser("migrate", help="bring the database to the latest schema").set_defaults(
        func=_migrate
    )
    sub.add_parser("search-reindex", help="rebuild every case's search document (the "
                   "index keeps itself up to date; for a database loaded by hand)").set_defaults(
        func=_search_reindex)
    demo = sub.add_parser("demo", help="load demo schools, users and cases (safe to repeat)")
    demo.add_argument("--print-logins", action="store_true", help="only print the demo logins")
    demo.set_defaults(func=_demo)


def _add_users_commands(sub) -> None:
    users = sub.add_parser("users").add_subparsers(dest="users_command", required=True)
    create = users.add_parser("create", help="create a user; the password is read from stdin")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True,
                        choices=["school", "officer", "lead", "admin", "auditor"])
    create.add_argument("--school-urn")
    create.add_argument("--name")
    create.add_argument("--totp-secret")
    create.set_defaults(func=_users_create)
    for name, func, help_text in (
        ("reset-password", _users_reset_password,
         "set a new password (read from stdin) and end the user's sessions; MFA is kept"),
        ("disable", _users_disable, "disable an account and end its sessions"),
        ("enable", _users_enable, "let a disabled account sign in again"),
        ("reset-mfa", _users_reset_mfa,
         "clear a staff user's authentication app; they enrol again"),
    ):
        command = users.add_parser(name, help=help_text)
        command.add_argument("--email", required=True)
        command.set_defaults(func=func)
    code = sub.add_parser("demo-code", help="the current authentication code of a demo login")
    code.add_argument("--email", required=True)
    code.set_defaults(func=_demo_code)


def _add_schools_commands(sub) -> None:
    schools = sub.add_parser("schools").add_subparsers(dest="schools_command", required=True)
    add = schools.add_parser("add", help="register a school")
    add.add_argument("--urn", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--la-code", default="383")
    add.set_defaults(func=_schools_add)


def _add_data_protection_commands(sub) -> None:
    sar = sub.add_parser("sar").add_subparsers(dest="sar_command", required=True)
    export = sar.add_parser("export", help="everything held about one child, as JSON")
    export.add_argument("--child", required=True, type=int, help="the child's id")
    export.add_argument("--out", help="write to this file (mode 0600) instead of stdout")
    export.set_defaults(func=_sar_export)

    retention = sub.add_parser("retention").add_subparsers(dest="retention_command",
                                                           required=True)
    destroy = retention.add_parser(
        "destroy", help="destroy the items a lead approved, if still due and not held")
    destroy.add_argument("--approved", action="store_true", required=True)
    destroy.set_defaults(func=_retention_destroy)

    audit = sub.add_parser("audit").add_subparsers(dest="audit_command", required=True)
    audit.add_parser(
        "verify", help="check the audit trail's hash chain; exit 1 if it was edited or cut"
    ).set_defaults(func=_audit_verify)


def _add_backup_commands(sub) -> None:
    key_help = ("file holding the backup passphrase (default: CME_BACKUP_KEY_FILE; outside "
                "production a local .cme_backup_key is made)")
    bk = sub.add_parser("backup", help="write an encrypted backup of the database and its "
                        "manifest (FILE.manifest.json)")
    bk.add_argument("--out", required=True, help="the backup file to write (mode 0600)")
    bk.add_argument("--key-file", help=key_help)
    bk.set_defaults(func=_backup)
    drill = sub.add_parser(
        "restore-drill", help="back up (or take --backup), restore into a fresh database, check "
        "integrity, row counts and the audit chain; exit 1 on any mismatch")
    drill.add_argument("--backup", help="drill this backup (its manifest must be beside it) "
                       "instead of taking a new one")
    drill.add_argument("--key-file", help=key_help)
    drill.add_argument("--restore-server", help="PostgreSQL URL of the server to restore into "
                       "(default: the database's own server); needs CREATEDB")
    drill.add_argument("--keep", action="store_true",
                       help="keep the restored database and print where it is")
    drill.set_defaults(func=_restore_drill)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cme-app", description="CME case management")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_group in (_add_setup_commands, _add_users_commands, _add_schools_commands,
                      _add_data_protection_commands, _add_backup_commands,
                      _add_returns_commands):
        add_group(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"error: {error.field}: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
