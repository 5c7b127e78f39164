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
    facts["big"] = f"{sdist_name(base / 'download')}: {py_files} Python files"
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


def test_time_is_independent_of_repository_size():
    if set(timings) != {"small", "big"}:
        pytest.skip("run the whole module")
    ratio = timings["big"] / timings["small"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        "# Security sub-agent: one-file change, small vs large repository\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; median of 5 rounds after "
        f"1 warm-up, one run of `benchmarks/bench_security.py`. Load average at the end: {load} "
        "(the machine is shared, so absolute times are inflated; the ratio is what counts: both "
        "sizes ran interleaved in the same minutes).\n\n"
        "| repository | files | median time of `SecurityAgent.check` |\n|---|---|---|\n"
        f"| small (throw-away) | 2 | {timings['small']:.2f} s |\n"
        f"| large ({facts.get('big', PROJECT)}) | whole sdist | {timings['big']:.2f} s |\n\n"
        f"**Ratio large / small: {ratio:.2f}.** The change is the same one new Python file "
        "(shell=True, pickle.loads, a hard-coded password); every tool (bandit, semgrep, "
        "detect-secrets, zizmor) sees only the changed files, so the repository's size does "
        "not enter. semgrep's fixed start-up (3-5 s) dominates both.\n\n"
        "Reproduce: `.venv/bin/python -m pytest benchmarks/bench_security.py -p no:cacheprovider`"
        f" (downloads `{PROJECT}` with `pip download --no-binary :all: --no-deps`; set "
        "`LEO_BENCH_PROJECT` to use another project).\n"
    )
    assert ratio < 1.5
