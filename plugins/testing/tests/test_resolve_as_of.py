"""``resolve_as_of``: the test environment's dependencies as they were at a date (issue 18).

An old change verified today must not fail because of what its unpinned test requirements
resolve to today (urllib3 2.2.2's pinned quart 0.19.4 against today's flask 3.1). The offline
tests pin the pip argv, the cache key and the configuration error; the one that needs PyPI
shows the date changes what pip installs, and skips when PyPI is unreachable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from leo_testing import TestingAgent
from leo_testing.environment import (
    PIP_AS_OF,
    _Setup,
    default_setup,
    environment_key,
    lowest_majors,
    pip_version,
)
from leo_testing.sandbox import Sandbox

from leo import LeoError

PYPROJECT = '[project]\nname = "demo"\nversion = "0.1"\n'


def settings(**table):
    return TestingAgent(table).settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-17", "2024-06-17T00:00:00Z"),
        ("2024-06-17T23:59:59Z", "2024-06-17T23:59:59Z"),
        ("2024-06-17T12:00:00", "2024-06-17T12:00:00Z"),  # no offset: UTC, not local time
        ("2024-06-18T01:00:00+02:00", "2024-06-17T23:00:00Z"),
    ],
)
def test_resolve_as_of_is_an_iso_date_or_datetime_taken_as_utc(value, expected):
    assert settings(resolve_as_of=value).resolve_as_of == expected


def test_resolve_as_of_accepts_toml_dates_and_datetimes():
    import tomllib

    table = tomllib.loads("a = 2024-06-17\nb = 2024-06-17T10:00:00Z\n")
    assert settings(resolve_as_of=table["a"]).resolve_as_of == "2024-06-17T00:00:00Z"
    assert settings(resolve_as_of=table["b"]).resolve_as_of == "2024-06-17T10:00:00Z"


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "", 20240617, True])
def test_a_bad_resolve_as_of_is_one_sentence_naming_the_key(value):
    with pytest.raises(LeoError) as raised:
        TestingAgent({"resolve_as_of": value})
    message = str(raised.value)
    assert message.startswith("[tool.leo.agents.testing] resolve_as_of = ")
    assert "expected an ISO date or datetime" in message
    assert "\n" not in message


def test_a_bad_resolve_as_of_in_the_base_policy_exits_2_before_anything_runs(leo_repo):
    policy = '\n[tool.leo.agents.testing]\nresolve_as_of = "last tuesday"\n'
    repo = leo_repo(
        base={"pyproject.toml": PYPROJECT + policy, "app.py": "X = 1\n"}, head={"app.py": "X = 2\n"}
    )
    done = subprocess.run(
        [sys.executable, "-m", "leo", "verify", "--repo", str(repo.path), "--base", "main",
         "--head", "feature", "--agents", "testing", "--format", "json", "-q", "--no-cache"],
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "resolve_as_of = 'last tuesday' is invalid" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_pip_install_of_the_project_carries_the_date_and_the_runner_comes_after(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    requirements = tmp_path / "reqs.txt"
    requirements.write_text("six\n")
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"

    dated = settings(resolve_as_of="2024-01-01", runner_requirements=["pytest"])
    [step] = default_setup(tmp_path, dated, [wheel], requirements)
    assert step == [
        "{python}", "-m", "pip", "install", "--uploaded-prior-to", "2024-01-01T00:00:00Z",
        str(wheel), "-r", str(requirements),
    ]  # fmt: skip
    setup = _Setup(tmp_path / "venv", tmp_path, dated, Sandbox.create(dated, tmp_path / "s"))
    assert setup.pip("six")[4:6] == ["--uploaded-prior-to", "2024-01-01T00:00:00Z"]
    assert "--uploaded-prior-to" not in setup.pip("pytest", dated=False)
    assert "PIP_UPLOADED_PRIOR_TO" not in setup.env  # the default setup passes the option

    today = settings(runner_requirements=["pytest"])
    [step] = default_setup(tmp_path, today, [wheel], requirements)
    assert "--uploaded-prior-to" not in step
    assert step[-1] == "pytest"  # unset: one call with the runner, as before


def test_a_custom_setup_gets_the_date_in_pips_environment(tmp_path):
    custom = settings(resolve_as_of="2024-01-01", setup=[["{python}", "-m", "pip", "install", "."]])
    setup = _Setup(tmp_path / "venv", tmp_path, custom, Sandbox.create(custom, tmp_path / "s"))
    assert setup.env["PIP_UPLOADED_PRIOR_TO"] == "2024-01-01T00:00:00Z"


def test_the_environment_key_changes_with_the_date(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    today = environment_key(tmp_path, settings())
    first = environment_key(tmp_path, settings(resolve_as_of="2024-01-01"))
    second = environment_key(tmp_path, settings(resolve_as_of="2024-06-01"))
    same_instant = environment_key(tmp_path, settings(resolve_as_of="2024-01-01T01:00:00+01:00"))
    assert len({today, first, second}) == 3
    assert same_instant == first


def test_the_pip_version_of_an_environment_is_read_from_its_metadata(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    assert pip_version(tmp_path) is None
    (site / "pip-23.2.1.dist-info").mkdir(parents=True)
    assert pip_version(tmp_path) == (23, 2, 1)
    assert pip_version(tmp_path) < (26,)
    assert PIP_AS_OF.startswith("pip>=26")


@pytest.mark.parametrize(
    ("requirement", "held"),
    [
        ("pytest>=8,<10", "pytest<10,<9,>=8"),
        ("pytest-timeout>=2.3,<3", "pytest-timeout<3,>=2.3"),
        ("coverage[toml]>=7.2", "coverage[toml]<8,>=7.2"),
        ('z>=1.0; python_version < "4"', 'z<2,>=1.0; python_version < "4"'),
        ("pytest", "pytest"),  # no lower bound: nothing to hold it to
        ("pytest==8.3.2", "pytest==8.3.2"),
    ],
)
def test_the_runner_as_of_today_is_held_to_its_oldest_major_release(requirement, held):
    assert lowest_majors([requirement]) == [held]


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/six/", timeout=10) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


SIX_TEST = "import six\n\n\ndef test_six_as_it_was():\n    assert six.__version__ == '1.16.0'\n"


@pytest.mark.skipif(not _pypi_reachable(), reason="needs PyPI (https://pypi.org) to resolve six")
def test_the_date_changes_what_pip_installs(leo_repo, run_testing, leo_sandbox, tmp_path):
    """six 1.17.0 came out in December 2024: as of 2024-01-01 pip must install 1.16.0, and LEO's
    runner (pytest>=8, first released on 2024-01-27) is installed as of today, its oldest major
    release (pytest 9 refuses hooks that old projects' conftests still use), and says so."""
    base = {
        "pyproject.toml": PYPROJECT,
        "requirements-test.txt": "six\n",
        "demo.py": "X = 1\n",
        "tests/test_six.py": SIX_TEST,
    }
    repo = leo_repo(base=base, head={"demo.py": "X = 2\n"})
    result = run_testing(repo.change(), resolve_as_of="2024-01-01", cache_dir=str(tmp_path))
    agent = result.agent("testing")
    assert agent.status == "passed", (agent.summary, agent.findings)
    environment = agent.details["environment"]
    assert environment["resolve_as_of"] == "2024-01-01T00:00:00Z"
    assert environment["runner_as_of_today"] is True
    assert _installed(tmp_path, "six") == ["six-1.16.0.dist-info"]
    assert _installed(tmp_path, "pytest")[0].startswith("pytest-8.")
    assert _installed(tmp_path, "pip")[0] >= "pip-26"

    # the twin without the date: the same repository as of today gets a newer six
    today = tmp_path / "today"
    result = run_testing(repo.change(), cache_dir=str(today))
    assert result.agent("testing").details["environment"]["resolve_as_of"] is None
    assert _installed(today, "six") and _installed(today, "six") != ["six-1.16.0.dist-info"]


def _installed(cache: Path, name: str) -> list[str]:
    return sorted(p.name for p in cache.glob(f"*/lib/python*/site-packages/{name}-*.dist-info"))


def test_without_a_pip_that_knows_the_date_the_result_is_an_error_never_a_pass(
    leo_repo, run_testing, leo_sandbox, tmp_path
):
    """Offline, the environment's pip cannot be upgraded to one that honours the date: the
    dependencies would be today's, so there is no evidence as of the date, and it says why."""
    base = {"pyproject.toml": PYPROJECT, "demo.py": "X = 1\n", "tests/test_x.py": SIX_TEST}
    repo = leo_repo(base=base, head={"demo.py": "X = 2\n"})
    result = run_testing(
        repo.change(), resolve_as_of="2024-01-01", setup_network="deny", cache_dir=str(tmp_path)
    )
    agent = result.agent("testing")
    assert agent.status == "error"
    assert "resolve_as_of needs pip 26 or newer" in agent.summary
    assert result.report.verdict != "PASS"
