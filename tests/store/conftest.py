"""Fixtures of the audit-store tests: one fresh database per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from leo.models import Report, Requirement, SubAgentResult, Tool


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty audit database of its own: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    server: str = request.getfixturevalue("leo_postgres")
    import psycopg

    name = f"audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


def make_report(
    *,
    verdict: str = "PASS",
    head: str = "b" * 40,
    repository: str = "/work/repo",
    agents: int = 2,
    confidence: int = 90,
) -> Report:
    """A report as the supervisor produces it (the store does not care how it was computed)."""
    results = tuple(
        SubAgentResult(
            name=f"agent{i}",
            plugin=f"leo-agent{i}",
            plugin_version="1.0",
            status="failed" if verdict == "FAIL" and i == 0 else "passed",
            confidence=confidence,
            duration_s=0.125 * (i + 1),
            tools=(Tool(name="bandit", version="1.9.4"),),
        )
        for i in range(agents)
    )
    return Report(
        leo_version="0.test",
        verdict=verdict,  # type: ignore[arg-type]
        confidence=confidence,
        reasons=("because",),
        resolution_rounds=0,
        requirements=(
            *(Requirement(name=f"{r.name} passed", met=r.status == "passed") for r in results),
            Requirement(name="policy unchanged", met=None, detail="edited"),
        ),
        repository=repository,
        base_sha="a" * 40,
        head_sha=head,
        config_digest="sha256:" + "c" * 64,
        changed_files=3,
        duration_s=1.5,
        agents=results,
    )


@pytest.fixture
def report_factory() -> Callable[..., Report]:
    return make_report
