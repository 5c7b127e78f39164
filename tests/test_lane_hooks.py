"""The builder, enforcer and lead lanes tell plugins what they did, and the audit store records
the handoffs."""

from __future__ import annotations

import json
import os
import subprocess

from leo.repos import git


def events(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _create(leo_cli, leo_repo, plugin_path, tmp_path):
    """A signed bundle created through the CLI; returns what the later steps need."""
    log = tmp_path / "events.jsonl"
    env = {
        **plugin_path,
        "LEO_FIXTURE_EVENTS": str(log),
        "LEO_DATABASE_URL": str(tmp_path / "audit.db"),
    }
    repo = leo_repo(base={"a.txt": "1\n"}, head={"a.txt": "2\n"})
    key = tmp_path / "builder"
    assert leo_cli("key", "generate", "--output", str(key), env=env).returncode == 0
    bundle = tmp_path / "artifact.tar.gz"
    created = leo_cli(
        "bundle", "create", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "-o", str(bundle), "--sign", f"key:{key}", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    head = git(repo.path, "rev-parse", "feature").strip()
    (event,) = events(log)
    assert event["hook"] == "leo_bundle_created" and event["head_sha"] == head
    assert created.stdout.strip() == event["marker"] == f"[CODEX-READY:{event['digest']}]"
    return repo, key, bundle, log, env


def test_hook_leo_bundle_created(leo_cli, leo_repo, plugin_path, tmp_path):
    _create(leo_cli, leo_repo, plugin_path, tmp_path)


def test_hook_leo_bundle_applied(leo_cli, leo_repo, plugin_path, tmp_path):
    repo, key, bundle, log, env = _create(leo_cli, leo_repo, plugin_path, tmp_path)
    enforcer = tmp_path / "enforcer"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(enforcer)], check=True)
    git(enforcer, "checkout", "-q", "main")
    applied = leo_cli(
        "bundle", "apply", str(bundle), "--key", f"{key}.pub", "--repo", str(enforcer), env=env
    )
    assert applied.returncode == 0, applied.stderr
    assert [e["hook"] for e in events(log)] == ["leo_bundle_created", "leo_bundle_applied"]
    assert events(log)[1]["marker"] == applied.stdout.strip()
    # The commands recorded both handoffs in the audit store themselves, with an intact chain.
    from leo.store.repository import AuditStore
    from leo.store.tables import HandoffRow

    with AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}") as store:
        assert store.count(HandoffRow) == 2
    assert (
        leo_cli("audit", "verify", "--database-url", str(tmp_path / "audit.db"), env=env).returncode
        == 0
    )


def test_hook_leo_lead_decision(leo_cli, small_repo, plugin_path, tmp_path):
    log = tmp_path / "events.jsonl"
    env = {
        **plugin_path,
        "LEO_FIXTURE_EVENTS": str(log),
        "LEO_DATABASE_URL": str(tmp_path / "audit.db"),
    }
    verified = leo_cli(
        "verify", "--repo", str(small_repo.path), "--base", "main", "--head", "feature", "--pr", "7",
        "-p", "leo_fixture_agents", "--agents", "fine,minor", "-q", env=env,
    )  # fmt: skip
    assert verified.returncode == 3, verified.stderr
    approved = leo_cli(
        "lead", "approve", "--pr", "7", "--repo", str(small_repo.path), "--head", "feature",
        "--reason", "The minor finding is a known false positive in generated code.", env=env,
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    (event,) = events(log)
    assert (event["hook"], event["pr"], event["decision"], event["verdict"]) == (
        "leo_lead_decision", 7, "approve", "CONDITIONAL_PASS",
    )  # fmt: skip


def test_bundle_create_that_cannot_record_its_handoff_exits_5(leo_cli, leo_repo, tmp_path):
    """Issue 17.8: the record is the command's own, not a hook's warning."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database's folder should be\n")
    env = {"LEO_DATABASE_URL": str(blocker / "audit.db")}
    repo = leo_repo(base={"a.txt": "1\n"}, head={"a.txt": "2\n"})
    key = tmp_path / "builder"
    assert leo_cli("key", "generate", "--output", str(key), env=env).returncode == 0
    created = leo_cli(
        "bundle", "create", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "-o", str(tmp_path / "artifact.tar.gz"), "--sign", f"key:{key}", env=env,
    )  # fmt: skip
    assert created.returncode == 5, created.stderr
    assert "CODEX-READY" not in created.stdout


def test_lane_events_honour_p_no(leo_cli, leo_repo, plugin_path, tmp_path):
    log = tmp_path / "events.jsonl"
    env = {**plugin_path, "LEO_FIXTURE_EVENTS": str(log)}
    repo = leo_repo(base={"a.txt": "1\n"}, head={"a.txt": "2\n"})
    created = leo_cli(
        "bundle", "create", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "-o", str(tmp_path / "artifact.tar.gz"), "-p", "no:lanes", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("[CODEX-READY:")
    assert events(log) == []


def test_lane_events_skip_the_built_in_sub_agents_which_hear_none():
    """A lane event does not import the built-ins (``lane_event_plugins``): safe only while each
    implements nothing but ``leo_register_subagents``, which this pins."""
    from leo.cli._output import lane_event_plugins
    from leo.plugins import BUILTIN_PLUGINS, load_plugins

    hooks = {info.name: info.hooks for info in load_plugins().plugins}
    for name in BUILTIN_PLUGINS:
        assert hooks[name] == ["leo_register_subagents"], name
    lane = load_plugins(lane_event_plugins(("no:nothing",)))
    assert not any(lane.pm.has_plugin(name) for name in BUILTIN_PLUGINS)
    assert lane.pm.has_plugin("leo.defaults")


def test_a_lane_event_loads_no_plugins_when_nobody_could_hear_it(plugin_path, monkeypatch):
    """Only LEO's own plugins installed (they hear no lane event): ``announce_event`` loads
    nothing. A ``-p`` module or a third party's entry point makes it load them as before."""
    import importlib.metadata

    from leo.plugins import BUILTIN_PLUGINS, third_party_listeners

    ours = {f"leo-{name}" for name in BUILTIN_PLUGINS}
    if any(
        ep.dist is None or ep.dist.name not in ours
        for ep in importlib.metadata.entry_points(group="leo")
    ):
        import pytest

        pytest.skip("a third party's LEO plugin is installed in this environment")
    assert third_party_listeners((), environ={}) is False
    assert third_party_listeners(("no:lanes",), environ={}) is False
    assert third_party_listeners(("leo_fixture_lanes",), environ={}) is True
    monkeypatch.syspath_prepend(plugin_path["PYTHONPATH"].split(os.pathsep)[0])
    assert third_party_listeners((), environ={}) is True
    assert third_party_listeners((), environ={"LEO_DISABLE_PLUGIN_AUTOLOAD": "1"}) is False
