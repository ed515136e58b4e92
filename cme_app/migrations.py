"""Apply and check the committed Alembic migrations (``alembic/`` in the repo root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from alembic import command

from . import models  # noqa: F401  (every table on SQLModel.metadata)
from .models.search import FTS_TABLE, PG_INDEX

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = PROJECT_ROOT / "alembic"
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that works from any working directory."""
    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # Don't let fileConfig() reconfigure the host process's logging (pytest, the app).
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade_to_head(url: str) -> None:
    """Bring the database at ``url`` to the latest schema."""
    command.upgrade(alembic_config(url), "head")


def downgrade_to(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def outside_models(name: str | None, type_: str, _parent=None) -> bool:
    """False for what migrations make that no model describes: the search index's SQLite FTS5
    tables and its PostgreSQL trigram index (cme_app/models/search.py)."""
    if type_ == "table" and (name or "").startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_INDEX)


def check_drift(url: str) -> list[Any]:
    """Differences between the database at ``url`` and the models (empty means in sync)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False,
                            "include_name": outside_models}
            )
            return list(compare_metadata(ctx, SQLModel.metadata))
    finally:
        engine.dispose()
