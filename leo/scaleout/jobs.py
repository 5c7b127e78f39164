"""Run one sub-agent as its own CI job, and aggregate the jobs' results into one ``Report``.

Aggregation is ``supervisor.verify``, the pipeline of ``leo verify``, with the jobs' results as
its evidence, so the verdict and the confidence are the ones a single run would give,
conflict-resolution rounds included. Those rounds ask the sub-agents again, so the aggregating job needs the plugins installed and a
checkout holding both commits; without them a disagreement ESCALATEs rather than being guessed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from leo import sandbox
from leo.__about__ import __version__
from leo.change import Change, gather_change
from leo.config import Config, load_config, policy_changed
from leo.errors import ConfigError, LeoError
from leo.models import Report, SubAgentResult
from leo.plugins import BUILTIN_PLUGINS
from leo.runner import Progress, run_checks
from leo.scaleout.envelope import AgentRun, check_together, read_envelope
from leo.supervisor import Evidence, make_jobs, verify

if TYPE_CHECKING:
    from leo.plugins import Plugins


async def run_agent(
    plugins: Plugins,
    name: str,
    *,
    repo: str,
    base: str | None,
    head: str,
    config_path: Path | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> AgentRun:
    """Run sub-agent ``name`` on the change and wrap its result with the change's identity."""
    if name not in plugins.agents:
        known = ", ".join(sorted(plugins.agents)) or "none loaded; run `leo plugins`"
        msg = f"unknown sub-agent {name!r} (known: {known}); check the NAME of `leo agent run`"
        raise LeoError(msg)
    change = await gather_change(repo, base, head)
    config, _source = await load_config(change, config_path)
    jobs = make_jobs(plugins, config, [name], timeout=timeout)
    started = datetime.now(UTC)
    with sandbox.isolation(config.isolation):
        [result] = await run_checks(jobs, change, progress=progress)
    spec = plugins.agents[name]
    return AgentRun(
        leo_version=__version__,
        agent=name,
        plugin=spec.plugin,
        plugin_version=spec.version,
        config_digest=config.digest,
        policy_changed=await policy_changed(change),
        change=change,
        started_at=started,
        finished_at=datetime.now(UTC),
        result=result,
    )


async def aggregate_runs(
    plugins: Plugins,
    paths: Sequence[Path],
    *,
    repo: str = ".",
    head: str | None = None,
    config_path: Path | None = None,
    require: Sequence[str] = (),
    rerun: bool = True,
) -> tuple[Report, list[str]]:
    """The report of the results in ``paths``, as ``leo verify`` would have made it.

    ``rerun=False`` never asks a sub-agent again (no code of the change runs here: the
    trusted job of ``leo init github``); a disagreement then ESCALATEs.

    Refuses results for another head, base or configuration, and duplicates. A sub-agent the
    base policy requires (see ``policy_required``) or named in ``require`` but without a result
    is missing evidence: the verdict FAILs.
    """
    runs = [(path, read_envelope(path)) for path in paths]
    first = runs[0][1] if runs else None
    change, unavailable = await _checkout(repo, first, head)
    check_together(runs, change.head_sha if change is not None and head else head)
    assert first is not None  # check_together refused an empty list
    notes: list[str] = []
    if change is None:
        notes.append(
            f"no checkout of {first.head_sha[:12]} at {repo!r} ({unavailable}): conflict "
            "resolution cannot ask the sub-agents again"
        )
        change = first.change
    config = await _config(change, config_path, first, checkout=not unavailable)

    required = policy_required(config, require, [run.agent for _, run in runs])
    # leo verify's order: the policy's `select`, else by name.
    order = {name: i for i, name in enumerate(config.select or ())}
    runs.sort(key=lambda pr: (order.get(pr[1].agent, len(order)), pr[1].agent))
    results = [_result(run) for _, run in runs]

    rerun_here = False
    why = unavailable
    if not rerun:
        why = "this job runs no code of the change (--no-rerun)"
    elif not unavailable:
        missing = [run.agent for _, run in runs if run.agent not in plugins.agents]
        if missing:
            why = f"sub-agent {', '.join(missing)} is not installed in this job"
            notes.append(f"{why}: conflict resolution cannot ask it again")
        else:
            _same_versions(plugins, [run for _, run in runs])
            rerun_here = True

    earliest = min(run.started_at for _, run in runs)
    waited = (datetime.now(UTC) - earliest).total_seconds()
    evidence = Evidence(
        results=results,
        rerun=rerun_here,
        unresolvable=why,
        policy_changed=None if rerun_here else any(run.policy_changed for _, run in runs),
    )
    report, warnings = await verify(
        change,
        plugins,
        config,
        [run.agent for _, run in runs],
        required=required,
        evidence=evidence,
        started=time.monotonic() - max(waited, 0.0),
    )
    return report, notes + warnings


def policy_required(config: Config, require: Sequence[str], ran: Sequence[str]) -> list[str]:
    """The sub-agents whose results must be present: from the base policy plus ``--require``,
    never from the plugins installed in the aggregating job (issue 17.7), which may be none.

    ``required = "all"`` is every sub-agent the policy selects, or without ``select`` LEO's
    built-in ones; results from any other sub-agent make "all" unknowable, so they are refused
    unless ``--require`` names them.
    """
    if config.required != "all":
        base = list(config.required)
    else:
        base = [n for n in (config.select or BUILTIN_PLUGINS) if config.enabled(n)]
        unknown = sorted(set(ran) - set(base) - set(require))
        if unknown and not config.select:
            msg = (
                f'the policy says required = "all" without naming its sub-agents (no `select`), '
                f"and there are results from {', '.join(unknown)}, which LEO does not ship; "
                "name every sub-agent in the policy's `select`, or pass --require A,B"
            )
            raise ConfigError(msg)
    return base + [r for r in require if r not in base]


def _result(run: AgentRun) -> SubAgentResult:
    # The envelope's agent name is what the job ran; a result naming another agent is refused
    # rather than trusted (one job cannot speak for two sub-agents).
    if run.result.name and run.result.name != run.agent:
        msg = f"the result of sub-agent {run.agent!r} is named {run.result.name!r}; the file was edited or mixed up"
        raise LeoError(msg)
    return run.result.model_copy(update={"name": run.agent})


async def _checkout(
    repo: str, first: AgentRun | None, head: str | None
) -> tuple[Change | None, str]:
    """The change read from the checkout at ``repo``, or None and why it could not be read."""
    if first is None:
        return None, "no results"
    try:
        change = await gather_change(repo, first.base_sha, head or first.head_sha)
    except LeoError as exc:
        return None, str(exc)
    return change, ""


async def _config(
    change: Change, config_path: Path | None, first: AgentRun, *, checkout: bool
) -> Config:
    if not checkout and config_path is None:
        msg = (
            f"cannot read the policy of {first.head_sha[:12]}: there is no checkout "
            "(pass --repo PATH of a clone holding both commits, or --config FILE with the policy the jobs used)"
        )
        raise LeoError(msg)
    config, source = await load_config(change, config_path)
    if config.digest != first.config_digest:
        msg = (
            f"the results were computed under configuration {first.config_digest[:19]}, but {source} "
            f"gives {config.digest[:19]}; aggregate with the policy the jobs applied"
        )
        raise LeoError(msg)
    return config


def _same_versions(plugins: Plugins, runs: Sequence[AgentRun]) -> None:
    for run in runs:
        spec = plugins.agents[run.agent]
        if (spec.plugin, spec.version) != (run.plugin, run.plugin_version):
            msg = (
                f"sub-agent {run.agent!r} ran as {run.plugin} {run.plugin_version} but this job has "
                f"{spec.plugin} {spec.version}; install the same versions in every job"
            )
            raise LeoError(msg)
