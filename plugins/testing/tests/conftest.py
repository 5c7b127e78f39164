"""Fixtures of the Testing sub-agent's tests: one environment cache shared by the session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from leo_testing import TestingAgent

from leo import Change
from leo.testing import RunResult, run_agents


@pytest.fixture(scope="session")
def venv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir for the session: the dependency-free test repos share one environment."""
    return tmp_path_factory.mktemp("leo-venvs")


@pytest.fixture
def run_testing(venv_cache: Path) -> Callable[..., RunResult]:
    """``run_testing(change, **settings)``: the Testing sub-agent through LEO's real runner."""

    def run(change: Change, **settings: Any) -> RunResult:
        settings.setdefault("cache_dir", str(venv_cache))
        return run_agents(change, [TestingAgent], config={"agents": {"testing": settings}})

    return run
