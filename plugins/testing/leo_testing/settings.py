"""The Testing sub-agent's settings: ``[tool.leo.agents.testing]``, validated with clear errors.

Every key is optional; the defaults run pytest with JUnit XML and coverage.py in a cached
virtual environment. Placeholders in commands are replaced literally (never ``str.format``):
``{python}`` the environment's interpreter, ``{project}`` the head worktree, ``{outdir}`` a
directory for reports, ``{junit}`` and ``{coverage}`` the report paths in it, and (in
``rerun_command`` only) an argument that is exactly ``{tests}`` expands to the failing tests;
``{test_case_timeout}`` is the setting of that name.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from leo import AgentSettings

DEFAULT_COMMAND = (
    "{python}", "-m", "pytest", "-v", "-rfE",
    "-p", "no:cacheprovider",
    "-o", "junit_family=xunit1",  # xunit1 carries each test's file and line
    # one module that cannot be imported must not hide the rest of the suite (markdown 3.7)
    "--continue-on-collection-errors",
    # a test that hangs fails on its own and the rest of the suite still runs (zipp 3.19.0's
    # infinite loop, CVE-2024-5569, against 3.19.1's regression test; pytest-timeout)
    "--timeout={test_case_timeout}",
    "--junitxml={junit}",
    "--cov={project}", "--cov-branch", "--cov-report=xml:{coverage}",
    # LEO's --cov makes coverage.py warn about a project's own ``include``, and the pytest LEO
    # chose warns about its own future; under the project's ``filterwarnings = error`` those
    # warnings stopped whole suites (pluggy 1.5.0, python-dateutil 2.9.0; issue 18).
    "-W", "ignore::coverage.exceptions.CoverageWarning",
    "-W", "ignore::pytest.PytestDeprecationWarning",
)  # fmt: skip
DEFAULT_RERUN = (
    # ``-v`` as in the command: a re-run must look like the run it checks (pytest-mock 3.13.0's
    # test helper reads ``-v`` from ``sys.argv``; a quiet re-run at the base passed what the
    # verbose runs failed, so the failure looked the change's)
    "{python}", "-m", "pytest", "-v",
    "-p", "no:cacheprovider",
    "-o", "junit_family=xunit1",
    "--continue-on-collection-errors",
    "--timeout={test_case_timeout}",
    "--junitxml={junit}",
    # as in the command: under ``filterwarnings = error`` pytest-asyncio's deprecation warning
    # stopped the re-run at the base commit with an INTERNALERROR (tqdm 4.66.4; issue 18)
    "-W", "ignore::pytest.PytestDeprecationWarning",
    "{tests}",
)  # fmt: skip
#: Files whose content decides what the environment holds; their hash keys the cache.
DEPENDENCY_FILES = (
    "pyproject.toml", "setup.py", "setup.cfg",
    "requirements*.txt", "requirements/*.txt", "*requirements.txt", "constraints*.txt",
    "Pipfile.lock", "poetry.lock", "pdm.lock", "uv.lock",
    "tox.ini",  # its [testenv] deps and extras, read when no test requirement file exists
)  # fmt: skip
#: Paths left out of the changed-line coverage figure: tests measure code, not themselves;
#: documentation and packaging scripts (a Sphinx ``docs/conf.py``, ``setup.py``, ``noxfile.py``)
#: are not code a test imports (click 8.1.8's ``docs/conf.py`` counted as untested), nor is
#: a docs folder for one language (beautifulsoup4 4.12.3's ``doc.es/source/conf.py``).
COVERAGE_OMIT = (
    "tests/*", "test/*", "*/tests/*", "*/test/*",
    "test_*.py", "*/test_*.py", "*_test.py", "conftest.py", "*/conftest.py",
    "docs/*", "doc/*", "docs.*/*", "doc.*/*", "setup.py", "noxfile.py",
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


def _argv(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        msg = "expected a non-empty list of strings (an argv, no shell)"
        raise ValueError(msg)
    return value


def _no_credential(name: str) -> str:
    if SECRET_NAME.search(name):
        msg = (
            f"pass_env names {name!r}, which looks like a credential; the Testing sub-agent "
            "never passes credentials to the change's code (set a literal value under env, "
            "or rename the variable)"
        )
        raise ValueError(msg)
    return name


def as_of(value: Any) -> Any:
    """An ISO date or datetime (a string, or a TOML date or datetime) as an ISO datetime in UTC.

    A date is its midnight UTC (packages uploaded before that day); a time without an offset is
    UTC, never the machine's local time, so two machines resolve the same set of releases.
    """
    if value is None:
        return None
    when = value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(value.strip())
    if isinstance(when, date) and not isinstance(when, datetime):
        when = datetime.combine(when, time(0))
    if not isinstance(when, datetime):
        msg = "expected an ISO date or datetime, e.g. 2024-06-17 or 2024-06-17T12:00:00Z"
        raise ValueError(msg)  # pydantic turns it into the configuration error naming the key
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _directory(value: Any) -> Any:
    return Path(value).expanduser() if isinstance(value, str) and value else value


Argv = Annotated[tuple[str, ...], AfterValidator(_argv)]
NonEmpty = Annotated[str, Field(min_length=1)]
Seconds = Annotated[float, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]


class Settings(AgentSettings):
    """The effective settings of one run of the Testing sub-agent."""

    command: Argv = DEFAULT_COMMAND
    rerun_command: Annotated[
        Argv | None, BeforeValidator(lambda v: None if v in ("none", False) else v)
    ] = DEFAULT_RERUN
    setup: Literal["default", "none"] | tuple[Argv, ...] = "default"
    extras: tuple[str, ...] = ("test", "tests", "testing")
    #: The runner stays on pytest-cov 6 until 7 is measured on the corpus. 7 was blamed for
    #: tqdm 4.66.5's exit hang, which is tqdm's own and happens on 5 and 6 too (issue 18; the
    #: observer ends such a process, see ``_observer_plugin``).
    runner_requirements: tuple[str, ...] = (
        "pytest>=8,<10", "pytest-cov>=5,<7", "pytest-timeout>=2.3,<3",
        # runs a Django project's tests with its settings (``django_settings``); switched off
        # (``-p no:django``) where Django is not installed
        "pytest-django>=4.8,<5",
    )  # fmt: skip
    dependency_files: tuple[str, ...] = DEPENDENCY_FILES
    resolve_as_of: Annotated[str | None, BeforeValidator(as_of)] = None
    """Resolve the project's dependencies as they were at this ISO date or datetime (pip's
    ``--uploaded-prior-to``): an old change replayed later installs what it was tested with,
    not what was released since. Unset: as of today."""
    cache_dir: Annotated[Path, BeforeValidator(_directory)] = Field(
        default_factory=lambda: default_cache_dir()
    )
    max_environments: Annotated[int, Field(ge=1)] = 20
    """Cached environments kept in ``cache_dir``; a build deletes the least recently used
    beyond it (those built for one change first) and any no run can use."""
    python: NonEmpty = sys.executable
    system_site_packages: bool = False
    verify_environment: bool = True
    test_timeout: Seconds = 600.0
    setup_timeout: Seconds = 600.0
    test_case_timeout: Seconds = 180.0
    """Seconds one test may run (``{test_case_timeout}`` in the commands, pytest-timeout's
    ``--timeout``) before it fails as hung, so one hang cannot cost the whole suite its result."""
    pass_env: tuple[Annotated[str, AfterValidator(_no_credential)], ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    pythonpath: tuple[str, ...] = ("src", ".")
    django_settings: Annotated[str, Field(pattern=r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")] | None = None
    """The Django settings module the tests run with (pytest-django's ``--ds``) where Django is
    installed; unset, LEO reads it from the base's tox, ``runtests.py`` or ``tests/settings.py``
    (``django.py``), and leaves one pytest's own configuration names to pytest-django."""
    django_test_files: NonEmpty | None = "test*.py"
    """The test files pytest collects (its ``python_files``) when LEO names the Django settings:
    such a project runs Django's own runner, which finds ``test*.py`` (django-taggit's
    ``tests/tests.py``); None, or a base whose pytest configuration sets ``python_files``, keeps
    pytest's."""
    memory_limit_mb: Count = 4096
    max_processes: Count = 1024
    max_file_size_mb: Count = 1024
    network: Network = "deny"
    """The tests' network: off (an empty namespace) unless the base policy allows it."""
    setup_network: Network = "allow"
    """The environment setup's network, to reach the package index; "deny" for offline runs."""
    coverage: bool = True
    coverage_report: NonEmpty | None = "{coverage}"
    coverage_threshold: Annotated[float, Field(ge=0, le=100)] = 80.0
    coverage_severity: Severity = "medium"
    coverage_omit: tuple[str, ...] = COVERAGE_OMIT
    hold_the_line_max_s: Annotated[float, Field(ge=0)] = 60.0
    """The base coverage run that tells pre-existing uncovered lines from the change's costs about
    one more run of the suite: skipped (nothing is then pre-existing) when the head's own run took
    longer than this many seconds; 0 never runs it."""
    deselect: tuple[NonEmpty, ...] = ()
    """Tests the default command leaves out, by pytest node id or its prefix (pytest's
    ``--deselect``: ``tests/test_dynamodb_cache.py``, ``tests/test_db.py::TestServer``): tests
    of a service the sandbox has not (a server its client retries for minutes), which cannot
    give evidence here. The base's policy names them, never the change; every run leaves
    them out alike and the report lists them (``details.deselected``)."""
    flaky_reruns: Count = 2
    require_tests: bool = False
    """A project without tests at the base nor the head: False skips the Testing sub-agent
    (nothing to check, like Database without migrations); True reports it ``medium``."""
    updated_tests: Literal["context", "lead"] = "context"
    """A failing base test the change rewrote, keeping its assertions, so that it passes:
    "context" reports it low (a release updating a test with its behaviour), "lead" asks a LEAD."""

    @model_validator(mode="before")
    @classmethod
    def _custom_suite(cls, data: Any) -> Any:
        """A custom ``command``: LEO cannot guess how to re-run one test, nor where coverage is."""
        if isinstance(data, Mapping) and "command" in data:
            data = {"rerun_command": None, "coverage_report": None, **data}
        return data

    @model_validator(mode="after")
    def _deselect_needs_default_command(self) -> Settings:
        if self.deselect and not self.is_default_command:
            msg = (
                "deselect applies to LEO's default test command; with a command of your own, "
                "put --deselect in that command instead"
            )
            raise ValueError(msg)
        return self

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
