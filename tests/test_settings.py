"""Sub-agent settings: ``[tool.leo.agents.<name>]`` validated by each sub-agent's ``Settings``
before anything runs, for built-ins and third parties alike (issue 21)."""

from __future__ import annotations

import json

import pytest

import leo
from leo.plugins import load_plugins

BUILTINS = ("security", "database", "testing", "performance", "design")


def policy(table: str) -> dict[str, str]:
    return {"pyproject.toml": f"[project]\nname = 'demo'\n\n{table}\n", "app.py": "X = 1\n"}


def verify(leo_cli, repo, env, *agents: str):
    return leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "--agents", ",".join(agents), "--format", "json", "-q", env=env,
    )  # fmt: skip


def test_unknown_key_of_a_third_party_exits_2_naming_agent_key_and_accepted(
    leo_cli, plugin_path, leo_repo
):
    repo = leo_repo(
        base=policy("[tool.leo.agents.thirdparty]\nnotes = 'x'\n"), head={"app.py": "X = 2\n"}
    )
    done = verify(leo_cli, repo, plugin_path, "thirdparty")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    line = done.stderr.strip().splitlines()[-1]
    assert "unknown key 'notes' in [tool.leo.agents.thirdparty]" in line
    assert "accepts: max_files, note" in line
    assert "Traceback" not in done.stderr


def test_mistyped_builtin_setting_exits_2_before_any_subagent_runs(leo_cli, plugin_path, leo_repo):
    repo = leo_repo(
        base=policy("[tool.leo.agents.design]\nmax_complexity = 'ten'\n"),
        head={"app.py": "X = 2\n"},
    )
    # The table is checked even though only the third party is asked to run.
    done = verify(leo_cli, repo, plugin_path, "thirdparty")
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "[tool.leo.agents.design] max_complexity = 'ten' is invalid" in line
    assert "max_complexity accepts an integer >= 0" in line


def test_settings_are_taken_from_the_base_not_the_head(leo_cli, plugin_path, leo_repo):
    repo = leo_repo(
        base=policy("[tool.leo.agents.thirdparty]\nnote = 'from base'\n"),
        head=policy("[tool.leo.agents.thirdparty]\nnote = 'from head'\nbogus = 1\n"),
    )
    done = verify(leo_cli, repo, plugin_path, "thirdparty")
    report = json.loads(done.stdout)
    [finding] = report["agents"][0]["findings"]
    assert finding["message"].endswith("(from base)")


def test_table_for_a_subagent_that_is_not_installed_is_reported(leo_cli, plugin_path, leo_repo):
    repo = leo_repo(
        base=policy("[tool.leo.agents.licence]\nstrict = true\n"), head={"app.py": "X = 2\n"}
    )
    done = verify(leo_cli, repo, plugin_path, "thirdparty")
    assert done.returncode == 0, done.stderr
    assert "[tool.leo.agents.licence] configures sub-agent 'licence', which is not installed" in (
        done.stderr
    )


def test_leo_keys_of_a_table_are_not_the_subagents_settings(leo_repo, leo_run):
    from leo_security import SecurityAgent

    repo = leo_repo(head={"README.md": "hi\n"})
    config = {"agents": {"security": {"weight": 2, "timeout": 60, "skip": ["semgrep"]}}}
    result = leo_run(repo.change(), [SecurityAgent], config=config)
    assert result.agent("security").status in {"passed", "skipped"}


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        ("security", {"skip": ["bandit", "trivy"]}, "skip = 'trivy' is invalid"),
        ("security", {"tool_timeout": 0}, "tool_timeout accepts a number > 0"),
        ("database", {"require_rls": "yes"}, "require_rls accepts true or false"),
        ("testing", {"network": "off"}, "network accepts 'allow' or 'deny'"),
        ("testing", {"command": []}, "command = () is invalid"),
        ("performance", {"alpha": 0.7}, "alpha accepts a number > 0 and < 0.5"),
        ("design", {"api_packages": ["../up"]}, "not a path relative to the repository root"),
    ],
)
def test_each_builtin_refuses_a_bad_value_in_one_sentence(name, table, expected):
    spec = load_plugins([], environ={}).agents[name]
    with pytest.raises(leo.LeoError) as raised:
        spec.cls(table)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)
    assert f"[tool.leo.agents.{name}]" in str(raised.value)


def test_builtin_defaults_are_their_documented_defaults():
    agents = load_plugins([], environ={}).agents
    assert agents["design"].cls({}).settings.max_complexity == 10
    assert agents["security"].cls({}).settings.tool_timeout == 240
    assert agents["database"].cls({}).settings.migration_dirs[0] == "supabase/migrations/"
    assert agents["performance"].cls({}).settings.pairs == 3
    assert agents["testing"].cls({"command": ["make", "test"]}).settings.rerun_command is None


def test_settings_that_accept_unknown_keys_are_refused_at_registration():
    from pydantic import BaseModel

    class Loose(BaseModel):
        level: int = 1

    class Lenient(leo.SubAgent):
        name = "lenient"
        Settings = Loose  # type: ignore[assignment]

    class Plugin:
        @leo.hookimpl
        def leo_register_subagents(self):
            return [Lenient]

    loaded = load_plugins(["no:" + n for n in BUILTINS], environ={}, extra={"inline": Plugin()})
    assert "lenient" not in loaded.agents
    [failure] = [f for f in loaded.failures if f.name == "inline"]
    assert "not a frozen pydantic model with extra='forbid'" in failure.error
