"""End-to-end behaviour of the performance sub-agent on throw-away repositories."""

from __future__ import annotations

import anyio
import pytest
from leo_performance import PerformanceAgent
from leo_performance.assess import BORDERLINE, REGRESSION

from leo import Finding, LeoError, SubAgent, SubAgentResult
from leo.subagent import Conflict

#: These tests time code: scripts/test.sh runs them alone, after the parallel run.
pytestmark = pytest.mark.timing

#: Tiny benchmarks with bounded rounds keep each pytest run well under a second.
QUICK = {"pairs": 3, "remeasure_pairs": 3, "min_rounds": 10, "max_time": 0.05}
CONFIG = {"agents": {"performance": QUICK}}

CORE = '''\
"""The code under benchmark."""


def work(n=3000):
    total = 0
    for i in range(n):
        total += i * i
    return total
'''
SLOWER = CORE.replace("for i in range(n):", "for i in range(2 * n):")
COSMETIC = CORE.replace(
    '"""The code under benchmark."""', '"""The code under benchmark (reworded)."""'
)
BENCH = """\
from app.core import work


def test_work(benchmark):
    assert benchmark(work) > 0
"""
BASE = {"app/__init__.py": "", "app/core.py": CORE, "tests/test_bench.py": BENCH}


class Passes(SubAgent):
    """A sub-agent that always passes, so a failing performance result starts a conflict round."""

    name = "passes"

    async def check(self, change: object) -> list[object]:
        return []


def test_a_function_made_2x_slower_is_a_regression_naming_the_benchmark_and_both_medians(
    leo_repo, leo_run
):
    repo = leo_repo(base=BASE, head={"app/core.py": SLOWER})
    run = leo_run(repo.change(), [PerformanceAgent, Passes], config=CONFIG)
    finding = run.assert_finding(REGRESSION, path="tests/test_bench.py", line=4)
    assert finding.rule_id == REGRESSION, finding.message
    assert "tests/test_bench.py::test_work" in finding.message
    assert " at base vs " in finding.message and " at head" in finding.message
    result = run.agent("performance")
    bench = next(b for b in result.details["benchmarks"] if b["nodeid"].endswith("test_work"))
    assert bench["ratio"] > 1.5
    assert bench["head_median"] > bench["base_median"] > 0
    assert result.status == "failed"
    run.assert_verdict("FAIL")


def test_a_cosmetic_change_gets_no_finding_across_repeated_runs(leo_repo, leo_run):
    repo = leo_repo(base=BASE, head={"app/core.py": COSMETIC})
    change = repo.change()
    for _ in range(2):
        run = leo_run(change, [PerformanceAgent, Passes], config=CONFIG)
        result = run.agent("performance")
        assert result.status == "passed", result.findings
        for bench in result.details["benchmarks"]:
            if bench["verdict"] == "borderline":
                # Noise that looked borderline: re-measured in the conflict round, and dropped.
                assert "did not hold" in result.details["remeasured"][bench["nodeid"]]
            else:
                assert bench["verdict"] in ("unchanged", "improvement")
        run.assert_no_finding("performance.regression")


def test_a_repository_without_benchmarks_is_skipped(leo_repo, leo_run):
    repo = leo_repo(
        base={"app/core.py": CORE, "tests/test_core.py": "def test_x():\n    assert 1\n"},
        head={"app/core.py": SLOWER},
    )
    result = leo_run(repo.change(), [PerformanceAgent], config=CONFIG).agent("performance")
    assert result.status == "skipped"
    assert "no pytest-benchmark benchmarks" in result.summary


def test_benchmarks_new_at_head_are_skipped_for_want_of_a_base(leo_repo, leo_run):
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE}, head={"tests/test_bench.py": BENCH}
    )
    result = leo_run(repo.change(), [PerformanceAgent], config=CONFIG).agent("performance")
    assert result.status == "skipped"
    assert "new at head" in result.summary


def test_removing_every_benchmark_measures_the_base_ones_and_needs_a_lead(leo_repo, leo_run):
    base = {**BASE, "tests/test_other.py": "def test_fails():\n    raise AssertionError\n"}
    repo = leo_repo(base=base, head={"tests/test_bench.py": None})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    result = run.agent("performance")
    finding = run.assert_finding("performance.benchmark_deleted", path="tests/test_bench.py")
    assert (
        finding.message in result.decisions and "tests/test_bench.py::test_work" in finding.message
    )
    assert result.status != "passed" and result.confidence < 100
    assert [b["nodeid"] for b in result.details["benchmarks"]] == ["tests/test_bench.py::test_work"]
    run.assert_no_finding("performance.suite_failed")  # the other tests were not run
    # ESCALATE, or FAIL when the machine's noise also looked like a regression: never PASS.
    assert run.report.verdict in ("ESCALATE", "FAIL"), run.report.reasons
    assert any(
        q.met is None and q.name == "performance decisions" and "deletes the benchmark" in q.detail
        for q in run.report.requirements
    )


def test_a_benchmark_that_ran_at_base_and_fails_at_head_is_a_finding(leo_repo, leo_run):
    broken = CORE.replace("return total", "raise RuntimeError('broken at head')")
    repo = leo_repo(base=BASE, head={"app/core.py": broken})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    finding = run.assert_finding("performance.benchmark_failed", path="tests/test_bench.py")
    assert "broken at head" in finding.message
    assert run.agent("performance").status == "failed"
    assert not [f for f in run.findings if f.rule_id == "performance.suite_failed"]


def test_a_benchmark_skipped_at_head_cannot_hide_a_regression(leo_repo, leo_run):
    skipped = "import pytest\n" + BENCH.replace(
        "def test_work", "@pytest.mark.skip(reason='later')\ndef test_work"
    )
    repo = leo_repo(base=BASE, head={"app/core.py": SLOWER, "tests/test_bench.py": skipped})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    # The base's version of the benchmark is measured on both sides, skip or no skip.
    run.assert_finding(REGRESSION, path="tests/test_bench.py")
    edited = run.assert_finding("performance.benchmark_edited", path="tests/test_bench.py")
    assert edited.message in run.agent("performance").decisions
    assert run.agent("performance").status == "failed"


def test_a_suite_that_no_longer_imports_at_head_is_a_finding(leo_repo, leo_run):
    repo = leo_repo(base=BASE, head={"app/core.py": "import nonexistent_module_xyz\n"})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    run.assert_finding("performance.suite_failed")
    assert run.agent("performance").status == "failed"


def test_a_borderline_regression_that_does_not_hold_is_dropped_in_the_conflict_round(leo_repo):
    repo = leo_repo(base=BASE, head={"app/core.py": COSMETIC})
    change = repo.change()
    nodeid = "tests/test_bench.py::test_work"
    agent = PerformanceAgent(QUICK)
    own = agent.result(
        [
            Finding(  # what check() reports for a borderline regression
                rule_id=BORDERLINE,
                severity="high",
                message=f"benchmark {nodeid} is 1.15x slower at head (borderline: ...)",
                path="tests/test_bench.py",
                line=4,
            )
        ],
        details={"borderline": [nodeid]},
    )
    assert own.status == "failed"
    conflict = Conflict(1, own, [SubAgentResult(name="passes", status="passed", confidence=100)])
    revised = anyio.run(agent.resolve_conflict, change, conflict)
    assert revised is not None
    assert revised.status == "passed", revised.findings
    assert revised.details["remeasured"][nodeid].startswith("did not hold")
    assert revised.details["borderline"] == []


def test_a_result_without_borderline_regressions_stands_in_the_conflict_round(leo_repo):
    repo = leo_repo(base=BASE, head={"app/core.py": COSMETIC})
    own = SubAgentResult(status="passed", confidence=100)
    conflict = Conflict(1, own, [])
    assert anyio.run(PerformanceAgent(QUICK).resolve_conflict, repo.change(), conflict) is None


def test_an_interpreter_that_does_not_exist_is_an_error_not_a_pass(leo_repo, leo_run):
    repo = leo_repo(base=BASE, head={"app/core.py": SLOWER})
    config = {"agents": {"performance": {**QUICK, "python": "/nonexistent/bin/python"}}}
    result = leo_run(repo.change(), [PerformanceAgent], config=config).agent("performance")
    assert result.status == "error"


def test_a_bad_setting_stops_the_run_naming_the_agent_and_key(leo_repo, leo_run):
    repo = leo_repo(base=BASE, head={"app/core.py": SLOWER})
    config = {"agents": {"performance": {"pairs": "three"}}}
    with pytest.raises(LeoError, match=r"\[tool\.leo\.agents\.performance\] pairs = 'three'"):
        leo_run(repo.change(), [PerformanceAgent], config=config)


def test_import_time_made_much_slower_is_a_regression_of_the_import(leo_repo, leo_run):
    slow_import = "TABLE = sorted(str(i) for i in range(200_000))\n"
    repo = leo_repo(base={"app/__init__.py": ""}, head={"app/__init__.py": slow_import})
    settings = {**QUICK, "import_time": ["app"], "import_rounds": 5}
    run = leo_run(repo.change(), [PerformanceAgent], config={"agents": {"performance": settings}})
    finding = run.assert_finding("performance.regression")
    assert finding.message.startswith("benchmark import:app is ")
    result = run.agent("performance")
    assert [b["nodeid"] for b in result.details["benchmarks"]] == ["import:app"]
    assert result.details["command"] == []  # no benchmarks, so pytest never ran


PROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "app"
version = "1.0"
dependencies = [{deps}]

[tool.setuptools]
packages = ["app"]
"""
#: ``six`` is in neither the benchmark environment's requirements nor LEO's.
NEEDS_SIX = "import six\n\n" + CORE


def test_benchmarks_of_a_project_with_dependencies_run_with_them_installed(leo_repo, leo_run):
    base = {**BASE, "pyproject.toml": PROJECT.format(deps='"six"'), "app/core.py": NEEDS_SIX}
    repo = leo_repo(base=base, head={"app/core.py": NEEDS_SIX.replace("3000", "3000 ")})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    result = run.agent("performance")
    # Before: "No module named 'six'" at both sides, an error and a FAIL on every change.
    _assert_measured_at_both_sides(run)
    assert result.details["environment"] == "installed with its dependencies"


def _assert_measured_at_both_sides(run) -> None:
    """Both sides ran the benchmark (the machine's noise may still make it borderline)."""
    result = run.agent("performance")
    assert result.status != "error", (result.summary, result.error)
    run.assert_no_finding("performance.suite_failed")
    run.assert_no_finding("performance.benchmark_failed")
    [bench] = result.details["benchmarks"]
    assert bench["head_median"] > 0 and bench["base_median"] > 0


def test_a_change_that_adds_a_dependency_gets_an_environment_built_from_its_head(leo_repo, leo_run):
    repo = leo_repo(
        base={**BASE, "pyproject.toml": PROJECT.format(deps="")},
        head={"pyproject.toml": PROJECT.format(deps='"six"'), "app/core.py": NEEDS_SIX},
    )
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    _assert_measured_at_both_sides(run)


def test_a_project_that_cannot_be_installed_is_benchmarked_without_it_and_says_why(
    leo_repo, leo_run
):
    missing = '"leo-test-no-such-distribution-4f1c"'
    repo = leo_repo(
        base={**BASE, "pyproject.toml": PROJECT.format(deps=missing)},
        head={"app/core.py": SLOWER},
    )
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    result = run.agent("performance")
    assert result.details["environment"].startswith("not installed: could not install the project")
    run.assert_finding(REGRESSION, path="tests/test_bench.py")  # still measured, still caught


#: A setup.py whose build writes start-up code into the benchmark environment that makes the
#: head's slower ``work`` fast again in every run of both sides (the write is allowed to fail).
PLANTING_SETUP = """\
import contextlib
import sysconfig
from pathlib import Path
from setuptools import setup

with contextlib.suppress(OSError):
    Path(sysconfig.get_paths()["purelib"], "zz_fast.pth").write_text(
        "import app.core; app.core.work = lambda n=3000: 1\\n"
    )
setup(name="app", version="1.0", packages=["app"])
"""
#: The same start-up code shipped in the project's own wheel, as data pip installs into the
#: environment; ``fake`` also ships a second ``.dist-info`` whose RECORD claims it.
SHIPPING_SETUP = """\
import os
import sys
import sysconfig
from pathlib import Path
from setuptools import setup

Path("zz_fast.pth").write_text("import app.core; app.core.work = lambda n=3000: 1\\n")
Path("RECORD").write_text("zz_fast.pth,,\\n")
site = os.path.relpath(sysconfig.get_paths()["purelib"], sys.prefix)
data = [(site, ["zz_fast.pth"])]
if FAKE:
    data.append((site + "/zz_fake-1.0.dist-info", ["RECORD"]))
setup(name="app", version="1.0", packages=["app"], data_files=data)
"""
PLAIN_SETUP = 'from setuptools import setup\n\nsetup(name="app", version="1.0", packages=["app"])\n'


def test_start_up_code_a_build_writes_never_reaches_the_benchmark_environment(leo_repo, leo_run):
    # Both sides' runs use the environment a change that edits setup.py gets from its head: a
    # .pth its build wrote there hid the regression (PASS). The project's wheel is now built
    # while the environment is read-only, and only pip writes it.
    repo = leo_repo(
        base={**BASE, "setup.py": PLAIN_SETUP},
        head={"setup.py": PLANTING_SETUP, "app/core.py": SLOWER},
    )
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    run.assert_no_finding("performance.runner_tampering")
    run.assert_finding(REGRESSION, path="tests/test_bench.py")
    assert run.agent("performance").details["environment"] == "installed with its dependencies"


@pytest.mark.parametrize("fake", [False, True], ids=["listed", "claimed-by-a-fake"])
def test_start_up_code_the_changes_own_wheel_ships_is_tampering(leo_repo, leo_run, fake):
    setup = SHIPPING_SETUP.replace("if FAKE:", f"if {fake}:")
    repo = leo_repo(
        base={**BASE, "setup.py": PLAIN_SETUP}, head={"setup.py": setup, "app/core.py": SLOWER}
    )
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    finding = run.assert_finding("performance.runner_tampering", path="setup.py")
    assert finding.severity == "critical"
    assert "zz_fast.pth (start-up code the change's own app-1.0.dist-info installed)" in (
        finding.message
    )
    run.assert_verdict("FAIL")


def test_a_setup_py_edit_that_plants_nothing_is_measured_as_usual(leo_repo, leo_run):
    # The twin: an edited setup.py alone is no tampering; its environment is checked and used.
    repo = leo_repo(
        base={**BASE, "setup.py": PLAIN_SETUP},
        head={"setup.py": PLAIN_SETUP + "# reworded\n", "app/core.py": SLOWER},
    )
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    run.assert_no_finding("performance.runner_tampering")
    run.assert_finding(REGRESSION, path="tests/test_bench.py")
