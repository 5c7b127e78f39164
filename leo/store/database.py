"""Connecting to the audit database and running work in safe, retried transactions.

SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (a committed verdict survives
a power cut), a 30 s busy timeout, and ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of failing half-way. PostgreSQL: READ COMMITTED plus a row lock on the chain head, and
a bounded retry on serialization failures and deadlocks (SQLSTATE 40001/40P01), as the
PostgreSQL manual asks of every client.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from leo.errors import ConfigError, StoreError

T = TypeVar("T")
BUSY_TIMEOUT_S = 30.0
RETRIES = 8
#: SQLSTATEs PostgreSQL asks clients to retry: serialization failure, deadlock detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
__all__ = ["BUSY_TIMEOUT_S", "StoreError", "connect", "display", "run_in_transaction"]


def display(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def connect(url: str) -> Engine:
    """An engine for ``url`` (normalised by ``leo.store.location``), set up for safe writes."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        msg = f"the audit database URL {url!r} is not valid; expected sqlite:///PATH or postgresql://USER@HOST/DB"
        raise ConfigError(msg) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(url, parsed.database)
    return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED")


def _sqlite(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        path = Path(database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the directory of the audit database {path}: {exc.strerror}; set LEO_DATABASE_URL"
            raise StoreError(msg) from None
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # LEO issues BEGIN itself (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: two writers never both read the chain head.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_retryable(exc: BaseException) -> bool:
    """A transient conflict worth another try (never a constraint or syntax error)."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite: the busy timeout ran out under heavy contention.
    return "database is locked" in str(exc.orig)


def run_in_transaction(engine: Engine, work: Callable[[Session], T], *, what: str) -> T:
    """Run ``work`` in one transaction, committed only if it returns; retry transient conflicts.

    ``work`` may run more than once, so it must not have side effects outside the session.
    """
    for attempt in range(RETRIES):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)
        except SQLAlchemyError as exc:
            if is_retryable(exc) and attempt < RETRIES - 1:
                time.sleep(min(2.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311
                continue
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            msg = f"could not {what} in the audit database {display(str(engine.url))}: {reason}"
            raise StoreError(msg) from exc
    raise AssertionError("unreachable")  # pragma: no cover
