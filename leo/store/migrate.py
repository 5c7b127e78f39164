"""Bring the audit database to the newest schema, automatically and safely, on first use.

Alembic runs programmatically on LEO's own connection inside one transaction that holds the
database's write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so eight
``leo verify`` runs that start at once on a fresh database migrate it exactly once. The version
is kept in ``leo_alembic_version`` so LEO can share a database with an application's own
alembic history. Alembic is imported only when a migration is due (it costs about a second
of start-up on a busy machine); the everyday check is one query against ``HEAD_REVISION``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from leo.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection, Engine

VERSION_TABLE = "leo_alembic_version"
MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision in ``migrations/versions``; a test keeps the two in step.
HEAD_REVISION = "0001"
#: Key of the PostgreSQL advisory lock held while migrating ("LEO" in ASCII).
_PG_LOCK = 0x4C454F


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def head_revision() -> str:
    """The newest schema revision among the shipped migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The database's schema revision, or None before the first migration."""
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    value = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608 (a constant)
    return None if value is None else str(value)


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database to ``HEAD_REVISION`` unless it is already there."""
    with engine.connect() as connection:
        current = current_revision(connection)
        connection.rollback()
    if current == HEAD_REVISION:
        return
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from .database import display

    scripts = ScriptDirectory.from_config(_config())
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        current = current_revision(connection)
        if current is not None and _unknown(scripts, current):
            msg = (
                f"the audit database {display(str(engine.url))} has schema revision {current}, "
                f"newer than this LEO knows ({HEAD_REVISION}); upgrade LEO"
            )
            raise StoreError(msg)
        if current != HEAD_REVISION:
            command.upgrade(_config(connection), "head")


def _unknown(scripts: object, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is None  # type: ignore[attr-defined]
    except Exception:  # alembic raises several kinds for an unknown revision
        return True
