"""A verdict exit code comes only from a run that wrote its report (issue 17.6)."""

from __future__ import annotations

import json

import pytest

from leo.errors import ExitCode


def verify(leo_cli, repo, env, *args):
    return leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "-q", "-p", "leo_fixture_exits", "--no-cache", *args, env=env,
    )  # fmt: skip


@pytest.fixture
def env(plugin_path):
    return {**plugin_path, "LEO_LOAD_PLUGINS": ""}


@pytest.mark.parametrize("agent", ["osexit", "osexit3", "killed"])
def test_a_sub_agent_that_ends_the_process_is_exit_5_not_a_pass(leo_cli, small_repo, env, agent):
    done = verify(leo_cli, small_repo, env, "--agents", f"fine2,{agent}")
    assert done.returncode == ExitCode.INTERNAL, done.stdout + done.stderr
    assert done.stdout == ""
    assert "no report was written" in done.stderr


def test_a_run_that_writes_its_report_keeps_its_exit_code(leo_cli, small_repo, env):
    done = verify(leo_cli, small_repo, env, "--agents", "fine2", "--format", "json")
    assert done.returncode == ExitCode.PASS, done.stderr
    assert json.loads(done.stdout)["verdict"] == "PASS"


def test_bad_input_keeps_exit_2(leo_cli, small_repo, env):
    done = verify(leo_cli, small_repo, env, "--agents", "nosuchagent")
    assert done.returncode == ExitCode.USAGE, done.stderr


def test_commands_without_a_verdict_keep_exit_0(leo_cli):
    assert leo_cli("schema").returncode == 0
    assert leo_cli("verify", "--help").returncode == 0
    assert leo_cli("--version").returncode == 0


@pytest.mark.parametrize("spelling", [["-p", "leo_fixture_exits"], ["-pleo_fixture_exits"]])
def test_a_lane_event_that_ends_the_process_is_exit_5_not_a_handoff(
    leo_cli, small_repo, env, tmp_path, spelling
):
    """``bundle create`` runs in the ``leo`` process only when no plugin could hear its event;
    a ``-p`` module, however spelled, puts it back in the guarded worker."""
    done = leo_cli(
        "bundle", "create", "--repo", str(small_repo.path), "--base", "main", "--head", "feature",
        "-o", str(tmp_path / "artifact.tar.zst"), *spelling,
        env={**env, "LEO_DATABASE_URL": str(tmp_path / "audit.db")},
    )  # fmt: skip
    assert done.returncode == ExitCode.INTERNAL, done.stdout + done.stderr
    assert "CODEX-READY" not in done.stdout
    assert "no report was written" in done.stderr
