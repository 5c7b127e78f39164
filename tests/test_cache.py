"""The result cache: a hit only when every input is identical."""

from __future__ import annotations

import anyio
import pytest

import leo
from leo.cache import ResultCache
from leo.runner import run_checks
from leo.subagent import AgentSpec, Job

RUNS: list[str] = []


class Counting(leo.SubAgent):
    name = "counting"
    cache_scope = "change"

    async def check(self, change):
        RUNS.append(change.head_sha)
        return [leo.Finding(rule_id="c.low", severity="low", message="m", path="a.py", line=1)]


class TreeScoped(Counting):
    name = "treescoped"
    cache_scope = "tree"


class Uncached(Counting):
    name = "uncached"
    cache_scope = "none"


class Crashing(leo.SubAgent):
    name = "crashing"
    cache_scope = "change"

    async def check(self, change):
        RUNS.append("crash")
        raise RuntimeError("no")


def run(change, cls=Counting, settings=None, cache=None):
    job = Job(AgentSpec(cls, "leo-gate", "0"), settings or {}, 30)
    return anyio.run(lambda: run_checks([job], change, cache=cache))[0]


@pytest.fixture
def cache(tmp_path):
    RUNS.clear()
    return ResultCache(tmp_path / "cache")


def test_identical_inputs_hit_and_say_so(leo_repo, cache):
    change = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"}).change()
    first, second = run(change, cache=cache), run(change, cache=cache)
    assert len(RUNS) == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.findings == first.findings


def test_changed_file_content_misses(leo_repo, cache):
    repo = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"})
    run(repo.change(), cache=cache)
    repo.commit({"a.py": "3\n"})
    assert run(repo.change(), cache=cache).cached is False
    assert len(RUNS) == 2


def test_a_new_head_with_the_same_content_hits(leo_repo, cache):
    repo = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"})
    run(repo.change(), TreeScoped, cache=cache)
    repo.commit({}, "an empty commit")
    assert run(repo.change(), TreeScoped, cache=cache).cached is True


def test_config_value_misses(leo_repo, cache):
    change = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"}).change()
    run(change, settings={"level": 1}, cache=cache)
    assert run(change, settings={"level": 2}, cache=cache).cached is False
    assert run(change, settings={"level": 1}, cache=cache).cached is True


def test_tool_version_misses(leo_repo, cache, monkeypatch):
    change = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"}).change()
    run(change, cache=cache)
    monkeypatch.setattr("leo.cache.tool_versions", lambda dist: {"bandit": "99.0"})
    assert run(change, cache=cache).cached is False


def test_errors_and_opted_out_agents_are_never_cached(leo_repo, cache):
    change = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"}).change()
    for _ in range(2):
        run(change, Crashing, cache=cache)
        run(change, Uncached, cache=cache)
    assert RUNS.count("crash") == 2 and len(RUNS) == 4


def test_corrupt_entry_is_a_miss(leo_repo, cache):
    change = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"}).change()
    run(change, cache=cache)
    for path in cache.root.glob("*/*.json"):
        path.write_text("{not json")
    assert run(change, cache=cache).cached is False


def test_size_cap_evicts_oldest(leo_repo, tmp_path):
    small = ResultCache(tmp_path / "small", max_bytes=1)
    repo = leo_repo(base={"a.py": "1\n"}, head={"a.py": "2\n"})
    run(repo.change(), cache=small)
    repo.commit({"a.py": "3\n"})
    run(repo.change(), cache=small)
    assert len(list(small.root.glob("*/*.json"))) <= 1


def test_cli_reports_cached_results_and_no_cache_bypasses(
    leo_cli, small_repo, plugin_path, tmp_path
):
    import json

    env = {**plugin_path, "LEO_LOAD_PLUGINS": "", "LEO_CACHE_DIR": str(tmp_path / "c")}
    args = ("verify", "--repo", str(small_repo.path), "--base", "main", "--head", "feature",
            "-p", "leo_fixture_agents", "--agents", "minor", "--format", "json", "-q")  # fmt: skip
    first = json.loads(leo_cli(*args, env=env).stdout)
    second = json.loads(leo_cli(*args, env=env).stdout)
    third = json.loads(leo_cli(*args, "--no-cache", env=env).stdout)
    assert [r["agents"][0]["cached"] for r in (first, second, third)] == [False, True, False]
    assert first["verdict"] == second["verdict"] == third["verdict"]
