"""The Design sub-agent's settings: ``[tool.leo.agents.design]``, validated with their defaults.

Every threshold lives here once, so ``docs/agents/design.md`` and the code cannot disagree on a
default, and a bad value is one sentence naming the key rather than a crash deep in a check.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from leo import AgentSettings


def _relative(value: str) -> str:
    """A repository-relative path: never absolute, never climbing out with ``..``."""
    if not value or value.startswith(("/", "-")) or ".." in value:
        msg = f"{value!r} is not a path relative to the repository root"
        raise ValueError(msg)
    return value


RelativePath = Annotated[str, AfterValidator(_relative)]
Package = Annotated[str, AfterValidator(lambda v: _relative(v).strip("/"))]
Count = Annotated[int, Field(ge=0)]
Points = Annotated[float, Field(ge=0)]


class DesignSettings(AgentSettings):
    """Thresholds and switches of the Design sub-agent."""

    max_complexity: Count = 10
    """A new function over this is a finding; a changed one carried over it by less than
    ``max_complexity_growth`` is reported ``low``."""
    fail_complexity: Count = 20
    """Above this, the complexity finding is ``high`` (radon rank D or worse)."""
    max_complexity_growth: Count = 5
    """Growth by more than this in one change is a finding (``medium`` over the limit, ``high``
    over ``fail_complexity``, ``low`` under the limit); a function that grows less never
    blocks."""
    min_maintainability: Points = 20.0
    """A Python file whose maintainability index falls below this (radon rank B) is a finding."""
    max_maintainability_drop: Points = 25.0
    """A drop of the maintainability index by more than this many points is a ``low`` finding."""
    max_file_lines: Count = 600
    """A file the change makes longer than this is a finding."""
    max_function_lines: Count = 80
    """A function the change makes longer than this is a finding."""
    max_file_bytes: Count = 2_000_000
    """Larger files are left out of the complexity and size checks (listed as not analysed)."""
    api: bool = True
    """Compare the public API of changed packages between base and head with griffe."""
    api_packages: tuple[Package, ...] = ()
    """Package directories to check (e.g. ``src/mylib``); empty: every package the change touches."""
    api_exclude: tuple[str, ...] = ("tests", "test", "testing", "docs", "examples", "benchmarks")
    """Package names never treated as public API."""
    changelog: RelativePath | None = None
    """Changelog file; a break is allowed when the change adds a line there naming the object."""
    version_file: RelativePath | None = None
    """File holding the version (default: the nearest ``pyproject.toml`` of the package)."""
    contracts: bool = True
    """Evaluate the repository's import-linter contracts on the head tree."""
    contracts_config: RelativePath | None = None
    """import-linter configuration file (default: ``.importlinter``, ``setup.cfg``, ``tox.ini``
    or ``pyproject.toml`` at the repository root, whichever has the section)."""
    contracts_timeout: Points = 120.0
    """Seconds the import-linter run may take before it is stopped (an error, never a pass)."""
