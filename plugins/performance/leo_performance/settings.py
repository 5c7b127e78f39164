"""The Performance sub-agent's knobs, read from ``[tool.leo.agents.performance]`` and checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from leo import AgentSettings

_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _inside(path: str, *, what: str) -> str:
    p = PurePosixPath(path.split("::", 1)[0])
    if not path or path.startswith("-") or p.is_absolute() or ".." in p.parts:
        msg = f"{what} entry {path!r} must be a relative path inside the repository"
        raise ValueError(msg)
    return path


def _module(name: str) -> str:
    if not _MODULE.fullmatch(name):
        msg = f"import_time entry {name!r} must be a dotted module name"
        raise ValueError(msg)
    return name


def _argv(value: Any) -> Any:
    if isinstance(value, str):
        msg = "a list of strings (one argv entry each), not one shell string"
        raise ValueError(msg)
    return value


def _pairs(value: Any) -> Any:
    if not isinstance(value, Mapping):
        msg = "must be a table of string values"
        raise ValueError(msg)
    return tuple(sorted(value.items()))


Argv = Annotated[tuple[str, ...], BeforeValidator(_argv)]
Pairs = Annotated[int, Field(ge=1, le=50)]


class Settings(AgentSettings):
    """Every knob, with its default (docs/agents/performance.md explains each)."""

    paths: tuple[Annotated[str, AfterValidator(lambda p: _inside(p, what="paths"))], ...] = ()
    """Test files or directories to run; empty: the files that define benchmarks."""
    select: str = ""
    """A pytest ``-k`` expression narrowing the benchmarks."""
    pairs: Pairs = 3
    """Interleaved (base, head) pairs of pytest runs in the first measurement."""
    remeasure_pairs: Pairs = 5
    """Pairs run again for each borderline regression in the conflict-resolution round."""
    remeasure_in_check: bool = False
    """Re-measure borderline regressions at once (for runs where no conflict round comes)."""
    min_rounds: Annotated[int, Field(ge=2, le=100_000)] = 15
    """``--benchmark-min-rounds`` of each run."""
    max_time: Annotated[float, Field(gt=0, le=600)] = 0.5
    """``--benchmark-max-time`` (seconds per benchmark) of each run."""
    min_time: Annotated[float, Field(gt=0, le=10)] | None = None
    """``--benchmark-min-time`` (seconds per round); None keeps pytest-benchmark's default."""
    min_effect: Annotated[float, Field(gt=0, le=10)] = 0.10
    """Smallest slowdown (0.10 = 10 %) that can be a regression; speed-ups use the inverse."""
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    """Significance level of the one-sided Mann-Whitney U test."""
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.95
    """Level of the bootstrap confidence interval of the ratio of medians."""
    resamples: Annotated[int, Field(ge=100, le=100_000)] = 2000
    """Bootstrap resamples."""
    seed: int = 0
    """Seed of the bootstrap, so that one set of timings always gives one answer."""
    python: str = ""
    """Interpreter that runs pytest; empty: a cached venv with pytest-benchmark (never LEO's)."""
    install_project: bool = True
    """Install the project with its declared dependencies into that venv (when pip can)."""
    command: Argv = ()
    """Full argv that runs pytest (e.g. ``["uv", "run", "pytest"]``); overrides ``python``."""
    pytest_args: Argv = ()
    """Extra arguments for every pytest run."""
    pythonpath: tuple[
        Annotated[str, AfterValidator(lambda p: _inside(p, what="pythonpath"))], ...
    ] = (".", "src")
    """Directories of the checkout put on ``PYTHONPATH`` when they exist."""
    env: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_pairs)] = ()
    """Extra environment variables for the runs (after the scrub)."""
    plugin_autoload: bool | None = None
    """Let pytest load every installed plugin; None: only with ``python``/``command`` set."""
    run_timeout: Annotated[float, Field(gt=0)] = 300.0
    """Seconds one pytest run may take."""
    import_time: tuple[Annotated[str, AfterValidator(_module)], ...] = ()
    """Modules whose import time (``python -X importtime``) is compared too; empty: off."""
    import_rounds: Annotated[int, Field(ge=2, le=1000)] = 10
    """Imports timed per module per run."""
    setup_network: Literal["allow", "deny"] = "allow"
    """Whether building the benchmark environment may reach the package index ("deny": offline)."""
    cache_dir: str = ""
    """Where the benchmark environment is cached; empty: LEO's cache (``venvs``)."""

    @field_validator("python")
    @classmethod
    def _interpreter(cls, python: str) -> str:
        if "/" in python and not python.startswith("/"):
            msg = f"python = {python!r} must be an absolute path or a name on PATH"
            raise ValueError(msg)
        return python

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
