"""Fixtures of the CI-at-scale tests: a change, and `leo agent run` / `leo aggregate` helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE_PLUGINS = Path(__file__).resolve().parent.parent / "fixture_plugins"
FIXTURE_ENV = {"PYTHONPATH": str(FIXTURE_PLUGINS)}
FIXTURES = ("-p", "leo_fixture_agents")


def leo(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "leo", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def agent_runs(repo: Path, names, out: Path, *extra: str, env=None) -> list[Path]:
    """Run `leo agent run` for each name at once, as a CI matrix would; return the files."""
    procs, paths = [], []
    for name in names:
        path = out / f"result-{name}.json"
        argv = [sys.executable, "-m", "leo", "agent", "run", name, "--repo", str(repo)]
        argv += ["--base", "main", "--output", str(path), "-q", *extra]
        procs.append(
            subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **(env or {})},
            )
        )
        paths.append(path)
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    return paths


def report_of(proc) -> dict:
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def fixture_repo(leo_repo):
    """A change whose base policy selects the fixture agents ``flaky`` and ``fine``."""

    def make(select=("flaky", "fine"), extra_policy: str = ""):
        policy = f"select = {list(select)!r}\n{extra_policy}".replace("'", '"')
        return leo_repo(
            base={"leo.toml": policy, "app.py": "def f():\n    return 1\n"},
            head={"app.py": "def f():\n    return 2\n", "new.py": "X = 1\n"},
        )

    return make


@pytest.fixture
def scale():
    """The helpers above (test modules cannot import conftest under --import-mode=importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        leo=leo, agent_runs=agent_runs, report_of=report_of, FIXTURES=FIXTURES, ENV=FIXTURE_ENV
    )
