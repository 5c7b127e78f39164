"""One chained row appended to a current SQLite audit database with the standard library.

``leo bundle create`` and ``leo bundle apply`` record their handoff before printing the marker
(issue 17.8). Through SQLAlchemy that record cost 0.4-0.7 s of CPU, most of a 24 MiB bundle's
(benchmarks/RESULTS.md (6)); this appends the same row in the same way as
``repository.Appender`` (the next ``seq``, ``prev_hash`` from the chain head, ``row_hash`` by
``chain.row_hash``, the head moved, one ``BEGIN IMMEDIATE`` transaction, the pragmas of
``database.connect``) with ``sqlite3`` alone. Only when the file exists at ``HEAD_REVISION``;
anything else (a new or older database, PostgreSQL) goes through the store, which migrates.
``tests/store/test_sqlite_append.py`` keeps the two writers in step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leo.errors import StoreError

from . import chain
from .migrate import HEAD_REVISION, VERSION_TABLE

#: As ``database.BUSY_TIMEOUT_S``, which imports SQLAlchemy (a test keeps them equal).
BUSY_TIMEOUT_S = 30.0
#: SQLAlchemy's storage format for ``DateTime`` on SQLite, so both writers store alike.
_STORED = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL (as ``location.resolve_url`` normalises it)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:" or "?" in path:
        return None
    return Path(path)


def append(path: Path, table: str, values: Mapping[str, Any], *, what: str) -> int | None:
    """Append a row of ``values`` (every column but the chain's four) to ``table``; its seq,
    or None when the database is not a current LEO schema (the caller uses the store)."""
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("BEGIN IMMEDIATE")
        try:
            return _append_in_transaction(connection, table, values)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"could not {what} in the audit database sqlite:///{path}: {reason}"
        raise StoreError(msg) from exc
    finally:
        connection.close()


def _append_in_transaction(
    connection: sqlite3.Connection, table: str, values: Mapping[str, Any]
) -> int | None:
    try:
        version = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()  # noqa: S608 (a constant)
    except sqlite3.OperationalError:  # no version table: not migrated yet
        version = []
    if version != [(HEAD_REVISION,)]:
        connection.execute("ROLLBACK")
        return None
    head = connection.execute("SELECT seq, head_hash FROM leo_audit_chain WHERE id = 1").fetchone()
    if head is None:
        msg = "the audit database has no chain head (leo_audit_chain is empty); it was tampered with or not migrated"
        raise StoreError(msg)
    now = datetime.now(UTC)
    row = {**values, "seq": head[0] + 1, "recorded_at": now, "prev_hash": head[1]}
    row_hash = chain.row_hash(table, row)
    stored = {**row, "recorded_at": now.strftime(_STORED), "row_hash": row_hash}
    columns = ", ".join(stored)
    marks = ", ".join("?" for _ in stored)
    connection.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(stored.values()))  # noqa: S608 (constant names)
    connection.execute(
        "UPDATE leo_audit_chain SET seq = ?, head_hash = ? WHERE id = 1", (row["seq"], row_hash)
    )
    connection.execute("COMMIT")
    return int(row["seq"])
