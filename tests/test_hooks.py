"""Every hookspec is documented and tested; each hook is called when its docs say."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import leo
from leo import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(
    name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("leo_")
)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_documented_with_its_signature(hook):
    docs = (ROOT / "docs" / "plugin-hooks.md").read_text()
    assert f"\n## {hook}\n" in docs, f"docs/plugin-hooks.md lacks a section for {hook}"
    assert f"def {hook}(" in docs
    assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_test(hook):
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    assert re.search(rf"^def test_hook_{hook}\b", tests, re.M), f"no test_hook_{hook} in tests/"


def test_every_subagent_class_attribute_and_testing_fixture_is_documented():
    """What an author declares on a ``SubAgent`` and every fixture ``leo.testing`` gives them
    is in the author's docs (issue 19.6), so nobody reads LEO's source to find it."""
    from typing import get_type_hints

    import leo.testing
    from leo.subagent import SubAgent

    hooks = (ROOT / "docs" / "plugin-hooks.md").read_text()
    tutorial = (ROOT / "docs" / "writing-plugins.md").read_text()
    hints = get_type_hints(SubAgent, include_extras=True)
    attributes = [n for n, h in hints.items() if "ClassVar" in str(h)]
    assert {"name", "cache_scope", "Settings", "sample_files"} <= set(attributes)
    for attribute in attributes:
        assert f"| `{attribute}` |" in hooks, attribute
        assert re.search(rf"`{attribute}`|^    {attribute} = ", tutorial, re.M), attribute
    fixtures = [n for n, v in vars(leo.testing).items() if hasattr(v, "_fixture_function_marker")
                or type(v).__name__ == "FixtureFunctionDefinition"]  # fmt: skip
    assert "leo_run" in fixtures
    for fixture in fixtures:
        assert f"| `{fixture}" in tutorial, fixture


def test_hook_leo_register_subagents(leo_plugins):
    class Agent(leo.SubAgent):
        name = "registered"

    class Plugin:
        @leo.hookimpl
        def leo_register_subagents(self):
            return [Agent]

    loaded = leo_plugins(Plugin())
    assert loaded.agents["registered"].cls is Agent


def test_hook_leo_resolve_conflict(small_repo, leo_run, leo_plugins, agents):
    seen = []

    class Arbiter:
        @leo.hookimpl(tryfirst=True)
        def leo_resolve_conflict(self, subagent, change, conflict):
            seen.append((subagent.name, conflict.round, [r.name for r in conflict.others]))
            return None  # let the sub-agent decide

    run = leo_run(small_repo.change(), [agents.Flaky, agents.Fine], plugins=leo_plugins(Arbiter()))
    assert sorted(seen) == [("fine", 1, ["flaky"]), ("flaky", 1, ["fine"])]
    assert run.agent("flaky").status == "passed"


def test_hook_leo_verification_started(small_repo, leo_run, leo_plugins, leo_hook_calls, agents):
    class Observer:
        @leo.hookimpl
        def leo_verification_started(self, change, agents):
            pass

        @leo.hookimpl
        def leo_verification_finished(self, report):
            pass

    loaded = leo_hook_calls.watch(leo_plugins(observer=Observer()))
    leo_run(small_repo.change(), [agents.Fine], plugins=loaded)
    (call,) = leo_hook_calls.of("leo_verification_started")
    assert call.kwargs["agents"] == ["fine"] and call.plugins == ["observer"]
    assert leo_hook_calls.names()[-1] == "leo_verification_finished"


def test_hook_leo_subagent_finished(small_repo, leo_run, leo_plugins, agents):
    results = []

    class Observer:
        @leo.hookimpl
        def leo_subagent_finished(self, result):
            results.append((result.name, result.status))

    leo_run(small_repo.change(), [agents.Minor, agents.Fine], plugins=leo_plugins(Observer()))
    assert results == [("minor", "warned"), ("fine", "passed")]


def test_hook_leo_verification_finished(small_repo, leo_run, leo_plugins, agents):
    class Broken:
        @leo.hookimpl
        def leo_verification_finished(self, report):
            raise RuntimeError("observer broke")

    run = leo_run(small_repo.change(), [agents.Fine], plugins=leo_plugins(Broken()))
    run.assert_verdict("PASS")
    assert any("observer broke" in w for w in run.warnings)
