"""``leo replay`` and ``leo calibrate`` on a real SQLite audit store and real repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from leo.models import Finding, Report, SubAgentResult
from leo.store.calibrate import calibrate
from leo.store.replay import gating_rules
from leo.store.repository import AuditStore
from leo.store.tables import ApprovalRow, VerificationRow

FIXTURE_PLUGINS = Path(__file__).resolve().parent.parent / "fixture_plugins"
LENIENT = "[tool.leo.agents.linelimit]\nmax_lines = 100\n"
STRICT = "[tool.leo.agents.linelimit]\nmax_lines = 2\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(FIXTURE_PLUGINS),
        "LEO_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
    }


def _verify(leo_cli, repo, env, *extra: str):
    done = leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "-p", "leo_fixture_policy", "--agents", "linelimit", "-q", "--no-cache", *extra,
        env=env,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done


def _rows(env: dict[str, str]) -> int:
    with AuditStore.open(env["LEO_DATABASE_URL"]) as store:
        return store.count(VerificationRow) + store.count(ApprovalRow)


def test_replay_shows_which_verdicts_a_stricter_policy_would_fail_and_by_which_rule(
    leo_cli, leo_repo, env, tmp_path
):
    long_change = leo_repo(
        base={"pyproject.toml": LENIENT, "a.py": "A = 1\n"},
        head={"a.py": "A = 1\nB = 2\nC = 3\nD = 4\n"},
    )
    short_change = leo_repo(
        base={"pyproject.toml": LENIENT, "a.py": "A = 1\n"}, head={"a.py": "A = 2\n"}
    )
    _verify(leo_cli, long_change, env)
    _verify(leo_cli, short_change, env)
    before = _rows(env)
    policy = tmp_path / "candidate.toml"
    policy.write_text(STRICT)

    done = leo_cli("replay", "--policy", str(policy), "-p", "leo_fixture_policy", "--json", env=env)

    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["replayed"] == 2 and doc["changed"] == 1
    assert doc["transitions"] == {"PASS -> FAIL": 1}
    assert doc["rules"] == [
        {"rule": "linelimit.too_long", "added": 1, "removed": 0, "transitions": {"PASS -> FAIL": 1}}
    ]
    moved = [c for c in doc["changes"] if c["changed"]]
    assert moved[0]["repository"] == str(long_change.path)
    assert moved[0]["rules_added"] == ["linelimit.too_long"]
    assert _rows(env) == before, "replay must not record anything"

    text = leo_cli("replay", "--policy", str(policy), "-p", "leo_fixture_policy", env=env)
    assert "PASS -> FAIL: 1" in text.stdout
    assert "linelimit.too_long: newly counts in 1" in text.stdout


def test_replay_under_a_more_lenient_policy_turns_a_fail_back_into_a_pass(
    leo_cli, leo_repo, env, tmp_path
):
    repo = leo_repo(
        base={"pyproject.toml": STRICT, "a.py": "A = 1\n"},
        head={"a.py": "A = 1\nB = 2\nC = 3\nD = 4\n"},
    )
    _verify(leo_cli, repo, env)
    policy = tmp_path / "leo.toml"
    policy.write_text("[agents.linelimit]\nmax_lines = 50\n")

    doc = json.loads(
        leo_cli(
            "replay", "--policy", str(policy), "-p", "leo_fixture_policy", "--json", env=env
        ).stdout
    )

    assert doc["transitions"] == {"FAIL -> PASS": 1}
    assert doc["changes"][0]["rules_removed"] == ["linelimit.too_long"]


def test_a_change_whose_repository_is_gone_is_listed_as_not_replayed_never_as_passed(
    leo_cli, leo_repo, env, tmp_path
):
    repo = leo_repo(base={"a.py": "A = 1\n"}, head={"a.py": "A = 2\n"})
    _verify(leo_cli, repo, env)
    shutil.rmtree(repo.path)
    policy = tmp_path / "leo.toml"
    policy.write_text("threshold = 90\n")

    doc = json.loads(
        leo_cli(
            "replay", "--policy", str(policy), "-p", "leo_fixture_policy", "--json", env=env
        ).stdout
    )

    assert doc["replayed"] == 0 and doc["not_replayed"] == 1
    change = doc["changes"][0]
    assert change["replayed_verdict"] is None
    assert "not a local work tree" in change["not_replayed"]


def test_replay_limit_and_since_choose_the_newest_recorded_changes(
    leo_cli, leo_repo, env, tmp_path
):
    for n in range(3):
        _verify(leo_cli, leo_repo(base={"a.py": "A = 1\n"}, head={"a.py": f"A = {n + 2}\n"}), env)
    policy = tmp_path / "leo.toml"
    policy.write_text("threshold = 90\n")
    args = ("replay", "--policy", str(policy), "-p", "leo_fixture_policy", "--json")

    assert len(json.loads(leo_cli(*args, "--limit", "2", env=env).stdout)["changes"]) == 2
    assert json.loads(leo_cli(*args, "--since", "2999-01-01", env=env).stdout)["changes"] == []


def _recorded_at(env: dict[str, str]) -> str:
    from leo.cli.replay import _iso

    with AuditStore.open(env["LEO_DATABASE_URL"]) as store, store.engine.connect() as db:
        [when] = db.execute(select(VerificationRow.recorded_at)).scalars()
    return _iso(when)


def test_replay_resolves_dependencies_as_of_when_the_change_was_verified(
    leo_cli, leo_repo, env, tmp_path
):
    log = tmp_path / "asof.log"
    env = {**env, "ASOF_LOG": str(log)}
    repo = leo_repo(base={"a.py": "A = 1\n"}, head={"a.py": "A = 2\n"})
    _verify(leo_cli, repo, env, "--agents", "asof,linelimit")
    assert log.read_text() == "None\n"  # verified today, as of today
    policy = tmp_path / "leo.toml"
    policy.write_text("threshold = 90\n")
    args = ("replay", "--policy", str(policy), "-p", "leo_fixture_policy", "--json")

    doc = json.loads(leo_cli(*args, env=env).stdout)
    assert doc["resolve_as_of"] == "recorded" and doc["replayed"] == 1
    assert log.read_text().splitlines()[1] == _recorded_at(env)

    done = leo_cli(*args, "--resolve-as-of", "now", env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["resolve_as_of"] == "now"
    assert log.read_text().splitlines()[2] == "None"

    doc = json.loads(leo_cli(*args, "--resolve-as-of", "2024-06-01", env=env).stdout)
    assert doc["resolve_as_of"] == "2024-06-01T00:00:00Z"
    assert log.read_text().splitlines()[3] == "2024-06-01T00:00:00Z"

    # the candidate policy's own date is policy under test: it wins over the recorded time
    policy.write_text('[agents.asof]\nresolve_as_of = "2023-05-01T12:00:00Z"\n')
    leo_cli(*args, env=env)
    assert log.read_text().splitlines()[4] == "2023-05-01T12:00:00Z"
    text = leo_cli("replay", "--policy", str(policy), "-p", "leo_fixture_policy", env=env).stdout
    assert "test dependencies resolved as of when each change was verified" in text


def test_replay_sets_resolve_as_of_only_for_sub_agents_that_declare_it(monkeypatch):
    from datetime import UTC, datetime

    from leo.cli.replay import resolve_as_of
    from leo.config import parse_config
    from leo.plugins import load_plugins

    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS))
    plugins = load_plugins(["leo_fixture_policy"], environ={})
    specs = [plugins.agents["asof"], plugins.agents["linelimit"]]
    config = parse_config({"agents": {"linelimit": {"max_lines": 3}}}, "test")
    when = datetime(2024, 6, 17, 8, 30, tzinfo=UTC)

    replayed = resolve_as_of(config, specs, when, None)
    assert replayed.agents == {
        "linelimit": {"max_lines": 3},
        "asof": {"resolve_as_of": "2024-06-17T08:30:00Z"},
    }
    assert config.agents == {"linelimit": {"max_lines": 3}}, "the candidate policy is unchanged"
    assert resolve_as_of(config, specs, when, "now").agents["asof"] == {}
    testing = load_plugins([], environ={}).agents["testing"]
    assert resolve_as_of(config, [testing], when, None).agents["testing"] == {
        "resolve_as_of": "2024-06-17T08:30:00Z"
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--policy", "good.toml", "--resolve-as-of", "then"),
            "--resolve-as-of 'then' is not a date",
        ),
        (("--policy", "missing.toml"), "cannot read --policy missing.toml"),
        (("--policy", "bad.toml"), "bad.toml is not valid TOML"),
        (("--policy", "good.toml", "--since", "yesterday"), "--since 'yesterday' is not a date"),
    ],
)
def test_bad_replay_input_is_one_sentence_and_exit_2(leo_cli, env, tmp_path, args, expected):
    (tmp_path / "bad.toml").write_text("threshold = [\n")
    (tmp_path / "good.toml").write_text("threshold = 90\n")

    done = leo_cli("replay", *args, cwd=tmp_path, env=env)

    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def _report(repository: Path, head: str, verdict: str, findings: tuple[Finding, ...]) -> Report:
    status = "failed" if verdict == "FAIL" else "warned"
    return Report(
        leo_version="0.test",
        verdict=verdict,  # type: ignore[arg-type]
        confidence=40 if verdict == "FAIL" else 80,
        reasons=("because",),
        resolution_rounds=0,
        repository=str(repository),
        base_sha="a" * 40,
        head_sha=head,
        config_digest="sha256:" + "c" * 64,
        changed_files=1,
        duration_s=1.0,
        agents=(
            SubAgentResult(name="design", status=status, confidence=60, findings=findings),
            SubAgentResult(name="database", status="error", confidence=0, error="no server")
            if verdict == "ESCALATE"
            else SubAgentResult(name="database", status="skipped", confidence=100),
        ),
    )


def _finding(rule: str, severity: str = "high", on_changed_line: bool = True) -> Finding:
    return Finding(
        rule_id=rule,
        severity=severity,  # type: ignore[arg-type]
        message="m",
        on_changed_line=on_changed_line,
    )


REASON = "Reviewed by hand; the removal is intended and documented."


def test_calibrate_counts_per_rule_how_often_a_lead_overrode_its_fail_or_escalate(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    repo = tmp_path / "repo"
    complexity = _finding("design.complexity")
    removed = _finding("design.api.object-removed")
    context = _finding("design.pre-existing", on_changed_line=False)
    low = _finding("design.naming", severity="low")
    with AuditStore.open(url) as store:
        # PR 1: FAIL on complexity, overridden. PR 2: FAIL on complexity + removal, rejected.
        # PR 3: ESCALATE (database gave no evidence) with a removal, approved.
        # PR 4: PASS, approved (overrides nothing, so not counted).
        cases = [
            (1, "FAIL", (complexity, context, low), "approve", True),
            (2, "FAIL", (complexity, removed), "reject", False),
            (3, "ESCALATE", (removed,), "approve", False),
            (4, "PASS", (), "approve", False),
        ]
        for pr, verdict, findings, decision, override in cases:
            head = f"{pr:040x}"
            store.record_verification(_report(repo, head, verdict, findings), pr=pr)
            store.record_decision(
                repository=str(repo),
                pr=pr,
                head_sha=head,
                decision=decision,
                reason=REASON,
                override=override,
            )
        result = calibrate(store)
        rows = {r.rule: r.as_json() for r in result.rules}

    assert (result.decisions, result.overridden) == (3, 2)
    assert rows["design.complexity"] == {
        "rule": "design.complexity",
        "decisions": 2,
        "fail_decisions": 2,
        "fail_overridden": 1,
        "escalate_decisions": 0,
        "escalate_approved": 0,
        "override_rate": 0.5,
    }
    assert rows["design.api.object-removed"]["fail_decisions"] == 1
    assert rows["design.api.object-removed"]["escalate_approved"] == 1
    assert rows["database.error"]["override_rate"] == 1.0
    assert "design.pre-existing" not in rows, "context on unchanged lines never counts"
    assert "design.naming" not in rows, "low findings never gate"
    assert result.rules[0].rule == "database.error", "noisiest rule first"


def test_calibrate_counts_only_the_newest_decision_on_a_verdict(tmp_path, leo_cli):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    repo = tmp_path / "repo"
    head = "f" * 40
    with AuditStore.open(url) as store:
        store.record_verification(_report(repo, head, "FAIL", (_finding("x.rule"),)), pr=9)
        for decision in ("reject", "approve"):
            store.record_decision(
                repository=str(repo),
                pr=9,
                head_sha=head,
                decision=decision,  # type: ignore[arg-type]
                reason=REASON,
                override=decision == "approve",
            )
        before = store.count(ApprovalRow)

    done = leo_cli("calibrate", "--json", "--database-url", url)
    text = leo_cli("calibrate", "--database-url", url)

    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["decisions"] == 1 and doc["overridden"] == 1
    assert doc["rules"][0]["rule"] == "x.rule"
    assert "100%" in text.stdout and "x.rule" in text.stdout
    with AuditStore.open(url) as store:
        assert store.count(ApprovalRow) == before, "calibrate must not write"


def test_gating_rules_are_medium_or_worse_findings_on_the_change_and_missing_evidence():
    report = _report(
        Path("r"), "e" * 40, "ESCALATE", (_finding("a.high"), _finding("b.info", "info"))
    ).model_dump(mode="json")

    assert gating_rules(report) == {"a.high", "database.error"}
