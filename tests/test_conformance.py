"""``leo plugins check``: the standard situations, against a good and a sloppy sub-agent."""

from __future__ import annotations

import json


def test_builtin_subagent_conforms(leo_cli):
    done = leo_cli("plugins", "check", "design", "--json", timeout=300)
    doc = json.loads(done.stdout)
    assert done.returncode == 0, doc
    assert doc["conforms"] is True
    assert {s["situation"] for s in doc["situations"]} == {
        "empty change", "deleted file", "renamed file", "binary files", "huge file",
        "non-UTF-8 text", "path with spaces and unicode", "cancellation at a timeout",
    }  # fmt: skip


def test_sloppy_subagent_fails_with_reasons(leo_cli, plugin_path):
    done = leo_cli(
        "plugins",
        "check",
        "sloppy",
        "-p",
        "leo_fixture_nonconforming",
        "--json",
        env=plugin_path,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    problems = {
        s["situation"]: " | ".join(s["problems"]) for s in json.loads(done.stdout)["situations"]
    }
    assert "failed a change that changes nothing" in problems["empty change"]
    assert (
        "crashed" in problems["binary files"] and "UnicodeDecodeError" in problems["binary files"]
    )
    assert "crashed" in problems["non-UTF-8 text"]
    assert "which has" in problems["huge file"] and "line 10000000" in problems["huge file"]
    assert "'not/in/change.py', which the change does not touch" in problems["deleted file"]
    assert "ignored cancellation" in problems["cancellation at a timeout"]


def test_unknown_subagent_is_a_usage_error(leo_cli):
    done = leo_cli("plugins", "check", "nope")
    assert done.returncode == 2 and "unknown sub-agent 'nope'" in done.stderr
