"""The Testing sub-agent's settings: ``[tool.leo.agents.testing]``, validated with clear errors.

Every key is optional; the defaults run pytest with JUnit XML and coverage.py in a cached
virtual environment. Placeholders in commands are replaced literally (never ``str.format``):
``{python}`` the environment's interpreter, ``{project}`` the head worktree, ``{outdir}`` a
directory for reports, ``{junit}`` and ``{coverage}`` the report paths in it, and (in
``rerun_command`` only) an argument that is exactly ``{tests}`` expands to the failing tests.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from leo import LeoError

DEFAULT_COMMAND = (
    "{python}", "-m", "pytest", "-v", "-rfE",
    "-p", "no:cacheprovider",
    "-o", "junit_family=xunit1",  # xunit1 carries each test's file and line
    "--junitxml={junit}",
    "--cov={project}", "--cov-branch", "--cov-report=xml:{coverage}",
)  # fmt: skip
DEFAULT_RERUN = (
    "{python}", "-m", "pytest", "-q",
    "-p", "no:cacheprovider",
    "-o", "junit_family=xunit1",
    "--junitxml={junit}",
    "{tests}",
)  # fmt: skip
#: Files whose content decides what the environment holds; their hash keys the cache.
DEPENDENCY_FILES = (
    "pyproject.toml", "setup.py", "setup.cfg",
    "requirements*.txt", "requirements/*.txt", "*requirements.txt", "constraints*.txt",
    "Pipfile.lock", "poetry.lock", "pdm.lock", "uv.lock",
)  # fmt: skip
#: Paths left out of the changed-line coverage figure: tests measure code, not themselves.
COVERAGE_OMIT = (
    "tests/*", "test/*", "*/tests/*", "*/test/*",
    "test_*.py", "*/test_*.py", "*_test.py", "conftest.py", "*/conftest.py",
)  # fmt: skip
#: Names that look like credentials; never passed to the change's code, even when asked.
SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|SIGNING"
    r"|^(AWS|AZURE|ARM|GOOGLE|GCP|GCLOUD|CLOUDSDK|GH|GITHUB|GITLAB|NPM|PYPI|TWINE|DOCKER"
    r"|HEROKU|DIGITALOCEAN|VAULT|KUBE|OPENAI|ANTHROPIC|SLACK|SENTRY|DATADOG|DD)_",
    re.IGNORECASE,
)

Network = Literal["allow", "deny"]
Severity = Literal["critical", "high", "medium", "low", "info"]


class SettingsError(LeoError):
    """A bad value in ``[tool.leo.agents.testing]``."""


@dataclass(frozen=True)
class Settings:
    """The effective settings of one run of the Testing sub-agent."""

    command: tuple[str, ...] = DEFAULT_COMMAND
    rerun_command: tuple[str, ...] | None = DEFAULT_RERUN
    setup: Literal["default", "none"] | tuple[tuple[str, ...], ...] = "default"
    extras: tuple[str, ...] = ("test", "tests", "testing")
    runner_requirements: tuple[str, ...] = ("pytest>=8,<10", "pytest-cov>=5,<8")
    dependency_files: tuple[str, ...] = DEPENDENCY_FILES
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    python: str = sys.executable
    system_site_packages: bool = False
    verify_environment: bool = True
    test_timeout: float = 600.0
    setup_timeout: float = 600.0
    pass_env: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    pythonpath: tuple[str, ...] = ("src", ".")
    memory_limit_mb: int = 4096
    max_processes: int = 1024
    max_file_size_mb: int = 1024
    network: Network = "deny"
    """The tests' network: off (an empty namespace) unless the base policy allows it."""
    setup_network: Network = "allow"
    """The environment setup's network, to reach the package index; "deny" for offline runs."""
    coverage: bool = True
    coverage_report: str | None = "{coverage}"
    coverage_threshold: float = 80.0
    coverage_severity: Severity = "medium"
    coverage_omit: tuple[str, ...] = COVERAGE_OMIT
    flaky_reruns: int = 2

    @property
    def is_default_command(self) -> bool:
        return self.command == DEFAULT_COMMAND


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$LEO_CACHE_DIR/venvs``, else ``$XDG_CACHE_HOME/leo/venvs``, else ``~/.cache/leo/venvs``."""
    env = os.environ if environ is None else environ
    if env.get("LEO_CACHE_DIR"):
        return Path(env["LEO_CACHE_DIR"]) / "venvs"
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leo" / "venvs"


def _fail(key: str, expected: str) -> SettingsError:
    return SettingsError(
        f"invalid [tool.leo.agents.testing] setting {key!r}: expected {expected}; "
        "see docs/agents/testing.md"
    )


def _argv(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple) and value and all(isinstance(a, str) for a in value):
        return tuple(value)
    raise _fail(key, "a non-empty list of strings (an argv, no shell)")


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple) and all(isinstance(a, str) for a in value):
        return tuple(value)
    raise _fail(key, "a list of strings")


def _number(key: str, value: Any, *, minimum: float, integer: bool = False) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        raise _fail(key, f"{'an integer' if integer else 'a number'} >= {minimum:g}")
    return value


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, "true or false")
    return value


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate the sub-agent's table; raise ``SettingsError`` naming the first bad key."""
    known = set(Settings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(unknown[0], f"one of the known keys ({', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("command",):
            values[key] = _argv(key, value)
        elif key == "rerun_command":
            values[key] = None if value in ("none", False) else _argv(key, value)
        elif key == "setup":
            if value in ("default", "none"):
                values[key] = value
            elif isinstance(value, list) and all(isinstance(step, list) for step in value):
                values[key] = tuple(_argv(key, step) for step in value)
            else:
                raise _fail(key, '"default", "none" or a list of argv lists')
        elif key in (
            "extras",
            "runner_requirements",
            "dependency_files",
            "pythonpath",
            "coverage_omit",
        ):
            values[key] = _strings(key, value)
        elif key == "pass_env":
            names = _strings(key, value)
            secret = [n for n in names if SECRET_NAME.search(n)]
            if secret:
                msg = (
                    f"pass_env names {secret[0]!r}, which looks like a credential; the Testing "
                    "sub-agent never passes credentials to the change's code (set a literal "
                    "value under env, or rename the variable)"
                )
                raise SettingsError(msg)
            values[key] = names
        elif key == "env":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise _fail(key, "a table of string values")
            values[key] = dict(value)
        elif key in ("cache_dir", "python"):
            if not isinstance(value, str) or not value:
                raise _fail(key, "a non-empty path")
            values[key] = Path(value).expanduser() if key == "cache_dir" else value
        elif key in ("test_timeout", "setup_timeout"):
            values[key] = float(_number(key, value, minimum=1))
        elif key in ("memory_limit_mb", "max_processes", "max_file_size_mb", "flaky_reruns"):
            values[key] = _number(key, value, minimum=0, integer=True)
        elif key == "coverage_threshold":
            values[key] = float(_number(key, value, minimum=0))
            if values[key] > 100:
                raise _fail(key, "a percentage from 0 to 100")
        elif key in ("coverage", "system_site_packages", "verify_environment"):
            values[key] = _flag(key, value)
        elif key == "coverage_report":
            if value is not None and (not isinstance(value, str) or not value):
                raise _fail(key, "a report path (Cobertura XML or LCOV)")
            values[key] = value or None
        elif key in ("network", "setup_network"):
            if value not in ("allow", "deny"):
                raise _fail(key, '"allow" or "deny"')
            values[key] = value
        elif key == "coverage_severity":
            if value not in ("critical", "high", "medium", "low", "info"):
                raise _fail(key, "a severity (critical, high, medium, low, info)")
            values[key] = value
    if "command" in values and "rerun_command" not in raw:
        values["rerun_command"] = None  # a custom suite: LEO cannot guess how to re-run one test
    if "command" in values and "coverage_report" not in raw:
        values["coverage_report"] = None
    return Settings(**values)
