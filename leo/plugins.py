"""The plugin host: ``PluginManager("leo")``, entry-point loading and ``-p`` / ``no:`` handling.

Built-in sub-agents are separate distributions found through the same entry-point group as a
third party's (``leo``). Each entry point loads inside its own ``try``, and each plugin's
``leo_register_subagents`` is called on its own, so one broken plugin is a diagnostic in
``leo plugins``, never a crash of ``leo verify``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leo.errors import LeoError

if TYPE_CHECKING:
    import pluggy

    from leo.subagent import AgentSpec

PROJECT = "leo"

#: Entry-point names of the sub-agents LEO ships (``plugins/<name>/``); always loaded unless
#: blocked with ``-p no:NAME``. ``LEO_LOAD_PLUGINS`` and ``LEO_DISABLE_PLUGIN_AUTOLOAD`` only
#: govern third-party plugins.
BUILTIN_PLUGINS = ("security", "database", "testing", "performance", "design")
#: LEO's own hook implementations, registered like any plugin.
CORE_PLUGINS = ("leo.defaults",)
_AGENT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass
class PluginInfo:
    """A plugin LEO registered."""

    name: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    subagents: list[str] = field(default_factory=list)


@dataclass
class LoadFailure:
    """A plugin that could not be loaded or registered, and why."""

    name: str
    distribution: str
    error: str


@dataclass
class Plugins:
    """What ``load_plugins`` found."""

    pm: pluggy.PluginManager
    agents: dict[str, AgentSpec] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Entry points not loaded because of ``no:``, the allow-list or disabled autoload."""


def new_plugin_manager() -> pluggy.PluginManager:
    # pluggy, the hookspecs and pydantic load here, not with the module: a lane event with
    # nobody to hear it (``third_party_listeners``) needs none of them.
    import pluggy

    from leo import hookspecs

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _autoload(env: Mapping[str, str]) -> bool:
    value = env.get("LEO_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower()
    return value in ("", "0", "false", "no")


def third_party_listeners(
    cli_plugins: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> bool:
    """Whether ``load_plugins`` could register anything beyond LEO's core and the built-in
    sub-agents: a ``-p`` module, or another entry point while autoload is on. Neither hears a
    lane event (``tests/test_lane_hooks.py`` pins it), so without one a lane event need not
    load plugins at all: pydantic and the sub-agents' modules, 0.3 s of CPU
    (benchmarks/RESULTS.md (6)). Blocking and the allow-list are left to ``load_plugins``."""
    if any(not p.startswith("no:") for p in cli_plugins):
        return True
    if not _autoload(os.environ if environ is None else environ):
        return False
    return any(
        not (
            ep.name in BUILTIN_PLUGINS and ep.dist is not None and ep.dist.name == f"leo-{ep.name}"
        )
        for ep in importlib.metadata.entry_points(group=PROJECT)
    )


def _env_list(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {item.strip() for item in value.split(",") if item.strip()}


def load_plugins(
    cli_plugins: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> Plugins:
    """Load LEO's core, the entry-point plugins and ``-p`` modules; collect their sub-agents.

    ``cli_plugins`` holds ``-p`` values: ``MODULE`` imports and registers a module,
    ``no:NAME`` blocks an entry point (by entry-point or distribution name) or a module.
    ``extra`` registers plugin objects by name (tests and embedding applications).
    """
    env = os.environ if environ is None else environ
    blocked = {p[3:] for p in cli_plugins if p.startswith("no:")}
    modules = [p for p in cli_plugins if not p.startswith("no:")]
    allow = _env_list(env.get("LEO_LOAD_PLUGINS"))
    autoload = _autoload(env)
    result = Plugins(pm=new_plugin_manager())

    for module_name in CORE_PLUGINS:
        module = importlib.import_module(module_name)
        result.pm.register(module, name=module_name)
        result.plugins.append(_info(result.pm, module_name, "leo-gate", _leo_version(), True))

    for ep in sorted(importlib.metadata.entry_points(group=PROJECT), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else "?"
        builtin = ep.name in BUILTIN_PLUGINS and dist == f"leo-{ep.name}"
        if ep.name in blocked or dist in blocked:
            result.skipped.append(f"{ep.name} (blocked by -p no:{ep.name})")
            continue
        if not builtin and not autoload:
            result.skipped.append(f"{ep.name} (LEO_DISABLE_PLUGIN_AUTOLOAD is set)")
            continue
        if not builtin and allow is not None and not ({ep.name, dist} & allow):
            result.skipped.append(f"{ep.name} (not in LEO_LOAD_PLUGINS)")
            continue
        if result.pm.has_plugin(ep.name):
            result.failures.append(
                LoadFailure(ep.name, dist, f"another plugin is already registered as {ep.name!r}")
            )
            continue
        try:
            plugin = ep.load()
            result.pm.register(plugin, name=ep.name)
        except Exception as exc:  # one broken plugin never takes LEO down
            result.failures.append(LoadFailure(ep.name, dist, f"{type(exc).__name__}: {exc}"))
            continue
        result.plugins.append(_info(result.pm, ep.name, dist, version, builtin))

    for module_name in modules:
        if module_name in blocked:
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            msg = f"cannot import plugin module {module_name!r} given with -p: {type(exc).__name__}: {exc}"
            raise LeoError(msg) from None
        if result.pm.is_registered(module):
            continue
        try:
            result.pm.register(module, name=module_name)
        except Exception as exc:
            msg = f"plugin module {module_name!r} given with -p is invalid: {exc}"
            raise LeoError(msg) from None
        dist, version = _module_distribution(module_name)
        result.plugins.append(_info(result.pm, module_name, dist, version, False))

    for name, plugin in (extra or {}).items():
        result.pm.register(plugin, name=name)
        result.plugins.append(_info(result.pm, name, name, "0", False))

    _collect_subagents(result)
    return result


def call_each(pm: pluggy.PluginManager, hook: str, **kwargs: object) -> list[tuple[str, object]]:
    """Call ``hook`` plugin by plugin (through pluggy, so hook monitoring sees every call);
    return ``(plugin name, result or the exception it raised)`` for each implementation."""
    out: list[tuple[str, object]] = []
    everyone = pm.get_plugins()
    for impl in getattr(pm.hook, hook).get_hookimpls():
        others = [p for p in everyone if p is not impl.plugin]
        caller = pm.subset_hook_caller(hook, remove_plugins=others)
        try:
            results = caller(**kwargs)
            out.append((impl.plugin_name, results[0] if results else None))
        except Exception as exc:  # one plugin's failure is its own
            out.append((impl.plugin_name, exc))
    return out


def notify(pm: pluggy.PluginManager, hook: str, **kwargs: object) -> list[str]:
    """Call an observer hook plugin by plugin; return the errors instead of raising them."""
    return [
        f"plugin {name!r} failed in {hook}: {type(exc).__name__}: {exc}"
        for name, exc in call_each(pm, hook, **kwargs)
        if isinstance(exc, Exception)
    ]


def _collect_subagents(result: Plugins) -> None:
    """Call each plugin's ``leo_register_subagents`` on its own and validate what it returns."""
    from leo.subagent import AgentSpec

    by_name = {p.name: p for p in result.plugins}
    for plugin_name, returned in call_each(result.pm, "leo_register_subagents"):
        info = by_name[plugin_name]
        try:
            if isinstance(returned, Exception):
                raise returned
            classes: list[Any] = list(returned or ())  # type: ignore[call-overload]
        except Exception as exc:
            result.failures.append(
                LoadFailure(
                    info.name,
                    info.distribution,
                    f"leo_register_subagents raised {type(exc).__name__}: {exc}",
                )
            )
            continue
        for cls in classes:
            problem = _invalid_subagent(cls, result.agents)
            if problem:
                result.failures.append(LoadFailure(info.name, info.distribution, problem))
                continue
            result.agents[cls.name] = AgentSpec(
                cls=cls, plugin=info.distribution, version=info.version
            )
            info.subagents.append(cls.name)


def _invalid_subagent(cls: object, known: Mapping[str, AgentSpec]) -> str | None:
    from pydantic import BaseModel

    from leo.subagent import SubAgent

    if not (isinstance(cls, type) and issubclass(cls, SubAgent)):
        return f"leo_register_subagents returned {cls!r}, which is not a SubAgent subclass"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _AGENT_NAME.match(name):
        return f"sub-agent class {cls.__qualname__} has an invalid name {name!r} (lower-case letters, digits, - and _)"
    if name in known:
        return f"sub-agent name {name!r} is already provided by {known[name].plugin}"
    settings = cls.Settings
    if settings is not None and not (
        isinstance(settings, type)
        and issubclass(settings, BaseModel)
        and settings.model_config.get("extra") == "forbid"
        and settings.model_config.get("frozen")
    ):
        return f"sub-agent {name!r} declares Settings {settings!r}, which is not a frozen pydantic model with extra='forbid' (subclass leo.AgentSettings)"
    return None


def _info(
    pm: pluggy.PluginManager, name: str, dist: str, version: str, builtin: bool
) -> PluginInfo:
    plugin = pm.get_plugin(name)
    hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
    return PluginInfo(name=name, distribution=dist, version=version, builtin=builtin, hooks=hooks)


def _module_distribution(module_name: str) -> tuple[str, str]:
    top = module_name.split(".")[0]
    dists = importlib.metadata.packages_distributions().get(top, [])
    if dists:
        return dists[0], importlib.metadata.version(dists[0])
    return module_name, "unknown"


def _leo_version() -> str:
    from leo.__about__ import __version__

    return __version__
