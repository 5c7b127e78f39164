"""Fixtures of LEO's benchmarks: the generated repository and a ``leo`` runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realistic_repo import create

LEO = str(Path(sys.executable).parent / "leo")


def leo(
    *args: str, env: dict[str, str] | None = None, check_codes=(0, 1, 3, 4)
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [LEO, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    assert done.returncode in check_codes, done.stderr[-2000:]
    return done


@pytest.fixture(scope="session")
def realistic(tmp_path_factory):
    """The generated repository, with the Testing sub-agent's environment already built once."""
    repo = create(tmp_path_factory.mktemp("bench") / "shop")
    os.environ["LEO_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    leo(
        "verify",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "feature",
        "-q",
        "--no-cache",
    )
    return repo
