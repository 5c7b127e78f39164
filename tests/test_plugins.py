"""Plugin discovery through real entry points, -p / no: and the environment controls."""

from __future__ import annotations

import json

BUILTINS = {"security", "database", "testing", "performance", "design"}


def plugins_json(leo_cli, env, *args):
    done = leo_cli("plugins", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_builtin_subagents_load_through_their_entry_points(leo_cli):
    doc = plugins_json(leo_cli, {})
    builtin = {p["name"]: p for p in doc["plugins"] if p["builtin"] and p["name"] in BUILTINS}
    assert set(builtin) == BUILTINS
    for name, p in builtin.items():
        assert p["distribution"] == f"leo-{name}"
        assert p["subagents"] == [name]
        assert "leo_register_subagents" in p["hooks"]


def test_third_party_entry_point_is_discovered_and_broken_ones_are_reported(leo_cli, plugin_path):
    doc = plugins_json(leo_cli, plugin_path)
    third = next(p for p in doc["plugins"] if p["name"] == "thirdparty")
    assert (third["distribution"], third["version"], third["builtin"]) == (
        "leo-fixture",
        "1.2.3",
        False,
    )
    assert third["subagents"] == ["thirdparty"]
    failures = {f["name"]: f["error"] for f in doc["failures"]}
    assert "ModuleNotFoundError" in failures["importerror"]
    assert "cannot register" in failures["broken"]


def test_broken_plugin_never_stops_verify(leo_cli, plugin_path, small_repo):
    done = leo_cli(
        "verify", "--repo", str(small_repo.path), "--base", "main", "--head", "feature",
        "--agents", "thirdparty", "--format", "json", "-q", env=plugin_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "plugin importerror (leo-fixture) not loaded: ModuleNotFoundError" in done.stderr
    report = json.loads(done.stdout)
    assert report["agents"][0]["plugin"] == "leo-fixture"
    assert report["verdict"] == "PASS"


def test_allow_list_empty_loads_builtins_only(leo_cli, plugin_path):
    doc = plugins_json(leo_cli, {**plugin_path, "LEO_LOAD_PLUGINS": ""})
    names = {p["name"] for p in doc["plugins"]}
    assert names >= BUILTINS and "thirdparty" not in names
    assert any("not in LEO_LOAD_PLUGINS" in s for s in doc["skipped"])


def test_allow_list_names_a_third_party_plugin(leo_cli, plugin_path):
    doc = plugins_json(leo_cli, {**plugin_path, "LEO_LOAD_PLUGINS": "leo-fixture"})
    assert "thirdparty" in {p["name"] for p in doc["plugins"]}


def test_disable_autoload_keeps_builtins(leo_cli, plugin_path):
    doc = plugins_json(leo_cli, {**plugin_path, "LEO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    names = {p["name"] for p in doc["plugins"]}
    assert names >= BUILTINS and "thirdparty" not in names


def test_no_prefix_blocks_a_plugin(leo_cli, plugin_path):
    doc = plugins_json(leo_cli, plugin_path, "-p", "no:design", "-p", "no:thirdparty")
    names = {p["name"] for p in doc["plugins"]}
    assert "design" not in names and "thirdparty" not in names
    assert "security" in names


def test_p_module_from_pythonpath_runs_next_to_the_builtins(leo_cli, plugin_path, small_repo):
    doc = plugins_json(leo_cli, plugin_path, "-p", "leo_fixture_agents")
    fixture = next(p for p in doc["plugins"] if p["name"] == "leo_fixture_agents")
    assert "fine" in fixture["subagents"]
    done = leo_cli(
        "verify", "--repo", str(small_repo.path), "--base", "main", "--head", "feature",
        "-p", "leo_fixture_agents", "--agents", "fine,design", "--format", "json", "-q",
        env=plugin_path,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert [a["name"] for a in report["agents"]] == ["fine", "design"]
    assert [a["plugin"] for a in report["agents"]] == ["leo_fixture_agents", "leo-design"]


def test_unimportable_p_module_is_a_usage_error(leo_cli, plugin_path):
    done = leo_cli("plugins", "-p", "leo_no_such_module", env=plugin_path)
    assert done.returncode == 2
    assert "cannot import plugin module 'leo_no_such_module' given with -p" in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_registrations_are_reported_not_fatal():
    import leo
    from leo.plugins import load_plugins

    class Good(leo.SubAgent):
        name = "good"

    class BadName(leo.SubAgent):
        name = "Bad Name!"

    class Plugin:
        @leo.hookimpl
        def leo_register_subagents(self):
            return [Good, BadName, object, Good]

    loaded = load_plugins(["no:" + n for n in BUILTINS], environ={}, extra={"inline": Plugin()})
    assert list(loaded.agents) == ["good"]
    errors = " | ".join(f.error for f in loaded.failures if f.name == "inline")
    assert "invalid name 'Bad Name!'" in errors
    assert "not a SubAgent subclass" in errors
    assert "already provided" in errors


def test_plugins_shows_each_sub_agents_description_in_text_and_json(leo_cli):
    doc = plugins_json(leo_cli, {})
    described = {a["name"]: a for a in doc["subagents"]}
    assert set(described) >= BUILTINS
    for name in BUILTINS:
        assert described[name]["description"], name
        assert described[name]["plugin"] == f"leo-{name}"
    text = leo_cli("plugins").stdout
    for name in BUILTINS:
        assert f"  {name}: {described[name]['description']}" in text
    help_text = " ".join(leo_cli("plugins", "--help").stdout.split())
    assert "each sub-agent with its description" in help_text
    assert "instead of a table" not in help_text  # the output is lines, not a table


def test_broken_plugin_fails_a_run_that_requires_every_sub_agent(leo_cli, plugin_path, leo_repo):
    """Issue 17.6: no ``--agents`` narrowing, ``required = "all"``: a plugin that failed to load
    may have held a required sub-agent, so the run fails instead of passing without it."""
    off = "".join(f"[agents.{n}]\nenabled = false\n" for n in sorted(BUILTINS))
    repo = leo_repo(base={"leo.toml": f'required = "all"\n{off}', "a.py": "A = 1\n"},
                    head={"a.py": "A = 2\n"})  # fmt: skip
    done = leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "--format", "json", "-q", env={**plugin_path, "LEO_LOAD_PLUGINS": "leo-fixture"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [a["name"] for a in report["agents"]] == ["thirdparty"]
    unmet = {q["name"]: q["detail"] for q in report["requirements"] if q["met"] is False}
    assert "ModuleNotFoundError" in unmet["plugin importerror loaded"]
