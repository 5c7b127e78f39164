"""Source builders shared by the Design sub-agent's tests, as fixtures (tests import no helpers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def _branchy(name: str, complexity: int, indent: str = "") -> str:
    """A Python function whose cyclomatic complexity is exactly ``complexity``."""
    body = "".join(
        f"{indent}    if x == {i}:\n{indent}        return {i * 7}\n" for i in range(complexity - 1)
    )
    return f"{indent}def {name}(x):\n{body}{indent}    return -1\n"


def _design_config(**settings: object) -> dict[str, object]:
    return {"agents": {"design": settings}}


@pytest.fixture
def branchy() -> Callable[..., str]:
    """``branchy(name, complexity)``: source of a function of exactly that complexity."""
    return _branchy


@pytest.fixture
def design_config() -> Callable[..., dict[str, object]]:
    """``design_config(key=value)``: a LEO configuration with those Design settings."""
    return _design_config
