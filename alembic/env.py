"""Alembic environment for the CME app.

Target metadata is ``sqlmodel.SQLModel.metadata`` after importing every table via
``cme_app.models``. The URL comes, in order, from a connection handed over in
``config.attributes["connection"]``, the ``sqlalchemy.url`` main option (set by
``cme_app.migrations``), or ``cme_app.settings.get_settings().db_url``.
"""

from __future__ import annotations

import logging.config

import sqlalchemy as sa
from sqlmodel import SQLModel

import cme_app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from alembic import context
from cme_app.migrations import outside_models
from cme_app.models.base import UTCDateTime

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from cme_app.settings import get_settings

    return get_settings().db_url


def render_item(type_, obj, autogen_context):
    """Render app-specific column types as plain SQLAlchemy, so revisions stay self-contained."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        render_item=render_item,
        include_name=outside_models,
        user_module_prefix="sqlmodel.sql.sqltypes.",
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = _url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: sa.Connection) -> None:
    _configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    # A plain engine: the app's SQLite engine issues BEGIN IMMEDIATE on every begin, which
    # alembic does not need and which fights with its own transaction handling.
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            _run_with(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
