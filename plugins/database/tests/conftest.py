"""Fixtures of the Database sub-agent's tests: one PostgreSQL server shared by the session."""

from __future__ import annotations

import pytest


@pytest.fixture
def pg(leo_postgres: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the sub-agent at the session's server (each run still gets its own database)."""
    monkeypatch.setenv("LEO_DATABASE_TEST_URL", leo_postgres)
    return leo_postgres
