"""`leo aggregate` over `leo agent run` results gives `leo verify`'s verdict, or refuses."""

from __future__ import annotations

import json
import shutil

BUILTINS = ("security", "database", "testing", "performance", "design")


def _same(verify: dict, aggregate: dict) -> None:
    assert aggregate["verdict"] == verify["verdict"]
    assert aggregate["confidence"] == verify["confidence"]
    assert aggregate["resolution_rounds"] == verify["resolution_rounds"]
    assert [(a["name"], a["status"], a["confidence"]) for a in aggregate["agents"]] == [
        (a["name"], a["status"], a["confidence"]) for a in verify["agents"]
    ]
    assert aggregate["head_sha"] == verify["head_sha"]
    assert aggregate["config_digest"] == verify["config_digest"]
    assert aggregate["changed_files"] == verify["changed_files"]


def test_aggregate_of_the_five_builtin_agents_matches_verify(leo_repo, tmp_path, scale):
    repo = leo_repo(
        base={"app.py": "def f():\n    return 1\n"},
        head={
            "app.py": "import subprocess\n\ndef f(cmd):\n    return subprocess.call(cmd, shell=True)\n"
        },
    )
    verify = scale.leo(
        "verify", "--repo", str(repo.path), "--base", "main", "--format", "json", "-q"
    )
    files = scale.agent_runs(repo.path, BUILTINS, tmp_path)
    aggregate = scale.leo(
        "aggregate", *map(str, files), "--repo", str(repo.path), "--format", "json"
    )
    assert aggregate.returncode == verify.returncode, aggregate.stderr
    _same(scale.report_of(verify), scale.report_of(aggregate))


def test_aggregate_runs_conflict_resolution_as_verify_does(fixture_repo, tmp_path, scale):
    repo = fixture_repo()
    verify = scale.leo(
        "verify",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--format",
        "json",
        "-q",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    files = scale.agent_runs(repo.path, ("flaky", "fine"), tmp_path, *scale.FIXTURES, env=scale.ENV)
    assert json.loads(files[0].read_text())["result"]["status"] == "failed"
    aggregate = scale.leo(
        "aggregate",
        *map(str, files),
        "--repo",
        str(repo.path),
        "--format",
        "json",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    report = scale.report_of(aggregate)
    assert report["verdict"] == "PASS" and report["resolution_rounds"] == 1
    assert aggregate.returncode == verify.returncode == 0
    _same(scale.report_of(verify), report)


def test_a_result_for_another_head_is_refused(fixture_repo, tmp_path, scale):
    repo = fixture_repo()
    [first] = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    old_head = json.loads(first.read_text())["change"]["head_sha"]
    repo.commit({"more.py": "Y = 2\n"})
    later = tmp_path / "later"
    later.mkdir()
    [second] = scale.agent_runs(repo.path, ("flaky",), later, *scale.FIXTURES, env=scale.ENV)
    proc = scale.leo(
        "aggregate",
        str(first),
        str(second),
        "--repo",
        str(repo.path),
        *scale.FIXTURES,
        env=scale.ENV,
    )
    assert proc.returncode == 2
    assert "is a result for head" in proc.stderr and old_head[:12] in proc.stderr
    assert "Traceback" not in proc.stderr
    # --head pins the commit: even one result alone for another head is refused.
    proc = scale.leo(
        "aggregate",
        str(first),
        "--repo",
        str(repo.path),
        "--head",
        "HEAD",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    assert proc.returncode == 2 and "is a result for head" in proc.stderr


def test_a_missing_agent_is_not_a_pass(fixture_repo, tmp_path, scale):
    repo = fixture_repo(select=("fine", "minor"))
    files = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    proc = scale.leo(
        "aggregate",
        *map(str, files),
        "--repo",
        str(repo.path),
        "--format",
        "json",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    report = scale.report_of(proc)
    assert report["verdict"] == "FAIL" and proc.returncode == 1
    assert any("minor is required but did not run" in r for r in report["reasons"])


def test_require_names_an_agent_the_policy_does_not(fixture_repo, tmp_path, scale):
    repo = fixture_repo(select=("fine",))
    files = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    ok = scale.leo(
        "aggregate", *map(str, files), "--repo", str(repo.path), *scale.FIXTURES, env=scale.ENV
    )
    assert ok.returncode == 0, ok.stderr
    proc = scale.leo(
        "aggregate",
        *map(str, files),
        "--repo",
        str(repo.path),
        "--require",
        "fine,skips",
        "--format",
        "json",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    assert scale.report_of(proc)["verdict"] == "FAIL"


def test_duplicates_are_refused(fixture_repo, tmp_path, scale):
    repo = fixture_repo(select=("fine",))
    [path] = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    copy = tmp_path / "copy.json"
    shutil.copy(path, copy)
    proc = scale.leo(
        "aggregate", str(path), str(copy), "--repo", str(repo.path), *scale.FIXTURES, env=scale.ENV
    )
    assert proc.returncode == 2
    assert "sub-agent 'fine' has two results" in proc.stderr


def test_another_policy_is_refused(fixture_repo, tmp_path, scale):
    repo = fixture_repo(select=("fine",))
    [path] = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    other = tmp_path / "leo.toml"
    other.write_text('select = ["fine"]\nthreshold = 10\n')
    proc = scale.leo(
        "aggregate",
        str(path),
        "--repo",
        str(repo.path),
        "--config",
        str(other),
        *scale.FIXTURES,
        env=scale.ENV,
    )
    assert proc.returncode == 2 and "computed under configuration" in proc.stderr


def test_without_a_checkout_a_disagreement_escalates(fixture_repo, tmp_path, scale):
    repo = fixture_repo()
    files = scale.agent_runs(repo.path, ("flaky", "fine"), tmp_path, *scale.FIXTURES, env=scale.ENV)
    policy = tmp_path / "leo.toml"
    policy.write_text('select = ["flaky", "fine"]\n')
    nowhere = str(tmp_path / "no-checkout")
    proc = scale.leo(
        "aggregate",
        *map(str, files),
        "--repo",
        nowhere,
        "--config",
        str(policy),
        "--format",
        "json",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    report = scale.report_of(proc)
    assert report["verdict"] == "ESCALATE" and proc.returncode == 4
    assert report["reasons"][0].startswith("conflict resolution could not run")
    assert "no checkout" in proc.stderr
    # Without a checkout and without --config there is no policy to apply.
    proc = scale.leo(
        "aggregate", *map(str, files), "--repo", nowhere, *scale.FIXTURES, env=scale.ENV
    )
    assert proc.returncode == 2 and "cannot read the policy" in proc.stderr


def test_a_file_that_is_not_a_result_is_refused_in_one_sentence(tmp_path, scale):
    bad = tmp_path / "result.json"
    bad.write_text('{"kind": "something else"}')
    proc = scale.leo("aggregate", str(bad))
    assert proc.returncode == 2 and "is not a LEO agent result" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_required_set_comes_from_the_policy_not_from_what_is_installed(
    fixture_repo, tmp_path, scale
):
    """Issue 17.7: the aggregating job has none of the fixture agents installed."""
    repo = fixture_repo(select=("fine", "minor"))
    files = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    proc = scale.leo("aggregate", *map(str, files), "--repo", str(repo.path), "--format", "json")
    report = scale.report_of(proc)
    assert report["verdict"] == "FAIL" and proc.returncode == 1, proc.stderr
    assert any("minor is required but did not run" in r for r in report["reasons"])


def test_required_all_without_named_agents_is_refused(fixture_repo, tmp_path, scale):
    repo = fixture_repo(select=())
    files = scale.agent_runs(repo.path, ("fine",), tmp_path, *scale.FIXTURES, env=scale.ENV)
    proc = scale.leo("aggregate", *map(str, files), "--repo", str(repo.path), "--format", "json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert 'required = "all"' in proc.stderr and "--require" in proc.stderr
    named = scale.leo(
        "aggregate", *map(str, files), "--repo", str(repo.path), "--format", "json",
        "--require", "fine,minor",
    )  # fmt: skip
    assert named.returncode == 1
    assert any("minor is required" in r for r in scale.report_of(named)["reasons"])
