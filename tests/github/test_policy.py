"""The pure rules of the GitHub mode: status states, the label state machine, waits, names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leo.github import labels
from leo.github.client import rate_limit_wait, repo_from_remote
from leo.github.gates import Observed, evaluate, gate_requirements, waiting
from leo.github.status import final_state
from leo.github.workflow import render_workflow

VERDICTS = ("PASS", "FAIL", "CONDITIONAL_PASS", "ESCALATE")


@pytest.mark.parametrize("verdict", VERDICTS)
@pytest.mark.parametrize("stale", [False, True])
def test_only_a_fresh_pass_is_ever_success(verdict, stale):
    state = final_state(verdict, stale=stale)
    assert (state == "success") == (verdict == "PASS" and not stale)
    assert state in ("error", "failure", "pending", "success")


def test_the_sop_path_is_legal_move_by_move():
    state = None
    for target in (
        "codex-building",
        "claude-enforcing",
        "gates-passing",
        "needs-revision",
        "codex-building",
    ):
        labels.check_move(state, target)
        state = target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (None, "ready-to-merge"),
        ("codex-building", "gates-passing"),
        ("codex-building", "ready-to-merge"),
        ("claude-enforcing", "ready-to-merge"),
        ("needs-revision", "ready-to-merge"),
        ("ready-to-merge", "codex-building"),
    ],
)
def test_illegal_moves_are_refused_naming_the_legal_ones(current, target):
    with pytest.raises(labels.IllegalTransition, match="illegal label move") as exc:
        labels.check_move(current, target)
    assert "allows only" in str(exc.value)


def test_two_state_labels_at_once_are_refused():
    with pytest.raises(labels.IllegalTransition, match="2 state labels"):
        labels.current_state(["gates-passing", "bug", "ready-to-merge"])


def test_unknown_state_is_refused():
    with pytest.raises(labels.IllegalTransition, match="unknown state label"):
        labels.check_move("codex-building", "merged")


@pytest.mark.parametrize(
    ("current", "verdict", "gates", "moves"),
    [
        ("claude-enforcing", "PASS", True, ["gates-passing", "ready-to-merge"]),
        ("claude-enforcing", "PASS", False, []),
        ("claude-enforcing", "FAIL", True, ["needs-revision"]),
        ("gates-passing", "FAIL", True, ["needs-revision"]),
        ("claude-enforcing", "CONDITIONAL_PASS", True, ["gates-passing"]),
        ("claude-enforcing", "ESCALATE", False, []),
        ("ready-to-merge", "PASS", True, []),
        ("ready-to-merge", "FAIL", True, ["needs-revision"]),
        ("codex-building", "PASS", True, []),
        (None, "FAIL", True, []),
    ],
)
def test_a_verdict_moves_labels_only_along_legal_paths(current, verdict, gates, moves):
    assert labels.path_for_verdict(current, verdict, gates) == moves
    state = current
    for m in moves:
        labels.check_move(state, m)
        state = m


def test_taxonomy_has_a_colour_and_description_per_state():
    assert [s.name for s in labels.STATES] == list(labels.STATE_NAMES)
    assert all(len(s.color) == 6 and s.description for s in labels.STATES)
    assert set(labels.TRANSITIONS) == {None, *labels.STATE_NAMES}


def test_rate_limit_waits_follow_retry_after_then_the_reset():
    assert rate_limit_wait({"Retry-After": "30"}, 0) == 30
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1120"}, 1000) == 121
    assert rate_limit_wait({"x-ratelimit-remaining": "12"}, 0) is None


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/acme/widgets.git", "acme/widgets"),
        ("git@github.com:acme/widgets.git", "acme/widgets"),
        ("ssh://git@github.example.com/acme/widgets", "acme/widgets"),
        ("https://x-access-token:abc@github.com/acme/widgets\n", "acme/widgets"),
        ("/srv/git/widgets", None),
    ],
)
def test_repository_from_the_origin_remote(url, name):
    assert repo_from_remote(url) == name


def test_gates_wait_then_escalate_after_four_hours():
    now = datetime.now(UTC)
    seen = [
        Observed(name="Verify SLSA Provenance", state="pending", since=now - timedelta(hours=1)),
        Observed(name="Policy Verification / Validate Policy Bundle", state="passed"),
    ]
    required = [
        "SLSA Verification / Verify SLSA Provenance",
        "Policy Verification / Validate Policy Bundle",
        "Other / gate",
    ]
    gates = evaluate(required, seen, now - timedelta(hours=5))
    assert [g.state for g in gates] == ["pending", "passed", "missing"]
    assert [g.name for g in waiting(gates, now, 4 * 3600)] == [required[0]]
    reqs = gate_requirements(gates, now, 4 * 3600)
    assert [r.met for r in reqs] == [None, True, None]
    assert "escalated to the LEAD" in reqs[2].detail
    later = gate_requirements(gates, now + timedelta(hours=4), 4 * 3600)
    assert "escalated to the LEAD" in later[0].detail


def test_a_failed_report_wins_over_a_passed_one_for_the_same_gate():
    seen = [Observed(name="g", state="passed"), Observed(name="g", state="failed")]
    assert evaluate(["g"], seen, None)[0].state == "failed"


@pytest.mark.parametrize("bad", ['x" && curl evil', "a\nb", "${{ github.token }}", "$(id)"])
def test_workflow_options_cannot_inject_yaml_or_shell(bad):
    with pytest.raises(Exception, match="may not contain"):
        render_workflow(install=bad)
