"""Security sub-agent: its time on a one-file change does not grow with the repository.

The same one-file change is verified in a tiny repository and in one holding a real project
unpacked from PyPI (Django's sdist, ~2,800 Python files), fetched by this benchmark itself with
``pip download --no-binary :all: --no-deps``. Run with::

    .venv/bin/python -m pytest benchmarks/bench_security.py -p no:cacheprovider

and the ratio is written to ``benchmarks/results/security.md``.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import anyio
import pytest
from leo_security import SecurityAgent

from leo.testing import git, make_repo

PROJECT = os.environ.get("LEO_BENCH_PROJECT", "django==5.2.8")
RESULTS = Path(__file__).parent / "results" / "security.md"
#: The one-file change: a new module with three planted problems.
CHANGE = {
    "leo_bench_change.py": (
        "import pickle\nimport subprocess\n\n\n"
        "def handler(request):\n"
        "    subprocess.run(request.args['cmd'], shell=True)\n"
        "    return pickle.loads(request.data)\n\n\n"
        'PASSWORD = "hunter2-but-longer-3x9Q"\n'
    )
}
timings: dict[str, float] = {}
facts: dict[str, str] = {}


def _unpack_project(dest: Path) -> Path:
    """Download the sdist with pip (the benchmark does this itself; nothing is committed)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
         "--disable-pip-version-check", "-q", "-d", str(dest), PROJECT],
        check=True,
    )  # fmt: skip
    sdist = next(p for p in dest.iterdir() if p.name.endswith((".tar.gz", ".zip")))
    tree = dest / "tree"
    with tarfile.open(sdist) as tar:
        tar.extractall(tree, filter="data")
    (root,) = list(tree.iterdir())
    return root


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    small = make_repo(base / "small", base={"README.md": "small\n"}, head=CHANGE)
    project = _unpack_project(base / "download")
    big = base / "big"
    project.rename(big)
    git(big, "init", "-q", "-b", "main")
    git(big, "add", "-A")
    git(big, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "base")
    git(big, "checkout", "-q", "-b", "feature")
    big_repo = type(small)(big)
    big_repo.commit(CHANGE, "the change")
    py_files = sum(1 for _ in big.rglob("*.py"))
    facts["big"] = sdist_name(base / "download")
    facts["py"] = str(py_files)
    return {"small": small, "big": big_repo}


def sdist_name(folder: Path) -> str:
    return next(p.name for p in folder.iterdir() if p.is_file())


@pytest.mark.parametrize("size", ["small", "big"])
def test_one_file_change(benchmark, repos, size):
    change = repos[size].change()
    agent = SecurityAgent({})

    def check():
        return anyio.run(agent.check, change)

    result = benchmark.pedantic(check, rounds=5, warmup_rounds=1)
    assert result.status == "failed"
    assert {f.path for f in result.findings} == {"leo_bench_change.py"}
    timings[size] = benchmark.stats.stats.median


def _interleaved(repos, rounds: int = 4) -> dict[str, float]:
    """Median wall time per size, alternating small/big so both see the same machine load."""
    changes = {size: repos[size].change() for size in ("small", "big")}
    agent = SecurityAgent({})
    seen: dict[str, list[float]] = {"small": [], "big": []}
    for _ in range(rounds):
        for size, change in changes.items():
            start = time.perf_counter()
            anyio.run(agent.check, change)
            seen[size].append(time.perf_counter() - start)
    return {size: statistics.median(values) for size, values in seen.items()}


def test_time_is_independent_of_repository_size(repos):
    if set(timings) != {"small", "big"}:
        pytest.skip("run the whole module")
    alternating = _interleaved(repos)
    ratio = timings["big"] / timings["small"]
    alt_ratio = alternating["big"] / alternating["small"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        "# Security sub-agent: one-file change, small vs large repository\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, in one run of "
        f"`benchmarks/bench_security.py`. Load average at the end: {load} (the machine is "
        "shared with other jobs, so absolute times are inflated; compare the ratios).\n\n"
        "| repository | Python files | pytest-benchmark median (5 rounds, 1 warm-up) | "
        "median of 4 alternating small/big rounds |\n|---|---|---|---|\n"
        f"| small (throw-away) | 1 | {timings['small']:.2f} s | {alternating['small']:.2f} s |\n"
        f"| large ({facts.get('big', PROJECT)} unpacked) | {facts.get('py', '?')} | "
        f"{timings['big']:.2f} s | "
        f"{alternating['big']:.2f} s |\n"
        f"| **ratio large / small** | | **{ratio:.2f}** | **{alt_ratio:.2f}** |\n\n"
        "The change is the same one new Python file (shell=True, pickle.loads, a hard-coded "
        "password) in both repositories; every tool (bandit, semgrep, detect-secrets, zizmor) "
        "gets only the changed files, written to a scratch directory, so the repository's size "
        "does not enter. semgrep's fixed start-up (3-5 s unloaded) dominates both.\n\n"
        "Reproduce: `.venv/bin/python -m pytest benchmarks/bench_security.py -p no:cacheprovider`"
        f" (downloads `{PROJECT}` with `pip download --no-binary :all: --no-deps`; set "
        "`LEO_BENCH_PROJECT` to use another project).\n"
    )
    assert alt_ratio < 1.5
