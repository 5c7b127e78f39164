"""Bring the audit database to the newest schema, automatically and safely, on first use.

Alembic runs programmatically on LEO's own connection inside one transaction that holds the
database's write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so eight
``leo verify`` runs that start at once on a fresh database migrate it exactly once. The version
is kept in ``leo_alembic_version`` so LEO can share a database with an application's own
alembic history.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from .database import StoreError, display

VERSION_TABLE = "leo_alembic_version"
MIGRATIONS = Path(__file__).parent / "migrations"
#: Key of the PostgreSQL advisory lock held while migrating ("LEO" in ASCII, 0x4c454f).
_PG_LOCK = 0x4C454F


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def head_revision() -> str:
    """The newest schema revision this LEO knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database to ``head_revision()`` unless it is already there."""
    head = head_revision()
    scripts = ScriptDirectory.from_config(_config())
    with engine.connect() as connection:
        current = current_revision(connection)
        connection.rollback()
    if current == head:
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        current = current_revision(connection)
        if current is not None and current != head and _unknown(scripts, current):
            msg = (
                f"the audit database {display(str(engine.url))} has schema revision {current}, "
                f"newer than this LEO knows ({head}); upgrade LEO"
            )
            raise StoreError(msg)
        if current != head:
            command.upgrade(_config(connection), "head")


def _unknown(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is None
    except Exception:  # alembic raises several kinds for an unknown revision
        return True
