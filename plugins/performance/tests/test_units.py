"""The pieces of the performance sub-agent: statistics, parsing, discovery, settings, env."""

from __future__ import annotations

import json

import numpy as np
import pytest
from leo_performance import PerformanceAgent
from leo_performance.baseline import is_interpreter_hook
from leo_performance.discovery import benchmarks_in
from leo_performance.measure import (
    import_seconds,
    installable,
    project_digest,
    read_benchmark_json,
    read_outcomes,
    sandbox_environ,
)
from leo_performance.settings import Settings
from leo_performance.stats import classify, compare

from leo import LeoError

STATS = {"min_effect": 0.10, "alpha": 0.01, "confidence": 0.95, "resamples": 1000}


def _pairs(rng, scale, *, pairs=3, rounds=40, drift=0.1, noise=0.05):
    """Rounds of ``pairs`` interleaved runs; each pair shares the machine's drift."""
    base, head = [], []
    for _ in range(pairs):
        speed = 1 + drift * rng.standard_normal()
        base.append(list(1e-3 * speed * rng.lognormal(0, noise, rounds)))
        head.append(list(scale * 1e-3 * speed * rng.lognormal(0, noise, rounds)))
    return base, head


def test_a_doubled_time_is_a_clear_regression():
    base, head = _pairs(np.random.default_rng(1), 2.0)
    c = compare("b", base, head, **STATS)
    assert c.verdict == "regression"
    assert 1.8 < c.ratio < 2.2
    assert c.ci_low > 1.1
    assert c.holds


def test_a_halved_time_is_an_improvement():
    base, head = _pairs(np.random.default_rng(2), 0.5)
    assert compare("b", base, head, **STATS).verdict == "improvement"


def test_the_same_code_under_machine_drift_is_unchanged_in_nearly_every_trial():
    rng = np.random.default_rng(3)
    verdicts = [compare("b", *_pairs(rng, 1.0), **STATS, seed=i).verdict for i in range(60)]
    assert verdicts.count("regression") == 0
    assert verdicts.count("borderline") <= 3


def test_a_significant_slowdown_whose_interval_reaches_below_the_threshold_is_borderline():
    assert classify(1.15, 1.04, 1.3, 1e-6, 1.0, min_effect=0.1, alpha=0.01) == "borderline"
    assert classify(1.15, 0.95, 1.3, 1e-6, 1.0, min_effect=0.1, alpha=0.01) == "borderline"
    assert classify(1.15, 1.12, 1.2, 1e-6, 1.0, min_effect=0.1, alpha=0.01) == "regression"


def test_a_slowdown_below_the_minimum_effect_or_not_significant_is_unchanged():
    assert classify(1.08, 1.05, 1.1, 1e-9, 1.0, min_effect=0.1, alpha=0.01) == "unchanged"
    assert classify(1.5, 1.2, 1.8, 0.2, 0.8, min_effect=0.1, alpha=0.01) == "unchanged"


def test_a_one_pair_comparison_still_gives_an_interval():
    base, head = _pairs(np.random.default_rng(4), 2.0, pairs=1)
    c = compare("b", base, head, **STATS)
    assert c.runs == 1 and c.ci_low <= c.ratio <= c.ci_high


def test_constant_identical_timings_are_unchanged():
    c = compare("b", [[1e-6] * 5] * 2, [[1e-6] * 5] * 2, **STATS)
    assert c.verdict == "unchanged" and c.ratio == 1.0


def test_benchmark_json_is_read_per_node_id_and_hostile_entries_are_dropped(tmp_path):
    path = tmp_path / "b.json"
    doc = {
        "version": "5.3.1",
        "benchmarks": [
            {"fullname": "t.py::test_a", "stats": {"data": [0.1, 0.2, 0.3]}},
            {"fullname": "t.py::test_nan", "stats": {"data": [float("nan"), -1, "x", True]}},
            {"fullname": 7, "stats": {"data": [0.1, 0.2]}},
            {"fullname": "t.py::test_nodata", "stats": {}},
            "junk",
        ],
    }
    path.write_text(json.dumps(doc))
    samples, version = read_benchmark_json(path)
    assert samples == {"t.py::test_a": [0.1, 0.2, 0.3]}
    assert version == "5.3.1"
    path.write_text("{not json")
    assert read_benchmark_json(path) == ({}, "")
    assert read_benchmark_json(tmp_path / "missing.json") == ({}, "")


def test_outcomes_keep_the_worst_phase_and_the_failure_text(tmp_path):
    path = tmp_path / "o.jsonl"
    lines = [
        {"nodeid": "t.py::a", "when": "call", "outcome": "passed", "text": ""},
        {"nodeid": "t.py::b", "when": "call", "outcome": "failed", "text": "E  boom"},
        {"nodeid": "t.py::b", "when": "teardown", "outcome": "passed", "text": ""},
        {"nodeid": "t.py::c", "when": "setup", "outcome": "skipped", "text": ""},
        {"nodeid": "t.py::d", "outcome": "exploded"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    outcomes, errors = read_outcomes(path)
    assert outcomes == {"t.py::a": "passed", "t.py::b": "failed", "t.py::c": "skipped"}
    assert errors == {"t.py::b": "E  boom"}


def test_discovery_finds_functions_and_methods_taking_the_benchmark_fixture():
    source = b"""
def test_plain(benchmark):
    pass

def test_not_a_benchmark(tmp_path):
    pass

def helper(benchmark):
    pass

class TestGroup:
    def test_method(self, benchmark):
        pass

async def test_async(aio_benchmark):
    pass
"""
    found = benchmarks_in("tests/test_x.py", source)
    assert [(b.name, b.line) for b in found] == [
        ("test_plain", 2),
        ("TestGroup::test_method", 12),
        ("test_async", 15),
    ]
    assert benchmarks_in("tests/test_bad.py", b"def test_x(benchmark:\n") == []


def test_settings_are_validated_with_a_sentence_naming_the_key():
    assert PerformanceAgent({}).settings.pairs == 3
    s = PerformanceAgent({"min_effect": 0.2, "command": ["uv", "run", "pytest"]}).settings
    assert s.min_effect == 0.2 and s.pytest_argv("/p") == ["uv", "run", "pytest"] and s.autoload
    with pytest.raises(LeoError, match="unknown key 'pairz'"):
        PerformanceAgent({"pairz": 3})
    with pytest.raises(LeoError, match="min_effect"):
        PerformanceAgent({"min_effect": 0})
    with pytest.raises(LeoError, match="not one shell string"):
        PerformanceAgent({"command": "uv run pytest"})
    with pytest.raises(LeoError, match="paths entry"):
        PerformanceAgent({"paths": ["../outside"]})
    with pytest.raises(LeoError, match="pairs"):
        PerformanceAgent({"pairs": True})


def test_the_runs_get_no_secrets_and_no_injected_pytest_options(monkeypatch, tmp_path):
    for name in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "MY_SECRET", "API_KEY"):
        monkeypatch.setenv(name, "hunter2")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--benchmark-disable")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = sandbox_environ(Settings(), tmp_path, ["/x"], tmp_path / "o.jsonl")
    assert "hunter2" not in env.values()
    assert "GITHUB_TOKEN" not in env and env["HOME"] == str(tmp_path)
    assert "PYTEST_ADDOPTS" not in env
    assert env["LANG"] == "C.UTF-8"
    assert env["PYTHONPATH"] == "/x"
    assert env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    custom = sandbox_environ(
        Settings(python="/usr/bin/python3"), tmp_path, [], tmp_path / "o.jsonl"
    )
    assert "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in custom


def test_import_time_is_the_cumulative_time_of_the_named_module():
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       518 |        518 |   json.encoder\n"
        "import time:       300 |      19535 | json\n"
    )
    assert import_seconds(stderr, "json") == 0.019535
    assert import_seconds(stderr, "json.encoder") == 0.000518
    assert import_seconds(stderr, "yaml") is None
    assert import_seconds("import time: x | y | json", "json") is None
    with pytest.raises(LeoError, match="import_time"):
        PerformanceAgent({"import_time": ["os; rm -rf /"]})


def test_a_tree_is_installable_with_a_setup_py_or_a_project_or_build_system_table(tmp_path):
    assert not installable(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 99\n")
    assert not installable(tmp_path)  # configuration only: pip has nothing to build
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert installable(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert not installable(tmp_path)
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    assert installable(tmp_path)


def test_the_project_digest_follows_the_files_pip_reads_and_nothing_else(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    first = project_digest(tmp_path)
    (tmp_path / "app.py").write_text("X = 1\n")
    assert project_digest(tmp_path) == first
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\n")
    assert project_digest(tmp_path) != first


@pytest.mark.parametrize(
    ("path", "status", "hook"),
    [
        ("sitecustomize.py", "modified", True),
        ("src/usercustomize.py", "added", True),
        ("pytest.py", "added", True),  # would run instead of the runner: python -m pytest
        ("src/pytest_benchmark/__init__.py", "added", True),
        ("pluggy.cpython-311-x86_64-linux-gnu.so", "added", True),
        ("pytest.pyc", "added", True),
        # the project's own package (pytest's src/_pytest) is at the base, and edited
        ("src/_pytest/__init__.py", "modified", False),
        ("pytest_benchmark/plugin.py", "added", False),  # no regular package without __init__
        ("py.typed", "added", False),
        ("app/sitecustomize.py", "added", False),  # not on PYTHONPATH
        ("docs/pytest.py", "added", False),
    ],
)
def test_interpreter_hooks_are_the_files_python_would_import_on_its_own(path, status, hook):
    assert is_interpreter_hook(path, status, (".", "src")) is hook
