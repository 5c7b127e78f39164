"""Fixtures of the Performance sub-agent's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_runner_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The benchmark environment is built once per session in a throw-away cache."""
    old = os.environ.get("LEO_CACHE_DIR")
    os.environ["LEO_CACHE_DIR"] = str(tmp_path_factory.mktemp("leo-cache"))
    yield
    if old is None:
        os.environ.pop("LEO_CACHE_DIR", None)
    else:
        os.environ["LEO_CACHE_DIR"] = old
