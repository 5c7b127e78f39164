"""Benchmarks judged from the base (issue 17 item 2): the change cannot hide a slowdown by
rewriting, overriding or deleting the benchmark over the slow code."""

from __future__ import annotations

import anyio
import pytest
from leo_performance import PerformanceAgent
from leo_performance.assess import REGRESSION
from leo_performance.baseline import edits
from leo_performance.discovery import discover

#: These tests time code: scripts/test.sh runs them alone, after the parallel run.
pytestmark = pytest.mark.timing

CONFIG = {
    "agents": {
        "performance": {"pairs": 3, "remeasure_pairs": 3, "min_rounds": 10, "max_time": 0.05}
    }
}
CORE = "def work(n=3000):\n    total = 0\n    for i in range(n):\n        total += i * i\n    return total\n"
BENCH = "from app.core import work\n\n\ndef test_work(benchmark):\n    assert benchmark(work) > 0\n"
BASE = {"app/__init__.py": "", "app/core.py": CORE, "tests/test_bench.py": BENCH}

#: The code under the benchmark made about fifty times slower (cheap enough for a test).
MUCH_SLOWER = CORE.replace("for i in range(n):", "for i in range(50 * n):")
TRIVIAL = "def test_work(benchmark):\n    assert benchmark(lambda: 1 + 2) == 3\n"


def caught_and_asked(run, benchmark: str, edited: str):
    """The regression is measured anyway (FAIL), and the change's edit to what the benchmark
    runs with is a decision for a LEAD; returns that finding."""
    __tracebackhide__ = True
    run.assert_verdict("FAIL")
    run.assert_finding(REGRESSION, path=benchmark)
    finding = run.assert_finding("performance.benchmark_edited", path=edited)
    assert finding.message in run.agent("performance").decisions
    return finding


def test_benchmark_rewritten_to_measure_nothing_still_finds_the_regression(leo_repo, leo_run):
    repo = leo_repo(base=BASE, head={"app/core.py": MUCH_SLOWER, "tests/test_bench.py": TRIVIAL})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    run.assert_verdict("FAIL")
    finding = run.assert_finding(REGRESSION, path="tests/test_bench.py")
    assert "tests/test_bench.py::test_work" in finding.message
    edited = run.assert_finding("performance.benchmark_edited", path="tests/test_bench.py")
    assert edited.line == 4 and edited.message in run.agent("performance").decisions
    bench = run.agent("performance").details["benchmarks"][0]
    assert bench["ratio"] > 10


def test_conftest_overriding_the_benchmark_fixture_is_not_measured(leo_repo, leo_run):
    override = (
        "import pytest\n\n\n@pytest.fixture\ndef benchmark():\n"
        "    return lambda f, *a, **k: f.__name__ and 1\n"
    )
    repo = leo_repo(base=BASE, head={"app/core.py": MUCH_SLOWER, "tests/conftest.py": override})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    run.assert_verdict("FAIL")
    run.assert_finding(REGRESSION, path="tests/test_bench.py")


def test_edits_find_a_shrunk_workload_around_an_unchanged_benchmark(leo_repo):
    constant = "from app.core import work\n\nN = 3000\n\n\ndef test_work(benchmark):\n    assert benchmark(work, N) > 0\n"
    base = {**BASE, "tests/test_bench.py": constant, "tests/test_more_bench.py": BENCH}
    head = {
        "tests/test_bench.py": constant.replace("N = 3000", "N = 1"),
        "tests/test_more_bench.py": BENCH.replace("def test_work", "def test_renamed"),
    }
    change = leo_repo(base=base, head=head).change()

    async def main():
        return await edits(change, await discover(change, "base"))

    found = {(e.benchmark.path, e.how) for e in anyio.run(main)}
    assert found == {("tests/test_bench.py", "edited"), ("tests/test_more_bench.py", "deleted")}


def test_a_shrunk_workload_in_a_support_module_is_not_measured(leo_repo, leo_run):
    workload = "SIZE = 3000\n"
    bench = (
        "from app.core import work\nfrom tests.workload import SIZE\n\n\n"
        "def test_work(benchmark):\n    assert benchmark(work, SIZE) > 0\n"
    )
    base = {
        **BASE,
        "tests/__init__.py": "",
        "tests/workload.py": workload,
        "tests/test_bench.py": bench,
    }
    head = {"app/core.py": MUCH_SLOWER, "tests/workload.py": "SIZE = 1\n"}
    run = leo_run(leo_repo(base=base, head=head).change(), [PerformanceAgent], config=CONFIG)
    caught_and_asked(run, "tests/test_bench.py", "tests/workload.py")


SLOW_CLOCK = (
    "import time\n\n_real = time.perf_counter\n_start = _real()\n\n\n"
    "def _clock():\n    return _start + (_real() - _start) / 200\n\n\n"
    "time.perf_counter = _clock\n"
)


@pytest.mark.parametrize("path", ["sitecustomize.py", "src/sitecustomize.py"])
def test_a_sitecustomize_the_change_adds_on_pythonpath_is_not_run(leo_repo, leo_run, path):
    # Round-3 red team: a sitecustomize.py at the root, which the benchmark runs' PYTHONPATH
    # holds, slowed the clock 200-fold at head: the regression was measured as a speed-up.
    repo = leo_repo(base=BASE, head={"app/core.py": MUCH_SLOWER, path: SLOW_CLOCK})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    caught_and_asked(run, "tests/test_bench.py", path)


def test_a_shrunk_workload_beside_a_benchmark_outside_any_package_is_not_measured(
    leo_repo, leo_run
):
    # Round-3 red team: perf/ (no package, not a folder named like tests) held the benchmark and
    # its workload; the change shrank the workload 100-fold with a quadratic slowdown: 16x faster.
    bench = (
        "import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).parent))\n"
        "from app.core import work  # noqa: E402\nfrom workload import SIZE  # noqa: E402\n\n\n"
        "def test_work(benchmark):\n    assert benchmark(work, SIZE) > 0\n"
    )
    base = {**BASE, "perf/workload.py": "SIZE = 3000\n", "perf/test_speed.py": bench}
    del base["tests/test_bench.py"]
    head = {"app/core.py": MUCH_SLOWER, "perf/workload.py": "SIZE = 30\n"}
    run = leo_run(leo_repo(base=base, head=head).change(), [PerformanceAgent], config=CONFIG)
    caught_and_asked(run, "perf/test_speed.py", "perf/workload.py")
    # Hostile twin's honest side: beside a benchmark inside a package, the code is the head's.
    packaged = {**BASE, "app/test_speed.py": BENCH}
    head = {"app/core.py": MUCH_SLOWER}
    run = leo_run(leo_repo(base=packaged, head=head).change(), [PerformanceAgent], config=CONFIG)
    run.assert_finding(REGRESSION, path="app/test_speed.py")
    run.assert_no_finding("performance.benchmark_edited")


def test_bytecode_the_change_commits_is_not_what_the_benchmark_runs(leo_repo, leo_run, tmp_path):
    # Round-3 red team: the base's fast code, compiled with an unchecked hash and committed as
    # app/__pycache__/core.cpython-311.pyc beside a 50x slower core.py, was what both sides ran.
    import py_compile
    import sys

    fast = tmp_path / "core.py"
    fast.write_text(CORE)
    pyc = tmp_path / "core.pyc"
    unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
    py_compile.compile(str(fast), cfile=str(pyc), dfile="app/core.py", invalidation_mode=unchecked)
    name = f"app/__pycache__/core.{sys.implementation.cache_tag}.pyc"
    repo = leo_repo(base=BASE, head={"app/core.py": MUCH_SLOWER, name: pyc.read_bytes()})
    run = leo_run(repo.change(), [PerformanceAgent], config=CONFIG)
    found = caught_and_asked(run, "tests/test_bench.py", name)
    assert "compiled bytecode" in found.message
