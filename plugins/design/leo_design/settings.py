"""The Design sub-agent's settings: ``[tool.leo.agents.design]``, validated with their defaults.

Every threshold lives here once, so ``docs/agents/design.md`` and the code cannot disagree on a
default, and a bad value is one sentence naming the key rather than a crash deep in a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from leo import LeoError


@dataclass(frozen=True)
class DesignSettings:
    """Thresholds and switches of the Design sub-agent."""

    max_complexity: int = 10
    """A new function over this, or a changed one the change pushes over it, is a finding."""
    fail_complexity: int = 20
    """Above this, the complexity finding is ``high`` (radon rank D or worse)."""
    max_complexity_growth: int = 5
    """Growth by more than this in one change is a finding (``medium`` over the limit, ``low``
    under it); an already complex function that grows less never blocks."""
    min_maintainability: float = 20.0
    """A Python file whose maintainability index falls below this (radon rank B) is a finding."""
    max_maintainability_drop: float = 25.0
    """A drop of the maintainability index by more than this many points is a ``low`` finding."""
    max_file_lines: int = 600
    """A file the change makes longer than this is a finding."""
    max_function_lines: int = 80
    """A function the change makes longer than this is a finding."""
    max_file_bytes: int = 2_000_000
    """Larger files are left out of the complexity and size checks (listed as not analysed)."""
    api: bool = True
    """Compare the public API of changed packages between base and head with griffe."""
    api_packages: tuple[str, ...] = ()
    """Package directories to check (e.g. ``src/mylib``); empty: every package the change touches."""
    api_exclude: tuple[str, ...] = ("tests", "test", "testing", "docs", "examples", "benchmarks")
    """Package names never treated as public API."""
    changelog: str | None = None
    """Changelog file; a break is allowed when the change adds a line there naming the object."""
    version_file: str | None = None
    """File holding the version (default: the nearest ``pyproject.toml`` of the package)."""
    contracts: bool = True
    """Evaluate the repository's import-linter contracts on the head tree."""
    contracts_config: str | None = None
    """import-linter configuration file (default: ``.importlinter``, ``setup.cfg``, ``tox.ini``
    or ``pyproject.toml`` at the repository root, whichever has the section)."""
    contracts_timeout: float = 120.0
    """Seconds the import-linter run may take before it is stopped (an error, never a pass)."""


def parse_settings(raw: Mapping[str, Any]) -> DesignSettings:
    """Validate ``raw``; raise ``LeoError`` naming the key that is wrong."""
    known = {f.name: f for f in fields(DesignSettings)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        msg = (
            f"unknown setting(s) {', '.join(unknown)} in [tool.leo.agents.design]; "
            f"known: {', '.join(sorted(known))} (see docs/agents/design.md)"
        )
        raise LeoError(msg)
    values: dict[str, Any] = {}
    defaults = DesignSettings()
    for name, value in raw.items():
        default = getattr(defaults, name)
        values[name] = _coerce(name, value, default)
    return DesignSettings(**values)


def _coerce(name: str, value: Any, default: Any) -> Any:
    where = f"[tool.leo.agents.design] {name}"
    if isinstance(default, bool):
        return _flag(where, value)
    if isinstance(default, int | float):
        return type(default)(_number(where, value))
    if isinstance(default, tuple):
        return _strings(where, value, paths=name == "api_packages")
    return _path(where, value)


def _flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise LeoError(f"{where} must be true or false, not {value!r}")
    return value


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise LeoError(f"{where} must be a number >= 0, not {value!r}")
    return value


def _strings(where: str, value: Any, *, paths: bool) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise LeoError(f"{where} must be a list of strings, not {value!r}")
    return tuple(_path(where, v).strip("/") if paths else v for v in value)


def _path(where: str, value: Any) -> str:
    """A repository-relative path: never absolute, never climbing out with ``..``."""
    if not isinstance(value, str) or not value or value.startswith(("/", "-")) or ".." in value:
        raise LeoError(f"{where} must be a path relative to the repository root, not {value!r}")
    return value
