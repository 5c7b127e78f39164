"""``leo plugins check``: the standard situations, against a good and a sloppy sub-agent."""

from __future__ import annotations

import json

from leo.conformance import HUGE_LINES, situations


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


def test_declared_sample_files_are_made_awkward_in_every_situation():
    sample = {"deps/x.lock": "alpha==1\nbeta==2\n"}
    cases = {s.name: s for s in situations(sample)}
    assert cases.keys() == {s.name for s in situations()}
    assert cases["empty change"].base["deps/x.lock"] == sample["deps/x.lock"]
    assert cases["empty change"].head == {}
    assert cases["deleted file"].head["deps/x.lock"] is None
    renamed = cases["renamed file"].head
    assert renamed["deps/x.lock"] is None and renamed["pkg/deps/x.lock"].endswith("beta==2\n")
    assert b"\x00" in cases["binary files"].head["deps/x.lock"]
    assert cases["huge file"].head["deps/x.lock"].count("\n") == HUGE_LINES
    assert b"\xe9" in cases["non-UTF-8 text"].head["deps/x.lock"]
    assert "dir with space/ünïcødé/deps/x.lock" in cases["path with spaces and unicode"].head
    assert cases["cancellation at a timeout"].head["deps/x.lock"] != sample["deps/x.lock"]


def test_a_subagent_that_reads_only_its_sample_files_is_reached(leo_cli, plugin_path):
    done = leo_cli(
        "plugins", "check", "lockreader", "-p", "leo_fixture_samples", "--json",
        env=plugin_path, timeout=300,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["conforms"], doc
    status = {s["situation"]: s["status"] for s in doc["situations"]}
    assert status["empty change"] == "skipped"
    for reached in ("renamed file", "huge file", "non-UTF-8 text", "path with spaces and unicode"):
        assert status[reached] in ("passed", "warned"), (reached, status)
    assert "note:" not in done.stderr


def test_a_subagent_no_situation_reaches_gets_a_note(leo_cli, plugin_path):
    done = leo_cli(
        "plugins", "check", "blindlockreader", "-p", "leo_fixture_samples",
        env=plugin_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "note: blindlockreader skipped every situation" in done.stderr
    assert "sample_files" in done.stderr


def test_sample_files_outside_the_repository_are_refused(leo_cli, plugin_path):
    done = leo_cli(
        "plugins", "check", "escapingsamples", "-p", "leo_fixture_samples", env=plugin_path
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'../outside.lock'" in done.stderr and "Traceback" not in done.stderr
