"""Testing helpers for LEO and its plugins, shipped as a pytest plugin (entry point ``pytest11``).

Fixtures:

* ``leo_repo``: build a throw-away git repository with a base and a head commit from dicts of
  files, and get the ``Change`` between them;
* ``leo_run``: run sub-agents (classes or installed names) on a change through LEO's real
  runner and aggregator, and assert on the verdict and findings;
* ``leo_plugins``: load LEO's plugins with extra plugin objects registered for one test;
* ``leo_hook_calls``: record every hook call of a plugin manager;
* ``leo_postgres``: a throw-away PostgreSQL server for the session;
* ``leo_sandbox``: require a working bubblewrap sandbox (skip without one, fail in LEO's CI).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from leo.change import Change
from leo.config import Config, parse_config
from leo.models import Finding, Report
from leo.plugins import Plugins, load_plugins
from leo.repos import Files, Repo, git, make_repo, write_files
from leo.subagent import AgentSpec, SubAgent

__all__ = [
    "HookRecorder",
    "Repo",
    "RunResult",
    "git",
    "leo_hook_calls",
    "leo_plugins",
    "leo_postgres",
    "leo_repo",
    "leo_run",
    "leo_sandbox",
    "make_repo",
    "run_agents",
    "write_files",
]


@pytest.fixture
def leo_repo(tmp_path: Path) -> Callable[..., Repo]:
    """Factory: ``leo_repo(base={...}, head={...})`` builds a repository and returns a ``Repo``."""
    count = 0

    def factory(base: Files | None = None, head: Files | None = None, **kwargs: Any) -> Repo:
        nonlocal count
        count += 1
        return make_repo(
            tmp_path / f"repo{count}", base or {"README.md": "base\n"}, head or {}, **kwargs
        )

    return factory


@dataclass
class RunResult:
    """A finished verification, with assertion helpers."""

    report: Report
    warnings: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for a in self.report.agents for f in a.findings]

    def agent(self, name: str) -> Any:
        return next(a for a in self.report.agents if a.name == name)

    def assert_verdict(self, expected: str) -> None:
        __tracebackhide__ = True
        if self.report.verdict != expected:
            pytest.fail(
                f"verdict {self.report.verdict}, expected {expected}; reasons: {list(self.report.reasons)}"
            )

    def assert_finding(
        self, rule_id: str, *, path: str | None = None, line: int | None = None
    ) -> Finding:
        """Assert a finding whose rule id starts with ``rule_id`` (and path, line) exists."""
        __tracebackhide__ = True
        for f in self.findings:
            if f.rule_id.startswith(rule_id) and path in (None, f.path) and line in (None, f.line):
                return f
        got = [(f.rule_id, f.path, f.line) for f in self.findings]
        pytest.fail(f"no finding {rule_id} at {path}:{line}; got {got}")

    def assert_no_finding(self, rule_id: str) -> None:
        __tracebackhide__ = True
        hits = [f for f in self.findings if f.rule_id.startswith(rule_id) and f.on_changed_line]
        if hits:
            pytest.fail(f"unexpected blocking findings {rule_id}: {hits}")


def run_agents(
    change: Change,
    agents: Sequence[type[SubAgent] | str],
    *,
    config: Mapping[str, Any] | None = None,
    plugins: Plugins | None = None,
) -> RunResult:
    """Run ``agents`` (classes, or names of installed sub-agents) on ``change`` like ``leo verify``."""
    from leo.supervisor import verify

    loaded = plugins or load_plugins(environ={"LEO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    names = []
    for agent in agents:
        if isinstance(agent, str):
            names.append(agent)
        else:
            loaded.agents[agent.name] = AgentSpec(cls=agent, plugin="test", version="0")
            names.append(agent.name)
    cfg: Config = parse_config(dict(config or {}), "the test")
    report, warnings = anyio.run(lambda: verify(change, loaded, cfg, names))
    return RunResult(report, warnings)


@pytest.fixture
def leo_plugins() -> Callable[..., Plugins]:
    """Factory: ``leo_plugins(my_plugin, other=obj)`` loads LEO's plugins (built-ins, no
    third-party autoload) plus the given plugin objects, registered for this test only."""

    def factory(*plugins: object, **named: object) -> Plugins:
        extra = {f"test-plugin-{i}": p for i, p in enumerate(plugins)} | named
        return load_plugins(environ={"LEO_DISABLE_PLUGIN_AUTOLOAD": "1"}, extra=extra)

    return factory


@dataclass
class HookCall:
    """One recorded hook call."""

    name: str
    kwargs: dict[str, Any]
    plugins: list[str]


class HookRecorder:
    """Records the hook calls of a plugin manager (pluggy's hook-call monitoring)."""

    def __init__(self) -> None:
        self.calls: list[HookCall] = []

    def watch(self, plugins: Plugins) -> Plugins:
        def before(name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
            self.calls.append(HookCall(name, dict(kwargs), [i.plugin_name for i in impls]))

        plugins.pm.add_hookcall_monitoring(before, lambda *args: None)
        return plugins

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def of(self, name: str) -> list[HookCall]:
        return [c for c in self.calls if c.name == name]


@pytest.fixture
def leo_hook_calls() -> HookRecorder:
    """A ``HookRecorder``: ``leo_hook_calls.watch(plugins)`` then inspect ``.calls``."""
    return HookRecorder()


@pytest.fixture(scope="session")
def leo_postgres() -> Iterator[str]:
    """URL of a throw-away PostgreSQL server for the test session.

    Skips when the server binaries are missing, unless ``LEO_REQUIRE_POSTGRES=1`` (set by
    LEO's CI), where a missing server fails the test instead.
    """
    from leo.postgres import PostgresUnavailable, TemporaryPostgres

    server = TemporaryPostgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        if os.environ.get("LEO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (LEO_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"no PostgreSQL server available: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def leo_run() -> Iterator[Callable[..., RunResult]]:
    """``leo_run(change, [AgentClass or "name", ...], config={...})`` -> ``RunResult``."""
    yield run_agents


@pytest.fixture(scope="session")
def leo_sandbox() -> str:
    """Path of a working ``bwrap``; tests that run a change's code in the sandbox use it.

    Skips when bubblewrap or user namespaces are missing, unless ``LEO_REQUIRE_SANDBOX=1`` (set
    by LEO's CI), where a missing sandbox fails the test instead.
    """
    from leo.sandbox import SandboxUnavailable, require_sandbox

    try:
        return anyio.run(require_sandbox)
    except SandboxUnavailable as exc:
        if os.environ.get("LEO_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"the sandbox is required here (LEO_REQUIRE_SANDBOX=1): {exc}")
        pytest.skip(str(exc))
