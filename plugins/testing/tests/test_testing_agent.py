"""The Testing sub-agent end to end: real repos, a real venv, real pytest and coverage.py."""

from __future__ import annotations

import json
import time

import pytest

from leo import LeoError


def agent_result(result):
    return result.agent("testing")


CALC = "def add(a, b):\n    return a + b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
BASE = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST}


def test_change_that_breaks_a_test_fails_naming_the_test(leo_repo, run_testing):
    repo = leo_repo(base=BASE, head={"calc.py": "def add(a, b):\n    return a - b\n"})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.test_failed", path="tests/test_calc.py", line=5)
    assert finding.message.startswith("tests/test_calc.py::test_add failed: assert -1 == 3")
    details = agent_result(result).details
    assert (details["tests"], details["failed"]) == (1, 1)


def test_untested_function_gets_a_coverage_finding_listing_the_uncovered_lines(
    leo_repo, run_testing
):
    slugify = (
        CALC + "\n\ndef slugify(text):\n    words = text.lower().split()\n"
        "    return '-'.join(words)\n"
    )
    repo = leo_repo(base=BASE, head={"calc.py": slugify})
    result = run_testing(repo.change())
    finding = result.assert_finding("testing.coverage.changed_lines", path="calc.py", line=6)
    assert "added lines 6-7 of calc.py" in finding.message
    assert finding.end_line == 7
    coverage = agent_result(result).details["coverage"]
    assert coverage["uncovered"] == {"calc.py": "6-7"}
    assert coverage["percent"] == pytest.approx(33.3)
    assert agent_result(result).status == "warned"


def test_new_module_no_test_imports_counts_as_uncovered(leo_repo, run_testing):
    repo = leo_repo(
        base=BASE,
        head={"pkg/__init__.py": "", "pkg/util.py": "X = 1\n\n\ndef f():\n    return X\n"},
    )
    result = run_testing(repo.change())
    finding = result.assert_finding("testing.coverage.changed_lines", path="pkg/util.py")
    assert "1-5" not in finding.message and "1, 4-5" in finding.message


def test_tested_change_with_full_coverage_of_new_lines_passes(leo_repo, run_testing):
    head = {
        "calc.py": CALC + "\n\ndef mul(a, b):\n    return a * b\n",
        "tests/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
    }
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("PASS")
    details = agent_result(result).details
    assert (details["tests"], details["passed"]) == (2, 2)
    assert details["coverage"]["percent"] == 100.0
    assert {t.name for t in agent_result(result).tools} >= {"pytest", "coverage"}


@pytest.mark.parametrize(
    "tests",
    [
        {"tests/test_calc.py": None},  # the change deletes the only test file
        {"tests/test_calc.py": "import pytest\n\npytest.skip('later', allow_module_level=True)\n"},
    ],
    ids=["no-tests-collected", "all-skipped"],
)
def test_suite_that_runs_no_test_is_not_passed(leo_repo, run_testing, tests):
    result = run_testing(leo_repo(base=BASE, head=tests).change())
    result.assert_verdict("FAIL")
    result.assert_finding("testing.no_tests")
    assert agent_result(result).status == "failed"


def test_hanging_test_is_stopped_at_the_timeout_and_the_run_completes(leo_repo, run_testing):
    hang = "import time\n\n\ndef test_hangs():\n    time.sleep(600)\n"
    repo = leo_repo(base=BASE, head={"tests/test_hang.py": hang})
    started = time.monotonic()
    result = run_testing(repo.change(), test_timeout=4)
    assert time.monotonic() - started < 60
    agent = agent_result(result)
    assert agent.status == "timeout"
    assert "did not finish within its 4s timeout" in agent.summary
    assert agent.details["last_test"] == "tests/test_hang.py::test_hangs"
    assert result.report.verdict != "PASS"


def test_a_suite_that_timed_out_at_the_head_is_not_run_again_at_the_base(leo_repo, run_testing):
    # cachelib 0.13.0: tests that wait on absent servers ran past the timeout at both ends
    hang = "import time\n\n\ndef test_hangs():\n    time.sleep(600)\n"
    service = "def test_server():\n    raise ConnectionRefusedError('no server on 6360')\n"
    base = {**BASE, "tests/test_hang.py": hang, "tests/test_a_service.py": service}
    repo = leo_repo(base=base, head={"tests/test_hang.py": hang.replace("600", "601")})
    started = time.monotonic()
    result = run_testing(repo.change(), test_timeout=4)
    assert time.monotonic() - started < 60
    agent = agent_result(result)
    assert agent.status == "timeout" and "base_pass" not in agent.details
    assert result.report.verdict != "PASS"
    # the summary names what the failures before the timeout raised: where the time likely went
    assert "1 of them raising ConnectionRefusedError (tests/test_a_service.py)" in agent.summary
    assert "a server the sandbox cannot reach" in agent.summary
    assert "deselect" in agent.summary  # and how to leave such tests out


def test_tests_the_policy_deselects_are_left_out_of_every_run(leo_repo, run_testing):
    """A suite with tests of a server the sandbox has not: the base's policy leaves them out
    (``deselect``), and the rest still judges the change, in the head's run and the base pass."""
    hang = "import time\n\n\ndef test_waits_on_a_server():\n    time.sleep(600)\n"
    service = "def test_server():\n    raise ConnectionRefusedError('no server on 6360')\n"
    base = {**BASE, "tests/test_hang.py": hang, "tests/test_a_service.py": service}
    broken = {"calc.py": "def add(a, b):\n    return a - b\n"}
    left_out = ["tests/test_hang.py", "tests/test_a_service.py::test_server"]
    result = run_testing(
        leo_repo(base=base, head=broken).change(), test_timeout=60, deselect=left_out
    )
    agent = agent_result(result)
    assert agent.status == "failed" and agent.details["deselected"] == left_out
    assert (agent.details["tests"], agent.details["failed"]) == (1, 1)
    result.assert_finding("testing.test_failed", path="tests/test_calc.py")
    assert agent.details["base_pass"]["tests"] == 1


def test_credentials_in_leos_environment_are_hidden_from_the_tests(
    leo_repo, run_testing, monkeypatch
):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_canary_123")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_canary_456")
    monkeypatch.setenv("SOME_PASSWORD", "pw_canary_789")
    snoop = (
        "import os\nfrom pathlib import Path\n\n\n"
        "def test_no_secrets():\n"
        "    env = dict(os.environ)\n"
        "    assert 'GITHUB_TOKEN' not in env, env\n"
        "    assert 'AWS_SECRET_ACCESS_KEY' not in env, env\n"
        "    assert not any('canary' in v for v in env.values()), env\n"
        "    assert Path.home() != Path('/root') and 'leo-testing-' in str(Path.home())\n"
    )
    repo = leo_repo(base=BASE, head={"tests/test_snoop.py": snoop})
    result = run_testing(repo.change())
    assert agent_result(result).status == "passed", result.findings
    assert agent_result(result).details["passed"] == 2
    assert "canary" not in result.report.model_dump_json()


def test_flaky_test_is_reported_as_flaky_in_a_conflict_round(leo_repo, venv_cache):
    from leo_testing import TestingAgent

    from leo import SubAgent
    from leo.testing import run_agents

    class Approves(SubAgent):
        name = "approves"

        async def check(self, change):
            return []

    # Nothing persists between two sandboxed runs, so the test tells them apart by its
    # arguments: the re-run of failing tests names them.
    flaky = (
        "def test_sometimes(request):\n"
        "    if not any(a.endswith('::test_sometimes') for a in request.config.args):\n"
        "        raise AssertionError('first run fails')\n"
    )
    repo = leo_repo(base=BASE, head={"tests/test_flaky.py": flaky})
    settings = {"cache_dir": str(venv_cache)}
    result = run_agents(
        repo.change(), [TestingAgent, Approves], config={"agents": {"testing": settings}}
    )
    assert result.report.resolution_rounds >= 1
    finding = result.assert_finding("testing.flaky", path="tests/test_flaky.py")
    assert finding.severity == "medium"
    assert "tests/test_flaky.py::test_sometimes failed, then passed" in finding.message
    result.assert_no_finding("testing.test_failed")
    assert agent_result(result).status == "warned"
    assert result.report.verdict in ("CONDITIONAL_PASS", "FAIL") and result.report.verdict != "PASS"


def test_memory_hog_is_stopped_by_the_memory_limit(leo_repo, run_testing):
    hog = "def test_hog():\n    blob = bytearray(2 * 1024 ** 3)\n    assert blob\n"
    repo = leo_repo(base=BASE, head={"tests/test_hog.py": hog})
    result = run_testing(repo.change(), memory_limit_mb=512)
    finding = result.assert_finding("testing.test_failed")
    assert "MemoryError" in finding.message or "test_hog" in finding.message
    result.assert_verdict("FAIL")


def test_tests_run_without_network_by_default(leo_repo, run_testing, leo_sandbox):
    probe = (
        "import socket\n\n\ndef test_only_loopback():\n"
        "    assert [name for _, name in socket.if_nameindex()] == ['lo']\n"
    )
    repo = leo_repo(base=BASE, head={"tests/test_net.py": probe})
    agent = agent_result(run_testing(repo.change()))
    assert agent.status == "passed", agent.findings
    assert agent.details["isolation"]["network"] == "deny"
    assert agent.details["isolation"]["sandbox"] == "bubblewrap"


LCOV_RUNNER = """\
import os
import sys
from pathlib import Path

junit, lcov = sys.argv[1], os.environ["LCOV_OUT"]
Path(junit).write_text(
    '<testsuites><testsuite name="js" tests="2">'
    '<testcase classname="calc" name="adds"/>'
    '<testcase classname="calc" name="subtracts"/>'
    '</testsuite></testsuites>'
)
Path(lcov).write_text("TN:\\nSF:src/calc.js\\nDA:1,1\\nDA:2,1\\nDA:4,0\\nDA:5,0\\nend_of_record\\n")
"""


def test_non_python_suite_feeds_its_junit_and_lcov_reports(leo_repo, run_testing):
    base = {
        "run_tests.py": LCOV_RUNNER,
        "src/calc.js": "function add(a, b) {\n  return a + b;\n}\n",
    }
    head = {
        "src/calc.js": "function add(a, b) {\n  return a + b;\n}\nfunction sub(a, b) {\n  return a - b;\n}\n"
    }
    result = run_testing(
        leo_repo(base=base, head=head).change(),
        setup="none",
        command=["{python}", "run_tests.py", "{junit}"],
        env={"LCOV_OUT": "{outdir}/lcov.info"},
        coverage_report="{outdir}/lcov.info",
    )
    agent = agent_result(result)
    assert agent.details["passed"] == 2
    finding = result.assert_finding("testing.coverage.changed_lines", path="src/calc.js", line=4)
    assert "added lines 4-5 of src/calc.js" in finding.message
    assert agent.details["coverage"]["percent"] == 0.0


def test_change_to_the_test_harness_is_flagged(leo_repo, run_testing):
    conftest = "def pytest_collection_modifyitems(items):\n    pass\n"
    result = run_testing(leo_repo(base=BASE, head={"conftest.py": conftest}).change())
    finding = result.assert_finding("testing.harness_changed", path="conftest.py")
    assert finding.severity == "medium"
    assert result.report.verdict != "PASS"


def test_a_credential_in_pass_env_stops_the_run_naming_it(leo_repo, run_testing):
    with pytest.raises(
        LeoError, match=r"pass_env names 'GITHUB_TOKEN', which looks like a credential"
    ):
        run_testing(
            leo_repo(base=BASE, head={"x.py": "X = 1\n"}).change(), pass_env=["GITHUB_TOKEN"]
        )


def test_a_build_beyond_max_environments_deletes_the_least_recently_used(
    leo_repo, run_testing, tmp_path
):
    """Every dependency set, and every change that edits one, builds an environment: without a
    cap the cache grows by one per dependabot PR. The environment being used stays."""
    cache = tmp_path / "venvs"
    repo = leo_repo(base=BASE, head={"calc.py": CALC + "\nY = 2\n"})
    first = agent_result(run_testing(repo.change(), cache_dir=str(cache), max_environments=1))
    old = first.details["environment"]["key"]
    edits = leo_repo(base=BASE, head={"requirements.txt": "# nothing yet\n"})
    second = agent_result(run_testing(edits.change(), cache_dir=str(cache), max_environments=1))
    assert second.status == "passed", (second.summary, second.error)
    assert second.details["environment"]["pruned"] == 1
    assert not (cache / old).exists()
    assert (cache / second.details["environment"]["key"]).is_dir()


def test_second_run_reuses_the_cached_environment(leo_repo, run_testing, venv_cache):
    """The session's environment was built by the real default setup (pip installs the test
    runner); a second run on the same dependency files reuses it unchanged."""
    repo = leo_repo(base=BASE, head={"calc.py": CALC + "\nY = 2\n"})
    first = agent_result(run_testing(repo.change()))
    key = first.details["environment"]["key"]
    manifest = json.loads((venv_cache / key / "leo-environment.json").read_text())
    second = agent_result(run_testing(repo.change()))
    assert first.status == second.status == "passed", (first.summary, first.error)
    assert second.details["environment"] == {
        "key": key,
        "reused": True,
        "setup_s": 0.0,
        "resolve_as_of": None,
    }
    assert json.loads((venv_cache / key / "leo-environment.json").read_text()) == manifest
    assert second.duration_s < first.duration_s + first.details["environment"]["setup_s"] + 5
