"""The command line: exit codes, formats, policy from the base commit, and clear errors."""

from __future__ import annotations

import json

import pytest

from leo.errors import ExitCode


def verify(leo_cli, repo, *args, env=None):
    return leo_cli(
        "verify",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "feature",
        "-q",
        *args,
        env=env,
    )


@pytest.fixture
def fixture_env(plugin_path):
    return {**plugin_path, "LEO_LOAD_PLUGINS": ""}


@pytest.mark.parametrize(
    ("agents", "code"),
    [
        ("fine", ExitCode.PASS),
        ("critical", ExitCode.FAIL),
        ("fine,minor", ExitCode.CONDITIONAL_PASS),
        ("fine,flipflop", ExitCode.ESCALATE),
    ],
)
def test_exit_code_follows_the_verdict(leo_cli, small_repo, fixture_env, agents, code):
    done = verify(
        leo_cli, small_repo, "-p", "leo_fixture_agents", "--agents", agents, env=fixture_env
    )
    assert done.returncode == code, done.stdout + done.stderr


def test_json_report_contract(leo_cli, small_repo, fixture_env):
    done = verify(
        leo_cli,
        small_repo,
        "-p",
        "leo_fixture_agents",
        "--agents",
        "fine,minor",
        "--format",
        "json",
        env=fixture_env,
    )
    report = json.loads(done.stdout)
    assert report["schema_version"] == 1
    assert report["verdict"] == "CONDITIONAL_PASS"
    assert set(report) >= {
        "verdict", "confidence", "base_sha", "head_sha", "reasons", "resolution_rounds", "agents",
    }  # fmt: skip
    minor = report["agents"][1]
    assert minor["findings"][0]["rule_id"] == "fixture.minor"
    assert set(minor) >= {
        "name",
        "plugin",
        "plugin_version",
        "status",
        "confidence",
        "findings",
        "duration_s",
        "analysed",
    }


def test_sarif_and_markdown_and_output_file(leo_cli, small_repo, fixture_env, tmp_path):
    out = tmp_path / "reports" / "leo.sarif"
    done = verify(
        leo_cli, small_repo, "-p", "leo_fixture_agents", "--agents", "critical",
        "--format", "sarif", "--output", str(out), env=fixture_env,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"][0]["ruleId"] == "fixture.critical"
    assert sarif["runs"][0]["results"][0]["level"] == "error"
    md = verify(
        leo_cli,
        small_repo,
        "-p",
        "leo_fixture_agents",
        "--agents",
        "critical",
        "--format",
        "markdown",
        env=fixture_env,
    )
    assert "LEO verdict: **FAIL**" in md.stdout


def test_text_report_shows_agents_and_reasons(leo_cli, small_repo, fixture_env):
    done = leo_cli(
        "verify", "--repo", str(small_repo.path), "--base", "main", "--head", "feature",
        "-p", "leo_fixture_agents", "--agents", "fine,crash", env=fixture_env,
    )  # fmt: skip
    assert "Verdict: FAIL" in done.stdout
    assert "crash" in done.stdout and "error" in done.stdout
    assert "leo: crash error" in done.stderr  # progress on stderr


def test_plugin_text_cannot_inject_terminal_escapes(small_repo):
    from leo.formats import render
    from leo.models import Finding, Report, SubAgentResult

    evil = "\x1b[2J\x1b]8;;http://x\x07click\u202e"
    result = SubAgentResult(
        name="evil", status="failed", confidence=0, summary=evil,
        findings=(Finding(rule_id="e", severity="high", message=evil, path="a|b", line=1),),
    )  # fmt: skip
    report = Report(
        leo_version="0", verdict="FAIL", confidence=0, reasons=(evil,), resolution_rounds=0,
        repository="r", base_sha="b", head_sha="h", config_digest="d", changed_files=1,
        duration_s=0, agents=(result,),
    )  # fmt: skip
    for fmt in ("text", "markdown"):
        text = render(report, fmt)
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "a\\|b" in render(report, "markdown")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agents", "secuirty"], "unknown sub-agent 'secuirty' (known: "),
        (["--agents", ","], "--agents is empty"),
        (["--head", "no-such-ref"], "unknown ref 'no-such-ref'"),
        (["--format", "yaml"], "Invalid value for '--format'"),
        (["--timeout", "0"], "Invalid value for '--timeout'"),
        (["--config", "/nonexistent/leo.toml"], "cannot read --config /nonexistent/leo.toml"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(leo_cli, small_repo, args, message):
    done = verify(leo_cli, small_repo, *args)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_not_a_git_repository(leo_cli, tmp_path):
    done = leo_cli("verify", "--repo", str(tmp_path))
    assert done.returncode == 2
    assert "is not a git repository; pass --repo PATH" in done.stderr


def test_bad_config_in_the_repository_exits_2(leo_cli, leo_repo):
    repo = leo_repo(base={"leo.toml": "threshold = 'high'\n"}, head={"a.txt": "x\n"})
    done = verify(leo_cli, repo)
    assert done.returncode == 2
    assert "invalid LEO configuration in leo.toml at base" in done.stderr
    assert "threshold" in done.stderr


def test_unknown_config_key_exits_2(leo_cli, leo_repo):
    repo = leo_repo(base={"pyproject.toml": "[tool.leo]\nthreshhold = 90\n"}, head={"a.txt": "x\n"})
    done = verify(leo_cli, repo)
    assert done.returncode == 2 and "threshhold" in done.stderr


def test_policy_is_read_from_the_base_and_an_edit_escalates(leo_cli, leo_repo, fixture_env):
    repo = leo_repo(
        base={"pyproject.toml": "[tool.leo]\nthreshold = 99\n"},
        head={"pyproject.toml": "[tool.leo]\nthreshold = 0\n"},
    )
    done = verify(
        leo_cli,
        repo,
        "-p",
        "leo_fixture_agents",
        "--agents",
        "minor",
        "--format",
        "json",
        env=fixture_env,
    )
    report = json.loads(done.stdout)
    # The head's threshold of 0 is ignored: the base's 99 applies (a sub-agent that only warned
    # counts as at least the threshold, so the confidence shows which threshold was used).
    assert report["confidence"] == 99
    assert report["verdict"] == "ESCALATE"
    assert any(r["name"] == "policy unchanged" and r["met"] is None for r in report["requirements"])
    done = verify(
        leo_cli,
        repo,
        "-p",
        "leo_fixture_agents",
        "--agents",
        "fine",
        "--format",
        "json",
        env=fixture_env,
    )
    assert json.loads(done.stdout)["verdict"] == "ESCALATE"
    assert done.returncode == ExitCode.ESCALATE


def test_version_and_help_are_fast_paths(leo_cli):
    import subprocess
    import sys

    code = "import sys, leo.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'anyio', 'rich', 'pluggy')))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
        == "[]"
    )
    done = leo_cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("leo ")
    assert "Exit codes" in leo_cli("--help").stdout or "exits" in leo_cli("--help").stdout


def test_schema_command_prints_the_report_schema(leo_cli):
    schema = json.loads(leo_cli("schema").stdout)
    assert schema["title"] == "Report"
    assert "verdict" in schema["required"]


def test_head_that_breaks_the_policy_file_escalates(leo_cli, leo_repo, fixture_env):
    repo = leo_repo(base={"leo.toml": "threshold = 85\n"}, head={"leo.toml": "threshold = [\n"})
    done = verify(leo_cli, repo, "-p", "leo_fixture_agents", "--agents", "fine", env=fixture_env)
    assert done.returncode == ExitCode.ESCALATE, done.stderr
