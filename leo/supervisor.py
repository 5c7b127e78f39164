"""The supervisor lane: one verification from a gathered change to a ``Report``.

Selects the sub-agents, runs them concurrently, lets them resolve disagreements (at most three
rounds), and asks the aggregator for the verdict. The local mode and the GitHub mode both end
here, so a verdict means the same thing wherever it was computed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from leo import aggregate, tracing
from leo.__about__ import __version__
from leo.config import Config, policy_changed
from leo.errors import ConfigError, LeoError
from leo.models import Report, Requirement, SubAgentResult
from leo.plugins import Plugins, notify
from leo.runner import Progress, run_checks, run_guarded
from leo.subagent import Conflict, Job

if TYPE_CHECKING:
    from leo.cache import ResultCache
    from leo.change import Change


def select_agents(plugins: Plugins, config: Config, requested: Sequence[str] | None) -> list[str]:
    """The sub-agents to run: ``--agents``, else ``select`` in config, else every enabled one."""
    known = sorted(plugins.agents)
    names = list(requested) if requested else list(config.select or known)
    source = "--agents" if requested else "select in the configuration"
    unknown = [n for n in names if n not in plugins.agents]
    if unknown:
        hint = ", ".join(known) or "none loaded; run `leo plugins`"
        msg = f"unknown sub-agent {unknown[0]!r} (known: {hint}); check {source}"
        raise (LeoError if requested else ConfigError)(msg)
    if not requested:
        names = [n for n in names if config.enabled(n)]
    return list(dict.fromkeys(names))


async def verify(
    change: Change,
    plugins: Plugins,
    config: Config,
    names: Sequence[str],
    *,
    timeout: float | None = None,
    jobs: int | None = None,
    requirements: Sequence[Requirement] = (),
    progress: Progress | None = None,
    cache: ResultCache | None = None,
) -> tuple[Report, list[str]]:
    """Run the sub-agents ``names`` on ``change``; return the report and plugin warnings."""
    started = time.monotonic()
    with tracing.span("leo.verify", {"leo.head_sha": change.head_sha, "leo.agents": list(names)}):
        warnings = notify(plugins.pm, "leo_verification_started", change=change, agents=list(names))
        job_list = make_jobs(plugins, config, names, timeout=timeout)
        results = await run_checks(
            job_list,
            change,
            limit=config.jobs if jobs is None else jobs,
            progress=progress,
            cache=cache,
        )
        report, more = await conclude(
            change,
            plugins,
            config,
            results,
            jobs=job_list,
            requirements=requirements,
            started=started,
        )
    return report, warnings + more


def make_jobs(
    plugins: Plugins, config: Config, names: Sequence[str], *, timeout: float | None = None
) -> list[Job]:
    """One job per sub-agent: its spec, its settings and its timeout (``timeout`` overrides)."""
    return [
        Job(
            spec=plugins.agents[n],
            settings=config.settings(n),
            timeout=timeout or config.agent_timeout(n, plugins.agents[n].cls.timeout),
        )
        for n in names
    ]


async def conclude(
    change: Change,
    plugins: Plugins,
    config: Config,
    results: list[SubAgentResult],
    *,
    jobs: Sequence[Job] | None,
    unresolvable: str = "",
    policy_edited: bool | None = None,
    requirements: Sequence[Requirement] = (),
    required: Sequence[str] | None = None,
    started: float | None = None,
) -> tuple[Report, list[str]]:
    """From the sub-agents' first results to the ``Report``: conflict rounds, then the verdict.

    ``leo verify`` and ``leo aggregate`` both end here, so a verdict computed from separate CI
    jobs is the verdict one run would have given. ``jobs`` are in the order of ``results``;
    None means the sub-agents cannot be asked again (``unresolvable`` says why), so a
    disagreement ESCALATEs instead of being guessed. ``policy_edited`` None reads the change;
    ``required`` None applies the configuration's (``"all"``: every result's agent).
    """
    started = time.monotonic() if started is None else started
    names = [r.name for r in results]
    if jobs is not None:
        results, rounds, settled = await resolve_conflicts(plugins, jobs, change, results)
    else:
        rounds, settled = 0, not aggregate.disagreement(results)
    warnings: list[str] = []
    for result in results:
        warnings += notify(plugins.pm, "leo_subagent_finished", change=change, result=result)

    reqs = list(requirements)
    if policy_edited is None:
        policy_edited = await policy_changed(change)
    if policy_edited:
        reqs.append(
            Requirement(
                name="policy unchanged",
                met=None,
                detail="the change edits LEO's policy ([tool.leo] or leo.toml); "
                "the base commit's policy was applied",
            )
        )
    if required is None:
        required = list(names) if config.required == "all" else list(config.required)
    verdict = aggregate.decide(
        results,
        weights={n: config.weight(n) for n in names},
        threshold=config.threshold,
        required=required,
        requirements=reqs,
        rounds=rounds,
        settled=settled,
    )
    reasons = verdict.reasons
    if jobs is None and not settled:
        why = f"conflict resolution could not run ({unresolvable}); a LEAD must decide"
        reasons = (why, *reasons)
    report = Report(
        leo_version=__version__,
        verdict=verdict.verdict,
        confidence=verdict.confidence,
        reasons=reasons,
        resolution_rounds=verdict.resolution_rounds,
        requirements=verdict.requirements,
        repository=change.repo,
        base_sha=change.base_sha,
        head_sha=change.head_sha,
        config_digest=config.digest,
        changed_files=len(change.files),
        duration_s=round(time.monotonic() - started, 3),
        agents=tuple(results),
    )
    warnings += notify(plugins.pm, "leo_verification_finished", report=report)
    return report, warnings


async def resolve_conflicts(
    plugins: Plugins, jobs: Sequence[Job], change: Change, results: list[SubAgentResult]
) -> tuple[list[SubAgentResult], int, bool]:
    """Let disagreeing sub-agents reconsider; return (results, rounds run, settled).

    Each round, every sub-agent with evidence sees the others' results and may revise its own
    through the ``leo_resolve_conflict`` hook. The conflict is settled when the split is gone
    or a round changes nothing; it is unsettled when round three still changed something.
    """
    rounds = 0
    while rounds < aggregate.MAX_ROUNDS and aggregate.disagreement(results):
        rounds += 1
        revised = list(results)
        for i, (job, own) in enumerate(zip(jobs, results, strict=True)):
            if own.status in ("error", "timeout", "skipped"):
                continue
            conflict = Conflict(rounds, own, [r for r in results if r is not own])
            call = _resolver(plugins, job, change, conflict)
            new = await run_guarded(job, call)
            revised[i] = new if _differs(own, new) else own
        changed = any(_differs(a, b) for a, b in zip(results, revised, strict=True))
        results = revised
        if not changed:
            return results, rounds, True
    return results, rounds, not aggregate.disagreement(results)


def _resolver(
    plugins: Plugins, job: Job, change: Change, conflict: Conflict
) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        agent = job.spec.cls(job.settings)
        awaitable = plugins.pm.hook.leo_resolve_conflict(
            subagent=agent, change=change, conflict=conflict
        )
        outcome = await awaitable if awaitable is not None else None
        return conflict.own if outcome is None else outcome

    return call


def _differs(a: SubAgentResult, b: SubAgentResult) -> bool:
    return (a.status, a.confidence, a.findings) != (b.status, b.confidence, b.findings)
