"""The Performance sub-agent's knobs, read from ``[tool.leo.agents.performance]`` and checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from leo import LeoError

_WHERE = "[tool.leo.agents.performance]"
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Settings:
    """Every knob, with its default (docs/agents/performance.md explains each)."""

    paths: tuple[str, ...] = ()
    """Test files or directories to run; empty: the files that define benchmarks."""
    select: str = ""
    """A pytest ``-k`` expression narrowing the benchmarks."""
    pairs: int = 3
    """Interleaved (base, head) pairs of pytest runs in the first measurement."""
    remeasure_pairs: int = 5
    """Pairs run again for each borderline regression in the conflict-resolution round."""
    remeasure_in_check: bool = False
    """Re-measure borderline regressions at once (for runs where no conflict round comes)."""
    min_rounds: int = 15
    """``--benchmark-min-rounds`` of each run."""
    max_time: float = 0.5
    """``--benchmark-max-time`` (seconds per benchmark) of each run."""
    min_time: float | None = None
    """``--benchmark-min-time`` (seconds per round); None keeps pytest-benchmark's default."""
    min_effect: float = 0.10
    """Smallest slowdown (0.10 = 10 %) that can be a regression; speed-ups use the inverse."""
    alpha: float = 0.01
    """Significance level of the one-sided Mann-Whitney U test."""
    confidence: float = 0.95
    """Level of the bootstrap confidence interval of the ratio of medians."""
    resamples: int = 2000
    """Bootstrap resamples."""
    seed: int = 0
    """Seed of the bootstrap, so that one set of timings always gives one answer."""
    python: str = ""
    """Interpreter that runs pytest; empty: a cached venv with pytest-benchmark (never LEO's)."""
    command: tuple[str, ...] = ()
    """Full argv that runs pytest (e.g. ``["uv", "run", "pytest"]``); overrides ``python``."""
    pytest_args: tuple[str, ...] = ()
    """Extra arguments for every pytest run."""
    pythonpath: tuple[str, ...] = (".", "src")
    """Directories of the checkout put on ``PYTHONPATH`` when they exist."""
    env: tuple[tuple[str, str], ...] = ()
    """Extra environment variables for the runs (after the scrub)."""
    plugin_autoload: bool | None = None
    """Let pytest load every installed plugin; None: only with ``python``/``command`` set."""
    run_timeout: float = 300.0
    """Seconds one pytest run may take."""
    import_time: tuple[str, ...] = ()
    """Modules whose import time (``python -X importtime``) is compared too; empty: off."""
    import_rounds: int = 10
    """Imports timed per module per run."""
    setup_network: str = "allow"
    """Whether building the benchmark environment may reach the package index ("deny": offline)."""
    cache_dir: str = ""
    """Where the benchmark environment is cached; empty: LEO's cache (``venvs``)."""

    @property
    def custom_interpreter(self) -> bool:
        return bool(self.python or self.command)

    @property
    def autoload(self) -> bool:
        return self.custom_interpreter if self.plugin_autoload is None else self.plugin_autoload

    def pytest_argv(self, python: str) -> list[str]:
        """The argv prefix that starts pytest: ``command``, else ``python -m pytest``."""
        if self.command:
            return list(self.command)
        return [python, "-m", "pytest"]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Settings:
        """Validate the settings table; raise ``LeoError`` naming the bad key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            msg = f"unknown key {unknown[0]!r} in {_WHERE} (known: {', '.join(sorted(known))})"
            raise LeoError(msg)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            values[key] = _coerce(key, value, cls.__dataclass_fields__[key].default)
        settings = cls(**values)
        settings._check_ranges()
        return settings

    def _check_ranges(self) -> None:
        checks = [
            ("pairs", 1 <= self.pairs <= 50, "between 1 and 50"),
            ("remeasure_pairs", 1 <= self.remeasure_pairs <= 50, "between 1 and 50"),
            ("min_rounds", 2 <= self.min_rounds <= 100_000, "between 2 and 100000"),
            ("max_time", 0 < self.max_time <= 600, "in (0, 600] seconds"),
            ("min_time", self.min_time is None or 0 < self.min_time <= 10, "in (0, 10] seconds"),
            ("min_effect", 0 < self.min_effect <= 10, "in (0, 10]"),
            ("alpha", 0 < self.alpha < 0.5, "in (0, 0.5)"),
            ("confidence", 0.5 <= self.confidence < 1, "in [0.5, 1)"),
            ("resamples", 100 <= self.resamples <= 100_000, "between 100 and 100000"),
            ("run_timeout", self.run_timeout > 0, "> 0 seconds"),
            ("import_rounds", 2 <= self.import_rounds <= 1000, "between 2 and 1000"),
        ]
        for key, ok, expected in checks:
            if not ok:
                msg = f"{_WHERE} {key} = {getattr(self, key)!r} must be {expected}"
                raise LeoError(msg)
        if self.setup_network not in ("allow", "deny"):
            msg = f'{_WHERE} setup_network = {self.setup_network!r} must be "allow" or "deny"'
            raise LeoError(msg)
        for path in self.paths:
            p = PurePosixPath(path.split("::", 1)[0])
            if not path or path.startswith("-") or p.is_absolute() or ".." in p.parts:
                msg = f"{_WHERE} paths entry {path!r} must be a relative path inside the repository"
                raise LeoError(msg)
        for module in self.import_time:
            if not _MODULE.fullmatch(module):
                msg = f"{_WHERE} import_time entry {module!r} must be a dotted module name"
                raise LeoError(msg)
        if "/" in self.python and not self.python.startswith("/"):
            msg = f"{_WHERE} python = {self.python!r} must be an absolute path or a name on PATH"
            raise LeoError(msg)
        for path in self.pythonpath:
            p = PurePosixPath(path)
            if p.is_absolute() or ".." in p.parts:
                msg = f"{_WHERE} pythonpath entry {path!r} must be a relative path inside the repository"
                raise LeoError(msg)


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Check one value against the type of its default."""

    def bad(expected: str) -> LeoError:
        return LeoError(f"{_WHERE} {key} = {value!r} must be {expected}")

    if key == "env":
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise bad("a table of string values")
        return tuple(sorted(value.items()))
    if key == "min_time":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number of seconds")
        return float(value)
    if key == "plugin_autoload" or isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, tuple):
        if isinstance(value, str) and key in ("command", "pytest_args"):
            raise bad("a list of strings (one argv entry each), not one shell string")
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if not isinstance(value, str):
        raise bad("a string")
    return value
