"""Shared fixtures of LEO's own tests (the plugin-author fixtures live in leo.testing)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _private_audit_database(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leo verify` records every verdict: tests write to a throw-away file, never the user's."""
    db = tmp_path_factory.mktemp("audit") / "audit.db"
    monkeypatch.setenv("LEO_DATABASE_URL", f"sqlite:///{db}")


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (CI has it; a user's fresh clone does not)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data beside the checkout (present in LEO's CI only)")
    return SHARED_DATA


@pytest.fixture
def leo_cli(monkeypatch: pytest.MonkeyPatch):
    """Run ``leo`` as a subprocess, as users do; returns CompletedProcess."""
    import subprocess

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
    ):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "leo", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=full_env,
            timeout=timeout,
        )

    return run
