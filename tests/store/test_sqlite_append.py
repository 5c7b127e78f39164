"""The lane commands' handoff record without SQLAlchemy (``leo.store.sqlite_append``) writes
exactly the row the store's ``Appender`` would, in the same chain."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from leo.store import sqlite_append
from leo.store.handoffs import record_handoff
from leo.store.repository import AuditStore
from leo.store.tables import HandoffRow

from .conftest import make_report


@pytest.fixture
def current_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite audit database with one verdict recorded by the store, named by
    ``LEO_DATABASE_URL`` as the lane commands find it."""
    path = tmp_path / "audit.db"
    with AuditStore.open(f"sqlite:///{path}") as store:
        store.record_verification(make_report(), pr=7)
    monkeypatch.setenv("LEO_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("LEO_ACTOR", "builder-bot")
    return path


def test_a_handoff_appended_without_sqlalchemy_continues_the_stores_chain(current_db, tmp_path):
    record_handoff(
        str(tmp_path / "no-repo"), "a" * 40, "b" * 64, "[CODEX-READY:" + "b" * 64 + "]", "builder"
    )
    with AuditStore.open(f"sqlite:///{current_db}") as store:
        assert store.verify_chain().intact, store.verify_chain().problem
        assert store.count(HandoffRow) == 1
        # The store appends after it, and the whole chain still holds.
        store.record_handoff(
            repository="r", marker="[CLAUDE-APPLIED:x]", lane="enforcer", commit_sha="c" * 40
        )
        check = store.verify_chain()
        assert check.intact and store.count(HandoffRow) == 2, check.problem
    rows = (
        sqlite3.connect(current_db)
        .execute(
            "SELECT seq, lane, commit_sha, bundle_hash, actor, pr_number FROM leo_handoff_tracking ORDER BY seq"
        )
        .fetchall()
    )
    assert rows[0][1:] == ("builder", "a" * 40, "b" * 64, "builder-bot", None)
    assert rows[0][0] + 1 == rows[1][0] == check.head_seq


def test_the_record_needs_no_sqlalchemy_on_a_current_database(current_db, tmp_path):
    script = (
        "import sys\n"
        "from leo.store.handoffs import record_handoff\n"
        f"record_handoff({str(tmp_path)!r}, 'a' * 40, 'b' * 64, '[CODEX-READY:x]', 'builder')\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False"], done.stderr
    with AuditStore.open(f"sqlite:///{current_db}") as store:
        assert store.count(HandoffRow) == 1 and store.verify_chain().intact


def test_a_new_or_unmigrated_database_is_left_to_the_store(tmp_path, monkeypatch):
    values = {"repository": "r", "marker": "m", "lane": "builder", "commit_sha": "c"}
    assert (
        sqlite_append.append(tmp_path / "missing.db", "leo_handoff_tracking", values, what="x")
        is None
    )
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert sqlite_append.append(empty, "leo_handoff_tracking", values, what="x") is None
    assert sqlite3.connect(empty).execute("SELECT name FROM sqlite_master").fetchall() == []
    # record_handoff then creates and migrates it through the store, as before.
    monkeypatch.setenv("LEO_DATABASE_URL", f"sqlite:///{empty}")
    record_handoff(str(tmp_path), "a" * 40, "b" * 64, "[CODEX-READY:x]", "builder")
    with AuditStore.open(f"sqlite:///{empty}") as store:
        assert store.count(HandoffRow) == 1 and store.verify_chain().intact


def test_the_two_writers_agree_on_columns_and_settings():
    from leo.store import database

    chained = {"seq", "recorded_at", "prev_hash", "row_hash"}
    written = {"repository", "pr_number", "marker", "lane", "bundle_hash", "commit_sha", "actor"}
    assert {c.name for c in HandoffRow.__table__.columns} == chained | written
    assert sqlite_append.BUSY_TIMEOUT_S == database.BUSY_TIMEOUT_S
    assert sqlite_append.sqlite_path("sqlite:///tmp/a.db") == Path("tmp/a.db")
    assert sqlite_append.sqlite_path("sqlite:////tmp/a.db") == Path("/tmp/a.db")
    assert sqlite_append.sqlite_path("postgresql+psycopg://u@h/db") is None
    assert sqlite_append.sqlite_path("sqlite://") is None
